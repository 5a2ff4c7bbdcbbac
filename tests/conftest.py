"""Shared fixtures: small in-memory histories and real local stores in temp folders (plain helpers are
in tests/helpers.py)."""

from __future__ import annotations

import os

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
