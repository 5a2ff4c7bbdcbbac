"""What a person sees in the terminal while the flows run.

Prefect's own logs (a line per task state, full tracebacks when a task fails) belong in Prefect's
UI and in the run's log file; the terminal shows the stage names as they run, the summary, and for
an expected error one clear line. `--verbose` brings Prefect's lines back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Stage start and finish records come from the flows' task wrapper (pipelines/common.py).
STAGE_LOGGER = "churn.stages"
# Prefect's temporary server needs ~60 s to create its database on a new machine with two busy
# cores; Prefect's own default (20 s) makes the first run fail. The environment variable wins.
SERVER_STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
DEFAULT_SERVER_STARTUP_TIMEOUT = 300


class OrchestratorUnavailable(RuntimeError):
    """Prefect's API cannot be reached: the temporary server did not start, or PREFECT_API_URL is down."""


def server_startup_timeout() -> int:
    """Seconds to wait for Prefect's temporary server: $PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or 300."""
    raw = os.environ.get(SERVER_STARTUP_TIMEOUT_ENV)
    if not raw:
        return DEFAULT_SERVER_STARTUP_TIMEOUT
    try:
        return int(raw)  # Prefect reads the same variable as a whole number
    except ValueError:
        raise OrchestratorUnavailable(
            f"{SERVER_STARTUP_TIMEOUT_ENV} must be a whole number of seconds, not {raw!r}") from None


# Runs beside Prefect's temporary server and stops it once the churn process that started it is gone. A churn
# killed with SIGKILL runs no clean-up (Prefect's atexit hook never runs), and the server would live on for good.
_WATCHDOG = """
import os, signal, sys, time
parent, server = int(sys.argv[1]), int(sys.argv[2])

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True

while alive(server):
    if os.getppid() != parent:  # churn has died: this watchdog was handed to another parent
        os.kill(server, signal.SIGTERM)
        for _ in range(100):
            time.sleep(0.1)
            if not alive(server):
                break
        else:
            os.kill(server, signal.SIGKILL)
        break
    time.sleep(0.5)
"""


@dataclass
class TemporaryServer:
    """Prefect's temporary server started for this process, and the watchdog that stops it if churn is killed."""

    server: Any
    watchdog: subprocess.Popen


def ensure_prefect_api(on_start: Callable[[int], None] | None = None) -> TemporaryServer | None:
    """Make sure the flows have a Prefect API; return the temporary server started for them, else None.

    With PREFECT_API_URL set, that server is checked (one health request). Otherwise Prefect's temporary
    local server is started here, with a start-up time the first run on a new machine can meet (`on_start`
    is told how many seconds it may take); the flows then reuse it (Prefect keeps one per process). A watchdog
    process beside it stops it if churn dies without doing so (SIGKILL, out of memory).
    Raises OrchestratorUnavailable with what to do.
    """
    import httpx
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    api = PREFECT_API_URL.value()
    if api:
        try:
            httpx.get(f"{api.rstrip('/')}/health", timeout=10).raise_for_status()
        except httpx.HTTPError as err:
            raise OrchestratorUnavailable(
                f"the Prefect server at PREFECT_API_URL={api} does not answer ({type(err).__name__}). Start it "
                "(`prefect server start`) or unset PREFECT_API_URL to use a temporary local server") from None
        return None
    if not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        raise OrchestratorUnavailable("no Prefect server: set PREFECT_API_URL to a running server's API "
                                      "(e.g. http://127.0.0.1:4200/api after `prefect server start`)")
    from filelock import FileLock, Timeout
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_HOME

    wait = server_startup_timeout()
    server = SubprocessASGIServer()
    if on_start is not None and not server.running:
        on_start(wait)
    # One server start at a time on a Prefect home: two runs started together on a new machine each start a
    # server, and both creating the home's new database at once failed one with "database is locked" (seen in
    # tests/test_concurrent_runs.py). The second waits for the first to be up, then starts on a ready database.
    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(home / ".churn-server-start.lock", timeout=wait):
            server.start(timeout=wait)
    except (RuntimeError, Timeout) as err:
        if not isinstance(err, Timeout) and "Timed out" not in str(err):
            raise
        server.stop()
        raise OrchestratorUnavailable(
            f"Prefect's temporary local server did not start within {wait:g} s. Give it longer "
            f"({SERVER_STARTUP_TIMEOUT_ENV}=600), or run a server (`prefect server start` in another terminal) "
            "and point churn at it with PREFECT_API_URL=http://127.0.0.1:4200/api") from None
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(server.server_process.pid)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return TemporaryServer(server, watchdog)


def stop_prefect_server(started: TemporaryServer) -> None:
    """Stop a temporary server from ensure_prefect_api once Prefect's queued logs and events have reached it."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=10)
    started.server.stop()
    started.watchdog.terminate()
    started.watchdog.wait(timeout=10)


class _QuietPrefect(logging.Filter):
    """Keeps Prefect's run logs and info lines off the terminal (they stay in the log file and Prefect's UI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name.startswith(("prefect.flow_runs", "prefect.task_runs")) or name == STAGE_LOGGER:
            return False
        return not (name.startswith("prefect") and record.levelno < logging.WARNING)


class StageProgress(logging.Handler):
    """Shows each stage of a flow as it runs: a spinner with the stages running now, a line per finished one."""

    def __init__(self, console, status=None):
        super().__init__(level=logging.INFO)
        self.console, self.status = console, status
        self.failed_flow_run: str | None = None
        self.running: list[str] = []  # a flow runs some stages side by side

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "stage_event", None)
        stage = getattr(record, "stage", None)
        if event == "start":
            self.running.append(stage)
        elif event in ("done", "failed") and stage in self.running:
            self.running.remove(stage)
        if event in ("start", "done", "failed") and self.status is not None and self.running:
            self.status.update(", ".join(self.running) + " ...")
        if event == "done":
            self.console.print(f"  [green]✓[/] {stage} [dim]{record.seconds:.1f} s[/]")
        elif event == "failed":
            self.console.print(f"  [red]✗[/] {stage} [dim]{record.seconds:.1f} s[/]")
        elif record.name.startswith("prefect.flow_runs") and record.levelno >= logging.ERROR:
            self.failed_flow_run = getattr(record, "flow_run_name", None) or self.failed_flow_run


@contextlib.contextmanager
def session(console, verbose: bool = False, log_file: Path | None = None) -> Iterator[StageProgress]:
    """Route the logs of one CLI command: Prefect's lines and tracebacks to `log_file` (all of them) and,
    only when `verbose`, to the terminal; stage progress to the terminal. Undone on exit."""
    # Prefect sets up its logging (a console handler on the root logger) when prefect.main is first
    # imported, and leaves the root logger alone if it already has other handlers: import it first.
    import prefect.main  # noqa: F401
    from prefect.logging.formatters import PrefectFormatter

    root, stages = logging.getLogger(), logging.getLogger(STAGE_LOGGER)
    progress = StageProgress(console)
    added: list[tuple[logging.Logger, logging.Handler]] = [(root, progress)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setLevel(logging.INFO)
        to_file.setFormatter(PrefectFormatter(
            format="%(asctime)s | %(levelname)-7s | %(name)s - %(message)s",
            flow_run_fmt="%(asctime)s | %(levelname)-7s | Flow run %(flow_run_name)r - %(message)s",
            task_run_fmt="%(asctime)s | %(levelname)-7s | Task run %(task_run_name)r - %(message)s"))
        added.append((root, to_file))
    quiet = _QuietPrefect()
    filtered = [] if verbose else [h for h in root.handlers if isinstance(h, logging.StreamHandler)
                                   and not isinstance(h, logging.FileHandler)]
    stage_level = stages.level
    # MLflow reads these when it is first imported (its own log handler) or when it downloads artifacts.
    env = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"} | ({} if verbose else {"MLFLOW_LOGGING_LEVEL": "WARNING"})
    saved_env = {key: os.environ.get(key) for key in env}
    for key, value in env.items():
        os.environ.setdefault(key, value)
    for logger, handler in added:
        logger.addHandler(handler)
    for handler in filtered:
        handler.addFilter(quiet)
    stages.setLevel(logging.INFO)
    try:
        yield progress
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
        stages.setLevel(stage_level)
        for handler in filtered:
            handler.removeFilter(quiet)
        for logger, handler in added:
            logger.removeHandler(handler)
            if isinstance(handler, logging.FileHandler):
                handler.close()


def log_stage(stage: str, event: str, seconds: float = 0.0) -> None:
    """Record that a stage started, finished or failed (read by StageProgress and the log file)."""
    logging.getLogger(STAGE_LOGGER).info("stage %s %s%s", stage, event, f" in {seconds:.1f} s" if seconds else "",
                                         extra={"stage": stage, "stage_event": event, "seconds": seconds})


@contextlib.contextmanager
def timed_stage(stage: str) -> Iterator[None]:
    """Log a stage's start, then its finish or failure with the time it took."""
    log_stage(stage, "start")
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        log_stage(stage, "failed", time.perf_counter() - started)
        raise
    log_stage(stage, "done", time.perf_counter() - started)
