"""One run per work folder: the OS lock, the wait, and the trace a killed run leaves."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from churn.ops import RunInProgress, exclusive_workdir
from churn.ops._runs import RECORD_FILE

HOLD = textwrap.dedent("""
    import os, signal, sys, time
    from churn.ops import exclusive_workdir
    with exclusive_workdir(sys.argv[1], "scoring", 0):
        print("held", flush=True)
        if sys.argv[2] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(float(sys.argv[2]))
""")


def _holder(workdir, how: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(workdir), how], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_run_that_ends_leaves_no_record(tmp_path):
    with exclusive_workdir(tmp_path, "scoring", 0):
        assert json.loads((tmp_path / RECORD_FILE).read_text())["pid"] == os.getpid()
    with pytest.raises(ValueError, match="boom"), exclusive_workdir(tmp_path, "scoring", 0):
        raise ValueError("boom")
    assert not (tmp_path / RECORD_FILE).exists()


def test_a_second_run_waits_then_gives_up_naming_the_first(tmp_path):
    child = _holder(tmp_path, "30")
    try:
        started = time.monotonic()
        with pytest.raises(RunInProgress, match=rf"another run \(scoring, pid {child.pid}, started .*\) is using "
                                                rf".* did not finish within 1 s"):
            with exclusive_workdir(tmp_path, "scoring", 1.0):
                pass
        assert time.monotonic() - started >= 1.0
    finally:
        child.kill()
        child.wait()


def test_a_second_run_goes_on_when_the_first_finishes(tmp_path):
    child = _holder(tmp_path, "1.5")
    started = time.monotonic()
    with exclusive_workdir(tmp_path, "scoring", 30):
        assert time.monotonic() - started >= 1.0  # it waited for the first to end
    child.wait()


def test_a_killed_run_releases_the_folder(tmp_path):
    child = _holder(tmp_path, "kill")
    assert child.wait() == -signal.SIGKILL
    assert json.loads((tmp_path / RECORD_FILE).read_text())["pid"] == child.pid  # left by the killed run
    started = time.monotonic()
    with exclusive_workdir(tmp_path, "scoring", 30):
        assert time.monotonic() - started < 5  # the kernel released the lock with the process
        assert json.loads((tmp_path / RECORD_FILE).read_text())["pid"] == os.getpid()
