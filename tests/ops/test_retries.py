"""A source or publish database that goes down mid-run, on a real PostgreSQL server of the test's own: the
connection is tried again with backoff, and either the run goes on with nothing lost or doubled, or it fails
with one message naming the source, its password masked."""

import threading
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import make_history, write_database
from pg import pg_server_or_skip

from churn.config import SourceConfig, TableMapping
from churn.ops import PublishError, SourceError, io

PASSWORD = "Retry-S3cret-pw"
# A pull that is still running a second after it started: the server can be stopped under it.
SLOW_ORDERS = "SELECT o.*, pg_sleep(0.002) IS NULL AS slept FROM orders o"


@pytest.fixture(scope="module")
def server():
    server = pg_server_or_skip()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def history():
    return make_history(n_customers=60, seed=4)


@pytest.fixture
def source(server, history):
    """A database with the history; its URL carries a password (the server trusts every login)."""
    if not (server.data / "postmaster.pid").exists():
        server.restart()
    url = write_database(server.create_database(f"crm_{time.monotonic_ns()}"), history)
    return sa.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def _after(seconds: float, *actions) -> threading.Thread:
    def run():
        for action in actions:
            time.sleep(seconds)
            action()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_server_that_stops_mid_pull_and_stays_down_fails_naming_the_source(server, source, history, caplog):
    slow_orders = {"orders": TableMapping(query=SLOW_ORDERS)}
    stopper = _after(1.0, server.halt)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"cannot pull from the database postgresql\+psycopg://postgres:\*\*\*@127\.0"
                                          r"\.0\.1:\d+/crm_\d+: .*\(3 attempt\(s\) over \d+ s; source.pull_retries") as err:
        io.read_source(SourceConfig(location=source, tables=slow_orders, pull_retries=2, pull_retry_delay_seconds=0.5))
    stopper.join()
    assert time.monotonic() - started >= 1.5  # it waited between attempts (0.5 s, then 1 s)
    assert PASSWORD not in str(err.value) and PASSWORD not in caplog.text
    waits = [r.getMessage() for r in caplog.records if "attempt" in r.getMessage()]
    assert len(waits) == 2 and "attempt 2 of 3" in waits[0] and "***" in waits[0], waits


def test_a_server_that_comes_back_during_the_backoff_gives_the_whole_pull(server, source, history):
    slow_orders = {"orders": TableMapping(query=SLOW_ORDERS)}
    outage = _after(1.0, server.halt, server.restart)  # down a second into the pull, back a second later
    tables = io.read_source(SourceConfig(location=source, tables=slow_orders, pull_retries=4,
                                         pull_retry_delay_seconds=1.0))
    outage.join()
    assert {n: len(df) for n, df in tables.items()} == {n: len(df) for n, df in history.items()}
    assert tables["orders"]["amount"].sum() == pytest.approx(history["orders"]["amount"].sum())


def test_a_mapping_error_is_not_retried(server, source):
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"orders: the SQL mapping failed .*no_such_table"):
        io.read_source(SourceConfig(location=source, tables={"orders": TableMapping(query="SELECT * FROM no_such_table")},
                                    pull_retries=3, pull_retry_delay_seconds=5))
    assert time.monotonic() - started < 5


def _listing(n: int) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "churn_probability": [0.5] * n})


def test_publishing_to_a_server_that_is_down_then_back_is_retried_without_duplicates(server, source):
    server.halt()
    outage = _after(1.5, server.restart)
    out = io.publish_retention_list(_listing(500), source, "2026-10-01", retries=4, retry_delay_seconds=1.0)
    outage.join()
    assert out["rows_written"] == 500 and out["rows_in_table"] == 500
    again = io.publish_retention_list(_listing(500), source, "2026-10-01", retries=4, retry_delay_seconds=1.0)
    assert again["rows_in_table"] == 500  # re-publishing a run replaces its rows


def test_publishing_to_a_server_that_stays_down_fails_naming_it(server, source):
    server.halt()
    with pytest.raises(PublishError, match=r"publishing run '2026-10-01' to table 'retention_actions' failed, nothing "
                                           r"was changed \(postgresql\+psycopg://postgres:\*\*\*@.*\(2 attempt\(s\)") as err:
        io.publish_retention_list(_listing(5), source, "2026-10-01", retries=1, retry_delay_seconds=0.2)
    assert PASSWORD not in str(err.value)
    server.restart()
