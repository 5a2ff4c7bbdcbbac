"""Both Prefect flows with `engine.kind: dask`: one cluster for the whole run, the flows' tasks on prefect-dask's
DaskTaskRunner there, reporting to the run's Prefect server, and each stage's own parts on the same cluster."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import yaml
from helpers import DEMO_AS_OF

from churn.cluster import SCHEDULER_ENV, running_cluster
from churn.config import EngineConfig
from pipelines.common import on_cluster
from pipelines.scoring import scoring_flow
from pipelines.training import training_flow


@pytest.mark.slow
def test_training_and_scoring_flows_run_on_one_cluster(prefect_server, tracking_uri, tmp_path, fast_config,
                                                        small_business, monkeypatch):
    from distributed import Client
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL

    data, history = small_business
    config = tmp_path / "dask.yaml"  # no scheduler configured: the run starts a LocalCluster of its own
    config.write_text(yaml.safe_dump({"extends": fast_config, "engine": {
        "kind": "dask", "partitions": 3, "local_workers": 2, "memory_per_worker": "2GiB"}}), encoding="utf-8")
    dirs = {"workdir": str(tmp_path / "work"), "models": str(tmp_path / "models"), "metrics": str(tmp_path / "metrics")}
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # what churn's CLI does for its workers
    with running_cluster(EngineConfig(kind="dask", local_workers=2, memory_per_worker="2GiB")) as scheduler:
        assert scheduler.startswith("tcp://127.0.0.1:")
        trained = on_cluster(training_flow, scheduler)(config=str(config), data=data, as_of=DEMO_AS_OF, **dirs)
        assert trained["registered"]["alias"] == "champion"
        out = tmp_path / "out"
        scored = on_cluster(scoring_flow, scheduler)(
            config=str(config), data=data, as_of=DEMO_AS_OF, out=str(out), **dirs, return_state=True)
        with Client(scheduler) as client:
            ran = set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
            workers = len(client.scheduler_info()["workers"])
    listing = pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    assert scored.result()["list"]["customers_scored"] == len(listing) > 100 and listing["customer_id"].is_unique
    assert workers == 2  # the stages used the run's cluster rather than starting clusters of their own
    # on the cluster: the stages the scoring flow submits side by side (Prefect runs a task called without
    # .submit() in the flow's own process), and every stage's parts: features per part of the customers,
    # lightgbm.dask's training, risk and contributions per part
    assert {"run_scoring_features", "run_value", "run_effects"} <= ran, sorted(ran)
    assert {"features-part", "train_part", "predict-proba-part", "contributions-part"} <= ran, sorted(ran)
    # ... and the tasks run on the workers reported to this run's Prefect server
    with get_client(sync_client=True) as prefect:
        run = FlowRunFilter(id=FlowRunFilterId(any_=[scored.state_details.flow_run_id]))
        tasks = prefect.read_task_runs(flow_run_filter=run)
    states = {t.name.rsplit("-", 1)[0]: t.state.type.value for t in tasks}
    assert {states.get(s) for s in ("scoring-features", "value", "effects", "score")} == {"COMPLETED"}, states
    assert SCHEDULER_ENV not in os.environ  # handed to the stages only while the cluster ran
