"""Shared flow plumbing: load the config once per flow run and wrap runners as tasks."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from churn.config import Config, EngineConfig, load_config
from churn.ops import Workspace, confine_folders, exclusive_workdir
from churn.terminal import timed_stage


def load(config: str, data: str | None, horizon_days: int | None, active_days: int | None) -> Config:
    return load_config(
        config, **{"source.location": data, "labels.horizon_days": horizon_days, "labels.active_days": active_days}
    )


def as_task(fn, cfg: Config | None = None, **options):
    """A runner as a Prefect task (the library itself carries no Prefect decorators); its start and finish
    are logged as a stage, which the CLI shows as progress. With `cfg`, the task times out after
    `schedule.task_timeout_minutes` (a hung database or disk fails the run instead of holding it forever)."""
    name = fn.__name__.removeprefix("run_").replace("_", "-")
    if cfg is not None:
        options.setdefault("timeout_seconds", cfg.schedule.task_timeout_minutes * 60)

    @functools.wraps(fn)
    def stage(*args, **kwargs):
        with timed_stage(name):
            return fn(*args, **kwargs)

    return task(stage, name=name, cache_policy=NO_CACHE, **options)


def on_engine(flow, engine: EngineConfig):
    """`flow` with its tasks (the stages) on the configured engine: as the flow says here, or with `engine.kind:
    dask` on prefect-dask's DaskTaskRunner: the cluster at `engine.scheduler`, or a LocalCluster started for the
    run (`churn.cluster.local_cluster_options`). A stage's own parts then go to the same cluster."""
    if engine.kind == "local":
        return flow
    from churn.cluster import local_cluster_options
    from churn.extras import require

    runner = require("prefect_dask", "engine: dask (the flows' DaskTaskRunner)").DaskTaskRunner
    if engine.scheduler:
        return flow.with_options(task_runner=runner(address=engine.scheduler))
    return flow.with_options(task_runner=runner(cluster_class="distributed.LocalCluster",
                                                cluster_kwargs=local_cluster_options(engine)))


def setup(config: str, data: str | None, horizon_days: int | None, active_days: int | None,
          workdir: str, models: str, metrics: str, out: str | None = None) -> tuple[Config, Workspace]:
    """The config (loaded once, here at the flow's entry) and the workspace of a flow run, its folders checked
    to stay in the project (a deployment's parameters do not pass through the CLI)."""
    confine_folders({"workdir": workdir, "models": models, "metrics": metrics, "out": out})
    return load(config, data, horizon_days, active_days), Workspace(Path(workdir), Path(models), Path(metrics))


@contextmanager
def claimed(cfg: Config, ws: Workspace, what: str) -> Iterator[None]:
    """The flow run holds its work folder (one run at a time; `churn.ops.exclusive_workdir`). Any other churn flow
    run still marked Running on this folder is then dead (it would hold the folder): it is marked Crashed, so that
    a killed run is not left Running forever."""
    from prefect.runtime import flow_run

    with exclusive_workdir(ws.root, what, cfg.schedule.wait_for_other_run_minutes * 60):
        _crash_stale_runs(ws.root, str(flow_run.id) if flow_run.id else None)
        yield


CHURN_FLOWS = ("churn-training", "churn-scoring")


def _crash_stale_runs(workdir: Path, current: str | None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    here = workdir.resolve()
    with get_client(sync_client=True) as client:
        running = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=list(CHURN_FLOWS))),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
        for run in running:
            if str(run.id) != current and Path(run.parameters.get("workdir") or "data/work").resolve() == here:
                client.set_flow_run_state(run.id, Crashed(message=f"its process ended without finishing (killed); "
                                                          f"found by run {current} on the same work folder"), force=True)


def pull_and_validate(cfg: Config, ws: Workspace) -> tuple[dict, dict]:
    """The first two tasks of every flow: pull (its connection retried inside, as source.pull_retries says,
    the same under DVC) and validate."""
    from churn import runners

    return as_task(runners.run_pull, cfg)(cfg, ws), as_task(runners.run_validate, cfg)(cfg, ws)
