import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG

from churn.config import DemoConfig, EvaluateConfig, load_config
from churn.data import generate_history, point_in_time, validate_history
from churn.features import plan_cutoffs, training_examples
from churn.model import (
    calibration_check,
    choose_candidate,
    decide_promotion,
    evaluate,
    expected_calibration_error,
    grade,
    train_model,
)

CFG = load_config(CONFIG, **{"train.search.enabled": False})


def metrics(model_auc, base_auc=0.80, model_lift=5.0, base_lift=4.0, brier=0.05):
    return {"model_roc_auc": model_auc, "model_lift_top10": model_lift, "model_brier": brier,
            "recency_rule_roc_auc": base_auc, "recency_rule_lift_top10": base_lift,
            "rfm_logistic_roc_auc": base_auc - 0.02, "rfm_logistic_lift_top10": base_lift - 0.5,
            "bgnbd_roc_auc": base_auc - 0.01, "bgnbd_lift_top10": base_lift - 0.2}


@pytest.mark.parametrize("model_auc, model_lift, letter", [
    (0.85, 4.5, "A"),    # +5 points, +12.5% lift
    (0.85, 4.2, "B"),    # +5 points but only +5% lift
    (0.815, 4.0, "B"),   # +1.5 points, same lift
    (0.805, 4.4, "C"),   # +0.5 point
    (0.85, 3.9, "C"),    # worse lift than the best baseline
])
def test_grade(model_auc, model_lift, letter):
    g = grade(metrics(model_auc, model_lift=model_lift), CFG.evaluate)
    assert g["grade"] == letter and g["best_baseline_auc"] == "recency_rule"


@pytest.mark.parametrize("new, champion, candidate, alias, failed", [
    (metrics(0.85), None, "model", "champion", []),
    (metrics(0.79), None, "recency_rule", "champion", []),  # no champion: the best measured baseline scores the list
    (metrics(0.79), {"roc_auc": 0.85, "brier": 0.05}, "recency_rule", "challenger", ["auc_not_worse"]),
    (metrics(0.85), {"roc_auc": 0.853, "brier": 0.051}, "model", "champion", []),  # within tolerance
    (metrics(0.85), {"roc_auc": 0.86, "brier": 0.05}, "model", "challenger", ["auc_not_worse"]),
    (metrics(0.85, brier=0.06), {"roc_auc": 0.84, "brier": 0.05}, "model", "challenger", ["brier_not_worse"]),
])
def test_promotion_rule_on_crafted_metric_pairs(new, champion, candidate, alias, failed):
    choice = choose_candidate(new, CFG.evaluate)
    assert choice["candidate"] == candidate
    decision = decide_promotion(new | {"recency_rule_brier": 0.05}, champion, CFG.evaluate, choice["candidate"])
    assert decision["alias"] == alias and decision["candidate"] == candidate
    assert [k for k, ok in decision["checks"].items() if not ok] == failed


@pytest.mark.parametrize("gain, candidate", [(0.0, "model"), (0.02, "recency_rule"), (0.005, "model")])
def test_the_model_is_the_candidate_only_if_it_beats_the_best_baseline_by_the_configured_gain(gain, candidate):
    cfg = CFG.evaluate.model_copy(update={"min_gain_over_baseline": gain})
    assert choose_candidate(metrics(0.81), cfg)["candidate"] == candidate  # 0.01 over recency_rule's 0.80


def test_expected_calibration_error():
    y = np.array([0, 0, 1, 1] * 250)
    assert expected_calibration_error(y, np.full(1000, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(1000, 0.8)) == pytest.approx(0.3)
    assert evaluate(y, np.full(1000, 0.5))["ece"] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def business_examples():
    history = generate_history(DemoConfig(n_customers=1500, seed=5, inject_errors=False))
    tables, _ = point_in_time(validate_history(history.tables, CFG.validate_, pd.Timestamp("2026-11-01")).tables,
                              pd.Timestamp("2026-10-01"))
    return training_examples(tables, plan_cutoffs(pd.Timestamp("2026-10-01"), CFG.labels), CFG.labels, CFG.features)


def test_real_model_is_promoted_and_calibrated(business_examples):
    result = train_model(business_examples, CFG.train, CFG.labels.horizon_days)
    assert choose_candidate(result.metrics, CFG.evaluate)["candidate"] == "model"
    m = result.metrics
    assert abs(m["model_mean_predicted"] - m["model_observed_rate"]) <= CFG.evaluate.max_calibration_gap


def test_model_trained_on_shuffled_labels_is_never_promoted(business_examples):
    rng = np.random.default_rng(0)
    shuffled = business_examples.copy()
    fit = shuffled["role"] != "test"  # the holdout keeps its true labels: that is what it is judged on
    shuffled.loc[fit, "churned"] = rng.permutation(shuffled.loc[fit, "churned"].to_numpy())
    result = train_model(shuffled, CFG.train, CFG.labels.horizon_days)
    assert choose_candidate(result.metrics, CFG.evaluate)["candidate"] != "model"  # a baseline scores the list
    assert grade(result.metrics, CFG.evaluate)["grade"] == "C"


@pytest.mark.parametrize("predicted, observed, ok", [(0.10, 0.11, True), (0.10, 0.13, False), (0.15, 0.10, False)])
def test_calibration_check_compares_mean_predicted_with_observed_churn(predicted, observed, ok):
    cfg = EvaluateConfig()
    check = calibration_check({"model_mean_predicted": predicted, "model_observed_rate": observed}, cfg)
    assert check == {"gap": round(abs(predicted - observed), 4), "ok": ok, "max_gap": cfg.max_calibration_gap}
