"""Kill `churn score` (and with it the Prefect scoring flow it runs) at random moments, rerun it, and get what an
uninterrupted run gives: the same files, no temporary files, no duplicate published rows, no flow run left
Running."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import DEMO_AS_OF, write_canonical_folder

# Fields that differ between two runs by nature: ids and moments, not results.
VOLATILE_KEYS = {"mlflow_run_id", "published_at", "pulled_at", "generated_at", "started_at", "seconds"}


@pytest.fixture
def prefect_api(prefect_server) -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


def _env(tmp_path: Path, prefect_api: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "CHURN_PUBLISH"))}
    return env | {"COLUMNS": "250", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                  "PREFECT_API_URL": prefect_api, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
                  "CHURN_PUBLISH_URL": f"sqlite:///{tmp_path / 'published.db'}"}


def _normalised(value):
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def _outputs(out: Path) -> dict[str, object]:
    """Every file of the run's output folder, as what it says: tables as frames, JSON without volatile keys,
    other files as bytes (the report, the workbook, charts)."""
    found = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        key = path.relative_to(out).as_posix()
        if path.suffix == ".parquet":
            found[key] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            found[key] = pd.read_csv(path)
        elif path.suffix == ".json":
            found[key] = _normalised(json.loads(path.read_text(encoding="utf-8")))
        else:
            found[key] = path.stat().st_size > 0  # written whole (contents carry the moment they were made)
    return found


def _published(db: Path) -> pd.DataFrame:
    with sqlite3.connect(db) as conn:
        return pd.read_sql("SELECT * FROM retention_actions ORDER BY run_id, customer_id", conn).drop(
            columns="published_at")


def _running_flow_runs(work: Path) -> list:
    """The flow runs on `work` still marked Running (other tests share the session's Prefect server)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        running = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
    return [r for r in running if r.parameters.get("workdir") == str(work)]


def _temporary_files(*folders: Path) -> list[str]:
    return [str(p) for folder in folders if folder.exists() for p in folder.rglob("*") if p.name.endswith(".tmp")]


def kill_and_rerun(tmp_path, prefect_api, fast_config, small_business, kills: int, seed: int) -> dict:
    """Train once; score once uninterrupted; then score again and again, killing each run at a random moment
    until `kills` runs were killed, then let one finish. Returns what the test checks."""
    from churn.cli import train

    data = write_canonical_folder(small_business[1], tmp_path / "crm", "parquet")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    train(config=fast_config, data=data, as_of=DEMO_AS_OF, horizon_days=None, active_days=None,
          workdir=str(tmp_path / "train-work"))
    env = _env(tmp_path, prefect_api)
    work, out = tmp_path / "work", tmp_path / "out"
    command = [sys.executable, "-m", "churn.cli", "score", "--config", fast_config, "--data", data, "--as-of",
               DEMO_AS_OF, "--workdir", str(work), "--out", str(out)]

    started = time.monotonic()
    reference = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    assert reference.returncode == 0, reference.stdout + reference.stderr
    expected, expected_rows = _outputs(out), _published(tmp_path / "published.db")

    rng = random.Random(seed)
    killed, crashed, moments, checks = 0, set(), [], []
    while killed < kills:
        run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moment = rng.uniform(0.2, seconds)
        try:
            run.wait(timeout=moment)
            assert run.returncode == 0  # it finished before the kill: a rerun that completed
        except subprocess.TimeoutExpired:
            os.kill(run.pid, signal.SIGKILL)  # the process this test started, by its id
            run.wait()
            killed += 1
            crashed |= {r.id for r in _running_flow_runs(work)}  # left Running by the kill, until the next run looks
            moments.append(round(moment, 1))
        published = _published(tmp_path / "published.db")
        checks.append(not published.duplicated(["run_id", "customer_id"]).any())
    final = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stdout + final.stderr
    return {"expected": expected, "got": _outputs(out), "expected_rows": expected_rows,
            "rows": _published(tmp_path / "published.db"), "moments": moments, "no_duplicates": checks,
            "temporary": _temporary_files(work, out), "seconds": seconds, "running": _running_flow_runs(work),
            "record": (work / ".churn-run.json").exists(), "left_running_by_kills": len(crashed)}


def _check(result: dict, kills: int) -> None:
    assert len(result["moments"]) == kills
    assert all(result["no_duplicates"])
    assert result["temporary"] == []
    assert not result["record"]  # the last run ended and removed its trace
    assert result["running"] == [], [(r.name, r.state_name) for r in result["running"]]
    assert sorted(result["got"]) == sorted(result["expected"])
    for name, value in result["expected"].items():
        got = result["got"][name]
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got, value, obj=name)
        else:
            assert got == value, name
    pd.testing.assert_frame_equal(result["rows"], result["expected_rows"])


@pytest.mark.slow(minutes=3)  # two kills keep `make test` within CI's time; `-m kills` kills twenty times
def test_scoring_killed_twice_then_rerun_gives_the_uninterrupted_result(tmp_path, prefect_api, fast_config,
                                                                        small_business):
    _check(kill_and_rerun(tmp_path, prefect_api, fast_config, small_business, kills=2, seed=1), kills=2)


@pytest.mark.kills
def test_scoring_killed_twenty_times_then_rerun_gives_the_uninterrupted_result(tmp_path, prefect_api, fast_config,
                                                                                small_business):
    result = kill_and_rerun(tmp_path, prefect_api, fast_config, small_business, kills=20, seed=2)
    print(f"\n{len(result['moments'])} kills at {result['moments']} s of an uninterrupted {result['seconds']:.0f} s run; "
          f"{result['left_running_by_kills']} flow runs left Running by a kill were marked Crashed by the next run")
    _check(result, kills=20)
    assert result["left_running_by_kills"] > 0  # kills did leave flow runs Running, and the reruns ended them
