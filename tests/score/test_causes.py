import pandas as pd
import pytest

from churn.config import load_config
from churn.score import cause_agreement, explain_causes, feature_groups, symptom_rule_causes


@pytest.fixture
def cfg():
    return load_config("configs/params.yaml").explain


def contrib(**cols):
    base = {"discount_trend": 0.0, "complaints_service_90": 0.0, "returns_share_365": 0.0,
            "days_since_visit": 0.0, "recency_days": 0.0, "orders_trend": 0.0, "tenure_days": 0.0}
    return pd.DataFrame([base | cols])


def test_feature_groups(cfg):
    groups = feature_groups(["discount_trend", "recency_days", "tenure_days", "open_tickets", "visits_90"], cfg)
    assert groups == {"discount_trend": "price", "recency_days": "symptom", "open_tickets": "service",
                      "visits_90": "engagement"}


@pytest.mark.parametrize("cols, cause", [
    ({"discount_trend": 0.8, "recency_days": 2.0}, "price"),
    ({"complaints_service_90": 0.6, "discount_trend": 0.1}, "service"),
    ({"returns_share_365": 0.5}, "quality"),
    ({"days_since_visit": 0.7}, "engagement"),
    # a decline with no cause signal: the relationship faded
    ({"recency_days": 1.5, "orders_trend": 0.5}, "engagement"),
    # nothing stands out: no warning
    ({"tenure_days": 0.3}, "other"),
    # two causes of equal weight plus a third: none dominates enough -> other when no decline
    ({"discount_trend": 0.3, "complaints_service_90": 0.3, "returns_share_365": 0.3}, "other"),
])
def test_primary_cause(cfg, cols, cause):
    out = explain_causes(contrib(**cols), cfg)
    assert out.loc[0, "primary_cause"] == cause


def test_symptoms_never_outrank_a_real_cause(cfg):
    out = explain_causes(contrib(recency_days=5.0, orders_trend=3.0, complaints_service_90=0.2), cfg)
    assert out.loc[0, "primary_cause"] == "service"
    assert out.loc[0, "cause_share"] == 1.0


def test_negative_contributions_offset_within_a_cause(cfg):
    out = explain_causes(contrib(discount_trend=0.5, complaints_service_90=0.4, returns_share_365=-0.1), cfg)
    assert out.loc[0, "primary_cause"] == "price"
    assert out.loc[0, "secondary_cause"] == "service"
    assert out.loc[0, "cause_share"] == pytest.approx(0.5 / 0.9, abs=1e-3)


def test_cause_agreement_counts_only_known_causes():
    truth = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "cause": ["price", "service", "sudden", "none"]})
    result = cause_agreement(pd.Series(["a", "b", "c", "d"]), pd.Series(["price", "quality", "other", "other"]), truth)
    assert result["judged"] == 2 and result["accuracy"] == 0.5
    assert result["per_cause"] == {"price": 1.0, "service": 0.0}  # recall
    assert result["precision_per_cause"] == {"price": 1.0, "quality": 0.0}
    assert result["confusion"] == {"price": {"price": 1, "quality": 0}, "service": {"price": 0, "quality": 1}}


def symptoms(**cols):
    base = {"complaints_price_90": 0.0, "complaints_billing_90": 0.0, "complaints_service_90": 0.0,
            "complaints_delivery_90": 0.0, "complaints_quality_90": 0.0, "complaints_quality_365": 5.0,
            "price_score_trend": 0.0, "service_score_trend": 0.0, "quality_score_trend": 0.0,
            "orders_trend": -1.0, "recency_days": 120.0}
    return pd.DataFrame([base | cols])


@pytest.mark.parametrize(("cols", "cause"), [
    ({}, "engagement"),  # faded, no complaint, no score drop (old complaints outside the window do not count)
    ({"complaints_billing_90": 1, "complaints_price_90": 1, "complaints_service_90": 1}, "price"),  # most complaints
    ({"complaints_delivery_90": 2, "complaints_quality_90": 1}, "service"),
    ({"quality_score_trend": -1.5, "service_score_trend": -0.5}, "quality"),  # no complaint: the worst score drop
    ({"price_score_trend": 2.0}, "engagement"),  # a better score is no cause
    # tied complaints: the tied cause whose score fell most, not a larger drop of an untied cause
    ({"complaints_price_90": 1, "complaints_quality_90": 1, "quality_score_trend": -0.5, "service_score_trend": -3},
     "quality"),
    ({"complaints_price_90": 1, "complaints_quality_90": 1}, "price"),  # tied, no drop: the vocabulary's order
])
def test_symptom_rule_names_the_cause_a_manager_would(cfg, cols, cause):
    trend_window = load_config("configs/params.yaml").features.trend_window
    assert symptom_rule_causes(symptoms(**cols), cfg, trend_window).iloc[0] == cause
