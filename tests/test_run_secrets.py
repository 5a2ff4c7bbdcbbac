"""A password planted in the source and publish URLs, and a customer's name, contact, e-mail and phone planted in
the history with `report.mask_personal: true`, are found nowhere a training and a scoring run write: files
(Parquet and Excel read as what they hold), MLflow's store and artifacts, Prefect's database, logs and the
terminal."""

import uuid
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import DEMO_AS_OF, write_database
from openpyxl import load_workbook
from pg import create_database

PLANTED = "Planted-S3cret!pw"
# One active customer's personal details, as a CRM holds them: its record, an extra column and a ticket's note.
NAME, CONTACT = "Qiaoxin Plantedname Hospital", "Plantedperson 王植入"
EMAIL, PHONE, MOBILE = "planted.buyer@secret-clinic.example.cn", "+86 139 8765 4321", "13987654321"
PERSONAL = ("Qiaoxin", "Plantedname", "Plantedperson", "王植入", "planted.buyer", "secret-clinic", "139 8765 4321",
            MOBILE)  # digits alone (87654321) also occur in the features' floats


def _written_files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in root.rglob("*") if p.is_file()]


def _text_of(path: Path) -> str:
    """What a file holds as text: Parquet and Excel compress their cells, so they are read, not grepped."""
    raw = path.read_bytes().decode("utf-8", errors="ignore")
    if path.suffix == ".parquet":
        return raw + pd.read_parquet(path).astype("string").to_csv()
    if path.suffix == ".xlsx":
        book = load_workbook(path, read_only=True)
        return raw + "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row)
    return raw


def _with_personal_details(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], str]:
    """The history with personal details planted on its most recent buyer; and that customer's id."""
    customer = str(tables["orders"].sort_values("ts")["customer_id"].iloc[-1])
    customers = tables["customers"].copy()
    mine = customers["customer_id"].eq(customer)
    customers["name"] = customers["name"].astype("string").mask(mine, NAME)
    customers["contact_name"] = pd.array([CONTACT if m else None for m in mine], dtype="string")
    customers["email"] = pd.array([EMAIL if m else None for m in mine], dtype="string")
    customers["phone"] = pd.array([PHONE if m else None for m in mine], dtype="string")
    customers["手机"] = pd.array([MOBILE if m else None for m in mine], dtype="string")  # an export's extra column
    tickets = tables["tickets"].copy()
    tickets["note"] = pd.array([f"{CONTACT} called from {PHONE}, mail {EMAIL}, about {NAME}" if c == customer else
                                "routine" for c in tickets["customer_id"]], dtype="string")
    assert tickets["customer_id"].eq(customer).any()
    return tables | {"customers": customers, "tickets": tickets}, customer


@pytest.mark.slow
def test_a_planted_password_and_personal_details_are_written_nowhere(
        prefect_server, tracking_uri, tmp_path, monkeypatch, capfd, fast_config, small_business, pg_url):
    import prefect.settings

    from churn.cli import score, train

    history, customer = _with_personal_details(small_business[1])
    source = write_database(create_database(pg_url, f"crm_{uuid.uuid4().hex[:8]}"), history)
    # The test server trusts every login: the planted password connects, as a real one would.
    with_password = sa.make_url(source).set(password=PLANTED).render_as_string(hide_password=False)
    monkeypatch.setenv("CHURN_PUBLISH_URL", with_password)
    monkeypatch.chdir(tmp_path)
    # Training reads the password from its config file, scoring from the command line (`--data`).
    config = tmp_path / "params.yaml"
    config.write_text(f"extends: {fast_config}\nsource:\n  location: '{with_password}'\n"
                      "report:\n  mask_personal: true\n", encoding="utf-8")
    common = {"as_of": DEMO_AS_OF, "horizon_days": None, "active_days": None, "workdir": str(tmp_path / "work")}
    train(config=str(config), data=None, **common)
    assert "postgresql+psycopg://postgres:***@" in (tmp_path / "work" / "raw" / "pull.json").read_text()
    score(config=str(config), data=with_password, **common, out=str(tmp_path / "out"), model="models:/churn@champion")
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
    forms |= set(PERSONAL)
    texts = {p: _text_of(p) for p in files}
    leaks = [(str(p), form) for p, text in texts.items() for form in forms if form in text]
    terminal = capfd.readouterr()
    leaks += [("terminal", form) for form in forms if form in terminal.out + terminal.err]
    assert not leaks, leaks
    # The customer did reach every list, masked: the search reads the formats the details would be in.
    out = tmp_path / "out"
    for listed in ("retention_list.csv", "retention_list.parquet", "retention_list.xlsx", "report.html"):
        assert "Q*** P*** H***" in texts[out / listed] and "***21" in texts[out / listed], listed
    listing = pd.read_csv(out / "retention_list.csv", dtype=str).set_index("customer_id").loc[customer]
    assert [listing["name"], listing["contact_name"], listing["email"], listing["phone"]] == [
        "Q*** P*** H***", "P*** 王***", "p***@***.cn", "***21"]
    assert "personal details masked" in (tmp_path / "work" / "raw" / "pull.json").read_text(encoding="utf-8")
