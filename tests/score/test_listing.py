import pandas as pd
import pytest
from helpers import CONFIG, make_history

from churn.action import load_playbook, with_playbook_actions
from churn.config import load_config
from churn.features import build_features, plan_cutoffs, population, training_examples
from churn.model import train_model
from churn.report import render_reasons
from churn.score import score_customers
from churn.vocab import ACTION_COLUMNS, LIFECYCLE_STAGES, LIST_COLUMNS, NEEDS, SCORED_COLUMNS

AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def scored():
    cfg = load_config(CONFIG, **{"labels.train_cutoffs": 3, "train.search.enabled": False})
    tables = make_history(250, seed=11)
    ex = training_examples(tables, plan_cutoffs(AS_OF, cfg.labels), cfg.labels, cfg.features)
    model = train_model(ex, cfg.train).model
    feats = build_features(tables, population(tables, [AS_OF], cfg.labels), cfg.features)
    listing = score_customers(feats, tables["customers"], model, cfg=cfg.score, explain=cfg.explain,
                             trend_window=cfg.features.trend_window, model_version="churn v7", as_of=AS_OF)
    return cfg, feats, listing, (tables, model)


def test_one_row_per_active_customer_sorted_by_expected_loss(scored):
    _, feats, listing, _ = scored
    assert list(listing.columns) == SCORED_COLUMNS
    assert sorted(listing["customer_id"]) == sorted(feats["customer_id"])
    # every customer has a lifecycle stage, and a lapsed one is in the lapsed stage
    assert set(listing["lifecycle_stage"]) <= set(LIFECYCLE_STAGES) and listing["lifecycle_stage"].notna().all()
    assert (listing.loc[listing["lapsed"], "lifecycle_stage"] == "lapsed").all()
    assert set(listing["need_profile"]) <= {*NEEDS, "none"} and listing["need_evidence"].notna().all()
    assert listing["expected_loss"].is_monotonic_decreasing


def test_expected_loss_is_probability_times_value(scored):
    _, feats, listing, _ = scored
    value = feats.set_index("customer_id")["value_365"].reindex(listing["customer_id"]).to_numpy()
    assert listing["value_12m"].to_numpy() == pytest.approx(value, abs=0.01)
    assert listing["expected_loss"].to_numpy() == pytest.approx(
        listing["churn_probability"].to_numpy() * value.clip(min=0), abs=0.02)


def test_actions_only_for_customers_at_risk(scored):
    cfg, _, scored_list, _ = scored
    worded = scored_list.assign(reasons=render_reasons(scored_list["reason_codes"], "en"))
    listing = with_playbook_actions(worded, load_playbook(cfg.score.playbook), act_on=cfg.score.act_on_risk_bands)
    assert list(listing.columns) == LIST_COLUMNS
    assert listing.drop(columns=[*ACTION_COLUMNS, "reasons"]).equals(scored_list)
    at_risk = listing["risk_band"].isin(cfg.score.act_on_risk_bands)
    assert (listing.loc[~at_risk, "action"] == "monitor").all()
    assert (listing.loc[at_risk, "action"] != "monitor").all()
    assert listing["owner"].notna().all() and (listing["model_version"] == "churn v7").all()


def test_orders_only_history_scores_without_customer_details():
    cfg = load_config(CONFIG, **{"labels.train_cutoffs": 3, "train.search.enabled": False})
    tables = {"orders": make_history(250, seed=12)["orders"][["customer_id", "ts", "amount"]]}
    ex = training_examples(tables, plan_cutoffs(AS_OF, cfg.labels), cfg.labels, cfg.features)
    model = train_model(ex, cfg.train).model
    feats = build_features(tables, population(tables, [AS_OF], cfg.labels), cfg.features)
    listing = score_customers(feats, None, model, cfg=cfg.score, explain=cfg.explain,
                             trend_window=cfg.features.trend_window, model_version="v", as_of=AS_OF)
    assert len(listing) == len(feats) and listing["owner"].isna().all()
    assert not listing["is_key_account"].any()
    # orders alone carry no price or service signal: returns point to quality, a decline to engagement
    assert set(listing["primary_cause"]) <= {"quality", "engagement", "other"}


def test_value_forecast_sets_tiers_and_key_accounts(scored):
    from churn.config import KeyAccountRules, ValueConfig
    from churn.score import customer_value

    cfg, feats, _, (tables, model) = scored
    vcfg = ValueConfig(key_accounts=KeyAccountRules(use_flag=False, top_revenue_share=0.3))
    value = customer_value(tables["orders"], tables["customers"], AS_OF, vcfg)
    listing = score_customers(feats, tables["customers"], model, cfg=cfg.score, explain=cfg.explain,
                             trend_window=cfg.features.trend_window, model_version="v", as_of=AS_OF, value=value,
                             value_cfg=vcfg)
    by_id = value.set_index("customer_id").reindex(listing["customer_id"])
    assert listing["forecast_value_12m"].to_numpy() == pytest.approx(by_id["forecast_margin_12m"].round(2).to_numpy())
    assert listing["is_key_account"].tolist() == by_id["is_key_account"].tolist()
    assert (listing.loc[listing["is_key_account"], "key_account_rule"] == "top 30% of 12-month revenue").all()
    assert listing.loc[~listing["is_key_account"], "key_account_rule"].isna().all()
    # tiers are Pareto cuts of what is at stake (the forecast for a customer who stays), not of the plain forecast,
    # which discounts a customer's chance of having left, nor of the trailing value
    from churn.score import value_tiers

    at_stake = listing["value_if_retained_12m"].fillna(listing["forecast_value_12m"]).fillna(listing["value_12m"])
    assert listing["value_tier"].tolist() == value_tiers(at_stake, cfg.score.value_tier_cuts).tolist()
    assert listing["value_if_retained_12m"].notna().mean() > 0.9
    forecast = score_customers(feats, tables["customers"], model, cfg=cfg.score, explain=cfg.explain,
                              trend_window=cfg.features.trend_window, model_version="v", as_of=AS_OF, value=value,
                              value_cfg=vcfg.model_copy(update={"tier_by": "forecast_margin"}))
    plain = value_tiers(forecast["forecast_value_12m"].fillna(forecast["value_12m"]), cfg.score.value_tier_cuts)
    assert forecast["value_tier"].tolist() == plain.tolist()
    trailing = score_customers(feats, tables["customers"], model, cfg=cfg.score, explain=cfg.explain,
                              trend_window=cfg.features.trend_window, model_version="v", as_of=AS_OF, value=value,
                              value_cfg=vcfg.model_copy(update={"tier_by": "trailing"}))
    assert trailing["value_tier"].tolist() == value_tiers(trailing["value_12m"], cfg.score.value_tier_cuts).tolist()


@pytest.mark.parametrize(("silence", "gap", "lapsed"), [
    (100.0, 30.0, True),     # 3.3 usual gaps and past 90 days
    (100.0, 60.0, False),    # under 2 usual gaps
    (80.0, 20.0, False),     # 4 gaps, but under 90 days
    (185.0, 120.0, True),    # 180 days whatever the rhythm
    (120.0, float("nan"), False),  # a one-order customer: only the 180 days count
    (190.0, float("nan"), True),
])
def test_lapsed_customers(silence, gap, lapsed):
    from churn.config import LapsedRule
    from churn.score import lapsed_customers

    rule = LapsedRule()  # the defaults: 2 usual gaps and 90 days, or 180 days
    features = pd.DataFrame({"recency_days": [silence], "ipt_mean_days": [gap]}, index=[7])
    out = lapsed_customers(features, rule)
    assert out.index.tolist() == [7] and bool(out.at[7, "lapsed"]) is lapsed
    assert out.at[7, "days_since_last_order"] == round(silence)
    off = lapsed_customers(features, LapsedRule(gap_multiple=None, after_days=None))
    assert not off["lapsed"].any()


@pytest.mark.parametrize("tenure, trend, lapsed, stage", [
    (400, 0.0, False, "mature"),
    (400, 0.25, False, "growing"),  # the last 90 days brought more than 1.5 times the 90 before
    (400, -0.25, False, "declining"),
    (400, 0.19, False, "mature"),  # within the rule's +-0.2
    (90, -0.5, False, "new"),  # new first: a new customer's trend says little
    (90, 0.0, True, "lapsed"),  # lapsed before all
    (400, None, False, "mature"),  # no revenue in either window: no trend
])
def test_lifecycle_stage_follows_the_configured_rules(tenure, trend, lapsed, stage):
    from churn.config import LifecycleRule, ScoreConfig
    from churn.score import lifecycle_stages

    features = pd.DataFrame({"tenure_days": [tenure], "revenue_trend": [trend]}, dtype="float64")
    rule = ScoreConfig().lifecycle
    assert lifecycle_stages(features, pd.Series([lapsed]), rule).tolist() == [stage]
    # the thresholds are the config's: a longer `new` period makes a 200-day customer new
    assert lifecycle_stages(pd.DataFrame({"tenure_days": [200.0], "revenue_trend": [0.0]}), pd.Series([False]),
                            LifecycleRule(new_days=365)).tolist() == ["new"]


def _score(scored, **explain):
    cfg, feats, _, (tables, model) = scored
    return score_customers(feats, tables["customers"], model, cfg=cfg.score,
                           explain=cfg.explain.model_copy(update=explain), trend_window=cfg.features.trend_window,
                           model_version="churn v7", as_of=AS_OF)


def test_past_all_up_to_only_customers_at_risk_lapsed_or_sampled_are_explained_with_their_full_causes(scored):
    from churn.score import explain_customers, reference_sample

    cfg, feats, everyone, (_, model) = scored
    assert everyone.attrs["causes"]["explained"] == len(everyone) == everyone.attrs["causes"]["customers"]
    part = _score(scored, all_up_to=0, reference_customers=60)
    info = part.attrs["causes"]
    assert info["method"] == "evidence" and info["population"]["customers"] == 60
    at_risk = part["risk_band"].isin(cfg.score.act_on_risk_bands) | part["lapsed"]
    sampled = pd.Series(reference_sample(feats["customer_id"], 60, cfg.explain.seed),
                        index=feats["customer_id"].astype("string"))
    explained = part["primary_cause"].notna()
    assert (explained == (at_risk | sampled.reindex(part["customer_id"]).to_numpy())).all()
    assert 0 < info["explained"] == explained.sum() < len(part)
    assert part.loc[~explained, "cause_share"].isna().all() and part.loc[~explained, "secondary_cause"].isna().all()
    # each explained customer's cause is what explaining everyone against the same population names
    full = explain_customers(feats, model, cfg.explain, cfg.features.trend_window, info["population"])
    full.index = feats["customer_id"].astype("string")
    shown = part[explained].set_index("customer_id")
    for column in ("primary_cause", "cause_share", "secondary_cause", "reason_codes"):
        pd.testing.assert_series_equal(shown[column], full.loc[shown.index, column].astype(shown[column].dtype),
                                       check_names=False)
    # and a sample of everyone is everyone: the same causes as below the limit
    whole = _score(scored, all_up_to=0, reference_customers=10_000)
    assert whole.attrs["causes"]["explained"] == len(whole)
    pd.testing.assert_frame_equal(whole, everyone)
    assert whole.attrs["causes"]["population"] == cause_population_of(everyone, scored)


def cause_population_of(listing, scored):
    from churn.score import cause_population
    from churn.score._causes import cause_evidence

    cfg, feats, _, (_, model) = scored
    return cause_population(cause_evidence(model.contributions(feats), cfg.explain, feats))


def test_the_reference_sample_does_not_depend_on_row_order_but_on_the_seed():
    from churn.score import reference_sample

    ids = pd.Series([f"C{i:04d}" for i in range(500)])
    picked = set(ids[reference_sample(ids, 50, 0)])
    shuffled = ids.sample(frac=1, random_state=3).reset_index(drop=True)
    assert len(picked) == 50 and set(shuffled[reference_sample(shuffled, 50, 0)]) == picked
    assert set(ids[reference_sample(ids, 50, 1)]) != picked
    assert reference_sample(ids, 600, 0).all()


def test_past_all_up_to_a_list_mostly_at_risk_is_explained_whole(scored):
    cfg, feats, everyone, (tables, model) = scored
    every_band = cfg.score.model_copy(update={"act_on_risk_bands": ["high", "medium", "low"]})
    out = score_customers(feats, tables["customers"], model, cfg=every_band,
                          explain=cfg.explain.model_copy(update={"all_up_to": 0, "reference_customers": 60}),
                          trend_window=cfg.features.trend_window, model_version="churn v7", as_of=AS_OF)
    assert out.attrs["causes"]["explained"] == len(out) and out.attrs["causes"]["population"]["customers"] == len(out)
    pd.testing.assert_series_equal(out["primary_cause"], everyone["primary_cause"])
