"""The stages on the Dask engine (`engine.kind: dask`) against the local engine, on the demo business: the same
training and scoring features to the bit, a model within 0.005 ROC-AUC."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import CONFIG

from churn import runners
from churn.config import load_config
from churn.data import generate_history, validate_history
from churn.model import train_model
from churn.ops import Workspace, io


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo business (5,000 customers) validated, and its training examples built by the local engine."""
    cfg = load_config(CONFIG, **{"train.search.enabled": False})  # the search only picks among similar models
    valid = validate_history(generate_history(cfg.demo).tables, cfg.validate_, pd.Timestamp("2026-11-01"))
    root = tmp_path_factory.mktemp("demo")
    ws = Workspace(root=root / "local", models=root / "local_models", metrics=root / "local_metrics")
    for name, frame in valid.tables.items():
        io.write_parquet(frame, ws.validated / f"{name}.parquet")
    as_of = pd.Timestamp(cfg.demo.end)
    runners.run_training_features(cfg, ws, as_of)
    runners.run_scoring_features(cfg, ws, as_of)
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


def test_the_model_trained_with_lightgbm_dask_is_within_0005_roc_auc_of_the_local_one(demo, on_cluster):
    cfg, ws, as_of = demo
    local = train_model(io.read_parquet(ws.examples), cfg.train, cfg.labels.horizon_days).metrics
    report = runners.run_train(on_cluster[0], on_cluster[1], as_of)
    auc = report["metrics"]["model_roc_auc"]
    assert report["candidate"]["candidate"] == "model" and local["model_roc_auc"] > 0.9
    assert abs(auc - local["model_roc_auc"]) <= 0.005, (auc, local["model_roc_auc"])
    assert on_cluster[1].model_dir.exists()
