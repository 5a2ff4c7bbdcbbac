"""The sample business written as Zoho CRM's and Fxiaoke's export files (`churn demo --export`) and read back
through configs/sources/<crm>.yaml: the same validated history, the same bad rows set aside, and with the same
model the same retention list as from the canonical folder."""

from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT

from churn import runners
from churn.config import load_config
from churn.data import CRM_SYSTEMS, crm_export, generate_history
from churn.ops import Workspace, io

SORT = ["customer_id", "ts"]


def pulled(config: str, location: Path, ws: Workspace, n: int) -> tuple[dict, dict[str, pd.DataFrame]]:
    cfg = load_config(config, **{"demo.n_customers": n, "source.location": str(location),
                                 "train.search.enabled": False})
    pull = runners.run_pull(cfg, ws)
    return runners.run_validate(cfg, ws) | {"pull": pull}, io.read_tables(ws.validated)


def in_order(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in (*SORT, *df.columns) if c in df.columns]
    return df.sort_values(list(dict.fromkeys(keys))).reset_index(drop=True)


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    n = 150
    cfg = load_config(ROOT / "configs/params.yaml", **{"demo.n_customers": n})
    root = tmp_path_factory.mktemp("crm")
    io.write_tables(generate_history(cfg.demo).tables, root / "canonical")
    summary, tables = pulled(str(ROOT / "configs/params.yaml"), root / "canonical", Workspace(root / "work-canonical"), n)
    return root, cfg, summary, tables


@pytest.mark.parametrize("system", CRM_SYSTEMS)
def test_each_crm_export_of_the_sample_business_reads_back_as_its_history(canonical, system):
    root, cfg, expected_summary, expected = canonical
    folder = root / system
    written = runners.run_demo_export(cfg, system, folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(written["files"])
    summary, tables = pulled(str(ROOT / f"configs/sources/{system}.yaml"), folder, Workspace(root / f"work-{system}"),
                             cfg.demo.n_customers)
    assert set(tables) == set(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(in_order(tables[name][frame.columns]), in_order(frame), check_dtype=False,
                                      obj=f"{system} {name}")
        # the same bad rows set aside for the same rules (the demo plants some: unknown customers, bad times)
        assert (summary["tables"][name]["bad_rows_by_rule"] == expected_summary["tables"][name]["bad_rows_by_rule"]), name
    notes = " ".join(summary["read_notes"])
    yearly = [name for name in written["files"] if name.startswith(("Sales_Orders_", "销售订单_"))]
    assert len(yearly) >= 3 and f"orders: {len(yearly)} file(s) appended" in notes
    assert "unknown customer_id" in summary["tables"]["orders"]["bad_rows_by_rule"]


def test_export_files_have_the_systems_layouts(canonical):
    root, cfg, _, expected = canonical
    zoho = {f.name: f for f in crm_export(expected, "zoho_crm")}
    assert {"Accounts.csv", "Calls.csv", "Meetings.csv", "Cases.csv"} <= set(zoho)
    assert {"Account Name", "Account Number", "Account Owner", "Created Time"} <= set(zoho["Accounts.csv"].frame.columns)
    assert zoho["Calls.csv"].encoding == "utf-8-sig"
    fx = {f.name: f for f in crm_export(expected, "fxiaoke")}
    orders = next(f for name, f in fx.items() if name.startswith("销售订单_"))
    assert orders.encoding == "gb18030" and fx["客户.xlsx"].encoding == "xlsx"
    assert orders.frame["订单金额"].str.match(r"-?¥[\d,]+\.\d\d$").all()
    assert orders.frame["下单日期"].dropna().str.match(r"\d{4}/\d\d/\d\d \d\d:\d\d").mean() > 0.99
    assert fx["销售记录.xlsx"].frame["跟进时间"].str.contains("年").all()
    # records name their account, not its id
    assert fx["工单.csv"].frame["客户名称"].isin(expected["customers"]["name"]).all()
    with pytest.raises(ValueError, match="unknown CRM 'salesforce'; known: zoho_crm, fxiaoke"):
        crm_export(expected, "salesforce")
