"""Model behaviour on the demo business (the default 5,000-customer sample): the issue's bar."""

import pandas as pd
import pytest

from churn.data import point_in_time
from churn.ops import io
from churn.score import cause_check


@pytest.fixture(scope="module")
def demo_run(demo_business):
    """The config, history, validated tables and summary, training examples (as `churn train` builds them) and the
    model trained on them (tests/conftest.py's `demo_business`, shared with tests/cluster)."""
    from types import SimpleNamespace

    cfg, _, history, ws, trained = demo_business
    valid = SimpleNamespace(tables=io.read_tables(ws.validated), summary=io.read_json(ws.validation_summary))
    return cfg, history, valid, io.read_parquet(ws.examples), trained


@pytest.mark.slow
def test_injected_errors_are_set_aside_not_lost(demo_run):
    _, history, valid, _, _ = demo_run
    counts = valid.summary["tables"]
    injected = history.injected
    assert counts["orders"]["bad_rows"] == sum(v for k, v in injected.items() if k.startswith("orders."))
    assert counts["tickets"]["bad_rows"] == injected["tickets.unknown_customer"]
    for name, t in counts.items():
        assert t["kept_rows"] + t["bad_rows"] == len(history.tables[name])


def test_model_beats_every_baseline_on_the_holdout(demo_run):
    m = demo_run[4].metrics
    for baseline in ("recency_rule", "rfm_logistic", "bgnbd"):
        assert m["model_roc_auc"] > m[f"{baseline}_roc_auc"]
        assert m["model_pr_auc"] > m[f"{baseline}_pr_auc"]


def test_probabilities_are_calibrated(demo_run):
    m = demo_run[4].metrics
    assert abs(m["model_mean_predicted"] - m["model_observed_rate"]) < 0.02


def test_primary_cause_names_the_true_cause_for_most_churners(demo_run):
    cfg, history, _, examples, result = demo_run
    holdout = examples[examples["role"] == "test"].reset_index(drop=True)
    assert result.model.judged is not None  # refit: the holdout is explained by the fit that has not seen it
    check = cause_check(result.model.judged, holdout, history.truth, cfg.explain, cfg.features.trend_window)
    assert check["judged"] >= 200  # all churners with a known cause, not a top slice
    # 0.70 before the demo's customers had standing needs (issue 23), whose signs (a price-sensitive customer's
    # low price score and price complaints, all along) overlap those of the loss causes: 0.67 since.
    assert check["accuracy"] >= 0.64, check
    assert check["flagged"]["judged"] >= 150 and check["flagged"]["accuracy"] >= 0.64, check
    # ... and more often than a manager's rule on the same symptoms (the baseline for causes)
    assert check["accuracy"] > check["symptom_rule"]["accuracy"]
    assert check["cost"]["customers"] == len(holdout) and check["cost"]["ms_per_customer"] > 0


def test_past_campaigns_measure_the_actions_that_work(demo_run):
    """The demo's campaigns save churners with known chances (rep visits most, e-mail hardly at all):
    the measured effects must find that order, and the visits' effect must be clear of zero."""
    from churn.action import campaign_examples, uplift_effects
    from churn.model import feature_columns

    cfg, _, valid, _, _ = demo_run
    as_of = pd.Timestamp(cfg.demo.end)
    tables, _ = point_in_time(valid.tables, as_of)
    examples = campaign_examples(tables, as_of, cfg.labels, cfg.features)
    assert len(examples) > 2000
    features = examples.drop(columns=["action", "treated", "churned"]).head(10)
    _, summary, priors = uplift_effects(examples, features, feature_columns(features), cfg.effects)
    s = summary.set_index("action")
    assert s.loc["rep_visit", "ci_low"] > 0
    assert priors["rep_visit"] > priors["reengagement_call"] > priors["auto_reengagement"]
    assert "ka_business_review" not in priors  # too few held-out key accounts: the prior stays
