"""Realised performance: what the model achieved on the scoring runs whose horizon has passed.

Pure functions: the archived lists of past scoring runs (`runs/<as-of>.parquet`) and the history in, a table
with one row per run (`REALISED_COLUMNS`) and the cause mix of those who left (`CAUSE_MIX_COLUMNS`) out.

Each run's customers are labelled as training labels them (`churn.features.label`, cutoff = the run's as-of
date), so the realised ROC-AUC is comparable with the holdout ROC-AUC the model was promoted with. A run is
due once its whole horizon lies inside the history: `as_of + horizon_days <= data end`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from churn.config import LabelsConfig, MonitorConfig

REALISED_COLUMNS = [
    "as_of", "horizon_end", "model", "customers", "churners", "churn_rate", "mean_predicted", "calibration_gap",
    "ece", "roc_auc", "pr_auc", "brier", "lift_top10", "promised_roc_auc", "auc_drop", "alert",
    "contacted", "contacted_churn", "held_out", "held_out_churn", "effect", "effect_low", "effect_high",
]
CAUSE_MIX_COLUMNS = ["as_of", "cause", "churners", "share"]
NO_CAUSE = "none"  # a churner the run named no cause for (scored low, or no evidence)
RUN_LIST_COLUMNS = ["customer_id", "churn_probability", "primary_cause", "model_version", "decision", "contact",
                    "holdout", "holdout_action"]


def due_runs(dates: list[str], data_end: pd.Timestamp, horizon_days: int) -> list[str]:
    """The as-of dates (ISO strings) whose horizon has passed by `data_end`, oldest first."""
    horizon = pd.Timedelta(days=horizon_days)
    return sorted(d for d in dates if pd.Timestamp(d) + horizon <= pd.Timestamp(data_end))


def realised_performance(runs: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame], labels_cfg: LabelsConfig,
                         cfg: MonitorConfig, promised: dict[str, float | None] | None = None,
                         confidence: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One `REALISED_COLUMNS` row per run of `runs` ({as-of: archived list}) and the cause mix of its churners.

    `promised`: per run, the holdout ROC-AUC its model was promoted with; a run alerts when its realised ROC-AUC
    is more than `cfg.auc_margin` below it. A run whose horizon is not inside `tables` is refused."""
    from churn.data import data_end
    from churn.features import label

    last = data_end(tables)
    promised = promised or {}
    rows, mixes = [], []
    for as_of in sorted(runs):
        run = runs[as_of]
        day = pd.Timestamp(as_of).normalize()
        end = day + pd.Timedelta(days=labels_cfg.horizon_days)
        if end > last:
            raise ValueError(f"the {labels_cfg.horizon_days}-day horizon of the run of {as_of} ends on {end.date()}, "
                             f"but the history only reaches {last.date()}")
        missing = [c for c in ("customer_id", "churn_probability") if c not in run.columns]
        if missing:
            raise ValueError(f"the archived list of {as_of} lacks column(s) {missing}")
        run = run.dropna(subset=["churn_probability"]).drop_duplicates("customer_id").reset_index(drop=True)
        if run.empty:
            continue
        pop = pd.DataFrame({"customer_id": run["customer_id"].astype("string"), "cutoff": day})
        churned = label(tables, pop, labels_cfg).to_numpy(dtype=int)
        row = _run_metrics(run, churned, as_of, end, promised.get(as_of), cfg)
        row |= _run_effect(run, churned, confidence)
        rows.append(row)
        mixes.append(_cause_mix(run, churned, as_of))
    table = pd.DataFrame(rows, columns=REALISED_COLUMNS)
    mix = pd.concat(mixes, ignore_index=True) if mixes else pd.DataFrame(columns=CAUSE_MIX_COLUMNS)
    return table, mix


def _run_metrics(run: pd.DataFrame, churned: np.ndarray, as_of: str, end: pd.Timestamp, promised: float | None,
                 cfg: MonitorConfig) -> dict:
    from churn.model import evaluate

    p = run["churn_probability"].to_numpy(dtype="float64")
    m = evaluate(churned, p)
    promised = float(promised) if promised is not None and not _nan(promised) else math.nan
    drop = promised - m["roc_auc"] if not (_nan(promised) or _nan(m["roc_auc"])) else math.nan
    models = run["model_version"].dropna().astype("string").unique() if "model_version" in run.columns else []
    return {"as_of": as_of, "horizon_end": str(end.date()), "model": ", ".join(models),
            "customers": int(len(run)), "churners": int(churned.sum()), "churn_rate": float(churned.mean()),
            "mean_predicted": m["mean_predicted"], "calibration_gap": m["mean_predicted"] - m["observed_rate"],
            "ece": m["ece"], "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"], "brier": m["brier"],
            "lift_top10": m["lift_top10"], "promised_roc_auc": promised, "auc_drop": drop,
            "alert": bool(not _nan(drop) and drop > cfg.auc_margin)}


def _run_effect(run: pd.DataFrame, churned: np.ndarray, confidence: float) -> dict:
    """Contacted against held-out customers of the run, all actions together (NaN where the run had no plan or
    one arm is empty); the effect is the held-out churn rate minus the contacted one (positive: contacts helped)."""
    from churn.action import ALL, measure_effects, plan_arms

    empty = {"contacted": 0, "contacted_churn": math.nan, "held_out": 0, "held_out_churn": math.nan,
             "effect": math.nan, "effect_low": math.nan, "effect_high": math.nan}
    if not {"decision", "contact", "holdout", "holdout_action"} <= set(run.columns):
        return empty
    treated, held = (arm.to_numpy(dtype=bool) for arm in plan_arms(run))
    keep = treated | held
    if not keep.any():
        return empty
    records = pd.DataFrame({"customer_id": run.loc[keep, "customer_id"].to_numpy(), "action": ALL,
                            "treated": treated[keep], "cause": ALL, "churned": churned[keep]})
    r = measure_effects(records, confidence).set_index("cause").loc[ALL]
    return {"contacted": int(r["n_treated"]), "contacted_churn": float(r["churn_treated"]),
            "held_out": int(r["n_control"]), "held_out_churn": float(r["churn_control"]),
            "effect": float(r["effect"]), "effect_low": float(r["ci_low"]), "effect_high": float(r["ci_high"])}


def _cause_mix(run: pd.DataFrame, churned: np.ndarray, as_of: str) -> pd.DataFrame:
    """The cause the run named for each customer who then left, counted and as a share of the leavers."""
    causes = (run["primary_cause"].astype("string") if "primary_cause" in run.columns
              else pd.Series(pd.NA, index=run.index, dtype="string")).fillna(NO_CAUSE)
    left = causes[churned.astype(bool)]
    counts = left.value_counts().sort_index()
    total = int(counts.sum())
    return pd.DataFrame({"as_of": as_of, "cause": counts.index.astype(str), "churners": counts.to_numpy(dtype=int),
                         "share": counts.to_numpy(dtype=float) / total if total else 0.0},
                        columns=CAUSE_MIX_COLUMNS)


def realised_summary(table: pd.DataFrame, mix: pd.DataFrame) -> dict:
    """What a monitoring run keeps (JSON-able, None for what was not measured): the runs measured, every row of
    the table, the latest run's figures with the cause mix of those who left, and the alerts."""
    rows = [{k: (None if _nan(v) else v) for k, v in r.items()} for r in table.to_dict(orient="records")]
    alerts = [{k: r[k] for k in ("as_of", "roc_auc", "promised_roc_auc", "auc_drop")} for r in rows if r["alert"]]
    latest = dict(rows[-1]) if rows else None
    if latest is not None:
        latest["cause_mix"] = {r.cause: int(r.churners) for r in mix[mix["as_of"] == latest["as_of"]]
                               .itertuples(index=False)}
    return {"runs": len(rows), "measured": [r["as_of"] for r in rows], "rows": rows, "latest": latest,
            "alerts": alerts}


def realised_metrics(table: pd.DataFrame) -> list[tuple[str, dict[str, float]]]:
    """Per run (oldest first): its as-of date and its figures as flat MLflow metrics (NaN left out)."""
    keys = ("roc_auc", "pr_auc", "brier", "calibration_gap", "ece", "lift_top10", "churn_rate", "effect", "auc_drop")
    out = []
    for r in table.to_dict(orient="records"):
        out.append((r["as_of"], {f"realised_{k}": float(r[k]) for k in keys if not _nan(r[k])}))
    return out


def alert_text(alerts: list[dict], margin: float) -> str:
    """The realised-performance alerts in words, suggesting a retrain."""
    runs = "; ".join(f"run of {a['as_of']}: ROC-AUC {a['roc_auc']:.3f} against {a['promised_roc_auc']:.3f} promised"
                     for a in alerts)
    return (f"realised ROC-AUC fell more than {margin:.2f} below the holdout figure the model was promoted with "
            f"({runs}): retrain (`churn train`) and compare")


def _nan(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
