"""Serve both flows on the cron schedules of configs/params.yaml (`churn serve`)."""

from __future__ import annotations

from churn.config import EngineConfig, ScheduleConfig
from pipelines.common import on_engine
from pipelines.scoring import scoring_flow
from pipelines.training import training_flow


def deployments(schedule: ScheduleConfig, config: str = "configs/params.yaml", engine: EngineConfig | None = None
                ) -> list:
    """Scheduled deployments: weekly scoring, monthly retraining (by default), their stages on `engine`."""
    from prefect.schedules import Cron

    params = {"config": config}
    limit = {"timeout_seconds": schedule.flow_timeout_minutes * 60}
    return [
        on_engine(training_flow, engine or EngineConfig()).with_options(**limit).to_deployment(
            name="churn-training", parameters=params, schedules=[Cron(schedule.training_cron, timezone=schedule.timezone)],
            description="Retrain, evaluate and register the churn model"),
        on_engine(scoring_flow, engine or EngineConfig()).with_options(**limit).to_deployment(
            name="churn-scoring", parameters=params, schedules=[Cron(schedule.scoring_cron, timezone=schedule.timezone)],
            description="Score active customers and publish the retention list"),
    ]


def serve(schedule: ScheduleConfig, config: str = "configs/params.yaml", engine: EngineConfig | None = None) -> None:
    from prefect import serve as prefect_serve

    prefect_serve(*deployments(schedule, config, engine))
