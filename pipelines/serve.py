"""Serve both flows on the cron schedules of configs/params.yaml (`churn serve`)."""

from __future__ import annotations

from churn.config import EngineConfig, ScheduleConfig
from pipelines.common import on_cluster
from pipelines.scoring import scoring_flow
from pipelines.training import training_flow


def deployments(schedule: ScheduleConfig, config: str = "configs/params.yaml", scheduler: str | None = None) -> list:
    """Scheduled deployments: weekly scoring, monthly retraining (by default), their tasks on the Dask scheduler
    `scheduler` when given (`pipelines.common.on_cluster`)."""
    from prefect.schedules import Cron

    params = {"config": config}
    limit = {"timeout_seconds": schedule.flow_timeout_minutes * 60}
    return [
        on_cluster(training_flow, scheduler).with_options(**limit).to_deployment(
            name="churn-training", parameters=params, schedules=[Cron(schedule.training_cron, timezone=schedule.timezone)],
            description="Retrain, evaluate and register the churn model"),
        on_cluster(scoring_flow, scheduler).with_options(**limit).to_deployment(
            name="churn-scoring", parameters=params, schedules=[Cron(schedule.scoring_cron, timezone=schedule.timezone)],
            description="Score active customers and publish the retention list"),
    ]


def serve(schedule: ScheduleConfig, config: str = "configs/params.yaml", engine: EngineConfig | None = None) -> None:
    """Serve both deployments until stopped; with the Dask engine on one cluster for as long (the configured
    scheduler, or a LocalCluster started here)."""
    from prefect import serve as prefect_serve

    from churn.cluster import running_cluster

    with running_cluster(engine or EngineConfig()) as scheduler:  # None with the local engine
        prefect_serve(*deployments(schedule, config, scheduler))
