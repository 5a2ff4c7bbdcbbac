"""A real Dask cluster for the Dask engine's tests: a LocalCluster of two single-threaded worker processes on
127.0.0.1, no dashboard, 2 GiB each, closed when the file's tests are done."""

from __future__ import annotations

import pytest

from churn.config import EngineConfig


@pytest.fixture(scope="module")
def dask_client():
    from churn.cluster import open_client

    with open_client(EngineConfig(kind="dask", local_workers=2, memory_per_worker="2GiB")) as client:
        yield client
    assert client.status == "closed"
    assert client.cluster is None or client.cluster.status.name == "closed"
