"""A password planted in the source and publish URLs is found nowhere a training and a scoring run write:
files, MLflow's store and artifacts, Prefect's database, logs and the terminal."""

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from helpers import DEMO_AS_OF, write_database
from pg import create_database

PLANTED = "Planted-S3cret!pw"


def _written_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_a_planted_password_is_written_nowhere(prefect_server, tracking_uri, tmp_path, monkeypatch, capfd, fast_config,
                                               small_business, pg_url):
    import prefect.settings

    from churn.cli import score, train

    source = write_database(create_database(pg_url, f"crm_{uuid.uuid4().hex[:8]}"), small_business[1])
    # The test server trusts every login: the planted password connects, as a real one would.
    with_password = sa.make_url(source).set(password=PLANTED).render_as_string(hide_password=False)
    monkeypatch.setenv("CHURN_PUBLISH_URL", with_password)
    monkeypatch.chdir(tmp_path)
    # Training reads the password from its config file, scoring from the command line (`--data`).
    config = tmp_path / "params.yaml"
    config.write_text(f"extends: {fast_config}\nsource:\n  location: '{with_password}'\n", encoding="utf-8")
    common = {"as_of": DEMO_AS_OF, "horizon_days": None, "active_days": None, "workdir": str(tmp_path / "work")}
    train(config=str(config), data=None, **common)
    assert "postgresql+psycopg://postgres:***@" in (tmp_path / "work" / "raw" / "pull.json").read_text()
    score(config=fast_config, data=with_password, **common, out=str(tmp_path / "out"), model="models:/churn@champion")
    assert "postgresql+psycopg://postgres:***@" in (tmp_path / "work" / "raw" / "pull.json").read_text()

    engine = sa.create_engine(source)
    try:
        with engine.connect() as conn:  # the run did connect with it: the list was published
            published = conn.execute(sa.text("SELECT count(*) FROM retention_actions")).scalar_one()
    finally:
        engine.dispose()
    assert published > 0
    prefect_db = Path(prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    files = [p for p in _written_files(tmp_path, prefect_db.parent) if p != config]  # the test wrote the config
    assert any(p.name == "pull.json" for p in files) and any(p.name.startswith("mlflow.db") for p in files)
    assert prefect_db in files
    forms = {PLANTED, quote(PLANTED, safe=""), sa.make_url(with_password).render_as_string(hide_password=False)
             .split(":", 2)[2].split("@")[0]}
    leaks = [(str(p), form) for p in files for form in forms if form.encode() in p.read_bytes()]
    terminal = capfd.readouterr()
    leaks += [("terminal", form) for form in forms if form in terminal.out + terminal.err]
    assert not leaks, leaks
