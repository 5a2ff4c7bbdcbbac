"""Backtest flow: pull, validate, then train-score-evaluate at every as-of date."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import flow

from churn import runners
from pipelines.common import as_task, pull_and_validate, setup


@flow(name="churn-backtest", log_prints=True)
def backtest_flow(
    start: str,
    end: str,
    every: str | None = None,
    config: str = "configs/params.yaml",
    data: str | None = None,
    horizon_days: int | None = None,
    active_days: int | None = None,
    out: str = "metrics/backtest",
    workdir: str = "data/work",
    models: str = "models",
    metrics: str = "metrics",
) -> dict:
    cfg, ws = setup(config, data, horizon_days, active_days, workdir, models, metrics, out)
    pull_and_validate(cfg, ws)
    return as_task(runners.run_backtest, cfg)(cfg, ws, pd.Timestamp(start), pd.Timestamp(end), every, Path(out))
