"""Uplift: synthetic data with a known effect, input checks, per-action models, and Hillstrom.

The Hillstrom test needs /work/shared/data/hillstrom.csv, i.e. ../shared/data/hillstrom.csv from
the repository root. Without it the test is skipped, unless CI=true, where it fails.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.model_selection import train_test_split
from sklift import metrics as skm

from churn.action._uplift import (
    DEFAULT_PARAMS,
    UpliftModel,
    _curve,
    _normalised,
    _perfect_score,
    action_effects,
    predict_effects,
    qini_report,
    uplift_by_decile,
)

HILLSTROM = Path(__file__).resolve().parents[3] / "shared" / "data" / "hillstrom.csv"
FEATURES = ["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"]
# Per ranking, the picks of `benchmarks/hillstrom_uplift.py --tune` (TUNED there): the grid point
# with the best mean Qini in 4-fold CV x 2 on the fit half only (the held-out half never chooses).
GRID_D = {"n_estimators": 100, "learning_rate": 0.03, "num_leaves": 4, "min_child_samples": 1000}
GRID_E = {"n_estimators": 400, "learning_rate": 0.01, "num_leaves": 15, "min_child_samples": 300}
PARAMS = {"two_model": GRID_E, "x_learner": GRID_D, "outcome": GRID_E}


# --------------------------------------------------------------------------- synthetic data

def synthetic(n: int = 6000, seed: int = 0, continuous: bool = False):
    """Randomised treatment (50%); true effect grows with x0 and is larger in category 'a'."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "x0": rng.uniform(-1, 1, n),
        "x1": rng.uniform(-1, 1, n),
        "noise": rng.normal(size=n),
        "group": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"]),
    })
    t = rng.integers(0, 2, n)
    if continuous:
        tau = 1.0 + 2.0 * X["x0"].to_numpy() + 1.0 * (X["group"] == "a").to_numpy()
        y = 2.0 + X["x1"].to_numpy() + t * tau + rng.normal(0, 1, n)
    else:
        tau = 0.15 * X["x0"].to_numpy() + 0.10 * (X["group"] == "a").to_numpy()  # -0.15 .. 0.25
        p0 = 0.35 + 0.10 * X["x1"].to_numpy()
        y = (rng.random(n) < np.clip(p0 + t * tau, 0, 1)).astype(int)
    return X, t, y, tau


@pytest.mark.parametrize("method", ["two_model", "x_learner"])
@pytest.mark.parametrize("continuous", [False, True])
def test_recovers_the_ordering_of_a_known_effect(method, continuous):
    X, t, y, _ = synthetic(continuous=continuous)
    Xn, _, _, tau_new = synthetic(n=3000, seed=1, continuous=continuous)
    model = UpliftModel(method=method, outcome="continuous" if continuous else "binary", seed=0).fit(X, t, y)
    u = model.predict_uplift(Xn)
    assert u.shape == (len(Xn),)
    rho = spearmanr(u, tau_new).statistic
    assert rho > 0.5, f"{method}: Spearman {rho:.2f} with the true effect"
    # the sign too: where the true effect is clearly negative / positive
    assert u[tau_new < -0.1 * np.abs(tau_new).max()].mean() < 0 < u[tau_new > 0.5 * tau_new.max()].mean()


def test_x_learner_with_a_propensity_classifier():
    X, t, y, _ = synthetic()
    Xn, _, _, tau_new = synthetic(n=3000, seed=1)
    model = UpliftModel(method="x_learner", propensity="classifier", seed=0).fit(X, t, y)
    g = model.propensity_score(Xn)
    assert ((g >= 0.01) & (g <= 0.99)).all() and abs(g.mean() - t.mean()) < 0.1
    assert spearmanr(model.predict_uplift(Xn), tau_new).statistic > 0.5


def test_same_seed_same_predictions_and_categories_from_fit():
    X, t, y, _ = synthetic(n=3000)
    a = UpliftModel(method="x_learner", seed=3).fit(X, t, y)
    b = UpliftModel(method="x_learner", seed=3).fit(X, t, y)
    np.testing.assert_array_equal(a.predict_uplift(X), b.predict_uplift(X))
    # the category levels seen in fit are reused: other level order, plain strings and an unseen level
    X2 = X.head(50).copy()
    same = a.predict_uplift(X2)
    X2["group"] = X2["group"].astype(str)
    np.testing.assert_allclose(a.predict_uplift(X2), same)
    X2["group"] = pd.Categorical(X2["group"], categories=["c", "b", "a"])
    np.testing.assert_allclose(a.predict_uplift(X2), same)
    X2["group"] = X2["group"].astype("object")
    X2.iloc[0, X2.columns.get_loc("group")] = "zzz"  # unseen in fit: missing for LightGBM
    X2.iloc[1, X2.columns.get_loc("group")] = None
    assert np.isfinite(a.predict_uplift(X2)).all()
    out = a.predict_outcomes(X.head(5))
    assert list(out.columns) == ["control", "treated"] and out.index.equals(X.head(5).index)


def test_string_columns_become_categories():
    X, t, y, tau = synthetic(n=3000)
    X = X.assign(group=X["group"].astype(str).astype("string"))
    model = UpliftModel(seed=0).fit(X, t, y)
    assert model.categories_ == {"group": ["a", "b", "c"]}
    assert spearmanr(model.predict_uplift(X), tau).statistic > 0.3


def test_an_arm_with_a_single_outcome_value_still_fits():
    X, t, y, _ = synthetic(n=600)
    y = np.where(t == 1, 0, y)  # nobody in the treated arm responds
    u = UpliftModel(method="x_learner", seed=0).fit(X, t, y).predict_uplift(X)
    assert np.isfinite(u).all() and u.mean() < 0


# --------------------------------------------------------------------------- input checks

def test_input_errors():
    X, t, y, _ = synthetic(n=300)
    with pytest.raises(ValueError, match="no treated rows"):
        UpliftModel().fit(X, np.zeros(len(X), dtype=int), y)
    with pytest.raises(ValueError, match="no control rows"):
        UpliftModel().fit(X, np.ones(len(X), dtype=bool), y)
    with pytest.raises(ValueError, match=r"must be binary \(0/1 or True/False\); got values \['0', '1', '2'\]"):
        UpliftModel().fit(X, np.arange(len(X)) % 3, y)
    with pytest.raises(ValueError, match="treatment must be binary"):
        UpliftModel().fit(X, np.where(t == 1, "mail", "none"), y)
    with pytest.raises(ValueError, match="treatment has 2 missing values"):
        UpliftModel().fit(X, pd.Series(t, dtype="float").mask(pd.Series(range(len(t))) < 2), y)
    with pytest.raises(ValueError, match="treatment has 10 values, X has 300 rows"):
        UpliftModel().fit(X, t[:10], y)
    with pytest.raises(ValueError, match="outcome='binary' needs y in"):
        UpliftModel().fit(X, t, y * 2.5)
    with pytest.raises(ValueError, match="method must be one of"):
        UpliftModel(method="s_learner")
    with pytest.raises(ValueError, match="outcome must be one of"):
        UpliftModel(outcome="count")
    with pytest.raises(RuntimeError, match="not fitted"):
        UpliftModel().predict_uplift(X)
    model = UpliftModel(params={"n_estimators": 5}).fit(X, t.astype(bool), y)
    with pytest.raises(ValueError, match=r"X lacks columns the model was fitted on: \['x1'\]"):
        model.predict_uplift(X.drop(columns="x1"))
    with pytest.raises(ValueError, match="no treated rows"):
        qini_report(y, np.zeros(len(y)), np.zeros(len(y)))
    with pytest.raises(ValueError, match="treatment must be binary"):
        qini_report(y, np.zeros(len(y)), np.full(len(y), 2))
    with pytest.raises(ValueError, match="y has a single value"):
        qini_report(np.zeros(len(y)), np.zeros(len(y)), t)
    with pytest.raises(ValueError, match="uplift has 1 missing values"):
        qini_report(y, np.r_[np.nan, np.zeros(len(y) - 1)], t)


# --------------------------------------------------------------------------- qini_report

def test_binary_figures_are_sklifts():
    X, t, y, tau = synthetic(n=4000)
    u = tau + np.random.default_rng(1).normal(0, 0.05, len(tau))
    r = qini_report(y, u, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert r["qini_coefficient"] == pytest.approx(skm.qini_auc_score(y, u, t))
        assert r["auuc"] == pytest.approx(skm.uplift_auc_score(y, u, t))
        np.testing.assert_allclose(r["by_decile"]["uplift"].to_numpy(),
                                   skm.uplift_by_percentile(y, u, t)["uplift"].to_numpy())
    assert r["source"] == "sklift.metrics" and r["outcome"] == "binary"
    # the true effect, noised, ranks well above random scores (sklift's Qini, normalised by the perfect
    # curve with negative effects, is small even so)
    noise = [qini_report(y, np.random.default_rng(100 + s).random(len(y)), t)["qini_coefficient"] for s in range(5)]
    assert r["qini_coefficient"] > 2 * max(noise) and r["auuc"] > 0
    x, v = r["qini_curve"]
    assert x[0] == 0 and v[0] == 0 and x[-1] == len(y)
    assert r["qini_random"][1][-1] == pytest.approx(r["qini_perfect"][1][-1])
    assert r["n"] == len(y) and r["n_treated"] + r["n_control"] == len(y)
    # perfect ordering scores 1, as in sklift
    assert qini_report(y, y * t - y * (1 - t), t)["qini_coefficient"] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_continuous_formulas_equal_sklifts_on_binary_y(seed):
    """The code behind continuous y reproduces sklift exactly when y happens to be 0/1 (both
    branches of sklift's perfect uplift curve: more control responders than treated non-responders
    and the reverse)."""
    rng = np.random.default_rng(seed)
    n = 3000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < (0.2 if seed == 0 else 0.8) + 0.1 * t).astype(int)
    u = np.round(rng.random(n), 2)  # with ties
    yf = y.astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for kind, sk in (("qini", skm.qini_auc_score), ("uplift", skm.uplift_auc_score)):
            ours = _normalised(*_curve(yf, u, t, kind), *_curve(yf, _perfect_score(yf, t, kind), t, kind))
            assert ours == pytest.approx(sk(y, u, t), abs=1e-12)
        np.testing.assert_allclose(_curve(yf, u, t, "qini")[1], skm.qini_curve(y, u, t)[1])


def test_continuous_outcome_report():
    X, t, y, tau = synthetic(n=4000, continuous=True)
    r = qini_report(y, tau, t)
    assert r["outcome"] == "continuous" and "sklift's formulas" in r["source"]
    assert 0.1 < r["qini_coefficient"] <= 1 and 0 < r["auuc"] <= 1
    noise = [qini_report(y, np.random.default_rng(100 + s).random(len(y)), t)["qini_coefficient"] for s in range(5)]
    assert r["qini_coefficient"] > max(noise)
    assert r["by_decile"]["uplift"].iloc[0] > r["by_decile"]["uplift"].iloc[-1]
    assert qini_report(y, y * t - y * (1 - t), t)["qini_coefficient"] == pytest.approx(1.0)


def test_uplift_by_decile_bins():
    y, u, t = np.r_[np.ones(10), np.zeros(10)], np.arange(20.0)[::-1], np.tile([1, 0], 10)
    d = uplift_by_decile(y, u, t, bins=2)
    assert d["uplift"].tolist() == [0.0, 0.0] and d["n_treated"].tolist() == [5, 5]
    assert d["mean_predicted"].iloc[0] > d["mean_predicted"].iloc[1]


# --------------------------------------------------------------------------- retention actions

def campaign_examples(seed: int = 0) -> pd.DataFrame:
    """`call` works (churn 0.4 -> 0.2, mostly for high x0), `visit` has only 30 treated, `email`
    has no control rows."""
    rng = np.random.default_rng(seed)
    parts = []
    for action, n_t, n_c in (("call", 600, 600), ("visit", 30, 300), ("email", 200, 0)):
        n = n_t + n_c
        x0 = rng.uniform(0, 1, n)
        treated = np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)]
        p = 0.4 - treated * (0.4 * x0 if action == "call" else 0.0)
        parts.append(pd.DataFrame({
            "customer_id": [f"{action}-{i}" for i in range(n)], "action": action, "treated": treated,
            "churned": (rng.random(n) < p).astype(int), "x0": x0, "segment": rng.choice(["pharmacy", "clinic"], n),
        }))
    return pd.concat(parts, ignore_index=True)


def test_action_effects_fits_actions_with_enough_rows_and_skips_the_rest(caplog):
    examples = campaign_examples()
    with caplog.at_level("INFO", logger="churn.action._uplift"):
        models = action_effects(examples, ["x0", "segment"], min_per_arm=50, seed=0)
    assert list(models) == ["call", "email", "visit"]
    assert isinstance(models["call"], UpliftModel) and models["visit"] is None and models["email"] is None
    assert "visit: 30 treated and 300 control rows" in caplog.text
    assert "email: 200 treated and 0 control rows" in caplog.text
    # with a lower bar, visit gets a model too
    assert action_effects(examples, ["x0"], min_per_arm=30)["visit"] is not None

    X = pd.DataFrame({"x0": [0.05, 0.5, 0.95], "segment": ["clinic", "pharmacy", "clinic"]}, index=["A", "B", "C"])
    effects = predict_effects(models, X)
    assert list(effects.columns) == ["call", "email", "visit"] and effects.index.tolist() == ["A", "B", "C"]
    assert effects[["email", "visit"]].isna().all().all()
    # reduction in churn probability: positive where the call lowers churn, growing with x0
    assert effects.loc["C", "call"] > 0.15 and effects.loc["C", "call"] > effects.loc["A", "call"]
    np.testing.assert_allclose(effects["call"].to_numpy(), -models["call"].predict_uplift(X))


def test_action_effects_input_errors():
    examples = campaign_examples()
    with pytest.raises(ValueError, match=r"campaign_examples lacks columns \['tenure'\]"):
        action_effects(examples, ["x0", "tenure"])
    with pytest.raises(ValueError, match="treated must be binary"):
        action_effects(examples.assign(treated="maybe"), ["x0"])


# --------------------------------------------------------------------------- Hillstrom

@pytest.fixture(scope="module")
def hillstrom() -> pd.DataFrame:
    if not HILLSTROM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the Hillstrom data is not at {HILLSTROM} (../shared/data from the repository)")
        pytest.skip(f"Hillstrom data not found at {HILLSTROM} (../shared/data/hillstrom.csv from the repository root)")
    frame = pd.read_csv(HILLSTROM)
    for col in ("history_segment", "zip_code", "channel"):
        frame[col] = frame[col].astype("category")
    frame["treatment"] = (frame["segment"] != "No E-Mail").astype(int)
    return frame


def test_hillstrom_uplift_beats_random_and_outcome_only_targeting(hillstrom):
    """Visit, split seed 0 (fixed before any result was seen), fit half / held-out half.

    Held-out Qini here: two-model 0.0244, X-learner 0.0285, outcome-only 0.0148, random scores
    0.001 +- 0.009 (mean +- sd over 20 seeds), so the models sit only 2.5-3 sd of that noise above
    random (one of this test's random seeds reaches 0.0275 on its own). A guard at this fixed
    split, not a universal claim: on split seeds 0..4 (`benchmarks/hillstrom_uplift.py`) the
    X-learner beats outcome-only targeting on 4 of 5, the two-model on 3 of 5.
    """
    d = hillstrom
    # published group results: the file is the one the figures describe
    rates = d.groupby("segment")["visit"].mean()
    assert rates.round(4).to_dict() == {"Mens E-Mail": 0.1828, "No E-Mail": 0.1062, "Womens E-Mail": 0.1514}

    strata = d["treatment"].astype(str) + d["visit"].astype(str) + d["conversion"].astype(str)
    fit, held = train_test_split(np.arange(len(d)), test_size=0.5, stratify=strata, random_state=0)
    fit, held = np.sort(fit), np.sort(held)  # row order as in the benchmark (LightGBM's bagging depends on it)
    X, t, y = d[FEATURES], d["treatment"].to_numpy(), d["visit"].to_numpy()
    Xf, Xh, tf, th, yf, yh = X.iloc[fit], X.iloc[held], t[fit], t[held], y[fit], y[held]

    # random targeting: the average Qini of random scores over several seeds (expected 0)
    random = np.mean([qini_report(yh, np.random.default_rng(s).random(len(held)), th)["qini_coefficient"]
                      for s in range(20)])
    responders = lgb.LGBMClassifier(**{**DEFAULT_PARAMS, **PARAMS["outcome"]}, random_state=0)
    responders.fit(Xf[tf == 1], yf[tf == 1])
    outcome_only = qini_report(yh, responders.predict_proba(Xh)[:, 1], th)["qini_coefficient"]

    for method in ("two_model", "x_learner"):
        u = UpliftModel(method=method, seed=0, params=PARAMS[method]).fit(Xf, tf, yf).predict_uplift(Xh)
        qini = qini_report(yh, u, th)["qini_coefficient"]
        assert qini > random + 0.01, f"{method}: Qini {qini:.4f} vs random targeting {random:.4f}"
        assert qini > outcome_only, f"{method}: Qini {qini:.4f} vs outcome-only {outcome_only:.4f}"
