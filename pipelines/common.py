"""Shared flow plumbing: load the config once per flow run and wrap runners as tasks."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from churn.config import Config, load_config
from churn.ops import Workspace, confine_folders, exclusive_workdir
from churn.terminal import log_stage, timed_stage


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


class _Submitted:
    """A stage submitted to run beside others (`submit_stage`); `result()` waits for it."""

    def __init__(self, fn, cfg: Config, *args):
        from prefect.context import get_run_context

        self.stage = fn.__name__.removeprefix("run_").replace("_", "-")
        # On a Dask cluster the task runs in a worker process, whose stage lines stay there: they are said here.
        self.elsewhere = type(get_run_context().task_runner).__name__ == "DaskTaskRunner"
        self.started = time.perf_counter()
        if self.elsewhere:
            log_stage(self.stage, "start")
        self.future = as_task(fn, cfg).submit(*args)

    def result(self):
        try:
            value = self.future.result()
        except BaseException:
            if self.elsewhere:
                log_stage(self.stage, "failed", time.perf_counter() - self.started)
            raise
        if self.elsewhere:
            log_stage(self.stage, "done", time.perf_counter() - self.started)
        return value


def submit_stage(fn, cfg: Config, *args) -> _Submitted:
    """Run a runner as a task beside the flow's next ones (on the flow's task runner); `.result()` waits for it.
    Its stage shows as it does when called directly, wherever it ran."""
    return _Submitted(fn, cfg, *args)


def on_cluster(flow, scheduler: str | None):
    """`flow` with its tasks on prefect-dask's DaskTaskRunner at `scheduler` (a Dask scheduler's address; see
    `churn.cluster.running_cluster`), or as the flow says when None (the local engine)."""
    if scheduler is None:
        return flow
    from churn.extras import require

    return flow.with_options(task_runner=require("prefect_dask", "engine: dask (the flows' task runner)")
                             .DaskTaskRunner(address=scheduler))


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
