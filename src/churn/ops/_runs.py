"""One run per work folder at a time.

A run holds an OS file lock on `<workdir>/.churn-run.lock` (released by the OS when the process ends, however
it ends, a SIGKILL included) and writes `<workdir>/.churn-run.json` (pid, start, what) while it runs, so that a
run waiting for the folder can say which run it waits for.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
LOCK_FILE = ".churn-run.lock"
RECORD_FILE = ".churn-run.json"


class RunInProgress(RuntimeError):
    """Another run holds the work folder longer than this one may wait."""


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none, or half-written by a run killed while writing it
        return {} if path.exists() else None


@contextmanager
def exclusive_workdir(workdir: str | Path, what: str, wait_seconds: float) -> Iterator[None]:
    """Hold the work folder for one run, waiting up to `wait_seconds` for a run that holds it (RunInProgress
    after that)."""
    from filelock import FileLock, Timeout

    folder = Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / RECORD_FILE
    lock = FileLock(folder / LOCK_FILE)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _read(record) or {}
        log.warning("waiting for the %s run (pid %s, started %s) that is using %s; up to %.0f s", holder.get("what"),
                    holder.get("pid"), holder.get("started_at"), folder, wait_seconds)
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise RunInProgress(
                f"another run ({holder.get('what')}, pid {holder.get('pid')}, started {holder.get('started_at')}) "
                f"is using {folder} and did not finish within {wait_seconds:.0f} s; wait for it, or give this run "
                f"its own --workdir (schedule.wait_for_other_run_minutes sets the wait)") from None
    try:
        _write(record, {"pid": os.getpid(), "what": what,
                        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        yield
    finally:  # a run that ends, failed or not, leaves no record (a killed one's is overwritten by the next)
        record.unlink(missing_ok=True)
        lock.release()


def _write(path: Path, obj: dict) -> None:
    from churn.ops.io import write_json

    write_json(obj, path)
