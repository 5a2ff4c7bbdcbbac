"""Publishing the retention list to a database table, and pulling the history from PostgreSQL.

Every publish test runs on SQLite (a temp file) and on a real throwaway PostgreSQL server (tests/pg.py).
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import CONFIG, make_history
from pg import create_database, pg_url  # noqa: F401  (the fixture; conftest.py may import it instead)

from churn import runners
from churn.config import SourceConfig, TableMapping, ValidateConfig, load_config
from churn.data import validate_history
from churn.ops import io
from churn.vocab import LIST_COLUMNS

# --- helpers ------------------------------------------------------------------------------------


def make_listing(n: int = 5, seed: int = 0, prefix: str = "C") -> pd.DataFrame:
    """A retention-list-shaped frame (churn.vocab.LIST_COLUMNS, the dtypes the score and decide stages give)."""
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    p = [round(0.9 - 0.1 * i - 0.01 * seed, 4) for i in range(n)]
    text = lambda values: pd.array(values, dtype="string")  # noqa: E731
    frame = pd.DataFrame({
        "customer_id": text(ids),
        "name": text([f"Renji Hospital {i}" for i in range(n)]),  # personal details: text like any other
        "contact_name": text(["王明", None] * (n // 2) + [None] * (n % 2)),
        "email": text([None] * n),
        "phone": text(["+86 21 6438 5521"] * n),
        "churn_probability": p,
        "risk_band": text(["high" if x >= 0.5 else "medium" if x >= 0.25 else "low" for x in p]),
        "value_tier": text(["high", "medium", "low", "low", "medium"] * (n // 5) + ["low"] * (n % 5)),
        "is_key_account": [i % 3 == 0 for i in range(n)],
        "owner": text([f"AM-{i % 2}" for i in range(n)]),
        "segment": text(["hospital", None, "clinic", "pharmacy", "clinic"] * (n // 5) + ["clinic"] * (n % 5)),
        "region": text(["North"] * n),
        "primary_cause": text(["price", "service", "quality", "engagement", "other"] * (n // 5) + ["other"] * (n % 5)),
        "cause_share": [0.5 + 0.01 * i for i in range(n)],
        "secondary_cause": text([None, "price"] * (n // 2) + [None] * (n % 2)),
        "action": text(["pricing_offer"] * n),
        "action_label": text(["Pricing offer — call and propose"] * n),  # non-ASCII on purpose
        "channel": text(["visit"] * n),
        "owner_role": text(["account_manager"] * n),
        "action_cost": [150.0] * n,
        "value_12m": [1000.0 * (i + 1) for i in range(n)],
        "expected_loss": [round(1000.0 * (i + 1) * x, 2) for i, x in enumerate(p)],
        "reasons": text([f"no order in {30 + i} days; seed {seed}" for i in range(n)]),
        "reason_codes": text([f'[{{"key":"silent","days":{30 + i}}}]' for i in range(n)]),
        "model_version": f"churn v{seed + 1}",
        "as_of": "2026-10-01",
        "key_account_rule": text(["flag" if i % 3 == 0 else None for i in range(n)]),
        "forecast_value_12m": [900.0 * (i + 1) for i in range(n)],
        "value_if_retained_12m": [1100.0 * (i + 1) if i % 4 else float("nan") for i in range(n)],
        "days_since_last_order": [float(30 + i) for i in range(n)],
        "usual_gap_days": [20.0 if i % 2 else float("nan") for i in range(n)],
        "lapsed": [i % 4 == 3 for i in range(n)],
        "lifecycle_stage": text(["lapsed" if i % 4 == 3 else ["new", "mature", "declining"][i % 3] for i in range(n)]),
        "need_profile": text(["price", "none"] * (n // 2) + ["none"] * (n % 2)),
        "need_evidence": text(['[{"key":"returns","pct":4}]'] * n),
    })[LIST_COLUMNS]
    if n > 1:
        frame.loc[1, "cause_share"] = float("nan")  # a missing float goes in as NULL
    assert list(frame.columns) == LIST_COLUMNS
    return frame


def read_table(url: str, table: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(f'SELECT * FROM "{table}" ORDER BY run_id, customer_id'), conn)
    finally:
        engine.dispose()


def table_exists(url: str, table: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'published.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def table() -> str:
    # One PostgreSQL database serves the session: each test publishes to a table of its own.
    return f"retention_{uuid.uuid4().hex[:10]}"


# --- publishing ---------------------------------------------------------------------------------


def test_publish_writes_every_row_with_types(db_url, table):
    listing = make_listing(7)
    out = io.publish_retention_list(listing, db_url, "run-1", table=table)
    assert out == {"table": table, "run_id": "run-1", "rows_written": 7, "rows_in_table": 7}

    got = read_table(db_url, table)
    assert list(got.columns) == ["run_id", *LIST_COLUMNS, "published_at"]
    assert got["run_id"].eq("run-1").all()
    assert sorted(got["customer_id"]) == sorted(listing["customer_id"])
    assert got["published_at"].notna().all()
    by_id = got.set_index("customer_id").loc[listing["customer_id"].tolist()]
    assert by_id["churn_probability"].tolist() == listing["churn_probability"].tolist()
    assert by_id["is_key_account"].astype(bool).tolist() == listing["is_key_account"].tolist()  # 0/1 on SQLite
    assert by_id["action_label"].iloc[0] == "Pricing offer — call and propose"
    assert pd.isna(by_id["cause_share"].iloc[1]) and pd.isna(by_id["segment"].iloc[1])
    assert by_id["secondary_cause"].isna().tolist() == listing["secondary_cause"].isna().tolist()

    engine = sa.create_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        assert inspector.get_pk_constraint(table)["constrained_columns"] == ["run_id", "customer_id"]
        types = {c["name"]: c["type"] for c in inspector.get_columns(table)}
    finally:
        engine.dispose()
    for c in ("customer_id", "risk_band", "owner", "reasons", "model_version", "as_of"):  # pandas strings -> TEXT
        assert isinstance(types[c], sa.Text), (c, types[c])
    assert isinstance(types["churn_probability"], sa.Float)
    assert isinstance(types["is_key_account"], sa.Boolean)
    assert isinstance(types["published_at"], sa.DateTime)


def test_republishing_a_run_replaces_its_rows(db_url, table):
    io.publish_retention_list(make_listing(6, seed=0), db_url, "run-1", table=table)
    first = read_table(db_url, table)

    second_list = make_listing(6, seed=3)
    out = io.publish_retention_list(second_list, db_url, "run-1", table=table)
    assert out["rows_written"] == 6 and out["rows_in_table"] == 6
    got = read_table(db_url, table)
    assert len(got) == 6
    assert got["model_version"].eq("churn v4").all()
    assert sorted(got["churn_probability"]) == sorted(second_list["churn_probability"])
    assert (got["published_at"] >= first["published_at"].max()).all()

    # a shorter list for the same run: the run's rows are exactly the new ones
    out = io.publish_retention_list(make_listing(2, seed=5), db_url, "run-1", table=table)
    assert out["rows_in_table"] == 2 and len(read_table(db_url, table)) == 2


def test_other_runs_rows_are_kept(db_url, table):
    io.publish_retention_list(make_listing(5, seed=0), db_url, "2026-10-01", table=table)
    out = io.publish_retention_list(make_listing(3, seed=1, prefix="D"), db_url, "2026-10-08", table=table)
    assert out == {"table": table, "run_id": "2026-10-08", "rows_written": 3, "rows_in_table": 8}
    got = read_table(db_url, table)
    assert got.groupby("run_id").size().to_dict() == {"2026-10-01": 5, "2026-10-08": 3}
    # the same customer in two runs is two rows: the key is (run_id, customer_id)
    io.publish_retention_list(make_listing(5, seed=2), db_url, "2026-10-15", table=table)
    got = read_table(db_url, table)
    assert got.groupby("run_id").size().to_dict() == {"2026-10-01": 5, "2026-10-08": 3, "2026-10-15": 5}
    assert got[got["run_id"] == "2026-10-01"]["model_version"].eq("churn v1").all()


@pytest.fixture
def fail_on_second_insert():
    """Once armed, make the second INSERT statement sent to any database fail (a publish's second chunk)."""
    inserts: list[str] = []
    armed = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        if armed and statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)
            if len(inserts) == 2:
                raise RuntimeError("connection lost in the middle of the second chunk")

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", hook)
    yield lambda: armed.append(True) or inserts
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", hook)


def test_failure_half_way_leaves_the_table_as_it_was(db_url, table, fail_on_second_insert):
    io.publish_retention_list(make_listing(5, seed=0), db_url, "run-1", table=table)
    io.publish_retention_list(make_listing(3, seed=0, prefix="D"), db_url, "run-2", table=table)
    before = read_table(db_url, table)

    inserts = fail_on_second_insert()
    with pytest.raises(RuntimeError, match="second chunk"):
        io.publish_retention_list(make_listing(6, seed=9), db_url, "run-1", table=table, chunksize=2)
    assert len(inserts) == 2  # the first chunk did go in (and the delete before it), then rolled back
    pd.testing.assert_frame_equal(read_table(db_url, table), before)


def test_failure_on_a_new_table_leaves_no_table(db_url, table, fail_on_second_insert):
    fail_on_second_insert()
    with pytest.raises(RuntimeError, match="second chunk"):
        io.publish_retention_list(make_listing(6), db_url, "run-1", table=table, chunksize=3)
    assert not table_exists(db_url, table)  # CREATE TABLE is part of the transaction, on SQLite too


def test_database_error_half_way_is_rolled_back(db_url, table):
    """A real constraint violation from the database (NOT NULL) in the second chunk."""
    io.publish_retention_list(make_listing(5), db_url, "run-1", table=table)
    before = read_table(db_url, table)
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:  # a DBA tightened the table since
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql(f'CREATE TRIGGER "{table}_owner" BEFORE INSERT ON "{table}" '
                                     f"WHEN NEW.owner IS NULL BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: owner'); END")
            else:
                conn.exec_driver_sql(f'ALTER TABLE "{table}" ALTER COLUMN owner SET NOT NULL')
    finally:
        engine.dispose()
    listing = make_listing(6, seed=4)
    listing.loc[4, "owner"] = pd.NA  # in the third chunk of two rows
    with pytest.raises(io.PublishError, match=rf"(?s)publishing run 'run-1' to table '{table}' failed, nothing was changed.*owner"):
        io.publish_retention_list(listing, db_url, "run-1", table=table, chunksize=2)
    pd.testing.assert_frame_equal(read_table(db_url, table), before)


def test_a_table_with_other_columns_is_refused(db_url, table):
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE TABLE "{table}" (run_id TEXT, customer_id TEXT, churn_probability REAL, '
                                 "crm_note TEXT, published_at TIMESTAMP)")
            conn.exec_driver_sql(f"INSERT INTO \"{table}\" VALUES ('old', 'C1', 0.5, 'keep me', NULL)")
    finally:
        engine.dispose()
    with pytest.raises(io.PublishError, match=rf"table '{table}' exists with other columns.*"
                                              r"missing \['name', 'contact_name'.*'risk_band', 'value_tier'.*extra \['crm_note'\]"):
        io.publish_retention_list(make_listing(3), db_url, "run-1", table=table)
    assert read_table(db_url, table)["crm_note"].tolist() == ["keep me"]


def test_a_table_published_by_an_older_churn_gets_the_new_list_columns(db_url, table):
    # A table published before the list had `reason_codes`: the column is added, empty for the old run.
    old = make_listing(3).drop(columns=["reason_codes"])
    io.publish_retention_list(old, db_url, "run-old", table=table)
    out = io.publish_retention_list(make_listing(2), db_url, "run-new", table=table)
    assert out["rows_in_table"] == 5
    got = read_table(db_url, table)
    assert list(got.columns) == ["run_id", *[c for c in LIST_COLUMNS if c != "reason_codes"], "published_at",
                                 "reason_codes"]
    assert got.loc[got["run_id"] == "run-old", "reason_codes"].isna().all()
    assert got.loc[got["run_id"] == "run-new", "reason_codes"].tolist() == make_listing(2)["reason_codes"].tolist()


def test_a_bad_list_is_refused_before_touching_the_database(db_url, table):
    listing = make_listing(4)
    listing.loc[3, "customer_id"] = listing.loc[0, "customer_id"]
    with pytest.raises(io.PublishError, match="duplicated customer_id"):
        io.publish_retention_list(listing, db_url, "run-1", table=table)
    with pytest.raises(io.PublishError, match="reserves"):
        io.publish_retention_list(make_listing(2).assign(run_id="x"), db_url, "run-1", table=table)
    with pytest.raises(io.PublishError, match="non-empty run_id"):
        io.publish_retention_list(make_listing(2), db_url, "", table=table)
    assert not table_exists(db_url, table)


def test_publishing_an_empty_list_clears_the_run(db_url, table):
    io.publish_retention_list(make_listing(3), db_url, "run-1", table=table)
    out = io.publish_retention_list(make_listing(0), db_url, "run-1", table=table)
    assert out["rows_written"] == 0 and out["rows_in_table"] == 0


def test_default_table_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert io.publish_retention_list(make_listing(2), url, "r")["table"] == "retention_actions"
    assert len(read_table(url, "retention_actions")) == 2


# --- pulling the history from PostgreSQL ---------------------------------------------------------


@pytest.fixture(scope="module")
def history_tables():
    return make_history(n_customers=60, seed=3)


@pytest.fixture(scope="module")
def pg_history_url(pg_url, history_tables):  # noqa: F811
    """A database of its own on the session's server, holding the canonical tables."""
    url = create_database(pg_url, f"history_{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, df in history_tables.items():
                df.to_sql(name, conn, index=False)
            conn.exec_driver_sql("CREATE TABLE invoices AS SELECT customer_id AS account_no, ts AS invoice_date, "
                                 "amount AS net_amount, order_id AS invoice_no FROM orders")
    finally:
        engine.dispose()
    return url


def test_read_source_from_postgresql(pg_history_url, history_tables):
    tables = io.read_source(SourceConfig(location=pg_history_url))
    assert set(tables) == set(history_tables)
    for name, df in history_tables.items():
        got = tables[name]
        assert list(got.columns) == list(df.columns), name
        assert len(got) == len(df), name
    assert tables["customers"]["customer_id"].tolist() == history_tables["customers"]["customer_id"].tolist()  # "00007"
    result = validate_history(tables, ValidateConfig(), pd.Timestamp("2026-01-01", tz="UTC"))
    assert result.summary["quarantined_rows"] == 0 and len(result.quarantine) == 0
    assert {n: t["kept_rows"] for n, t in result.summary["tables"].items()} == {n: len(df) for n, df in history_tables.items()}
    pd.testing.assert_series_equal(result.tables["orders"]["amount"].sort_values(ignore_index=True),
                                   history_tables["orders"]["amount"].sort_values(ignore_index=True), check_names=False)


def test_query_mapping_on_postgresql(pg_history_url, history_tables):
    cfg = SourceConfig(location=pg_history_url, tables={
        "orders": TableMapping(query="SELECT account_no AS customer_id, invoice_date AS ts, net_amount AS amount, "
                                     "invoice_no AS order_id FROM invoices WHERE net_amount > 0"),
    })
    tables = io.read_source(cfg)
    expected = history_tables["orders"][history_tables["orders"]["amount"] > 0]
    assert list(tables["orders"].columns) == ["customer_id", "ts", "amount", "order_id"]
    assert len(tables["orders"]) == len(expected) and (tables["orders"]["amount"] > 0).all()
    result = validate_history(tables, ValidateConfig(), pd.Timestamp("2026-01-01", tz="UTC"))
    assert result.summary["tables"]["orders"]["bad_rows"] == 0


@pytest.mark.parametrize("query", ["DROP TABLE surveys", "DELETE FROM surveys RETURNING customer_id",
                                   "UPDATE orders SET amount = 0 RETURNING customer_id"])
def test_a_pull_cannot_change_a_postgresql_source(pg_history_url, history_tables, query):
    cfg = SourceConfig(location=pg_history_url, tables={"surveys": TableMapping(query=query)})
    with pytest.raises(io.SourceError, match=r"surveys: the SQL mapping failed on postgresql\+psycopg://.*read-only"):
        io.read_source(cfg)
    tables = io.read_source(SourceConfig(location=pg_history_url))
    assert len(tables["surveys"]) == len(history_tables["surveys"])
    assert tables["orders"]["amount"].sum() == pytest.approx(history_tables["orders"]["amount"].sum())


def test_pull_and_validate_runners_from_postgresql(pg_history_url, history_tables, tmp_path):
    cfg = load_config(CONFIG, **{"source.location": pg_history_url})
    ws = runners.Workspace(root=tmp_path / "work", models=tmp_path / "models", metrics=tmp_path / "metrics")
    pulled = runners.run_pull(cfg, ws)
    assert pulled == {n: len(df) for n, df in history_tables.items()}
    summary = runners.run_validate(cfg, ws)
    assert summary["quarantined_rows"] == 0
    assert io.read_tables(ws.validated)["orders"].shape[0] == len(history_tables["orders"])
