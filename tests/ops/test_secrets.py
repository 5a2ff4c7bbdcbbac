"""Passwords in locations: masked wherever shown, read from the environment by reference, scrubbed from errors."""

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import make_history, write_canonical_folder

from churn.config import SourceConfig, TableMapping
from churn.ops import SecretNotSet, io, move_password_to_environment, resolve_location, shown_location
from churn.ops._secrets import DATA_PASSWORD_ENV, scrub, secrets_in

PLANTED = "Planted-S3cret!pw"


@pytest.mark.parametrize("location, shown", [
    ("postgresql+psycopg://churn:p%40ss-word@db:5432/crm", "postgresql+psycopg://churn:***@db:5432/crm"),
    ("postgresql://churn:${CHURN_DB_PASSWORD}@db/crm", "postgresql://churn:***@db/crm"),
    ("postgresql://churn@db/crm?password=hunter22&sslmode=require", "postgresql://churn@db/crm?password=***&sslmode=require"),
    ("mysql+pymysql://u:pa:ss@host/db", "mysql+pymysql://u:***@host/db"),
    ("postgresql://churn@db/crm", "postgresql://churn@db/crm"),
    ("sqlite:///data/demo/history.db", "sqlite:///data/demo/history.db"),
    ("data/exports", "data/exports"),
    (None, None),
])
def test_a_location_is_shown_with_its_password_masked(location, shown):
    assert shown_location(location) == shown


@pytest.mark.parametrize("location, value, resolved", [
    ("postgresql://churn:${PW}@db/crm", "a@b/c:d", "postgresql://churn:a%40b%2Fc%3Ad@db/crm"),
    ("${PW}", "postgresql://u:x@h/db", "postgresql://u:x@h/db"),  # the whole location: used as it is
    ("exports/${PW}", "2026-12", "exports/2026-12"),
])
def test_references_are_read_from_the_environment_when_connecting(monkeypatch, location, value, resolved):
    monkeypatch.setenv("PW", value)
    assert resolve_location(location) == resolved
    if location.startswith("postgresql://churn:${PW}@"):
        assert sa.make_url(resolved).password == value  # the driver gets the password as typed


def test_an_unset_reference_names_the_variable(monkeypatch):
    monkeypatch.delenv("CHURN_NOT_SET", raising=False)
    with pytest.raises(SecretNotSet, match=r"source.location refers to \$\{CHURN_NOT_SET\}, which is not set"):
        resolve_location("postgresql://u:${CHURN_NOT_SET}@h/db", "source.location")


def test_secrets_are_scrubbed_from_messages_as_typed_and_url_encoded():
    location = "postgresql://u:p%40ss-word@h/db?token=tok-12345"
    assert set(secrets_in(location)) >= {"p@ss-word", "p%40ss-word", "tok-12345"}
    assert scrub("auth failed for p@ss-word (p%40ss-word), token tok-12345", location) == \
        "auth failed for *** (***), token ***"


def test_a_typed_password_moves_to_the_environment(monkeypatch):
    monkeypatch.delenv(DATA_PASSWORD_ENV, raising=False)
    moved = move_password_to_environment(f"postgresql+psycopg://churn:{PLANTED}@db/crm")
    assert moved == f"postgresql+psycopg://churn:${{{DATA_PASSWORD_ENV}}}@db/crm" and PLANTED not in moved
    assert sa.make_url(resolve_location(moved)).password == PLANTED
    assert move_password_to_environment("data/exports") == "data/exports"


def test_a_folder_location_may_refer_to_the_environment(tmp_path, monkeypatch):
    history = make_history(n_customers=20, seed=1)
    write_canonical_folder(history, tmp_path / "exports")
    monkeypatch.setenv("CHURN_EXPORTS", str(tmp_path / "exports"))
    tables = io.read_source(SourceConfig(location="${CHURN_EXPORTS}"))
    assert len(tables["orders"]) == len(history["orders"])


@pytest.fixture
def pg_url_with_password(pg_url):  # the test server trusts every login, so any password connects
    return sa.make_url(pg_url).set(password=PLANTED).render_as_string(hide_password=False)


def test_a_password_never_reaches_an_error_about_the_source(pg_url_with_password):
    cfg = SourceConfig(location=pg_url_with_password, tables={"orders": TableMapping(table="no_such_table")})
    with pytest.raises(io.SourceError, match=r"postgresql\+psycopg://postgres:\*\*\*@") as err:
        io.read_source(cfg)
    assert PLANTED not in str(err.value)
    bad_query = SourceConfig(location=pg_url_with_password,
                             tables={"orders": TableMapping(query=f"SELECT '{PLANTED}' AS customer_id FROM nowhere")})
    with pytest.raises(io.SourceError, match=r"the SQL mapping failed") as err:
        io.read_source(bad_query)
    assert PLANTED not in str(err.value)


def test_a_password_never_reaches_an_error_about_publishing(pg_url_with_password):
    listing = pd.DataFrame({"customer_id": ["C1"], "run_id": ["clash"]})
    with pytest.raises(io.PublishError, match="reserves"):
        io.publish_retention_list(listing, pg_url_with_password, "run-1")
    unreachable = sa.make_url(pg_url_with_password).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(io.PublishError, match=r"nothing was changed \(postgresql\+psycopg://postgres:\*\*\*@") as err:
        io.publish_retention_list(pd.DataFrame({"customer_id": ["C1"]}), unreachable, "run-1")
    assert PLANTED not in str(err.value)
