from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from churn.config import EngineConfig
from churn.extras import require

# A running scheduler's address in the environment wins over `engine.scheduler` (as MLFLOW_TRACKING_URI over
# `tracking.uri`): a flow run that started a cluster of its own hands it to its stages this way.
SCHEDULER_ENV = "CHURN_DASK_SCHEDULER"


def scheduler_address(cfg: EngineConfig) -> str | None:
    """The scheduler the Dask engine connects to: SCHEDULER_ENV, else `cfg.scheduler` (None: start a LocalCluster)."""
    return os.environ.get(SCHEDULER_ENV) or cfg.scheduler


@contextmanager
def running_cluster(cfg: EngineConfig) -> Iterator[str | None]:
    """For a whole flow run: the scheduler address its task runner and stages share (None with the local engine).
    Without one configured, a LocalCluster started here and stopped on exit, its address in SCHEDULER_ENV
    meanwhile (workers started now inherit the environment: set PREFECT_API_URL before, so that the flows' tasks on
    them report to the same Prefect server)."""
    if cfg.kind == "local":
        yield None
        return
    address = scheduler_address(cfg)
    if address:
        yield address
        return
    distributed = require("distributed", "engine: dask")
    before = os.environ.get(SCHEDULER_ENV)
    with distributed.LocalCluster(**local_cluster_options(cfg)) as cluster:
        os.environ[SCHEDULER_ENV] = cluster.scheduler_address
        try:
            yield cluster.scheduler_address
        finally:
            if before is None:
                os.environ.pop(SCHEDULER_ENV, None)
            else:
                os.environ[SCHEDULER_ENV] = before


@contextmanager
def open_client(cfg: EngineConfig) -> Iterator:
    """A `distributed.Client` for `cfg`: connected to `scheduler_address(cfg)`, or to a LocalCluster of `local_workers`
    single-threaded worker processes on 127.0.0.1 (no dashboard, `memory_per_worker` each), closed on exit; inside
    a task on a cluster's worker, a client of that cluster."""
    distributed = require("distributed", "engine: dask")
    if _on_a_worker(distributed):
        # A stage run as a task on the cluster itself (a Prefect flow on DaskTaskRunner): its parts go to the same
        # cluster, the stage's task stepping out of its worker's thread while it waits for them.
        with distributed.worker_client() as client:
            yield client
        return
    if address := scheduler_address(cfg):
        with distributed.Client(address) as client:
            yield client
        return
    # One thread a worker: DuckDB and LightGBM bring their own threads, and a worker's memory limit is then one
    # task's. Processes, not threads, so that a worker killed for its memory takes no other work with it.
    with distributed.LocalCluster(**local_cluster_options(cfg)) as cluster, distributed.Client(cluster) as client:
        yield client


def local_cluster_options(cfg: EngineConfig) -> dict:
    """`distributed.LocalCluster`'s options for `cfg`: single-threaded worker processes on 127.0.0.1, no dashboard."""
    return {"n_workers": cfg.local_workers, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
            "dashboard_address": None, "memory_limit": cfg.memory_per_worker, "silence_logs": logging.ERROR}


def _on_a_worker(distributed) -> bool:
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True
