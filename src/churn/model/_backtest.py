"""Backtest across time: at each as-of date, train on what was known then, score, and evaluate
once the horizon has passed; the model and every baseline on the same customers."""

from __future__ import annotations

import pandas as pd

from churn.config import BacktestConfig, FeaturesConfig, LabelsConfig, TrainConfig
from churn.data import data_end, point_in_time
from churn.features import build_features, label, plan_cutoffs, population, training_examples
from churn.model._evaluation import MODELS, evaluate_all
from churn.model._train import train_model


def backtest_dates(start: pd.Timestamp, end: pd.Timestamp, every: int | str) -> list[pd.Timestamp]:
    """As-of dates from `start` to `end`: every N days (an int or "30d") or every N months ("1m")."""
    if end < start:
        raise ValueError(f"--from {start.date()} is after --to {end.date()}")
    text = str(every).strip().lower()
    unit = "m" if text.endswith("m") else "d"
    count = text.removesuffix(unit)
    if not count.isdigit() or int(count) <= 0:
        raise ValueError(f"--every takes a number of days or months such as 30d or 1m, not {every!r}")
    if unit == "m":
        return [pd.Timestamp(start).normalize() + pd.DateOffset(months=k * int(count))
                for k in range(0, 1200) if pd.Timestamp(start) + pd.DateOffset(months=k * int(count)) <= end]
    return list(pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq=f"{count}D"))


def run_backtest(
    tables: dict[str, pd.DataFrame],
    dates: list[pd.Timestamp],
    cfg: BacktestConfig,
    labels_cfg: LabelsConfig,
    features_cfg: FeaturesConfig,
    train_cfg: TrainConfig,
    progress=lambda message: None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-date metrics (one row per date and model), all predictions, and the pooled metrics."""
    horizon = pd.Timedelta(days=labels_cfg.horizon_days)
    end = data_end(tables)
    train_cfg = train_cfg.model_copy(update={"search": train_cfg.search.model_copy(update={"enabled": cfg.search})})
    rows, predictions = [], []
    for i, day in enumerate(dates, 1):
        if day + horizon > end:
            progress(f"{day.date()}: skipped, its {labels_cfg.horizon_days}-day horizon ends after the data ({end.date()})")
            continue
        progress(f"[{i}/{len(dates)}] as of {day.date()}: training on data before it")
        view, _ = point_in_time(tables, day)
        # Judged on what happens after `day`, the model fitted as `churn train --as-of day` would register it:
        # on every complete window (its refit), or, with "before_latest", only on the fit cutoffs before its holdout.
        plan = plan_cutoffs(day, labels_cfg, refit=True)
        examples = training_examples(view, plan, labels_cfg, features_cfg)
        if cfg.windows == "before_latest":
            examples = examples[examples["role"] == "train"]
        result = train_model(examples.assign(role="train"), train_cfg, labels_cfg.horizon_days)
        pop = population(view, [day], labels_cfg)
        feats = build_features(view, pop, features_cfg)
        scored = pd.concat(
            [feats[["customer_id", "cutoff"]].assign(churned=label(tables, pop, labels_cfg).to_numpy(),
                                                     model=result.model.predict_proba(feats)),
             result.baselines.predict(feats)],
            axis=1,
        )
        predictions.append(scored)
        metrics = evaluate_all(scored)
        for name in MODELS:
            if f"{name}_roc_auc" in metrics:
                rows.append({"as_of": day.date().isoformat(), "model": name, "customers": len(scored),
                             "churn_rate": round(float(scored["churned"].mean()), 4)}
                            | {k.removeprefix(f"{name}_"): v for k, v in metrics.items() if k.startswith(f"{name}_")})
    if not rows:
        raise ValueError(f"no backtest date has a complete {labels_cfg.horizon_days}-day horizon before the data ends "
                         f"({end.date()}): choose earlier dates")
    pooled_frame = pd.concat(predictions, ignore_index=True)
    return pd.DataFrame(rows), pooled_frame, evaluate_all(pooled_frame)
