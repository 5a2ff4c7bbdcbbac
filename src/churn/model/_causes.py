"""A cause model: why customers leave, learnt from the recorded reasons of those who already left.

Where a company records why lost customers left (the `loss_reasons` table: exit surveys, a CRM's lost-reason
field, win-back notes), each such customer's features at the cutoffs before they left are labelled with the
recorded cause, and a multiclass LightGBM model learns which histories end in which cause. Recorded reasons
are labels, never features, and only the reasons known at a point in time train the model of that time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import KnownCausesConfig
from churn.model._matrix import category_levels, feature_matrix, rows_where
from churn.vocab import CAUSES, COMPLAINT_CAUSE

NO_REASONS = "the history has no loss_reasons (why lost customers left: exit surveys, lost-reason fields)"
CAUSE_MODEL_DIR = "causes"  # folder of a scoring model's cause model, beside its own files
COMPLAINT_MODEL_DIR = "complaints"  # folder of its cause model learnt from lost customers' complaints


@dataclass
class CauseModel:
    """A fitted cause model: per customer, the probability of each cause (`churn.vocab.CAUSES`)."""

    booster: lgb.Booster
    features: list[str]
    categories: dict[str, list[str]]
    classes: list[str]  # the booster's classes, in its column order
    summary: dict = field(default_factory=dict)  # what it learnt from: customers and labels per cause

    def probabilities(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One column per cause of `CAUSES`, one row per row of `frame`. A cause the model never learnt (engagement,
        for a model learnt from complaints: no complaint names it) is neutral: 1/len(CAUSES) for everyone, the
        learnt causes' probabilities scaled to the rest, so that weighing with it changes nothing about it."""
        X = feature_matrix(frame, self.features, self.categories, "cause model")
        p = self.booster.predict(X) if len(frame) else np.zeros((0, len(self.classes)))
        out = pd.DataFrame(np.asarray(p).reshape(len(frame), len(self.classes)), columns=self.classes,
                           index=frame.index)
        unlearnt = [c for c in CAUSES if c not in self.classes]
        return (out * (1 - len(unlearnt) / len(CAUSES))).reindex(columns=list(CAUSES),
                                                                   fill_value=1 / len(CAUSES))

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "booster.txt"))
        meta = {"features": self.features, "categories": self.categories, "classes": self.classes,
                "summary": self.summary}
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> CauseModel:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        return cls(lgb.Booster(model_file=str(folder / "booster.txt")), meta["features"], meta["categories"],
                   meta["classes"], meta.get("summary", {}))


CAUSE_MODELS = {"cause_model": CAUSE_MODEL_DIR, "complaint_model": COMPLAINT_MODEL_DIR}  # attribute -> folder


def save_cause_model(model, folder: str | Path) -> None:
    """Write `model.cause_model` and `model.complaint_model` (those it has) beside the scoring model's files in
    `folder`."""
    for attribute, name in CAUSE_MODELS.items():
        cause_model = getattr(model, attribute, None)
        if cause_model is not None:
            cause_model.save(Path(folder) / name)


def attach_cause_model(model, folder: str | Path):
    """`model` with the cause models saved beside it in `folder` as `model.cause_model` and
    `model.complaint_model` (None without one)."""
    for attribute, name in CAUSE_MODELS.items():
        path = Path(folder) / name
        setattr(model, attribute, CauseModel.load(path) if (path / "meta.json").exists() else None)
    return model


def known_causes(examples: pd.DataFrame, reasons: pd.DataFrame | None, known_at: pd.Timestamp, horizon_days: int,
                 recorded_within_days: int) -> pd.Series:
    """The recorded cause of each churned example (a customer at a cutoff who left in the window after it), or
    missing: the first reason of the customer recorded after the cutoff, no later than `recorded_within_days`
    after the window's end, and before `known_at` (what was known then). Reasons "other" and rows that did not
    churn stay missing."""
    out = pd.Series(pd.NA, index=examples.index, dtype="string", name="known_cause")
    if reasons is None or reasons.empty:
        return out
    churned = examples.loc[examples["churned"] == 1, ["customer_id", "cutoff"]]
    recorded = reasons.loc[reasons["cause"].isin(CAUSES) & (reasons["ts"] < known_at), ["customer_id", "ts", "cause"]]
    pairs = churned.reset_index(names="row").merge(recorded, on="customer_id")
    cutoff = pd.to_datetime(pairs["cutoff"])
    ts = pd.to_datetime(pairs["ts"])
    last = cutoff + pd.Timedelta(days=horizon_days + recorded_within_days)
    pairs = pairs[(ts > cutoff) & (ts <= last)].sort_values(["row", "ts"], kind="stable")
    first = pairs.drop_duplicates("row").set_index("row")["cause"]
    out.loc[first.index] = first.astype("string")
    return out


def fit_cause_model(examples: pd.DataFrame, features: list[str], labels: pd.Series, cfg: KnownCausesConfig,
                    seed: int, causes: tuple[str, ...] = CAUSES, who: str = "with a recorded cause"
                    ) -> tuple[CauseModel | None, dict]:
    """A cause model of `causes` fitted on the `examples` with a known cause (`labels`, from `known_causes`), or
    None when there are too few (fewer than `cfg.min_reasons` customers, or a cause with fewer than
    `cfg.min_per_cause`); with a summary saying which and why."""
    known = labels.notna() & labels.isin(causes)
    per_cause = {c: int(labels[known].eq(c).sum()) for c in causes}
    customers = int(examples.loc[known, "customer_id"].nunique())
    summary = {"customers": customers, "examples": int(known.sum()), "per_cause": per_cause}
    if not cfg.enabled:
        return None, summary | {"used": False, "why": "explain.known_causes.enabled is false"}
    short = [c for c, n in per_cause.items() if n < cfg.min_per_cause]
    if customers < cfg.min_reasons or short:
        why = (f"{customers} lost customers {who} (at least {cfg.min_reasons} needed)"
               if customers < cfg.min_reasons else
               f"too few lost customers {who}: {', '.join(f'{c} {per_cause[c]}' for c in short)} "
               f"(at least {cfg.min_per_cause} of each cause needed)")
        return None, summary | {"used": False, "why": why}
    categories = category_levels(examples, features)
    X = feature_matrix(examples[known], features, categories, "cause model")
    y = labels[known].map({c: i for i, c in enumerate(causes)}).to_numpy(dtype=int)
    booster = lgb.train(
        {"objective": "multiclass", "num_class": len(causes), "learning_rate": cfg.learning_rate,
         "num_leaves": cfg.num_leaves, "min_data_in_leaf": cfg.min_child_samples, "seed": seed,
         "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbosity": -1},  # (see booster_params)
        lgb.Dataset(X, y),
        num_boost_round=cfg.n_estimators,
    )
    summary |= {"used": True, "why": f"learnt from {customers} lost customers {who}"}
    return CauseModel(booster, features, categories, list(causes), summary), summary


def cause_holdout(examples: pd.DataFrame, as_of: pd.Timestamp, holdout_customers: pd.Series | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """The examples the judged cause model learns from, the holdout that judges it, and the date up to which its
    reasons count: the fit cutoffs (`role` train), the `test` cutoff and that cutoff; or, for a holdout of
    customers (`holdout_customers`, a short history), the other customers' examples, theirs and `as_of`."""
    if holdout_customers is not None:
        held = examples["customer_id"].isin(holdout_customers)
        return examples[~held], examples[held], as_of
    test = examples["role"] == "test"
    known_at = pd.to_datetime(examples.loc[test, "cutoff"]).min() if test.any() else as_of
    return rows_where(examples, examples["role"] == "train"), rows_where(examples, test), known_at


def learn_causes(examples: pd.DataFrame, features: list[str], reasons: pd.DataFrame | None, as_of: pd.Timestamp,
                 horizon_days: int, cfg: KnownCausesConfig, seed: int,
                 holdout_customers: pd.Series | None = None) -> tuple[CauseModel | None, CauseModel | None, dict]:
    """The cause model that names the list's causes and the one the holdout judges, with what each learnt from.

    The first learns from every complete window with the reasons known at `as_of`. The second has not seen the
    holdout: it learns from the fit cutoffs (`role` train) with the reasons known at the holdout's cutoff, or,
    for a holdout of customers (`holdout_customers`, a short history), from the other customers' windows.
    """
    final, summary = fit_cause_model(
        examples, features, known_causes(examples, reasons, as_of, horizon_days, cfg.recorded_within_days), cfg, seed)
    fit, _, known_at = cause_holdout(examples, as_of, holdout_customers)
    judged, judged_summary = fit_cause_model(
        fit, features, known_causes(fit, reasons, known_at, horizon_days, cfg.recorded_within_days), cfg, seed)
    if reasons is None or reasons.empty:
        summary["why"] = judged_summary["why"] = NO_REASONS
    return final, judged, summary | {"judged": judged_summary}


def learn_from_complaints(examples: pd.DataFrame, features: list[str], stated: pd.Series, as_of: pd.Timestamp,
                          cfg: KnownCausesConfig, seed: int, holdout_customers: pd.Series | None = None
                          ) -> tuple[CauseModel | None, CauseModel | None, dict]:
    """Cause models learnt from what lost customers complained about: each churned example labelled with the cause
    the customer stated at its cutoff (`stated`, row for row: `churn.score.stated_causes`), learnt from `features`
    (which should leave out the complaints that make the label, so that it reads the cause in customers who never
    complained). Causes no complaint names (engagement) are left neutral (`CauseModel.probabilities`). The list's
    model learns from every example, the judged one as `learn_causes`' does (`cause_holdout`)."""
    labels = stated.where(examples["churned"].to_numpy() == 1).astype("string")
    named = tuple(c for c in CAUSES if c in set(COMPLAINT_CAUSE.values()))
    who = "who complained about one cause most"
    final, summary = fit_cause_model(examples, features, labels, cfg, seed, named, who)
    fit, _, _ = cause_holdout(examples, as_of, holdout_customers)
    judged, judged_summary = fit_cause_model(fit, features, labels.loc[fit.index], cfg, seed, named, who)
    return final, judged, summary | {"judged": judged_summary}
