"""The stages on the Dask engine (`engine.kind: dask`) against the local engine, on the demo business: the same
training and scoring features to the bit, a model within 0.005 ROC-AUC."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from helpers import CONFIG

from churn import runners
from churn.config import load_config
from churn.ops import Workspace, io


@pytest.fixture(scope="module")
def demo(demo_business, tmp_path_factory):
    """The demo business (5,000 customers) validated, its training examples and scoring features built by the local
    engine (tests/conftest.py's `demo_business`), in a work folder of this module's own."""
    cfg, as_of, _, shared, _ = demo_business
    root = tmp_path_factory.mktemp("demo")
    ws = Workspace(root=root / "local", models=root / "local_models", metrics=root / "local_metrics")
    shutil.copytree(shared.root, ws.root)  # the list's stages write into it
    return cfg, ws, as_of


@pytest.fixture(scope="module")
def on_cluster(demo, dask_client, tmp_path_factory):
    """The same stages with the engine set to the test's cluster (its scheduler's address), in a work folder of
    their own."""
    cfg, ws, as_of = demo
    root = tmp_path_factory.mktemp("dask")
    there = Workspace(root=root / "work", models=root / "models", metrics=root / "metrics")
    for path in ws.validated.glob("*.parquet"):
        io.write_parquet(io.read_parquet(path), there.validated / path.name)
    io.write_json(io.read_json(ws.validation_summary), there.validation_summary)
    cfg = load_config(CONFIG, **{"train.search.enabled": False, "engine.kind": "dask", "engine.partitions": 5,
                                 "engine.scheduler": dask_client.scheduler.address})
    runners.run_training_features(cfg, there, as_of)
    runners.run_scoring_features(cfg, there, as_of)
    return cfg, there, as_of


@pytest.mark.parametrize("features", ["examples", "scoring_features"])
def test_the_clusters_features_equal_the_local_engines_to_the_bit(demo, on_cluster, features):
    local, there = io.read_parquet(getattr(demo[1], features)), io.read_parquet(getattr(on_cluster[1], features))
    assert len(local) > 4000
    pd.testing.assert_frame_equal(there, local, check_exact=True)
    # the history's parts were written to the work folder and deleted when the stage ended
    assert not list(on_cluster[1].root.glob(".history-parts-*"))


@pytest.fixture(scope="module")
def trained_on_cluster(on_cluster):
    """`churn stage train` on the cluster: its report; the model in the cluster's work folder."""
    cfg, ws, as_of = on_cluster
    return runners.run_train(cfg, ws, as_of)


@pytest.mark.slow  # the demo business built, featured and trained on both engines: about a minute
def test_the_model_trained_with_lightgbm_dask_is_within_0005_roc_auc_of_the_local_one(demo_business,
                                                                                     trained_on_cluster):
    local = demo_business.trained.metrics  # train_model on the same examples, local engine
    auc = trained_on_cluster["metrics"]["model_roc_auc"]
    assert trained_on_cluster["candidate"]["candidate"] == "model" and local["model_roc_auc"] > 0.9
    assert abs(auc - local["model_roc_auc"]) <= 0.005, (auc, local["model_roc_auc"])


def test_the_same_model_gives_the_same_list_on_either_engine(demo, on_cluster, trained_on_cluster, tmp_path):
    """Scored and explained per part on the cluster, then planned: every customer's risk, cause, reasons, action and
    decision are the local engine's."""
    model = str(on_cluster[1].model_dir)
    lists = {}
    for name, (cfg, ws, as_of) in {"local": demo, "dask": on_cluster}.items():
        runners.run_value(cfg, ws, as_of)
        runners.run_effects(cfg, ws, as_of)
        summary = runners.run_score(cfg, ws, as_of, model)
        assert summary["causes"]["explained"] == summary["customers_scored"] > 4000
        runners.run_decide(cfg, ws, as_of, tmp_path / name)
        lists[name] = io.read_parquet(tmp_path / name / "retention_list.parquet")
    local, there = lists["local"], lists["dask"]
    assert (local["decision"] == "chosen").sum() > 100 and local["primary_cause"].nunique() >= 4
    pd.testing.assert_frame_equal(there, local, check_exact=True)
