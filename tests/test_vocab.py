"""The domain vocabulary is defined once (churn.vocab) and every other definition agrees with it."""

import pytest

from churn import vocab
from churn.action import load_playbook
from churn.config import load_config
from churn.data import TABLES
from churn.report import localize


def test_contract_describes_the_vocabulary_tables_in_order():
    assert tuple(TABLES) == vocab.TABLES


@pytest.mark.parametrize("words, dictionary", [
    (vocab.LIST_CAUSES, localize.CAUSES), (vocab.RISK_BANDS, localize.RISK_BANDS), (vocab.VALUE_TIERS, localize.VALUE_TIERS),
    (vocab.TABLES, localize.TABLES),
])
def test_every_word_has_a_chinese_translation(words, dictionary):
    assert set(words) <= set(dictionary["zh"])


def test_config_and_playbook_speak_the_vocabulary():
    cfg = load_config("configs/params.yaml")
    assert set(cfg.explain.causes) == set(vocab.CAUSES)
    assert set(cfg.score.risk_bands) == set(vocab.AT_RISK_BANDS)
    assert set(cfg.score.value_tier_cuts) == set(vocab.VALUE_TIERS) - {vocab.VALUE_TIERS[-1]}
    playbook = load_playbook(cfg.score.playbook)
    assert set(playbook.rules) == set(vocab.SEGMENTS)
    assert all(set(by_cause) == set(vocab.LIST_CAUSES) for by_cause in playbook.rules.values())


def test_complaint_categories_point_to_causes():
    categories = TABLES["tickets"].column("category").allowed
    assert set(vocab.COMPLAINT_CAUSE) <= set(categories)
    assert set(vocab.COMPLAINT_CAUSE.values()) <= set(vocab.CAUSES)
