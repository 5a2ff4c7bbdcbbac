"""Shared fixtures: small in-memory histories and real local stores in temp folders (plain helpers are
in tests/helpers.py)."""

from __future__ import annotations

import os
import pickle
from typing import Any, NamedTuple

import pandas as pd
import pytest
from helpers import CONFIG, ROOT, make_history, write_canonical_folder
from pg import pg_url  # noqa: F401  (a throwaway PostgreSQL server, tests/pg.py)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
if "PYTEST_XDIST_WORKER" in os.environ:
    # Two workers on two cores, each training LightGBM on two threads: OpenMP threads that sleep when idle
    # rather than spin keep one worker's training from starving the other.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_collection_modifyitems(config, items):
    """Files holding a slow test run first, the longest (`slow(minutes=N)`, 1 unsaid) first of all, so that no
    worker is left alone with one at the end."""
    minutes: dict = {}
    for item in items:
        if marker := item.get_closest_marker("slow"):
            minutes[item.path] = max(minutes.get(item.path, 0), marker.kwargs.get("minutes", 1))
    items.sort(key=lambda item: -minutes.get(item.path, 0))  # stable: the order within each group is kept


@pytest.fixture
def history() -> dict[str, pd.DataFrame]:
    return make_history()


@pytest.fixture(scope="session", autouse=True)
def _temp_folders_are_allowed(tmp_path_factory):
    # Tests write their work folders under pytest's temporary root, outside the project: allowed by name, as a
    # user would (tests of the refusal remove it). Commands started as new processes inherit it.
    from churn.ops import ALLOWED_ROOTS_ENV

    os.environ[ALLOWED_ROOTS_ENV] = str(tmp_path_factory.getbasetemp())
    yield
    os.environ.pop(ALLOWED_ROOTS_ENV, None)


@pytest.fixture(scope="session", autouse=True)
def _run_from_project_root():
    # Configs name files relative to the project root (e.g. configs/playbook.yaml), as the CLI does.
    here = os.getcwd()
    os.chdir(ROOT)
    yield
    os.chdir(here)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session (~15-25 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch) -> str:
    """A real MLflow SQLite store in a temp folder."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory) -> str:
    """The project config without the hyperparameter search (it only costs time in tests)."""
    import yaml

    raw = yaml.safe_load(open(CONFIG, encoding="utf-8"))
    raw["train"]["search"]["enabled"] = False
    raw["score"]["playbook"] = str(ROOT / "configs" / "playbook.yaml")
    path = tmp_path_factory.mktemp("config") / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def small_business(tmp_path_factory) -> tuple[str, dict[str, pd.DataFrame]]:
    """A small demo business (800 customers, real cause signals) as a canonical CSV folder."""
    from churn.config import DemoConfig
    from churn.data import generate_history

    history = generate_history(DemoConfig(n_customers=800, seed=3, inject_errors=False))
    return write_canonical_folder(history.tables, tmp_path_factory.mktemp("business")), history.tables


class DemoBusiness(NamedTuple):
    """The demo business as `demo_business` built it (read only: copy `ws.root` before running a stage in it)."""

    cfg: Any  # churn.config.Config, the project's config with the search off
    as_of: pd.Timestamp
    history: Any  # churn.data.generate_history's result: tables, truth, injected errors
    ws: Any  # churn.ops.Workspace: validated tables, training examples and scoring features, by the stages' runners
    trained: Any  # churn.model.train_model on those training examples


@pytest.fixture(scope="session")
def demo_business(tmp_path_factory, worker_id) -> DemoBusiness:
    """The demo business (the default 5,000 customers): validated, its training examples and scoring features built
    by the stages' runners on the local engine, a model trained on them. Built once for all test workers: the first
    to ask builds it under a file lock in pytest's temporary root, which the workers share; the others read it."""
    from filelock import FileLock

    from churn import runners
    from churn.config import load_config
    from churn.data import generate_history, validate_history
    from churn.model import train_model
    from churn.ops import Workspace, io

    shared = tmp_path_factory.getbasetemp()
    shared = shared if worker_id == "master" else shared.parent
    root = shared / "demo_business"
    cfg = load_config(CONFIG, **{"train.search.enabled": False})  # the search only picks among similar models
    ws, as_of = Workspace(root / "work", root / "models", root / "metrics"), pd.Timestamp(cfg.demo.end)
    built = root / "history_and_model.pickle"
    with FileLock(f"{root}.lock"):
        if not built.exists():
            history = generate_history(cfg.demo)
            valid = validate_history(history.tables, cfg.validate_, pd.Timestamp("2026-11-01"))
            io.write_tables(valid.tables, ws.validated)
            io.write_json(valid.summary, ws.validation_summary)
            runners.run_training_features(cfg, ws, as_of)
            runners.run_scoring_features(cfg, ws, as_of)
            trained = train_model(io.read_parquet(ws.examples), cfg.train, cfg.labels.horizon_days)
            with io.atomic_path(built) as tmp:
                tmp.write_bytes(pickle.dumps((history, trained)))
    history, trained = pickle.loads(built.read_bytes())
    return DemoBusiness(cfg, as_of, history, ws, trained)
