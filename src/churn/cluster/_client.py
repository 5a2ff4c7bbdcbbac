from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from churn.config import EngineConfig
from churn.extras import require


@contextmanager
def open_client(cfg: EngineConfig) -> Iterator:
    """A `distributed.Client` for `cfg`: connected to `cfg.scheduler`, or to a LocalCluster of `local_workers`
    single-threaded worker processes on 127.0.0.1 (no dashboard, `memory_per_worker` each), closed on exit; inside
    a task on a cluster's worker, a client of that cluster."""
    distributed = require("distributed", "engine: dask")
    if _on_a_worker(distributed):
        # A stage run as a task on the cluster itself (a Prefect flow on DaskTaskRunner): its parts go to the same
        # cluster, the stage's task stepping out of its worker's thread while it waits for them.
        with distributed.worker_client() as client:
            yield client
        return
    if cfg.scheduler:
        with distributed.Client(cfg.scheduler) as client:
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
