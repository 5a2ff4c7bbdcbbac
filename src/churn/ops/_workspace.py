"""The workspace: where stages hand files to each other, each file named once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Folders outside the project that churn may write to, separated by os.pathsep (":" on Linux, ";" on Windows).
ALLOWED_ROOTS_ENV = "CHURN_ALLOWED_ROOTS"


class OutsideProjectError(ValueError):
    """A folder churn would write to lies outside the project and every allowed root."""


def allowed_roots(project: Path, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The project folder and the roots named in CHURN_ALLOWED_ROOTS, resolved."""
    listed = (os.environ if environ is None else environ).get(ALLOWED_ROOTS_ENV, "")
    return [project.resolve(), *(Path(p).expanduser().resolve() for p in listed.split(os.pathsep) if p.strip())]


def confine(path: str | Path, what: str, roots: list[Path]) -> Path:
    """`path` resolved (symbolic links and `..` followed); refused unless it lies under one of `roots`.

    A config or command line that says `--workdir ../../x` (by mistake or not) would otherwise write and
    clean files anywhere the user can."""
    resolved = Path(path).expanduser().resolve()
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    raise OutsideProjectError(
        f"{what} {path} resolves to {resolved}, outside the project {roots[0]}; churn writes only under the "
        f"project or a folder listed in {ALLOWED_ROOTS_ENV} (e.g. export {ALLOWED_ROOTS_ENV}={resolved})")


def confine_folders(folders: Mapping[str, str | Path | None], project: Path | None = None) -> None:
    """Refuse (OutsideProjectError) any named folder that leaves the project and CHURN_ALLOWED_ROOTS."""
    roots = allowed_roots(Path.cwd() if project is None else project)
    for what, folder in folders.items():
        if folder is not None:
            confine(folder, what, roots)


@dataclass(frozen=True)
class Workspace:
    """Where stages hand files to each other."""

    root: Path = Path("data/work")
    models: Path = Path("models")
    metrics: Path = Path("metrics")

    raw = property(lambda self: self.root / "raw")
    validated = property(lambda self: self.root / "validated")
    quarantine = property(lambda self: self.root / "quarantine.parquet")
    validation_summary = property(lambda self: self.root / "validation_summary.json")
    examples = property(lambda self: self.root / "features" / "training_examples.parquet")
    scoring_features = property(lambda self: self.root / "features" / "scoring_features.parquet")
    model_dir = property(lambda self: self.models / "churn_model")
    train_metrics = property(lambda self: self.metrics / "train_metrics.json")
    holdout = property(lambda self: self.metrics / "holdout_predictions.parquet")
    curves = property(lambda self: self.metrics / "curves")
    plots = property(lambda self: self.metrics / "plots")
    registered = property(lambda self: self.metrics / "registered.json")
    customer_value = property(lambda self: self.root / "value" / "customer_value.parquet")
    value_summary = property(lambda self: self.root / "value" / "value_summary.json")
    action_effects = property(lambda self: self.root / "effects" / "action_effects.parquet")
    effects_summary = property(lambda self: self.root / "effects" / "effects_summary.json")
    scored_list = property(lambda self: self.root / "score" / "scored_list.parquet")
    score_summary = property(lambda self: self.root / "score" / "score_summary.json")
    drift = property(lambda self: self.root / "score" / "drift.csv")
    # the scoring model, kept when the score left customers unexplained (`churn stage decide` explains them on demand)
    score_model = property(lambda self: self.root / "score" / "model")
    realised = property(lambda self: self.metrics / "monitor" / "realised.csv")  # `churn monitor`: one row per run
    realised_causes = property(lambda self: self.metrics / "monitor" / "realised_causes.csv")
    realised_plot = property(lambda self: self.metrics / "monitor" / "realised.png")
    monitor_summary = property(lambda self: self.metrics / "monitor" / "monitor_summary.json")
    plan_summary = property(lambda self: self.root / "decide" / "plan_summary.json")
    evidence = property(lambda self: self.models / "evidence.json")  # what `churn effect` measured, per run
