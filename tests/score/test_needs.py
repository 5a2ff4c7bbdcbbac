"""The need profile: the signs each need's rule reads, one customer per case (crafted features)."""

import json

import pandas as pd
import pytest

from churn.config import DemoConfig, FeaturesConfig, NeedRule, ScoreConfig, ValidateConfig
from churn.data import generate_history, validate_history
from churn.features import build_features
from churn.report import render_reasons
from churn.score import campaign_responses, need_check, need_profiles

CALM = {"price_score_mean_180": 8.0, "service_score_mean_180": 8.0, "quality_score_mean_180": 8.0,
        "complaints_price_365": 0, "complaints_billing_365": 0, "complaints_service_365": 0,
        "complaints_delivery_365": 0, "complaints_quality_365": 0, "complaints_other_365": 0,
        "resolution_days_365": 2.0, "returns_share_365": 0.0}


def profile(**changes) -> tuple[str, list[dict]]:
    features = pd.DataFrame([CALM | changes])
    got = need_profiles(features, ScoreConfig().needs)
    return got["need_profile"].iloc[0], json.loads(got["need_evidence"].iloc[0])


@pytest.mark.parametrize("changes, need", [
    ({}, "none"),  # no sign at all: no need, not a guess
    ({"price_score_mean_180": 5.5, "complaints_billing_365": 2, "complaints_price_365": 1}, "price"),
    ({"service_score_mean_180": 6.0, "resolution_days_365": 12.0}, "service"),
    ({"price_score_mean_180": 6.0, "promo_lift_365": 1.8, "promo_lines_365": 5}, "price"),  # buys more on promotion
    ({"price_score_mean_180": 6.0, "promo_lift_365": 1.8, "promo_lines_365": 2}, "none"),  # two promotions prove little
    ({"complaints_delivery_365": 3, "resolution_days_365": 9.0}, "service"),  # delivery complaints are service
    ({"quality_score_mean_180": 6.5, "returns_share_365": 0.06}, "quality"),
    ({"price_score_mean_180": 5.5}, "none"),  # one sign is not enough (min_signs 2)
    ({"price_score_mean_180": 7.5, "complaints_price_365": 3}, "none"),  # 0.5 points below: not a low score
    ({"complaints_price_365": 3, "complaints_quality_365": 3, "price_score_mean_180": 5.0,
      "returns_share_365": 0.05}, "none"),  # price and quality both with two signs: none stands out
    ({"complaints_price_365": 2, "complaints_quality_365": 3, "price_score_mean_180": 5.0,
      "returns_share_365": 0.05}, "quality"),  # 2 of 5 complaints are not half: price has one sign, quality two
    ({"price_score_mean_180": None, "service_score_mean_180": None, "quality_score_mean_180": None,
      "complaints_quality_365": 2, "returns_share_365": 0.04}, "quality"),  # no surveys: the other signs still count
])
def test_the_need_with_the_most_signs_is_the_profile(changes, need):
    got, evidence = profile(**changes)
    assert got == need
    if need != "none":
        assert len(evidence) >= 2


def test_the_evidence_names_the_signs_and_reads_in_each_language():
    need, evidence = profile(quality_score_mean_180=6.0, returns_share_365=0.07, complaints_quality_365=2)
    assert need == "quality"
    assert evidence == [{"key": "low_score", "dimension": "quality_score", "score": 6.0},
                        {"key": "complaints", "n": 2, "category": "quality", "t": 365},
                        {"key": "returns", "pct": 7}]
    codes = pd.Series([json.dumps(evidence)])
    english, chinese = render_reasons(codes, "en").iloc[0], render_reasons(codes, "zh").iloc[0]
    assert "7%" in english and "2" in english and english != chinese and any("\u4e00" <= ch <= "\u9fff" for ch in chinese)


def test_the_thresholds_are_the_configs():
    features = pd.DataFrame([CALM | {"price_score_mean_180": 5.5}])
    assert need_profiles(features, NeedRule(min_signs=1))["need_profile"].tolist() == ["price"]
    assert need_profiles(features, NeedRule(min_signs=1, survey_gap=3.0))["need_profile"].tolist() == ["none"]


def test_agreement_with_a_known_need_per_class():
    scored = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                           "need_profile": ["price", "price", "none", "quality", "none"]})
    truth = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e", "gone"],
                          "need": ["price", "service", "none", "quality", "price", "price"]})
    check = need_check(scored, truth)
    assert check["customers"] == 5  # only the scored customers
    assert check["accuracy"] == 0.6
    assert check["per_need"]["price"] == {"precision": 0.5, "recall": 0.5, "named": 2, "true": 2}
    assert check["per_need"]["service"] == {"precision": None, "recall": 0.0, "named": 0, "true": 1}
    assert check["confusion"]["service"]["price"] == 1 and check["confusion"]["price"]["none"] == 1


@pytest.mark.slow(minutes=0.5)
def test_on_the_demo_each_profile_mostly_names_the_true_need():
    """The sample business gives each customer a true need (none, price, service, quality) that shows in its
    surveys, complaints, returns and promotion buying; the profiles must find it far better than chance."""
    cfg = DemoConfig(seed=5, n_customers=1500, inject_errors=False)
    history = generate_history(cfg)
    tables = validate_history(history.tables, ValidateConfig(), pd.Timestamp(cfg.end)).tables
    as_of = pd.Timestamp(cfg.end)
    orders = tables["orders"]
    active = orders.loc[orders["ts"] >= as_of - pd.Timedelta(days=365), "customer_id"].unique()
    features = build_features(tables, pd.DataFrame({"customer_id": active, "cutoff": as_of}), FeaturesConfig())
    scored = features[["customer_id"]].join(need_profiles(features, NeedRule()))
    check = need_check(scored, history.truth)
    assert check["customers"] == len(active) > 500
    for need in ("price", "service", "quality"):
        assert check["per_need"][need]["precision"] >= 0.6, check
        assert check["per_need"][need]["recall"] >= 0.3, check
    assert check["accuracy"] >= 0.6, check


def test_campaign_responses_compare_the_windows_around_each_treated_contact():
    as_of = pd.Timestamp("2026-10-01")
    campaigns = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c"],
        "ts": pd.to_datetime(["2026-03-01", "2026-09-15", "2026-03-01", "2026-04-01", "2026-03-01"]),
        "action": ["price_callback", "price_callback", "price_callback", "service_callback", "rep_visit"],
        "treated": [True, True, False, True, True],  # b's price contact was held out: not an answer
    })
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "ts": pd.to_datetime(["2026-02-01", "2026-03-10", "2026-04-20", "2026-03-20", "2026-04-10", "2026-03-05"]),
        "amount": [100.0, 150.0, 50.0, 80.0, 40.0, 10.0],
    })
    got = campaign_responses(campaigns, orders, as_of, {"price_callback": "price", "service_callback": "service"}, 90)
    # a: one price contact whose window closed (the one of 09-15 is still open): 100 before, 150 + 50 after
    assert got.loc["a", "contacts_price"] == 1 and got.loc["a", "lift_price"] == pytest.approx(2.0)
    # b: the service contact of 04-01: 80 in the 90 days before, 40 after; the held-out price contact is not counted
    assert got.loc["b", "contacts_service"] == 1 and got.loc["b", "lift_service"] == pytest.approx(0.5)
    assert pd.isna(got.loc["b", "contacts_price"]) and "c" not in got.index  # rep_visit answers no need
    assert campaign_responses(None, orders, as_of, {}, 90).empty


def test_answering_past_actions_for_a_need_is_a_sign_of_it():
    features = pd.DataFrame([CALM | {"customer_id": "a", "price_score_mean_180": 6.0},
                             CALM | {"customer_id": "b", "price_score_mean_180": 6.0}])
    responses = pd.DataFrame({"contacts_price": [2.0, 2.0], "lift_price": [1.6, 1.1], "contacts_service": [None, None],
                              "lift_service": [None, None], "contacts_quality": [None, None],
                              "lift_quality": [None, None]}, index=pd.Index(["a", "b"], dtype="string"))
    got = need_profiles(features, NeedRule(), responses)
    assert got["need_profile"].tolist() == ["price", "none"]  # b bought only 10% more: not a sign
    assert {"key": "campaign_response", "category": "price", "pct": 60} in json.loads(got["need_evidence"].iloc[0])
    assert need_profiles(features, NeedRule())["need_profile"].tolist() == ["none", "none"]
