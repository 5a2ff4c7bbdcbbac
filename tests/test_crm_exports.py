"""The sample business written as Zoho CRM's and Fxiaoke's export files (`churn demo --export`) and read back
through configs/sources/<crm>.yaml: the same validated history, the same bad rows set aside, and with the same
model the same retention list as from the canonical folder."""

from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import ROOT
from typer.testing import CliRunner

from churn import runners
from churn.cli import ERROR_EXIT, app
from churn.config import load_config
from churn.data import CRM_SYSTEMS, crm_export, generate_history
from churn.ops import Workspace, io
from churn.report import scoring_lines

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


@pytest.fixture(scope="module")
def exports(canonical):
    root, cfg, _, _ = canonical
    return {system: (root / system, runners.run_demo_export(cfg, system, root / system)) for system in CRM_SYSTEMS}


@pytest.mark.parametrize("system", CRM_SYSTEMS)
def test_each_crm_export_of_the_sample_business_reads_back_as_its_history(canonical, exports, system):
    root, cfg, expected_summary, expected = canonical
    folder, written = exports[system]
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


# --- churn map --------------------------------------------------------------------------------------


def run_map(folder: Path, out: Path):
    """The command's result and its output without white space: rich wraps lines, long temporary paths too."""
    result = CliRunner().invoke(app, ["map", str(folder), "--out", str(out)], env={"COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result, "".join(result.output.split())


def said(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("system", CRM_SYSTEMS)
def test_churn_map_proposes_a_mapping_that_validates_as_the_systems_config(canonical, exports, system, tmp_path):
    root, cfg, _, _ = canonical
    folder, _ = exports[system]
    result, output = run_map(folder, tmp_path / "mapped.yaml")
    assert result.exit_code == 0, result.output
    assert said(f"Mapping written to {tmp_path / 'mapped.yaml'}") in output and "Notfound" not in output
    mapped = yaml.safe_load((tmp_path / "mapped.yaml").read_text(encoding="utf-8"))["source"]["tables"]
    hand = yaml.safe_load((ROOT / f"configs/sources/{system}.yaml").read_text(encoding="utf-8"))["source"]["tables"]
    assert set(mapped) == set(hand)  # every export placed in its table

    _, by_map = pulled(str(tmp_path / "mapped.yaml"), folder, Workspace(tmp_path / "work"), cfg.demo.n_customers)
    _, by_hand = pulled(str(ROOT / f"configs/sources/{system}.yaml"), folder, Workspace(tmp_path / "hand"),
                        cfg.demo.n_customers)
    # The validated history is the one the hand-written config gives, but for the columns whose free words
    # (segment names, regions, actions) the hand config translates and `churn map` rightly leaves as they are.
    for name, frame in by_hand.items():
        parts = hand[name] if isinstance(hand[name], list) else [hand[name]]
        translated = {c for part in parts for c in part.get("values", {})
                      if c not in ("channel", "direction", "category", "cause", "is_complaint", "treated")}
        same = [c for c in frame.columns if c not in translated]
        pd.testing.assert_frame_equal(in_order(by_map[name][same]), in_order(frame[same]), check_dtype=False,
                                      obj=f"{system} {name}")
    assert {"zoho_crm": set(), "fxiaoke": {"segment", "region"}}[system] == {
        c for c in ("segment", "region") if not by_map["customers"][c].equals(by_hand["customers"][c])}


def test_churn_map_names_a_missing_required_column_and_what_to_do(exports, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    source, _ = exports["zoho_crm"]
    for path in source.iterdir():
        frame = io.read_table_file(path)
        if path.name.startswith("Sales_Orders_"):
            frame = frame.drop(columns=["Grand Total"])
        frame.to_csv(folder / path.name, index=False)
    result, output = run_map(folder, tmp_path / "mapped.yaml")
    assert result.exit_code == ERROR_EXIT, result.output
    assert said("Not found: orders.amount (required). Add it under source.tables.orders.columns in the config: "
                "`amount: <the export's column holding the amount>`") in output
    assert said("Complete it as said above, then: churn validate --config") in output
    assert "amount" not in yaml.safe_load((tmp_path / "mapped.yaml").read_text())["source"]["tables"]["orders"]["columns"]


def test_churn_map_ignores_an_unknown_module_and_says_so(exports, tmp_path):
    folder, _ = exports["fxiaoke"]
    extra = tmp_path / "export"
    extra.mkdir()
    for path in folder.iterdir():
        (extra / path.name).write_bytes(path.read_bytes())
    pd.DataFrame({"产品名称": ["阿莫西林胶囊"], "规格": ["0.25g*24粒"], "单价": ["¥12.50"]}).to_excel(extra / "产品.xlsx",
                                                                                              index=False)
    result, output = run_map(extra, tmp_path / "mapped.yaml")
    assert result.exit_code == 0, result.output
    assert said("Ignored: 产品.xlsx: neither its name nor its columns match a table churn reads.") in output
    assert "产品" not in (tmp_path / "mapped.yaml").read_text(encoding="utf-8").replace("产品分类", "")


def test_churn_map_of_a_folder_without_exports_is_one_clear_error(tmp_path):
    result, output = run_map(tmp_path, tmp_path / "mapped.yaml")
    assert result.exit_code == ERROR_EXIT
    assert said(f"error: {tmp_path} holds no CSV, Excel or Parquet file to map") in output


@pytest.mark.slow(minutes=1)
def test_the_list_from_each_crm_export_equals_the_list_from_the_canonical_folder_for_the_same_model(tmp_path,
                                                                                                   tracking_uri):
    n = 400
    config = str(ROOT / "configs/params.yaml")
    cfg = load_config(config, **{"demo.n_customers": n, "train.search.enabled": False})
    as_of = pd.Timestamp(cfg.demo.end)
    io.write_tables(generate_history(cfg.demo).tables, tmp_path / "canonical")
    sources = {"canonical": (config, tmp_path / "canonical")}
    for system in CRM_SYSTEMS:
        runners.run_demo_export(cfg, system, tmp_path / system)
        sources[system] = (str(ROOT / f"configs/sources/{system}.yaml"), tmp_path / system)
    assert CliRunner().invoke(app, ["map", str(tmp_path / "zoho_crm"), "--out", str(tmp_path / "mapped.yaml")]
                              ).exit_code == 0
    sources["zoho_crm, mapped by churn map"] = (str(tmp_path / "mapped.yaml"), tmp_path / "zoho_crm")

    trained = Workspace(tmp_path / "work-train", tmp_path / "models", tmp_path / "metrics")
    pulled(config, tmp_path / "canonical", trained, n)
    runners.run_training_features(cfg, trained, as_of)
    assert "fallback" not in runners.run_train(cfg, trained, as_of)["data"]  # a LightGBM model, not the fallback
    lists = {}
    for name, (source_config, folder) in sources.items():
        ws = Workspace(tmp_path / f"work-{name}", tmp_path / "models", tmp_path / "metrics")
        pulled(source_config, folder, ws, n)
        scoring = load_config(source_config, **{"demo.n_customers": n, "source.location": str(folder)})
        runners.run_scoring_features(scoring, ws, as_of)
        runners.run_value(scoring, ws, as_of)
        runners.run_score(scoring, ws, as_of, str(trained.model_dir))
        lists[name] = io.read_parquet(ws.scored_list).sort_values("customer_id").reset_index(drop=True)
    # churn map leaves Fxiaoke's own words for past campaigns' actions (回访电话): scoring goes on without their
    # measured effects, and says so.
    assert CliRunner().invoke(app, ["map", str(tmp_path / "fxiaoke"), "--out", str(tmp_path / "fx.yaml")]).exit_code == 0
    scoring = load_config(tmp_path / "fx.yaml", **{"source.location": str(tmp_path / "fxiaoke")})
    ws = Workspace(tmp_path / "work-fx-mapped", tmp_path / "models", tmp_path / "metrics")
    pulled(str(tmp_path / "fx.yaml"), tmp_path / "fxiaoke", ws, n)
    for stage in (runners.run_scoring_features, runners.run_value, runners.run_effects):
        stage(scoring, ws, as_of)
    runners.run_score(scoring, ws, as_of, str(trained.model_dir))
    decided = runners.run_decide(scoring, ws, as_of, tmp_path / "fx-out")
    assert decided["uplift"]["not_in_playbook"] == ["上门拜访", "回访电话", "大客户经营回顾", "自动关怀"]
    assert "Past campaigns' action(s) 上门拜访, 回访电话, 大客户经营回顾, 自动关怀 are not playbook actions" in \
        " ".join(scoring_lines(decided))
    assert len(io.read_parquet(tmp_path / "fx-out" / "retention_list.parquet")) == len(lists["fxiaoke"])

    expected = lists.pop("canonical")
    assert len(expected) > 100 and expected["primary_cause"].nunique() >= 3
    for name, listing in lists.items():
        pd.testing.assert_frame_equal(listing[["customer_id", "name", "churn_probability", "primary_cause",
                                               "cause_share", "expected_loss"]],
                                      expected[["customer_id", "name", "churn_probability", "primary_cause",
                                                "cause_share", "expected_loss"]], obj=name)
