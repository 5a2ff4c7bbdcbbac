"""The workspace: where stages hand files to each other, each file named once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    plan_summary = property(lambda self: self.root / "decide" / "plan_summary.json")
    evidence = property(lambda self: self.models / "evidence.json")  # what `churn effect` measured, per run
