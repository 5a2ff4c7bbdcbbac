import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, make_history
from scipy import special

from churn.config import load_config
from churn.features import build_features, population
from churn.model import BGNBDChurnModel, ChurnModel, bgnbd_churn_probability, load_scoring_model

AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    cfg = load_config(CONFIG)
    tables = make_history(200, seed=2)
    return build_features(tables, population(tables, [AS_OF], cfg.labels), cfg.features)


@pytest.fixture(scope="module")
def fallback(customers) -> BGNBDChurnModel:
    return BGNBDChurnModel.fit(customers, horizon_days=90)


def test_it_scores_as_the_bgnbd_baseline_does(customers, fallback):
    p = fallback.predict_proba(customers)
    assert ((p > 0) & (p < 1)).all()
    # the same parameters as the baseline fitted on the same customers: the same probabilities
    np.testing.assert_allclose(p, bgnbd_churn_probability(customers, 90), rtol=1e-6)


def test_contributions_add_up_to_the_customers_log_odds_from_the_reference(customers, fallback):
    contrib = fallback.contributions(customers)
    assert list(contrib.columns) == ["btyd_x", "btyd_tx", "btyd_T"]
    reference = pd.DataFrame({c: [v] for c, v in fallback.reference.items()})
    expected = special.logit(fallback.predict_proba(customers)) - special.logit(fallback.predict_proba(reference))[0]
    np.testing.assert_allclose(contrib.sum(axis=1), expected, atol=1e-6)


def test_a_long_silence_is_what_raises_the_risk(fallback):
    # the reference customer, then the same customer silent for a year more: only the age (T) changed
    ref = fallback.reference
    frame = pd.DataFrame({"btyd_x": [ref["btyd_x"]] * 2, "btyd_tx": [ref["btyd_tx"]] * 2,
                          "btyd_T": [ref["btyd_T"], ref["btyd_T"] + 365]})
    p = fallback.predict_proba(frame)
    assert p[1] > p[0]
    contrib = fallback.contributions(frame)
    assert contrib.loc[1, "btyd_T"] > 0 and abs(contrib.loc[1, ["btyd_x", "btyd_tx"]]).max() < 1e-9


def test_it_saves_and_loads_as_its_own_kind(tmp_path, customers, fallback):
    fallback.save(tmp_path / "fallback")
    loaded = load_scoring_model(tmp_path / "fallback")
    assert isinstance(loaded, BGNBDChurnModel) and loaded.kind == "bgnbd" and loaded.judged is None
    np.testing.assert_allclose(loaded.predict_proba(customers), fallback.predict_proba(customers))
    assert loaded.features == ["btyd_x", "btyd_tx", "btyd_T"]


def test_load_scoring_model_still_loads_the_lightgbm_model(tmp_path, customers):
    import lightgbm as lgb

    X = customers[["recency_days", "orders_365"]].fillna(0)
    y = (customers["recency_days"].fillna(999) > 60).astype(int)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5}, lgb.Dataset(X, y), 5)
    ChurnModel(booster, ["recency_days", "orders_365"], {}, {"method": "platt", "a": 1.0, "b": 0.0}).save(tmp_path)
    assert isinstance(load_scoring_model(tmp_path), ChurnModel)


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"btyd_x": [1.0]}), r"needs customers with the columns .* missing \['btyd_tx', 'btyd_T'\]"),
    (pd.DataFrame({"btyd_x": [], "btyd_tx": [], "btyd_T": []}), "needs at least one customer"),
])
def test_it_needs_purchase_histories(frame, message):
    with pytest.raises(ValueError, match=message):
        BGNBDChurnModel.fit(frame, 90)
