import pandas as pd
import pytest
from pydantic import ValidationError

from churn.action import Playbook, load_playbook, playbook_actions
from churn.score import risk_bands, value_tiers


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
def test_playbook_by_segment_and_cause(playbook, key, tier, cause, band, action):
    frame = pd.DataFrame({"is_key_account": [key], "value_tier": [tier], "primary_cause": [cause], "risk_band": [band]})
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
