import numpy as np
import pandas as pd
import pytest

from churn.config import load_config
from churn.score import (
    cause_agreement,
    explain_causes,
    feature_groups,
    stated_causes,
    symptom_rule_causes,
    weigh_with_evidence,
)
from churn.vocab import CAUSES


@pytest.fixture
def cfg():
    return load_config("configs/params.yaml").explain


FEATURES = ["discount_trend", "complaints_service_90", "returns_share_365", "days_since_visit", "recency_days",
            "orders_trend", "tenure_days"]


def population(n=400, seed=0):
    """Contributions of a scored population: small noise around zero on every feature."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(0, 0.05, (n, len(FEATURES))), columns=FEATURES)


def with_customer(**cols):
    """The population plus one customer (the last row) with these contributions (others zero)."""
    pop = population()
    return pd.concat([pop, pd.DataFrame([dict.fromkeys(FEATURES, 0.0) | cols])], ignore_index=True)


def test_feature_groups(cfg):
    groups = feature_groups(["discount_trend", "recency_days", "tenure_days", "open_tickets", "visits_90"], cfg)
    assert groups == {"discount_trend": "price", "recency_days": "symptom", "open_tickets": "service",
                      "visits_90": "engagement"}


@pytest.mark.parametrize("cols, cause", [
    ({"discount_trend": 0.8, "recency_days": 2.0}, "price"),
    ({"complaints_service_90": 0.6, "discount_trend": 0.1}, "service"),
    ({"returns_share_365": 0.5}, "quality"),
    ({"days_since_visit": 0.7}, "engagement"),
    # a decline with no cause signal: orders falling and a long silence say that, not why
    ({"recency_days": 1.5, "orders_trend": 0.5}, "other"),
    # no warning sign at all
    ({}, "other"),
    ({"tenure_days": 0.3}, "other"),
])
def test_primary_cause(cfg, cols, cause):
    out = explain_causes(with_customer(**cols), cfg)
    assert out["primary_cause"].iloc[-1] == cause


def test_two_causes_too_close_to_tell_apart_are_unclear(cfg):
    contributions = with_customer(discount_trend=0.4, complaints_service_90=0.4)
    contributions["complaints_service_90"] = contributions["discount_trend"]  # the same spread in the population
    out = explain_causes(contributions, cfg)
    assert out["primary_cause"].iloc[-1] == "other" and out["cause_margin"].iloc[-1] == 0


def test_each_planted_cause_is_found_with_its_margin(cfg):
    """Customers with one planted cause each among a population without: each gets its cause, the rest of
    the population stays mostly unclear."""
    pop = population()
    planted = {"discount_trend": "price", "complaints_service_90": "service", "returns_share_365": "quality",
               "days_since_visit": "engagement"}
    for i, feature in enumerate(planted):
        pop.loc[i * 10:(i * 10 + 9), feature] += np.linspace(0.3, 1.2, 10)
    out = explain_causes(pop, cfg)
    for i, cause in enumerate(planted.values()):
        rows = out.iloc[i * 10:(i * 10 + 10)]
        assert (rows["primary_cause"] == cause).all(), rows
        assert (rows["cause_margin"] > 1.5).all() and (rows["cause_share"] > 0.5).all()
    assert out["primary_cause"].iloc[40:].value_counts().get("other", 0) > 0


def test_symptoms_never_outrank_a_real_cause(cfg):
    out = explain_causes(with_customer(recency_days=5.0, orders_trend=3.0, complaints_service_90=0.3), cfg)
    assert out["primary_cause"].iloc[-1] == "service"
    assert pd.isna(out["secondary_cause"].iloc[-1])


def test_negative_contributions_offset_within_a_cause(cfg):
    out = explain_causes(with_customer(discount_trend=0.5, complaints_service_90=0.8, returns_share_365=-0.1), cfg)
    assert out["primary_cause"].iloc[-1] == "service" and out["secondary_cause"].iloc[-1] == "price"
    # a service feature lowering the risk more than another raises it leaves price ahead
    out = explain_causes(with_customer(discount_trend=0.5, complaints_service_90=-0.6), cfg)
    assert out["primary_cause"].iloc[-1] == "price"


def test_a_customer_is_compared_with_the_reference_population(cfg):
    """Explained alone, one customer has nothing to stand out from; against the scored population it does."""
    one = pd.DataFrame([dict.fromkeys(FEATURES, 0.0) | {"returns_share_365": 0.6}])
    assert explain_causes(one, cfg)["primary_cause"].iloc[0] == "other"
    assert explain_causes(one, cfg, reference=population())["primary_cause"].iloc[0] == "quality"


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


@pytest.mark.parametrize(("cols", "cause"), [
    ({"complaints_billing_90": 1, "complaints_price_90": 1, "complaints_service_90": 1}, "price"),
    ({"complaints_delivery_90": 2, "complaints_quality_90": 1}, "service"),
    ({"complaints_price_90": 1, "complaints_quality_90": 1}, None),  # a tie: nothing stated
    ({}, None),  # complaints outside the window (complaints_quality_365) state nothing
])
def test_stated_cause_is_the_most_complained_about(cfg, cols, cause):
    stated = stated_causes(symptoms(**cols), cfg, 90).iloc[0]
    assert stated == cause if cause else stated is None


@pytest.mark.parametrize("stated_first, primary, secondary", [(True, "service", "price"), (False, "price", None)])
def test_a_stated_cause_outranks_the_models_inference(cfg, stated_first, primary, secondary):
    contributions = with_customer(discount_trend=0.8)
    values = pd.DataFrame(1.0, index=contributions.index, columns=FEATURES).assign(complaints_service_90=0.0)
    values.loc[len(values) - 1, "complaints_service_90"] = 2  # the last customer complained about service
    out = explain_causes(contributions, cfg.model_copy(update={"stated_first": stated_first}), values, 90)
    assert out["primary_cause"].iloc[-1] == primary
    got = out["secondary_cause"].iloc[-1]
    assert (None if pd.isna(got) else got) == secondary
    assert out["cause_margin"].iloc[-1] < 0 if stated_first else out["cause_margin"].iloc[-1] > 0
    assert (out["primary_cause"].iloc[:-1] == explain_causes(contributions, cfg)["primary_cause"].iloc[:-1]).all()


def test_a_missing_observation_is_no_evidence(cfg):
    """No survey in the window is not a bad score: a missing price/service/quality value adds nothing to its
    cause, whatever the model's contribution for it; engagement's missing values (never visited) still count."""
    contributions = with_customer(returns_share_365=0.6, days_since_visit=0.3)
    values = pd.DataFrame(1.0, index=contributions.index, columns=FEATURES)
    values.loc[len(values) - 1, ["returns_share_365", "days_since_visit"]] = np.nan
    assert explain_causes(contributions, cfg)["primary_cause"].iloc[-1] == "quality"
    assert explain_causes(contributions, cfg, values)["primary_cause"].iloc[-1] == "engagement"


def _probabilities(rows, n):
    """A cause model's probabilities: an even spread for the population, `rows` for the last customers."""
    even = pd.DataFrame([dict.fromkeys(CAUSES, 0.25)] * (n - len(rows)))
    return pd.concat([even, pd.DataFrame(rows)[list(CAUSES)]], ignore_index=True)


@pytest.mark.parametrize("model_says, cols, cause, alone", [
    # the cause model torn between price and service (unclear alone); the evidence says service
    ({"price": 0.45, "service": 0.40, "quality": 0.10, "engagement": 0.05}, {"complaints_service_90": 0.6}, "service",
     "other"),
    # no evidence of any cause; the cause model sure
    ({"price": 0.05, "service": 0.05, "quality": 0.85, "engagement": 0.05}, {}, "quality", "quality"),
    # the cause model's favourite (a recorder's habit) outweighed by strong evidence of another cause
    ({"price": 0.55, "service": 0.15, "quality": 0.15, "engagement": 0.15}, {"days_since_visit": 0.9}, "engagement",
     "price"),
    # neither says anything: unclear, not a confident cause
    ({"price": 0.25, "service": 0.25, "quality": 0.25, "engagement": 0.25}, {}, "other", "other"),
])
def test_the_cause_model_is_weighed_with_the_evidence(cfg, model_says, cols, cause, alone):
    contributions = with_customer(**cols)
    probabilities = _probabilities([model_says], len(contributions))
    out = explain_causes(contributions, cfg, probabilities=probabilities)
    assert out["primary_cause"].iloc[-1] == cause
    without = cfg.model_copy(update={"known_causes": cfg.known_causes.model_copy(update={"with_evidence": False})})
    assert explain_causes(contributions, without, probabilities=probabilities)["primary_cause"].iloc[-1] == alone


def test_weighing_keeps_probabilities_and_changes_nothing_without_evidence():
    rng = np.random.default_rng(1)
    probabilities = pd.DataFrame(rng.dirichlet(np.ones(len(CAUSES)), 50), columns=list(CAUSES))
    flat = pd.DataFrame(0.0, index=probabilities.index, columns=list(CAUSES))
    pd.testing.assert_frame_equal(weigh_with_evidence(probabilities, flat), probabilities)
    z = pd.DataFrame(rng.normal(0, 1, (50, len(CAUSES))), columns=list(CAUSES))
    weighed = weigh_with_evidence(probabilities, z)
    np.testing.assert_allclose(weighed.sum(axis=1), 1.0)
    # each cause's odds against another move by exactly the difference of their z-scores
    ratio = np.log(weighed["price"] / weighed["service"]) - np.log(probabilities["price"] / probabilities["service"])
    np.testing.assert_allclose(ratio, z["price"] - z["service"])
