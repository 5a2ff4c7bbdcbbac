"""The terminal as a new user sees it: the first run on a new machine works, expected errors read as errors."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import DEMO_AS_OF, write_canonical_folder
from rich.console import Console

from churn import terminal
from churn.cli import ERROR_EXIT

# A closed port on the loopback: a Prefect API that is not there.
DEAD_API = "http://127.0.0.1:9/api"


def churn(*args: str, cwd, env: dict[str, str], timeout: int = 600) -> tuple[int, str]:
    """Run the real `churn` command line in a new process; its exit code and everything it printed."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    full_env |= {"COLUMNS": "250", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"} | env
    proc = subprocess.run([sys.executable, "-m", "churn.cli", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def prefect_api(prefect_server) -> str:
    """The test session's Prefect server, for commands started as new processes."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture
def orders_only(small_business, tmp_path) -> str:
    return write_canonical_folder({"orders": small_business[1]["orders"][["customer_id", "ts", "amount"]]},
                                  tmp_path / "shop")


@pytest.mark.slow
def test_the_first_run_on_a_new_machine_starts_prefect_and_trains(tmp_path, fast_config, orders_only):
    # No Prefect home yet and no PREFECT_API_URL: Prefect creates and migrates its database while the
    # temporary server starts, which takes longer than Prefect's own 20 s default on a busy machine.
    home = tmp_path / "prefect-home"
    code, out = churn("train", "--config", fast_config, "--data", orders_only, "--as-of", DEMO_AS_OF,
                      "--workdir", str(tmp_path / "work"), cwd=tmp_path, env={"PREFECT_HOME": str(home)})
    assert code == 0, out
    assert (home / "prefect.db").exists(), "Prefect's database was not created in the empty home"
    assert "Traceback" not in out and "Task run" not in out and "Flow run" not in out, out
    assert "temporary server" not in out, out  # Prefect's start and stop lines stay in the log
    for stage in ("pull", "validate", "training-features", "train", "register"):
        assert f"✓ {stage} " in out, out
    assert "Registered churn v1 as @" in out
    assert "Loss causes: the evidence method (no cause model: the history has no" in out, out
    log = (tmp_path / "work" / "logs" / "churn.log").read_text()
    assert "Beginning flow run" in log and "stage register done" in log


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


@pytest.mark.slow
def test_a_killed_churn_leaves_no_prefect_server_behind(tmp_path, prefect_server):
    # What `churn score` does before its flow: start Prefect's temporary server. Then it is SIGKILLed (no clean-up).
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    script = ("import time\nfrom churn.terminal import ensure_prefect_api\nstarted = ensure_prefect_api()\n"
              "print(started.server.server_process.pid, started.watchdog.pid, flush=True)\ntime.sleep(900)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # the session's database, already set up: the server starts in seconds, not the first run's minute
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": PREFECT_SERVER_DATABASE_CONNECTION_URL.value()}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    server = watchdog = None
    try:
        server, watchdog = map(int, proc.stdout.readline().split())
        assert _alive(server) and _alive(watchdog)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 30
        while (_alive(server) or _alive(watchdog)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(server), "Prefect's temporary server outlived the churn process that started it"
        assert not _alive(watchdog)
    finally:
        proc.kill()
        for pid in (server, watchdog):
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_prefect_server_that_cannot_start_says_what_to_do(tmp_path, orders_only, fast_config):
    code, out = churn("train", "--config", fast_config, "--data", orders_only, "--workdir", str(tmp_path / "w"),
                      cwd=tmp_path, env={"PREFECT_HOME": str(tmp_path / "home"),
                                         terminal.SERVER_STARTUP_TIMEOUT_ENV: "1"})
    assert code == ERROR_EXIT, out
    assert "Prefect's temporary local server did not start within 1 s" in out
    assert "PREFECT_API_URL=" in out and "Traceback" not in out


def test_a_prefect_server_that_does_not_answer_is_named(tmp_path, orders_only, fast_config):
    code, out = churn("score", "--config", fast_config, "--data", orders_only, "--workdir", str(tmp_path / "w"),
                      cwd=tmp_path, env={"PREFECT_API_URL": DEAD_API})
    assert code == ERROR_EXIT, out
    assert f"the Prefect server at PREFECT_API_URL={DEAD_API} does not answer" in out and "Traceback" not in out


def _broken_config(tmp_path, fast_config) -> str:
    path = tmp_path / "broken.yaml"
    path.write_text(f"extends: {fast_config}\ntrain:\n  bogus: 1\n")
    return str(path)


@pytest.mark.parametrize("case, message", [
    ("missing column", "table `orders` is missing required column(s) ['amount']"),
    ("bad config", "train.bogus: Extra inputs are not permitted (got 1)"),
    ("unreachable source", "cannot pull from the database postgresql+psycopg://churn:***@127.0.0.1:9/crm"),
    ("no champion", "no model models:/churn@champion in the registry"),
    ("horizon not passed", "-day horizon after the run of 2026-09-01 ends on"),
])
def test_expected_errors_print_one_clear_message_and_no_traceback(case, message, tmp_path, prefect_api, fast_config,
                                                                 orders_only):
    data, command, config = orders_only, "train", fast_config
    if case == "missing column":
        data = write_canonical_folder({"orders": pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"]})},
                                      tmp_path / "no-amount")
    elif case == "bad config":
        config = _broken_config(tmp_path, fast_config)
    elif case == "unreachable source":
        data = "postgresql+psycopg://churn:s3cret@127.0.0.1:9/crm?connect_timeout=5"
        config = tmp_path / "quick-retries.yaml"  # retried as configured, without the default waits
        config.write_text(f"extends: {fast_config}\nsource:\n  pull_retry_delay_seconds: 0.1\n")
        config = str(config)
    elif case == "no champion":
        command = "score"
    args = [command, "--config", config, "--data", data, "--as-of", DEMO_AS_OF, "--workdir", str(tmp_path / "w")]
    if case == "horizon not passed":
        command = "effect"
        args = ["effect", "--as-of", "2026-09-01", "--config", config, "--data", data, "--workdir", str(tmp_path / "w"),
                "--runs", str(tmp_path / "runs")]
    code, out = churn(*args, cwd=tmp_path, env={"PREFECT_API_URL": prefect_api,
                                                "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    assert code == ERROR_EXIT, out
    flat = " ".join(out.split())
    assert flat.count("error: ") == 1 and message in flat.split("error: ", 1)[1], out
    assert "Traceback" not in out and "Encountered exception" not in out, out
    if command in ("train", "score") and case != "bad config":
        # the stage that failed is shown, and where Prefect's full log of the run is
        assert "✗ " in out and "its full log is in" in out, out
    if case == "no champion":  # looked up first: nothing pulled for a run that cannot score
        assert "✗ find-model" in out and "✓ pull" not in out, out
    if case == "unreachable source":  # each wait is shown, the password masked
        assert "attempt 3 of 3" in out and "(3 attempt(s) over" in flat, out
    assert "s3cret" not in out


def test_verbose_brings_back_prefects_lines_and_the_traceback(tmp_path, prefect_api, fast_config):
    data = write_canonical_folder({"orders": pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"]})},
                                  tmp_path / "no-amount")
    code, out = churn("--verbose", "train", "--config", fast_config, "--data", data, "--workdir", str(tmp_path / "w"),
                      cwd=tmp_path, env={"PREFECT_API_URL": prefect_api})
    assert code == ERROR_EXIT, out
    assert "Traceback" in out and "Finished in state Failed" in out
    assert "error: table `orders` is missing required column(s) ['amount']" in " ".join(out.split())


# Records logged by hand outside a flow run: Prefect's API handler warns that it cannot send them.
NO_FLOW_RUN = pytest.mark.filterwarnings("ignore:Logger 'prefect")


@NO_FLOW_RUN
def test_a_session_leaves_logging_as_it_found_it(tmp_path):
    import prefect.main  # noqa: F401  (Prefect's logging set up first, as in a command)

    root = logging.getLogger()
    before = [(h, list(h.filters)) for h in root.handlers]
    with terminal.session(Console(file=open(os.devnull, "w")), log_file=tmp_path / "logs" / "churn.log"):
        logging.getLogger("prefect.flow_runs").error("kept off the terminal", extra={"flow_run_name": "happy-run"})
        terminal.log_stage("features", "done", 1.5)
    assert [(h, list(h.filters)) for h in root.handlers] == before
    log = (tmp_path / "logs" / "churn.log").read_text()
    assert "Flow run 'happy-run' - kept off the terminal" in log and "stage features done in 1.5 s" in log


@NO_FLOW_RUN
@pytest.mark.parametrize("verbose, shown", [(False, False), (True, True)])
def test_prefect_run_lines_reach_the_terminal_only_when_verbose(verbose, shown):
    import io

    import prefect.main  # noqa: F401

    root, screen = logging.getLogger(), io.StringIO()
    terminal_handler = logging.StreamHandler(screen)  # stands in for Prefect's console handler
    root.addHandler(terminal_handler)
    try:
        with terminal.session(Console(file=open(os.devnull, "w")), verbose=verbose):
            logging.getLogger("prefect.task_runs").error("task failed with a long traceback",
                                                         extra={"task_run_name": "validate-0"})
            logging.getLogger("prefect").info("Starting temporary server")
            logging.getLogger("prefect").warning("a warning stays visible")
    finally:
        root.removeHandler(terminal_handler)
    shown_text = screen.getvalue()
    assert ("task failed with a long traceback" in shown_text) is shown
    assert ("Starting temporary server" in shown_text) is shown
    assert "a warning stays visible" in shown_text


def test_a_startup_timeout_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv(terminal.SERVER_STARTUP_TIMEOUT_ENV, "soon")
    with pytest.raises(terminal.OrchestratorUnavailable, match="must be a whole number of seconds, not 'soon'"):
        terminal.server_startup_timeout()


@NO_FLOW_RUN
def test_the_spinner_names_every_stage_running_side_by_side():
    import io

    out = io.StringIO()
    console = Console(file=out, width=120)
    with console.status("starting") as status, terminal.session(console) as progress:
        progress.status = status
        terminal.log_stage("features", "start")
        terminal.log_stage("value", "start")
        assert str(status.renderable.text) == "features, value ..."
        terminal.log_stage("features", "done", 2.0)
        assert str(status.renderable.text) == "value ..."
        terminal.log_stage("effects", "start")
        terminal.log_stage("value", "failed", 3.0)
        assert str(status.renderable.text) == "effects ..."
    assert "✓ features 2.0 s" in out.getvalue() and "✗ value 3.0 s" in out.getvalue()
