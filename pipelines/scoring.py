"""Scoring flow: pull, validate, features, customer value, action effects, score (risk, value, causes,
reasons), decide (playbook actions and the contact plan), report, publish."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from churn import runners
from churn.monitor import check_drift
from pipelines.common import as_task, pull_and_validate, setup


@flow(name="churn-scoring", log_prints=True)
def scoring_flow(
    config: str = "configs/params.yaml",
    data: str | None = None,
    as_of: str | None = None,
    model: str = "models:/churn@champion",
    out: str = "data/retention",
    horizon_days: int | None = None,
    active_days: int | None = None,
    workdir: str = "data/work",
    models: str = "models",
    metrics: str = "metrics",
) -> dict:
    cfg, ws = setup(config, data, horizon_days, active_days, workdir, models, metrics, out)
    day = runners.resolve_as_of(cfg, as_of)
    pulled, validation = pull_and_validate(cfg, ws)
    features = as_task(runners.run_scoring_features)(cfg, ws, day)
    value = as_task(runners.run_value)(cfg, ws, day)
    effects = as_task(runners.run_effects)(cfg, ws, day)
    scored = as_task(runners.run_score)(cfg, ws, day, model)
    as_task(runners.run_decide)(cfg, ws, day, Path(out))
    report = as_task(runners.run_report)(cfg, ws, day, Path(out))
    listing = as_task(runners.run_publish)(cfg, ws, day, Path(out))
    check_drift(listing.get("drift"), cfg.monitor.fail_on_drift)  # after the list is out: it is named, not lost
    return {"pulled": pulled, "validation": validation, "features": features, "value": value, "effects": effects,
            "scored": scored, "report": report, "list": listing}
