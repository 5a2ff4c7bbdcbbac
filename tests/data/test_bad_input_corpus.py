"""Every case of the bad-input corpus through the real `churn validate`, from a folder and from a database."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from bad_input_corpus import (
    CASES,
    DATABASE,
    NOTE,
    READ,
    README_END,
    README_START,
    SET_ASIDE,
    STOP,
    Case,
    base_history,
    readme_table,
)
from helpers import CONFIG, ROOT
from typer.testing import CliRunner

from churn.cli import ERROR_EXIT, app
from churn.ops import io

RUNS = [pytest.param(case, source, id=f"{case.name} [{source}]") for case in CASES for source in case.sources]


@pytest.fixture(scope="module")
def base() -> dict[str, pd.DataFrame]:
    return base_history()


def write_source(tables: dict, source: str, where) -> str:
    """The case's history as a folder of files or as a SQLite database; the --data to give churn."""
    if source == DATABASE:
        assert all(isinstance(v, pd.DataFrame) for v in tables.values())
        return f"sqlite:///{io.write_sqlite(tables, where / 'crm.db')}"
    folder = where / "export"
    folder.mkdir()
    for name, value in tables.items():
        if isinstance(value, bytes):
            (folder / name).write_bytes(value)
        else:
            value.to_csv(folder / f"{name}.csv", index=False)
    return str(folder)


def config_for(case: Case, where) -> str:
    if not case.mapping:
        return CONFIG
    path = where / "params.yaml"
    path.write_text(yaml.safe_dump({"extends": CONFIG, "source": {"tables": case.mapping}}), encoding="utf-8")
    return str(path)


def rows_written(tables: dict) -> dict[str, int]:
    return {name: len(v) for name, v in tables.items() if isinstance(v, pd.DataFrame)}


def test_the_corpus_has_at_least_30_cases_over_every_table_and_both_sources():
    assert len(CASES) >= 30
    assert {c.table for c in CASES} == {"customers", "orders", "interactions", "tickets", "surveys", "campaigns"}
    assert {s for c in CASES for s in c.sources} == {"folder", "database"}
    assert {c.decision for c in CASES} == {STOP, SET_ASIDE, READ, NOTE}
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_base_history_is_read_whole(base, tmp_path):
    # Without this, a case could "pass" on rows the base already had wrong.
    out = CliRunner().invoke(app, ["validate", "--config", CONFIG, "--data", write_source(base, "folder", tmp_path),
                                   "--workdir", str(tmp_path / "w")], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    summary = json.loads((tmp_path / "w" / "validation_summary.json").read_text())
    assert {t: s["bad_rows"] for t, s in summary["tables"].items()} == dict.fromkeys(base, 0)


@pytest.mark.parametrize(("case", "source"), RUNS)
def test_bad_input_stops_with_one_clear_message_or_is_set_aside_and_counted(case, source, base, tmp_path):
    tables = case.change({k: v.copy() for k, v in base.items()})
    data = write_source(tables, source, tmp_path)
    before = (tmp_path / "crm.db").read_bytes() if source == DATABASE else None
    work = tmp_path / "w"
    out = CliRunner().invoke(app, ["validate", "--config", config_for(case, tmp_path), "--data", data,
                                   "--workdir", str(work)], env={"COLUMNS": "250"})
    said = " ".join(out.output.split())
    assert "Traceback" not in out.output
    if source == DATABASE:
        assert (tmp_path / "crm.db").read_bytes() == before  # the source is never changed
    assert not (ROOT / "stolen.csv").exists() and not (tmp_path / "export" / "stolen.csv").exists()

    if case.decision == STOP:
        assert out.exit_code == ERROR_EXIT and isinstance(out.exception, SystemExit), out.output
        # rich wraps long lines, within a long temporary path too: compared without any white space
        assert said.count("error: ") == 1, out.output
        assert "".join(case.expect.split()) in "".join(said.split("error: ", 1)[1].split()), out.output
        if "rule '" in case.expect:  # too many bad rows: the message also shows example rows
            assert f"table `{case.table}`" in said and "e.g." in said, out.output
        assert not (work / "validated").exists() or not any((work / "validated").glob("*.parquet"))
        return

    assert out.exit_code == 0, out.output
    summary = json.loads((work / "validation_summary.json").read_text())
    quarantine = pd.read_parquet(work / "quarantine.parquet")
    kept = io.read_tables(work / "validated")
    written = rows_written(tables)
    for name, counts in summary["tables"].items():
        # rows pulled = rows kept + rows set aside, and each number is what is really in the files
        # (a table written as a raw file of its own holds the base table's rows)
        assert counts["rows"] == written.get(name, len(base[name])) == len(io.read_tables(work / "raw")[name]), name
        assert counts["kept_rows"] + counts["bad_rows"] == counts["rows"], name
        assert len(kept[name]) == counts["kept_rows"], name
        assert quarantine.loc[quarantine["table"] == name, "row"].nunique() == counts["bad_rows"], name

    mine = quarantine[quarantine["table"] == case.table]
    if case.decision == SET_ASIDE:
        hits = mine[mine["rule"] == case.expect]
        assert len(hits) >= 1, mine
        assert set(hits["column"]) == {case.column}, hits
        assert summary["tables"][case.table]["bad_rows_by_rule"][case.expect] == hits["row"].nunique()
    else:
        assert mine.empty, mine
        if case.decision == NOTE:
            assert case.expect in said, out.output
        if case.check is not None:
            case.check(kept)


def test_the_readme_table_is_the_corpus():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    assert block == readme_table(), "README's table is stale: run `python tests/data/bad_input_corpus.py`"
