"""The candidates that may score the list: the logistic baselines and BG/NBD as scoring models, and the choice."""

import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, make_history
from scipy import special
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from churn.config import load_config
from churn.features import plan_cutoffs, training_examples
from churn.model import (
    BGNBDChurnModel,
    LogisticChurnModel,
    candidate_model,
    choose_candidate,
    load_scoring_model,
    train_model,
)

CFG = load_config(CONFIG, **{"train.search.enabled": False})
AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def examples() -> pd.DataFrame:
    tables = make_history(400, seed=3)
    return training_examples(tables, plan_cutoffs(AS_OF, CFG.labels, refit=True), CFG.labels, CFG.features)


@pytest.fixture(scope="module")
def trained(examples):
    return train_model(examples, CFG.train, CFG.labels.horizon_days)


@pytest.mark.parametrize("kind, inputs", [("recency_rule", ["recency_days"]),
                                          ("rfm_logistic", ["recency_days", "orders_365", "revenue_365"])])
def test_a_logistic_baseline_scores_as_sklearn_and_explains_exactly(examples, kind, inputs):
    model = LogisticChurnModel.fit(kind, examples)
    X = np.log1p(examples[inputs].astype("float64").fillna({"recency_days": 9999.0}).fillna(0.0).clip(lower=0))
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, examples["churned"])
    np.testing.assert_allclose(model.predict_proba(examples), reference.predict_proba(X)[:, 1], rtol=1e-9)
    contrib = model.contributions(examples)
    assert list(contrib.columns) == inputs
    # linear in log-odds: the contributions add up to the log-odds less the intercept
    np.testing.assert_allclose(contrib.sum(axis=1) + model.intercept, special.logit(model.predict_proba(examples)))


def test_a_refit_baseline_keeps_the_fit_the_holdout_judged_through_save_and_load(tmp_path, examples, trained):
    refit = candidate_model("rfm_logistic", trained, examples, None, CFG.labels.horizon_days, refit=True)
    assert refit.judged is trained.baselines.rfm_logistic and refit.coef != refit.judged.coef
    refit.save(tmp_path)
    loaded = load_scoring_model(tmp_path)
    assert isinstance(loaded, LogisticChurnModel) and loaded.kind == "rfm_logistic"
    np.testing.assert_allclose(loaded.predict_proba(examples), refit.predict_proba(examples))
    np.testing.assert_allclose(loaded.judged.predict_proba(examples), refit.judged.predict_proba(examples))


def test_the_bgnbd_candidate_is_calibrated_and_is_not_the_fallback(tmp_path, examples, trained):
    customers = examples[examples["role"] == "test"]
    model = candidate_model("bgnbd", trained, examples, customers, CFG.labels.horizon_days, refit=True)
    assert isinstance(model, BGNBDChurnModel) and not model.fallback and model.calibration["method"] == "platt"
    # the same probabilities as the holdout's calibrated BG/NBD column (fitted on the same customers)
    np.testing.assert_allclose(model.predict_proba(customers), trained.holdout["bgnbd"], rtol=1e-6)
    model.save(tmp_path)
    loaded = load_scoring_model(tmp_path)
    assert not loaded.fallback
    np.testing.assert_allclose(loaded.predict_proba(customers), model.predict_proba(customers))


def test_the_choice_names_the_candidate_its_kind_and_why(trained):
    choice = choose_candidate(trained.metrics, CFG.evaluate)
    best = max(("model", "recency_rule", "rfm_logistic", "bgnbd"), key=lambda m: trained.metrics[f"{m}_roc_auc"])
    assert choice["candidate"] == best and choice["roc_auc"] == trained.metrics[f"{best}_roc_auc"]
    assert best in choice["why"]
