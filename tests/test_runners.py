"""The training runner on a real SQLite history: loss causes learnt from recorded reasons when the history has
them and the holdout favours them, the evidence method otherwise, and the cause model saved with the model."""

import pandas as pd
import pytest
from helpers import CONFIG, END, planted_history, recorded_reasons

from churn import runners
from churn.config import load_config
from churn.ops import Workspace, io, tracking


@pytest.mark.slow
@pytest.mark.parametrize("with_reasons", [True, False])
def test_training_names_causes_from_recorded_reasons_where_the_history_has_them(tmp_path, tracking_uri, with_reasons):
    tables, truth = planted_history()
    if with_reasons:
        tables["loss_reasons"] = recorded_reasons(tables, truth)
    db = tmp_path / "history.db"
    io.write_sqlite(tables, db)
    cfg = load_config(CONFIG, **{"source.location": f"sqlite:///{db}", "train.search.enabled": False})
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    as_of = pd.Timestamp(END)
    runners.run_pull(cfg, ws)
    runners.run_validate(cfg, ws)
    runners.run_training_features(cfg, ws, as_of)
    trained = runners.run_train(cfg, ws, as_of)
    causes = trained["causes"]
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    if with_reasons:
        assert causes["method"] == "known_causes", causes["holdout"]
        assert causes["holdout"]["judged"] >= 30
        assert causes["customers"] > causes["judged"]["customers"]  # the list's cause model knows later reasons
        assert model.cause_model.summary == {k: v for k, v in causes.items() if k not in ("judged", "holdout", "method")}
        assert model.judged.cause_model.summary == causes["judged"]
    else:
        assert causes["method"] == "evidence" and not causes["used"]
        assert causes["holdout"] == {"judged": 0, "chosen": "evidence",
                                     "why": "no cause model (no or too few recorded reasons)"}
        assert causes["why"].startswith("the history has no loss_reasons")
        assert model.cause_model is None and model.judged.cause_model is None
    assert io.read_json(ws.train_metrics)["causes"] == causes


@pytest.mark.parametrize("mask", [False, True])
def test_a_pull_links_orders_named_by_account_and_validation_sets_aside_the_unknown(tmp_path, mask):
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame({"客户编号": ["C1", "C2"], "客户名称": ["瑞金医院", "仁济医院"]}).to_csv(folder / "客户.csv", index=False)
    pd.DataFrame({"客户名称": ["瑞金医院", "仁济医院", "华山医院"], "下单时间": ["2024年3月5日"] * 3,
                  "金额": ["￥1,234.50", "￥88", "￥5"]}).to_csv(folder / "销售订单.csv", index=False)
    tables = {"customers": {"table": "客户", "columns": {"customer_id": "客户编号", "name": "客户名称"}},
              "orders": {"table": "销售订单", "customer_by": "name",
                         "columns": {"customer_id": "客户名称", "ts": "下单时间", "amount": "金额"}}}
    cfg = load_config(CONFIG, **{"source.location": str(folder), "source.tables": tables,
                                 "validate.max_bad_share": 0.5, "report.mask_personal": mask})
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    runners.run_pull(cfg, ws)
    summary = runners.run_validate(cfg, ws)
    orders = io.read_tables(ws.validated)["orders"]
    assert orders["customer_id"].tolist() == ["C1", "C2"] and orders["amount"].tolist() == [1234.5, 88.0]
    quarantine = io.read_parquet(ws.quarantine)
    assert quarantine[["table", "rule", "value"]].values.tolist() == [
        ["orders", "unknown customer_id", "华***" if mask else "华山医院"]]
    note = next(n for n in summary["read_notes"] if n.startswith("orders: 2 row(s) linked"))
    assert "1 row(s) name an account that matches no customer" in note
    assert ("华山医院" in note) is not mask
