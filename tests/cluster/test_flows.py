"""Both Prefect flows with `engine.kind: dask`: their stages on prefect-dask's DaskTaskRunner, on the test's
LocalCluster, each stage's own parts on the same cluster."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from helpers import DEMO_AS_OF

from churn.config import load_config
from pipelines.common import on_engine
from pipelines.scoring import scoring_flow
from pipelines.training import training_flow


@pytest.mark.slow
def test_training_and_scoring_flows_run_their_stages_on_the_cluster(prefect_server, tracking_uri, tmp_path,
                                                                    fast_config, small_business, dask_client):
    data, history = small_business
    config = tmp_path / "dask.yaml"
    config.write_text(yaml.safe_dump({"extends": fast_config, "engine": {
        "kind": "dask", "scheduler": dask_client.scheduler.address, "partitions": 3}}), encoding="utf-8")
    cfg = load_config(config)
    dirs = {"workdir": str(tmp_path / "work"), "models": str(tmp_path / "models"), "metrics": str(tmp_path / "metrics")}
    trained = on_engine(training_flow, cfg.engine)(config=str(config), data=data, as_of=DEMO_AS_OF, **dirs)
    assert trained["registered"]["alias"] == "champion"
    out = tmp_path / "out"
    scored = on_engine(scoring_flow, cfg.engine)(config=str(config), data=data, as_of=DEMO_AS_OF, out=str(out),
                                                 **dirs)
    listing = pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    assert scored["list"]["customers_scored"] == len(listing) > 100 and listing["customer_id"].is_unique

    # what the cluster's scheduler ran: the stages the scoring flow submits side by side (Prefect runs a task
    # called without .submit() in the flow's own process), and every stage's parts: features per part of the
    # customers, lightgbm.dask's training, risk and contributions per part
    ran = set(dask_client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes)))
    assert {"run_scoring_features", "run_value", "run_effects"} <= ran, sorted(ran)
    assert {"features-part", "train_part", "predict-proba-part", "contributions-part"} <= ran, sorted(ran)
