"""Two scoring runs started at the same moment on the default embedded stores: one SQLite MLflow store, Prefect's
temporary local server on one (new) Prefect database, one SQLite database both publish to."""

import os
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers import DEMO_AS_OF, write_canonical_folder

LOCKED = "database is locked"


@pytest.mark.slow(minutes=3)
def test_two_scoring_runs_at_once_both_complete_without_lock_errors(tmp_path, tracking_uri, prefect_server, fast_config,
                                                                    small_business):
    from churn.cli import train

    data = write_canonical_folder(small_business[1], tmp_path / "crm", "parquet")
    train(config=fast_config, data=data, as_of=DEMO_AS_OF, horizon_days=None, active_days=None,
          workdir=str(tmp_path / "train-work"))
    # No PREFECT_API_URL: each run starts Prefect's temporary server, both on this one new Prefect home.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "CHURN_PUBLISH"))}
    env |= {"COLUMNS": "250", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PREFECT_HOME": str(tmp_path / "prefect-home"), "MLFLOW_TRACKING_URI": tracking_uri,
            "CHURN_PUBLISH_URL": f"sqlite:///{tmp_path / 'published.db'}"}
    runs = {}
    for name, as_of in (("a", DEMO_AS_OF), ("b", str((pd.Timestamp(DEMO_AS_OF) - pd.Timedelta(days=7)).date()))):
        runs[name] = (as_of, subprocess.Popen(
            [sys.executable, "-m", "churn.cli", "score", "--config", fast_config, "--data", data, "--as-of", as_of,
             "--workdir", str(tmp_path / f"work-{name}"), "--out", str(tmp_path / f"out-{name}")],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    deadline = time.monotonic() + 900
    outputs = {name: run.communicate(timeout=max(1, deadline - time.monotonic()))[0] for name, (_, run) in runs.items()}
    for name, (as_of, run) in runs.items():
        assert run.returncode == 0, outputs[name]
        log = (tmp_path / f"work-{name}" / "logs" / "churn.log").read_text(encoding="utf-8")
        assert LOCKED not in outputs[name] + log
        listing = pd.read_csv(tmp_path / f"out-{name}" / "retention_list.csv")
        features = pd.read_parquet(tmp_path / f"work-{name}" / "features" / "scoring_features.parquet")
        assert len(listing) == len(features) > 0, name
        with sqlite3.connect(tmp_path / "published.db") as conn:
            published = conn.execute("SELECT count(*) FROM retention_actions WHERE run_id = ?", (as_of,)).fetchone()[0]
        assert published == len(listing), name
    import mlflow

    scoring_runs = mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'score'")
    assert len(scoring_runs) == 2 and set(scoring_runs["status"]) == {"FINISHED"}
