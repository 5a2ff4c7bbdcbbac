"""The training runner on a real SQLite history: loss causes learnt from recorded reasons when the history has
them and the holdout favours them, the evidence method otherwise, and the cause model saved with the model."""

import pandas as pd
import pytest
from helpers import CONFIG, END, planted_history, recorded_reasons

from churn import runners
from churn.config import load_config
from churn.ops import Workspace, io, tracking


@pytest.mark.slow
@pytest.mark.parametrize("with_reasons, from_complaints", [(True, False), (False, False), (True, True), (False, True)])
def test_training_names_causes_from_recorded_reasons_where_the_history_has_them(tmp_path, tracking_uri, with_reasons,
                                                                                from_complaints):
    tables, truth = planted_history()
    if with_reasons:
        tables["loss_reasons"] = recorded_reasons(tables, truth)
    db = tmp_path / "history.db"
    io.write_sqlite(tables, db)
    cfg = load_config(CONFIG, **{"source.location": f"sqlite:///{db}", "train.search.enabled": False,
                                 "explain.from_complaints.enabled": from_complaints,
                                 "explain.from_complaints.min_customers": 20,
                                 "explain.from_complaints.min_per_cause": 5})
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
        assert model.cause_model.summary == {k: v for k, v in causes.items()
                                             if k not in ("judged", "holdout", "method", "complaints")}
        assert model.judged.cause_model.summary == causes["judged"]
    else:
        assert causes["method"] == "evidence" and not causes["used"]
        assert {k: v for k, v in causes["holdout"].items() if k != "complaints"} == {
            "judged": 0, "chosen": "evidence", "why": "no cause model (no or too few recorded reasons)"}
        assert causes["why"].startswith("the history has no loss_reasons")
        assert model.cause_model is None and model.judged.cause_model is None
    if from_complaints:  # the complaints' cause models, saved with both fits, weigh both sides of the judgement
        assert causes["complaints"]["used"] and causes["complaints"]["judged"]["used"], causes["complaints"]
        assert causes["holdout"]["complaints"]["kept"], causes["holdout"]["complaints"]
        if not with_reasons:
            assert causes["holdout"]["complaints"]["why"].startswith("0 of the holdout's lost customers have a "
                                                                     "recorded reason: too few to judge it")
        assert model.complaint_model.summary == {k: v for k, v in causes["complaints"].items() if k != "judged"}
        assert model.judged.complaint_model.summary == causes["complaints"]["judged"]
    else:
        assert "complaints" not in causes and model.complaint_model is None
    assert io.read_json(ws.train_metrics)["causes"] == causes


@pytest.mark.slow
def test_training_sets_aside_a_complaints_cause_model_the_holdout_names_worse_with(tmp_path, tracking_uri):
    """With significance 1 any judged customer named right only without the complaints' cause model sets it aside
    (here the evidence method's, no cause model learnt from the reasons): neither fit keeps it, the summary says
    why."""
    tables, truth = planted_history()
    tables["loss_reasons"] = recorded_reasons(tables, truth)
    db = tmp_path / "history.db"
    io.write_sqlite(tables, db)
    cfg = load_config(CONFIG, **{"source.location": f"sqlite:///{db}", "train.search.enabled": False,
                                 "explain.known_causes.enabled": False, "explain.from_complaints.min_customers": 20,
                                 "explain.from_complaints.min_per_cause": 5, "explain.from_complaints.significance": 1.0})
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    as_of = pd.Timestamp(END)
    runners.run_pull(cfg, ws)
    runners.run_validate(cfg, ws)
    runners.run_training_features(cfg, ws, as_of)
    causes = runners.run_train(cfg, ws, as_of)["causes"]
    judged = causes["holdout"]["complaints"]
    assert causes["method"] == "evidence" and not judged["kept"], judged
    assert judged["accuracy_with"] < judged["accuracy_without"], judged
    assert not causes["complaints"]["used"] and causes["complaints"]["judged"]["used"]
    assert causes["complaints"]["why"] == f"set aside by the holdout ({judged['why']})"
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    assert model.complaint_model is None and model.judged.complaint_model is None
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


@pytest.fixture(scope="module")
def scored_where_needed(tmp_path_factory, small_business, fast_config):
    """The small business pulled, trained and scored with causes named only where needed (explain.all_up_to 0, a
    reference population of 150): the score does not depend on the plan's budget, so each budget's test decides on
    a copy of it."""
    folder, _ = small_business
    cfg = load_config(fast_config, **{"source.location": folder, "explain.all_up_to": 0,
                                      "explain.reference_customers": 150})
    root = tmp_path_factory.mktemp("scored_where_needed")
    ws = Workspace(root / "work", root / "models", root / "metrics")
    as_of = pd.Timestamp(cfg.demo.end)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        runners.run_pull(cfg, ws)
        runners.run_validate(cfg, ws)
        runners.run_training_features(cfg, ws, as_of)
        runners.run_train(cfg, ws, as_of)
        runners.run_scoring_features(cfg, ws, as_of)
        runners.run_value(cfg, ws, as_of)
        runners.run_effects(cfg, ws, as_of)
        scored = runners.run_score(cfg, ws, as_of, str(ws.model_dir))
    return ws, scored


@pytest.mark.slow
@pytest.mark.parametrize("budget", [None, 3000.0])
def test_a_score_that_explains_only_where_needed_gives_the_listed_customers_their_full_causes(
        tmp_path, tracking_uri, small_business, fast_config, scored_where_needed, budget):
    """Past `explain.all_up_to` the score names the causes of customers at risk, lapsed and a sample; decide names
    those of any other customer its plan reaches. Every listed customer's cause, and the plan, are what explaining
    everyone against the same population gives."""
    import shutil

    from churn.model import load_scoring_model
    from churn.score import name_causes
    from churn.vocab import at_risk_flags, lapsed_flags

    folder, tables = small_business
    cfg = load_config(fast_config, **{"source.location": folder, "explain.all_up_to": 0,
                                      "explain.reference_customers": 150,
                                      **({"decide.budget": budget} if budget else {})})
    shared, scored = scored_where_needed
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    for there, here in ((shared.root, ws.root), (shared.models, ws.models), (shared.metrics, ws.metrics)):
        shutil.copytree(there, here)  # this test writes the fully explained list over the scored one
    as_of = pd.Timestamp(cfg.demo.end)
    causes = scored["causes"]
    assert causes["method"] == "evidence" and causes["population"]["customers"] == 150
    assert 150 <= causes["explained"] < causes["customers"] == scored["customers_scored"]
    assert ws.score_model.is_dir()
    partial_scored = io.read_parquet(ws.scored_list)
    decided = runners.run_decide(cfg, ws, as_of, tmp_path / "partial")
    left = causes["customers"] - causes["explained"]
    assert 0 < decided["causes_explained_for_the_plan"]["customers"] <= left  # the plan reached unexplained ones
    if budget:  # ... and not all of them
        assert decided["causes_explained_for_the_plan"]["customers"] < left
    partial = io.read_parquet(tmp_path / "partial" / "retention_list.parquet").set_index("customer_id")
    shown = at_risk_flags(partial) | lapsed_flags(partial) | partial["decision"].isin(["chosen", "holdout"])
    assert partial.loc[shown, "primary_cause"].notna().all()

    # the same scored list with every customer explained against the same population
    everyone = name_causes(partial_scored, io.read_parquet(ws.scoring_features), load_scoring_model(ws.score_model),
                           cfg.explain, cfg.features.trend_window, causes["population"],
                           partial_scored.loc[partial_scored["primary_cause"].isna(), "customer_id"].tolist())
    assert everyone["primary_cause"].notna().all()
    io.write_parquet(everyone, ws.scored_list)
    runners.run_decide(cfg, ws, as_of, tmp_path / "full")
    full = io.read_parquet(tmp_path / "full" / "retention_list.parquet").set_index("customer_id")
    named = partial["primary_cause"].notna()
    for column in ("primary_cause", "cause_share", "secondary_cause", "reasons", "action"):
        assert partial.loc[named, column].equals(full.loc[partial.index[named], column]), column
    for column in ("decision", "contact", "holdout", "expected_retained_value"):
        assert partial[column].equals(full.loc[partial.index, column]), column
