"""Drift against the training reference: a shift of exactly two features and of the customer mix alarms on
exactly those; resamples of the same population alarm on nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG

from churn.config import MonitorConfig, load_config
from churn.monitor import drift_table, population_stability_index, reference_profile

MONITOR = load_config(CONFIG).monitor  # the configured thresholds, read not copied
COLUMNS = ["orders_90", "revenue_90", "recency_days", "complaints_90", "score_mean_180", "churn_probability",
           "segment", "is_key_account"]


def population(n: int, seed: int, *, shift: bool = False) -> pd.DataFrame:
    """Customers like the scored ones: counts with many zeros, skewed money, missing survey scores, a score,
    a segment mix and a flag. `shift`: order sizes doubled (a price increase), recency 60% longer, and the mix
    moved from pharmacies to hospitals."""
    rng = np.random.default_rng(seed)
    revenue = rng.lognormal(8, 1.2, n) * (2.0 if shift else 1.0)
    recency = rng.gamma(2.0, 20.0 if not shift else 32.0, n)
    score = np.where(rng.random(n) < 0.3, np.nan, np.clip(rng.normal(7, 1.5, n), 0, 10))
    mix = [0.45, 0.25, 0.2, 0.1] if shift else [0.25, 0.45, 0.2, 0.1]
    return pd.DataFrame({
        "orders_90": rng.poisson(3, n),
        "revenue_90": revenue,
        "recency_days": recency,
        "complaints_90": rng.poisson(0.3, n),
        "score_mean_180": score,
        "churn_probability": rng.beta(0.6, 6, n),
        "segment": pd.array(rng.choice(["hospital", "pharmacy", "clinic", "distributor"], n, p=mix), dtype="string"),
        "is_key_account": rng.random(n) < 0.05,
    })


@pytest.fixture(scope="module")
def reference() -> dict:
    return reference_profile(population(20_000, seed=0), COLUMNS, MONITOR.bins)


def test_the_reference_is_json_and_has_every_column(reference):
    again = json.loads(json.dumps(reference))
    assert again == reference and set(again["columns"]) == set(COLUMNS) and again["n"] == 20_000
    assert reference["columns"]["segment"]["kind"] == "categorical"
    assert reference["columns"]["is_key_account"]["kind"] == "categorical"  # a flag is not a number
    spec = reference["columns"]["score_mean_180"]
    assert spec["kind"] == "numeric" and spec["shares"][-1] == pytest.approx(0.3, abs=0.02)  # the missing bin
    for spec in reference["columns"].values():
        assert sum(spec["shares"]) == pytest.approx(1.0)


def test_a_shift_of_two_features_and_the_mix_alarms_on_exactly_those(reference):
    table = drift_table(reference, population(4_000, seed=1, shift=True), MONITOR)
    assert set(table.loc[table["alarm"], "feature"]) == {"revenue_90", "recency_days", "segment"}
    assert table["feature"].iloc[:3].tolist() == table.loc[table["alarm"], "feature"].tolist()  # alarms first
    assert (table.loc[~table["alarm"], "psi"] < 0.05).all()


@pytest.mark.parametrize("seed", range(1, 21))
def test_resamples_of_the_same_population_alarm_on_nothing(reference, seed):
    table = drift_table(reference, population(4_000, seed=seed), MONITOR)
    assert not table["alarm"].any(), table.head(3).to_dict(orient="records")
    assert table["psi"].max() < MONITOR.psi_alarm / 3


def test_psi_by_hand():
    r, c = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.75, 0.0])
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert population_stability_index(r, c) == pytest.approx(expected)
    assert population_stability_index(r, r) == 0.0


def test_new_categories_and_missing_values_count_as_their_own_bins():
    ref = reference_profile(pd.DataFrame({"segment": ["a", "b"] * 500, "x": np.arange(1000.0)}), ["segment", "x"])
    now = pd.DataFrame({"segment": ["a", "c"] * 500, "x": [np.nan] * 1000})
    table = drift_table(ref, now, MonitorConfig()).set_index("feature")
    assert table.loc["segment", "alarm"] and table.loc["x", "alarm"]
    assert table.loc["x", "current_missing_share"] == 1.0 and table.loc["x", "js"] == pytest.approx(1.0)


def test_a_column_the_scored_population_lacks_is_refused(reference):
    with pytest.raises(ValueError, match=r"has no column\(s\) \['segment'\] that the drift reference has"):
        drift_table(reference, population(100, seed=3).drop(columns="segment"), MONITOR)


def test_the_run_summary_names_alarms_and_fail_on_drift_stops_the_run(reference):
    from churn.monitor import DriftAlarm, check_drift, drift_summary, population_drift, population_reference

    summary = drift_summary(drift_table(reference, population(4_000, seed=1, shift=True), MONITOR))
    assert set(summary["alarms"]) == {"revenue_90", "recency_days", "segment"} and summary["n_columns"] == len(COLUMNS)
    assert summary["max_psi"] == max(summary["psi"].values())
    check_drift(summary, fail_on_drift=False)  # an alarm does not stop the run by default
    check_drift(None, fail_on_drift=True)  # nor does a run without a reference
    with pytest.raises(DriftAlarm, match=r"drift alarm against the training data: recency_days \(PSI [\d.]+\)"):
        check_drift(summary, fail_on_drift=True)
    quiet = drift_summary(drift_table(reference, population(4_000, seed=2), MONITOR))
    check_drift(quiet, fail_on_drift=True)
    # a scored population: the model's features, the customer mix and the score are watched
    frame = population(3_000, seed=4)
    ref = population_reference(frame, ["orders_90", "revenue_90", "not_there"], frame["churn_probability"])
    assert list(ref["columns"]) == ["orders_90", "revenue_90", "segment", "is_key_account", "churn_probability"]
    doubled = population_drift(ref, frame, frame["churn_probability"] * 3, MONITOR)
    assert doubled.loc[doubled["alarm"], "feature"].tolist() == ["churn_probability"]
