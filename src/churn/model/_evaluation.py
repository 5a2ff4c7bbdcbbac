"""Model quality: metrics, calibration error, curves, the A/B/C grade and the promotion rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve

from churn.config import EvaluateConfig

MODELS = ("model", "recency_rule", "rfm_logistic", "bgnbd")
BASELINES = MODELS[1:]
METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "lift_top10", "ece")


def lift_at(y: np.ndarray, p: np.ndarray, top: float = 0.1) -> float:
    """Churn rate among the top `top` share by score, over the overall churn rate."""
    n = max(1, int(round(len(y) * top)))
    order = np.argsort(-p, kind="stable")
    return float(y[order[:n]].mean() / y.mean()) if y.mean() > 0 else float("nan")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Mean |observed - predicted| over equal-count bins, weighted by bin size."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(y[chunk].mean() - p[chunk].mean())
    return float(total / len(y))


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "lift_top10": lift_at(y, p, 0.1),
        "ece": expected_calibration_error(y, p),
        "mean_predicted": float(p.mean()),
        "observed_rate": float(y.mean()),
    }


def evaluate_all(frame: pd.DataFrame, models: tuple[str, ...] = MODELS) -> dict[str, float]:
    """`<model>_<metric>` for every model column present in `frame` (which has `churned`)."""
    y = frame["churned"].to_numpy()
    out = {}
    for name in models:
        if name in frame:
            out |= {f"{name}_{k}": v for k, v in evaluate(y, frame[name].to_numpy()).items()}
    return out


def best_baseline(metrics: dict[str, float], metric: str = "roc_auc") -> str:
    present = [b for b in BASELINES if f"{b}_{metric}" in metrics and np.isfinite(metrics[f"{b}_{metric}"])]
    return max(present, key=lambda b: metrics[f"{b}_{metric}"])


def grade(metrics: dict[str, float], cfg: EvaluateConfig) -> dict:
    """A, B or C by how far the model beats the best baseline on ROC-AUC and top-10% lift."""
    auc_base = best_baseline(metrics, "roc_auc")
    lift_base = best_baseline(metrics, "lift_top10")
    auc_gain = metrics["model_roc_auc"] - metrics[f"{auc_base}_roc_auc"]
    base_lift = metrics[f"{lift_base}_lift_top10"]
    # A tiny holdout's top decile may hold no churner for any baseline: any churner there is then a gain.
    lift_gain = (metrics["model_lift_top10"] / base_lift - 1 if base_lift > 0
                 else (1.0 if metrics["model_lift_top10"] > 0 else 0.0))
    letter = "C"
    for name, rule in (("A", cfg.grade_a), ("B", cfg.grade_b)):
        if auc_gain >= rule.auc_gain and lift_gain >= rule.lift_gain:
            letter = name
            break
    return {"grade": letter, "auc_gain": round(auc_gain, 4), "lift_gain": round(lift_gain, 4),
            "best_baseline_auc": auc_base, "best_baseline_lift": lift_base}


def calibration_check(metrics: dict[str, float], cfg: EvaluateConfig) -> dict:
    """Whether the model's mean predicted churn is within `max_calibration_gap` of the observed rate."""
    gap = abs(metrics["model_mean_predicted"] - metrics["model_observed_rate"])
    return {"gap": round(gap, 4), "ok": gap <= cfg.max_calibration_gap, "max_gap": cfg.max_calibration_gap}


def training_report(metrics: dict[str, float], params: dict, search: pd.DataFrame | None, data: dict,
                    cfg: EvaluateConfig) -> dict:
    """What a training run is judged by (metrics/train_metrics.json): holdout metrics, grade, calibration,
    the chosen parameters, how much of the search grid was tried, and the data it saw."""
    return {
        "metrics": metrics,
        "grade": grade(metrics, cfg),
        "calibration": calibration_check(metrics, cfg),
        "params": params,
        "search": {"points_tried": 0 if search is None else len(search),
                   "grid_points": 0 if search is None else search.attrs["grid_points"],
                   "validation": "none" if search is None else search.attrs["validation"],
                   "fit_examples": None if search is None else search.attrs.get("fit_examples"),
                   "sampled": False if search is None else bool(search.attrs.get("sampled"))},
        "data": data,
    }


def fallback_report(why: str, customers: int, as_of, cfg: EvaluateConfig) -> dict:
    """What a training run that fell back to BG/NBD is judged by: nothing measured (no window has labels yet),
    the reason, and how many customers the fallback was fitted on."""
    return {
        "metrics": {},
        "grade": {"grade": "none", "auc_gain": None, "lift_gain": None, "best_baseline_auc": None,
                  "best_baseline_lift": None},
        "calibration": {"gap": None, "ok": None, "max_gap": cfg.max_calibration_gap},
        "params": {},
        "search": {"points_tried": 0, "grid_points": 0, "validation": "none"},
        "data": {"holdout_kind": "none", "fallback": {"model": "bgnbd", "reason": why, "customers": customers,
                                                      "as_of": str(pd.Timestamp(as_of).date())}},
    }


def fallback_promotion(champion_exists: bool) -> dict:
    """A fallback takes @champion only where there is none: it must not replace a model that was measured."""
    reason = ("BG/NBD fallback: no complete label window to train or measure the model on yet; "
              + ("a measured champion exists and stays" if champion_exists else "no current champion"))
    return {"alias": "challenger" if champion_exists else "champion",
            "checks": {"no_champion_to_replace": not champion_exists}, "explanation": reason}


def decide_promotion(new: dict[str, float], champion: dict[str, float] | None, cfg: EvaluateConfig,
                     candidate: str = "model") -> dict:
    """Champion if `candidate` (the model or the baseline the holdout favoured, see `choose_candidate`) is not
    worse than the current champion on the same holdout (ROC-AUC and Brier within tolerances); otherwise
    challenger. With no current champion the candidate is champion: the best measured is always scored."""
    auc, brier = new[f"{candidate}_roc_auc"], new[f"{candidate}_brier"]
    checks = {}
    if champion is not None:
        checks["auc_not_worse"] = auc >= champion["roc_auc"] - cfg.auc_tolerance
        checks["brier_not_worse"] = brier <= champion["brier"] + cfg.brier_tolerance
    promote = all(checks.values())
    base = best_baseline(new, "roc_auc")
    reasons = [f"candidate {candidate}: ROC-AUC {auc:.4f}"
               + (f" vs best baseline {base} {new[f'{base}_roc_auc']:.4f}" if candidate == "model" else
                  f" vs the LightGBM model {new['model_roc_auc']:.4f}")]
    if champion is not None:
        reasons.append(f"vs champion ROC-AUC {champion['roc_auc']:.4f}, Brier {brier:.4f} vs "
                       f"{champion['brier']:.4f} (tolerances {cfg.auc_tolerance}, {cfg.brier_tolerance})")
    else:
        reasons.append("no current champion")
    return {"alias": "champion" if promote else "challenger", "candidate": candidate, "checks": checks,
            "explanation": "; ".join(reasons)}


def curves(holdout: pd.DataFrame, models: tuple[str, ...] = MODELS) -> dict[str, pd.DataFrame]:
    """ROC, calibration (10 bins) and cumulative gains points for plotting, in long format."""
    y = holdout["churned"].to_numpy()
    roc, cal, lift = [], [], []
    for name in [m for m in models if m in holdout]:
        p = holdout[name].to_numpy()
        fpr, tpr, _ = roc_curve(y, p)
        idx = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        roc.append(pd.DataFrame({"model": name, "fpr": fpr[idx], "tpr": tpr[idx]}))
        bins = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
        g = pd.DataFrame({"p": p, "y": y, "bin": bins}).groupby("bin")
        cal.append(pd.DataFrame({"model": name, "predicted": g["p"].mean(), "observed": g["y"].mean()}))
        order = np.argsort(-p, kind="stable")
        share = np.arange(1, len(y) + 1) / len(y)
        captured = np.cumsum(y[order]) / max(y.sum(), 1)
        pts = np.unique(np.linspace(0, len(y) - 1, min(len(y), 100)).astype(int))
        lift.append(pd.DataFrame({"model": name, "customers_share": share[pts], "churners_captured": captured[pts]}))
    return {
        "roc": pd.concat(roc, ignore_index=True),
        "calibration": pd.concat(cal, ignore_index=True),
        "lift": pd.concat(lift, ignore_index=True),
    }
