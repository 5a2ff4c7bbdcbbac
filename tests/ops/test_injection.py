"""Hostile table and column names in a mapping config or the publish table are refused, on SQLite and on a real
PostgreSQL server, and none of them changes the database."""

import json
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import CONFIG, make_history, write_database
from pg import create_database

from churn.config import ConfigError, PublishConfig, SourceConfig, TableMapping, load_config
from churn.ops import PublishError, SourceError, io

# Classic SQL injection in identifiers, for both dialects: statement stacking, quote breaking (double, single,
# back and square), comments, unions, catalogue tables, functions with side effects, encodings and lengths.
PAYLOADS = [
    "orders; DROP TABLE customers",
    "orders; DROP TABLE customers; --",
    'orders"; DROP TABLE customers; --',
    "orders'; DROP TABLE customers; --",
    "orders`; DROP TABLE customers; --",
    "orders]; DROP TABLE customers; --",
    'orders" --',
    "orders --",
    "orders /* comment */",
    "orders/**/WHERE/**/1=1",
    "orders WHERE 1=1",
    "orders WHERE '1'='1'",
    'orders" WHERE "1"="1',
    "orders UNION SELECT * FROM customers",
    'orders" UNION SELECT name, sql, 1, 1 FROM sqlite_master --',
    "(SELECT * FROM customers)",
    "(SELECT pg_sleep(5))",
    "orders; SELECT pg_sleep(5)",
    "orders; COPY customers TO '/tmp/churn-injected'",
    "orders; ATTACH DATABASE '/tmp/churn-injected.db' AS x",
    "orders; CREATE TABLE injected (x int)",
    "orders; INSERT INTO customers (customer_id) VALUES ('X')",
    "orders; UPDATE orders SET amount = 0",
    "orders; DELETE FROM orders",
    "orders; TRUNCATE orders",
    "orders; ALTER TABLE orders RENAME TO gone",
    "orders; GRANT ALL ON orders TO PUBLIC",
    "orders; VACUUM",
    "orders; PRAGMA writable_schema = 1",
    "sqlite_master",
    "sqlite_schema",
    "pg_catalog.pg_authid",
    "pg_shadow",
    "information_schema.tables",
    "public.orders; DROP TABLE customers",
    "orders\x00; DROP TABLE customers",
    "orders\n; DROP TABLE customers",
    "orders\r\nDROP TABLE customers",
    "orders\t--",
    "orders\u037e DROP TABLE customers",  # Greek question mark, a look-alike of ;
    "orders\u2019; DROP TABLE customers; --",  # a typographic quote
    "orders\uff1b DROP TABLE customers",  # full-width semicolon
    "%27%3B%20DROP%20TABLE%20customers%3B--",
    "0x6f72646572733b2044524f50",
    "orders" + "x" * 200,
    "x" * 64,
    "",
    " ",
    "1orders",
    "../../etc/passwd",
    "orders.parquet; rm -rf /",
    "$(rm -rf /tmp/churn-injected)",
    "orders|id",
    "${jndi:ldap://example.invalid/a}",
    "orders AS o JOIN customers AS c ON 1=1",
    "orders, customers",
    "main.orders",
    "temp.orders",
]
assert len(PAYLOADS) >= 50


@pytest.fixture(scope="module")
def tables():
    return make_history(n_customers=30, seed=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, tables):
    if request.param == "sqlite":
        return write_database(f"sqlite:///{tmp_path / 'crm.db'}", tables)
    url = create_database(request.getfixturevalue("pg_url"), f"inject_{uuid.uuid4().hex[:8]}")
    return write_database(url, tables)


def _snapshot(url: str) -> dict:
    """Every table of the database with its row count and a checksum of its rows."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            out = {}
            for schema in [s for s in inspector.get_schema_names() if s not in ("information_schema", "pg_catalog")]:
                for table in inspector.get_table_names(schema=schema):
                    rows = pd.read_sql_table(table, conn, schema=schema)
                    out[(schema, table)] = (len(rows), int(pd.util.hash_pandas_object(rows.astype(str)).sum()))
            return out
    finally:
        engine.dispose()


def _refused(call) -> bool:
    try:
        call()
    except (SourceError, PublishError, ConfigError, ValueError):
        return True
    return False


def test_hostile_table_names_in_a_mapping_are_refused(database):
    before = _snapshot(database)
    read = [p for p in PAYLOADS
            if not _refused(lambda p=p: io.read_source(SourceConfig(location=database,
                                                                    tables={"orders": TableMapping(table=p)})))]
    assert read == []
    assert _snapshot(database) == before


def test_hostile_column_names_in_a_mapping_are_refused(database):
    before = _snapshot(database)
    read = [p for p in PAYLOADS if not _refused(lambda p=p: io.read_source(
        SourceConfig(location=database, tables={"orders": TableMapping(columns={"amount": p})})))]
    assert read == []
    assert _snapshot(database) == before


def test_hostile_publish_table_names_are_refused(database, tmp_path):
    before = _snapshot(database)
    listing = pd.DataFrame({"customer_id": ["C1", "C2"], "churn_probability": [0.7, 0.2]})
    published = [p for p in PAYLOADS if not _refused(lambda p=p: io.publish_retention_list(listing, database, "r1", p))]
    assert published == []
    assert _snapshot(database) == before
    # The config refuses every payload but two plain schema-qualified names, which the publish refuses above:
    # `main.orders` is the history's own table, with other columns; SQLite's `temp` schema is not in its catalogue.
    config = tmp_path / "params.yaml"
    accepted = []
    for payload in PAYLOADS:
        config.write_text(f"extends: {CONFIG}\npublish:\n  table: {json.dumps(payload)}\n", encoding="utf-8")  # JSON is YAML
        if not _refused(lambda: load_config(config)):
            accepted.append(payload)
        else:
            with pytest.raises(ValueError, match=r"publish table .* (is not a plain table name|names the database's own)"):
                PublishConfig(table=payload)
    assert accepted == ["main.orders", "temp.orders"]


@pytest.mark.parametrize("name", ["retention_actions", "churn.retention_actions", "客户流失名单", "list_2026"])
def test_plain_publish_table_names_are_accepted(name):
    assert PublishConfig(table=name).table == name


def test_a_table_named_like_a_crm_export_is_read_when_it_is_in_the_catalogue(tmp_path, tables):
    # Spaces, Chinese and dashes are no payloads: such a name is read, quoted, when the catalogue has it.
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    write_database(url, {"销售 订单-2026": tables["orders"].rename(columns={"amount": "金额 (¥)"})})
    got = io.read_source(SourceConfig(location=url, tables={
        "orders": TableMapping(table="销售 订单-2026", columns={"amount": "金额 (¥)"})}))
    assert got["orders"]["amount"].sum() == pytest.approx(tables["orders"]["amount"].sum())
