import pandas as pd
import pytest
from pydantic import ValidationError

from churn.action import Playbook, action_needs, load_playbook, playbook_actions, service_policy
from churn.score import risk_bands, value_tiers
from churn.vocab import LIST_CAUSES, SEGMENTS


def test_value_tiers_follow_pareto_cuts():
    value = pd.Series([500.0, 300.0, 100.0, 60.0, 40.0, 0.0, -5.0], index=list("abcdefg"))
    tiers = value_tiers(value, {"high": 0.6, "medium": 0.9})
    # cumulative share before each: a 0, b .5, c .8, d .9, e .96 -> high, high, medium, low, low
    assert tiers.to_dict() == {"a": "high", "b": "high", "c": "medium", "d": "low", "e": "low", "f": "low", "g": "low"}


def test_risk_bands():
    assert risk_bands(pd.Series([0.9, 0.3, 0.1]), {"high": 0.5, "medium": 0.25}).tolist() == ["high", "medium", "low"]


@pytest.fixture
def playbook():
    return load_playbook("configs/playbook.yaml")


@pytest.mark.parametrize("key, tier, cause, band, action", [
    (True, "low", "price", "high", "ka_pricing_review"),  # key accounts apart from value tiers
    (False, "high", "service", "high", "service_recovery"),
    (False, "medium", "quality", "medium", "quality_callback"),
    (False, "low", "engagement", "high", "auto_reengagement"),
    (False, "high", "price", "low", "monitor"),  # not at risk
])
@pytest.mark.parametrize("lapsed", [False, None])  # None: a list without the column
def test_playbook_by_segment_and_cause(playbook, key, tier, cause, band, action, lapsed):
    frame = pd.DataFrame({"is_key_account": [key], "value_tier": [tier], "primary_cause": [cause], "risk_band": [band]})
    if lapsed is not None:
        frame["lapsed"] = lapsed
    out = playbook_actions(frame, playbook, ["high", "medium"])
    assert out.loc[0, "action"] == action
    assert out.loc[0, "action_cost"] == playbook.actions[action].cost


def test_incomplete_playbook_is_refused(playbook):
    raw = playbook.model_dump()
    del raw["rules"]["medium"]["price"]
    with pytest.raises(ValidationError, match=r"rules.medium has no action for cause\(s\) \['price'\]"):
        Playbook.model_validate(raw)
    raw = playbook.model_dump()
    raw["rules"]["low"]["price"] = "free_lunch"
    with pytest.raises(ValidationError, match=r"undefined action\(s\) \['free_lunch'\]"):
        Playbook.model_validate(raw)


@pytest.mark.parametrize("key, tier, cause, band, action", [
    (True, "low", "price", "high", "ka_winback_visit"),
    (False, "high", "service", "high", "winback_visit"),
    (False, "medium", "quality", "medium", "winback_call"),
    (False, "low", "other", "high", "auto_winback_email"),
    (False, "high", "price", "low", "monitor"),  # not at risk: the model does not think it has gone
])
def test_lapsed_customers_get_the_win_back_action_of_their_segment(playbook, key, tier, cause, band, action):
    frame = pd.DataFrame({"is_key_account": [key], "value_tier": [tier], "primary_cause": [cause], "risk_band": [band],
                          "lapsed": [True]})
    assert playbook_actions(frame, playbook, ["high", "medium"]).loc[0, "action"] == action
    no_winback = playbook.model_copy(update={"winback": None})  # a playbook without win-back: the retention rules
    assert playbook_actions(frame, no_winback, ["high", "medium"]).loc[0, "action"] == playbook_actions(
        frame.assign(lapsed=False), playbook, ["high", "medium"]).loc[0, "action"]


def test_win_back_playbook_serves_every_cause_with_the_segment_action(playbook):
    from churn.action import winback_playbook

    back = winback_playbook(playbook)
    assert back.winback is None
    for segment, action in playbook.winback.items():
        assert set(back.rules[segment].values()) == {action}


def test_incomplete_win_back_is_refused(playbook):
    raw = playbook.model_dump()
    del raw["winback"]["medium"]
    with pytest.raises(ValidationError, match=r"winback has no action for segment\(s\) \['medium'\]"):
        Playbook.model_validate(raw)
    raw = playbook.model_dump()
    raw["winback"]["low"] = "postcard"
    with pytest.raises(ValidationError, match=r"undefined action\(s\) \['postcard'\]"):
        Playbook.model_validate(raw)


@pytest.mark.parametrize("need, cause, action", [
    ("price", "engagement", "price_callback"),  # price-sensitive and drifting away: the price-led offer
    ("price", "other", "price_callback"),  # cause unclear: its need says what to lead with, not a diagnostic call
    ("price", "service", "service_callback"),  # a known service problem stays a service problem
    ("service", "other", "service_callback"),
    ("quality", "engagement", "reengagement_call"),  # only the listed causes are steered
    ("none", "other", "check_in_call"),
    (None, "engagement", "reengagement_call"),  # no need profile known
])
def test_the_need_profile_steers_the_action(playbook, need, cause, action):
    frame = pd.DataFrame({"is_key_account": [False], "value_tier": ["medium"], "primary_cause": [cause],
                          "risk_band": ["high"], "need_profile": pd.array([need], dtype="string")})
    assert playbook_actions(frame, playbook, ["high", "medium"]).loc[0, "action"] == action
    without = frame.drop(columns="need_profile")  # a list from before need profiles: the cause alone
    assert playbook_actions(without, playbook, ["high", "medium"]).loc[0, "action"] == \
        playbook.rules["medium"][cause]


@pytest.mark.parametrize("needs, match", [
    ({"thrift": {"other": "price"}}, "needs.thrift: not a need"),
    ({"price": {"other": "cheapness"}}, r"needs.price names unknown cause\(s\) \['cheapness'\]"),
])
def test_bad_need_steering_is_refused(playbook, needs, match):
    with pytest.raises(ValidationError, match=match):
        Playbook.model_validate(playbook.model_dump() | {"needs": needs})


def test_the_service_policy_is_every_segment_stage_and_need(playbook):
    policy = service_policy(playbook).fillna({"lifecycle_stage": "*"}).set_index(
        ["segment", "lifecycle_stage", "need_profile"])
    # 4 segments x (every stage, new) x 4 needs
    assert len(policy) == 4 * 2 * 4 and list(policy.index.get_level_values(0).unique()) == list(SEGMENTS)
    assert policy.loc[("high", "*", "price"), "engagement"] == "pricing_offer"
    assert policy.loc[("high", "*", "none"), "engagement"] == "rep_visit"
    assert policy.loc[("high", "new", "none"), "engagement"] == "onboarding_visit"
    assert policy.loc[("high", "new", "price"), "engagement"] == "pricing_offer"  # the need steers first
    assert policy.loc[("key_account", "*", "quality"), "other"] == "ka_quality_review"
    assert policy.loc[("low", "*", "service"), "winback"] == playbook.winback["low"]
    # every cell is what playbook_actions gives such a customer, in any stage the row stands for
    for (segment, stage, need), row in policy.iterrows():
        for shown in (["new"] if stage == "new" else ["growing", "mature", "declining", None]):
            for cause in LIST_CAUSES:
                frame = pd.DataFrame({"is_key_account": [segment == "key_account"],
                                      "value_tier": ["low" if segment == "key_account" else segment],
                                      "primary_cause": [cause], "risk_band": ["high"], "need_profile": [need],
                                      "lifecycle_stage": [shown]})
                assert playbook_actions(frame, playbook, ["high"]).loc[0, "action"] == row[cause]


@pytest.mark.parametrize("lifecycle, match", [
    ({"lapsed": {"low": {"other": "monitor"}}}, "lifecycle.lapsed: use one of"),
    ({"new": {"gold": {"other": "monitor"}}}, "lifecycle.new.gold: not a segment"),
    ({"new": {"low": {"boredom": "monitor"}}}, r"lifecycle.new.low names unknown cause\(s\) \['boredom'\]"),
    ({"new": {"low": {"other": "welcome_hamper"}}}, r"undefined action\(s\) \['welcome_hamper'\]"),
])
def test_bad_lifecycle_rules_are_refused(playbook, lifecycle, match):
    with pytest.raises(ValidationError, match=match):
        Playbook.model_validate(playbook.model_dump() | {"lifecycle": lifecycle})


def test_each_action_answers_the_need_the_playbook_names_it_for(playbook):
    needs = action_needs(playbook)
    assert needs["pricing_offer"] == "price" and needs["auto_service_email"] == "service"
    assert needs["ka_quality_review"] == "quality"
    assert "rep_visit" not in needs and "onboarding_call" not in needs  # engagement and unclear are not needs
