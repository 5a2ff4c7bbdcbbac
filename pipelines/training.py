"""Training flow: pull, validate, features, train and evaluate, register."""

from __future__ import annotations

from prefect import flow

from churn import runners
from pipelines.common import as_task, claimed, pull_and_validate, setup


@flow(name="churn-training", log_prints=True)
def training_flow(
    config: str = "configs/params.yaml",
    data: str | None = None,
    as_of: str | None = None,
    horizon_days: int | None = None,
    active_days: int | None = None,
    workdir: str = "data/work",
    models: str = "models",
    metrics: str = "metrics",
) -> dict:
    cfg, ws = setup(config, data, horizon_days, active_days, workdir, models, metrics)
    with claimed(cfg, ws, "training"):
        day = runners.resolve_as_of(cfg, as_of)
        pulled, validation = pull_and_validate(cfg, ws)
        features = as_task(runners.run_training_features, cfg)(cfg, ws, day)
        metrics_ = as_task(runners.run_train, cfg)(cfg, ws, day)
        registered = as_task(runners.run_register, cfg)(cfg, ws, day)
        return {"pulled": pulled, "validation": validation, "features": features, "metrics": metrics_,
                "registered": registered}
