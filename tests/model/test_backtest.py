import json

import pandas as pd
import pytest
from helpers import CONFIG

from churn import runners
from churn.config import DemoConfig, load_config
from churn.data import generate_history, validate_history
from churn.model import backtest_dates, run_backtest
from churn.ops import io

CFG = load_config(CONFIG, **{"train.search.enabled": False, "labels.train_cutoffs": 4})


@pytest.fixture(scope="module")
def tables():
    history = generate_history(DemoConfig(n_customers=800, seed=4, inject_errors=False))
    return validate_history(history.tables, CFG.validate_, pd.Timestamp("2026-11-01")).tables


def test_dates():
    assert [d.date().isoformat() for d in backtest_dates(pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-05"), 30)] == [
        "2026-01-01", "2026-01-31", "2026-03-02"]
    assert [d.date().isoformat() for d in backtest_dates(pd.Timestamp("2010-06-01"), pd.Timestamp("2010-09-01"), "1m")] == [
        "2010-06-01", "2010-07-01", "2010-08-01", "2010-09-01"]
    with pytest.raises(ValueError, match="such as 30d or 1m"):
        backtest_dates(pd.Timestamp("2010-06-01"), pd.Timestamp("2010-09-01"), "weekly")
    with pytest.raises(ValueError, match="is after --to"):
        backtest_dates(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-01-01"), 30)


def test_backtest_evaluates_every_complete_date_for_all_models(tables):
    dates = [pd.Timestamp("2026-05-01"), pd.Timestamp("2026-06-01"), pd.Timestamp("2026-08-01")]
    messages = []
    per_date, predictions, pooled = run_backtest(tables, dates, CFG.backtest, CFG.labels, CFG.features, CFG.train,
                                                 messages.append)
    # 2026-08-01 + 90 days passes the end of the data (2026-10-01): skipped, and said so
    assert sorted(per_date["as_of"].unique()) == ["2026-05-01", "2026-06-01"]
    assert any("2026-08-01: skipped" in m for m in messages)
    assert set(per_date["model"]) == {"model", "recency_rule", "rfm_logistic", "bgnbd"}
    assert per_date[["roc_auc", "pr_auc", "brier", "log_loss", "lift_top10", "ece"]].notna().all().all()
    assert len(predictions) == per_date.groupby("as_of")["customers"].first().sum()
    assert pooled["model_roc_auc"] > pooled["recency_rule_roc_auc"]
    # each date's labels come from the 90 days after it: the churn rate there matches the predictions
    first = predictions[predictions["cutoff"] == pd.Timestamp("2026-05-01")]
    assert per_date.loc[per_date["as_of"] == "2026-05-01", "churn_rate"].iloc[0] == pytest.approx(
        first["churned"].mean(), abs=1e-4)


def test_no_complete_date_is_a_clear_error(tables):
    with pytest.raises(ValueError, match="no backtest date has a complete 90-day horizon"):
        run_backtest(tables, [pd.Timestamp("2026-09-01")], CFG.backtest, CFG.labels, CFG.features, CFG.train)


@pytest.mark.slow
def test_backtest_runner_writes_table_plots_and_mlflow_runs(tables, tmp_path, tracking_uri):
    import mlflow

    ws = runners.Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    io.write_tables(tables, ws.validated)
    out = tmp_path / "backtest"
    result = runners.run_backtest(CFG, ws, pd.Timestamp("2026-05-01"), pd.Timestamp("2026-06-01"), 31, out,
                                  progress=lambda m: None)
    table = pd.read_csv(out / "backtest.csv")
    assert len(table) == 2 * 4  # two dates x (model + three baselines)
    assert json.loads((out / "backtest.json").read_text())["pooled"]["model_roc_auc"] == pytest.approx(
        result["pooled"]["model_roc_auc"])
    assert (out / "backtest.png").stat().st_size > 10_000
    wide = pd.read_csv(out / "plots" / "backtest_roc_auc.csv")
    assert list(wide.columns) == ["as_of", "bgnbd", "model", "recency_rule", "rfm_logistic"]
    runs = mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'backtest'")
    parent = runs[runs["tags.mlflow.parentRunId"].isna()]
    children = runs[runs["tags.mlflow.parentRunId"] == result["mlflow_run_id"]]
    assert len(parent) == 1 and len(children) == 2
