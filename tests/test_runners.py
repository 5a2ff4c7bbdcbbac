"""Tests for the runners' own logic: which effects a contact plan uses."""

import pytest
from conftest import CONFIG

from churn.config import load_config
from churn.runners import _effect_sources, _with_evidence


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG, **{"decide.effect_by_cause": {"rep_visit": {"price": 0.05}, "pricing_offer": {"price": 0.4}}})


def test_measured_effects_replace_the_priors(cfg):
    measured = {"effects": {"rep_visit": 0.45, "new_action": 0.1}, "effect_by_cause": {"pricing_offer": {"service": 0.2}}}
    out = _with_evidence(cfg.decide, measured)
    assert out.effects["rep_visit"] == 0.45 and out.effects["new_action"] == 0.1
    assert out.effects["check_in_call"] == cfg.decide.effects["check_in_call"]  # not measured: prior stays
    # a measured action effect also overrides that action's per-cause priors ...
    assert "rep_visit" not in out.effect_by_cause
    # ... while a measured cause is added next to the priors of the other causes
    assert out.effect_by_cause["pricing_offer"] == {"price": 0.4, "service": 0.2}
    assert _with_evidence(cfg.decide, None) is cfg.decide


def test_effect_sources_say_where_each_effect_came_from(cfg):
    uplift = {"priors": {"rep_visit": 0.45}, "actions": [{"action": "reengagement_call", "model": True},
                                                          {"action": "rep_visit", "model": False}]}
    measured = {"effects": {"auto_reengagement": 0.02}}
    out = _effect_sources(cfg, uplift, measured)
    assert out["rep_visit"] == {"relative_effect": 0.45, "source": "campaigns table"}
    assert out["auto_reengagement"] == {"relative_effect": 0.02, "source": "measured runs (churn effect)"}
    assert out["reengagement_call"]["source"] == "per-customer uplift model (campaigns table)"
    assert out["check_in_call"] == {"relative_effect": cfg.decide.effects["check_in_call"], "source": "prior (config)"}
