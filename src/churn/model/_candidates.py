"""Which candidate scores the list: the LightGBM model or a baseline, whichever the holdout says is best.

Every training run measures the LightGBM model and the three baselines on the same holdout. The model is the
candidate when it beats the best baseline's ROC-AUC by `evaluate.min_gain_over_baseline`; otherwise that
baseline is (simpler, and measured better). The candidate is packaged as a scoring model of its own kind, so it
scores, explains (a baseline's reasons are its inputs: recency, orders, revenue, purchase rhythm) and feeds the
same list.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from churn.config import EvaluateConfig
from churn.model._causes import attach_cause_model, save_cause_model
from churn.model._evaluation import best_baseline
from churn.model._fallback import KIND as BGNBD_KIND
from churn.model._fallback import BGNBDChurnModel
from churn.model._linear import INPUTS as LINEAR_INPUTS
from churn.model._linear import LogisticChurnModel
from churn.model._train import JUDGED, ChurnModel, TrainResult

MODEL = "model"  # the LightGBM candidate's name in the holdout metrics
KINDS = {MODEL: "lightgbm", "recency_rule": "recency_rule", "rfm_logistic": "rfm_logistic", "bgnbd": BGNBD_KIND}


def choose_candidate(metrics: dict[str, float], cfg: EvaluateConfig) -> dict:
    """The candidate the holdout favours, its kind, ROC-AUC and why: the model if it beats the best baseline's
    ROC-AUC by more than `min_gain_over_baseline`, else that baseline."""
    if f"{MODEL}_roc_auc" not in metrics:  # nothing measured (a backtest date): the model
        return {"candidate": MODEL, "kind": KINDS[MODEL], "roc_auc": None, "why": "no holdout"}
    model, best = metrics[f"{MODEL}_roc_auc"], best_baseline(metrics, "roc_auc")
    base = metrics[f"{best}_roc_auc"]
    if model > base + cfg.min_gain_over_baseline:
        name, why = MODEL, f"the LightGBM model's holdout ROC-AUC {model:.4f} beats the best baseline, {best} {base:.4f}"
    else:
        name, why = best, (f"the baseline {best} has holdout ROC-AUC {base:.4f}; the LightGBM model {model:.4f} does "
                           f"not beat it" + (f" by more than {cfg.min_gain_over_baseline}"
                                             if cfg.min_gain_over_baseline else ""))
    return {"candidate": name, "kind": KINDS[name], "roc_auc": float(metrics[f"{name}_roc_auc"]), "why": why}


def candidate_model(candidate: str, result: TrainResult, examples: pd.DataFrame, customers: pd.DataFrame,
                    horizon_days: int, refit: bool):
    """The scoring model of `candidate`. A logistic baseline is, like the model, refit on every example when
    `refit` (keeping the fit the holdout judged); BG/NBD is fitted on the purchase rhythm of `customers` (those
    active at the as-of date, no labels needed), its probability calibrated as in the holdout."""
    if candidate == MODEL:
        return result.model
    if candidate in LINEAR_INPUTS:
        judged = getattr(result.baselines, candidate)
        if not refit:
            return judged
        final = LogisticChurnModel.fit(candidate, examples)
        final.judged = judged
        return final
    if candidate == "bgnbd":
        return BGNBDChurnModel.fit(customers, horizon_days, calibration=result.baselines.bgnbd_calibration)
    raise ValueError(f"unknown candidate {candidate!r}: one of {sorted(KINDS)}")


def load_scoring_model(folder: str | Path):
    """The scoring model saved in `folder`, whichever kind: the LightGBM `ChurnModel`, BG/NBD (a winner or the
    fallback) or a logistic baseline."""
    kind = json.loads((Path(folder) / "meta.json").read_text()).get("kind")
    if kind not in (BGNBD_KIND, *LINEAR_INPUTS):
        return ChurnModel.load(folder)  # (with its cause models)
    model = (BGNBDChurnModel if kind == BGNBD_KIND else LogisticChurnModel).load(folder)
    if model.judged is not None:
        attach_cause_model(model.judged, Path(folder) / JUDGED)
    return attach_cause_model(model, folder)


def save_scoring_model(model, folder: str | Path) -> None:
    """Write the scoring model, whichever kind, with its cause model when it has one (`load_scoring_model`)."""
    model.save(folder)
    if not isinstance(model, ChurnModel):  # (a ChurnModel saves its own, and its judged fit's)
        save_cause_model(model, folder)
        if model.judged is not None:
            save_cause_model(model.judged, Path(folder) / JUDGED)

