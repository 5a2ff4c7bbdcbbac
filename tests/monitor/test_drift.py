"""Drift against the training reference: a shift of exactly two features and of the customer mix alarms on
exactly those; resamples of the same population alarm on nothing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG

from churn.config import MonitorConfig, load_config
from churn.monitor import (
    drift_metrics,
    drift_name,
    drift_summary,
    drift_table,
    population_reference,
    population_stability_index,
    reference_profile,
)

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
    return reference_profile(population(20_000, seed=0), COLUMNS, MONITOR.bins, MONITOR.min_bin_width)


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


def regional(n: int, seed: int, *, east_prices: float = 1.0) -> pd.DataFrame:
    """`population` across three regions (East 40%); `east_prices` multiplies East's order sizes."""
    frame = population(n, seed)
    region = np.random.default_rng(seed + 1000).choice(["East", "North", "South"], n, p=[0.4, 0.35, 0.25])
    east = region == "East"
    return frame.assign(region=pd.array(region, dtype="string"),
                        revenue_90=np.where(east, frame["revenue_90"] * east_prices, frame["revenue_90"]))


@pytest.fixture(scope="module")
def regional_reference() -> dict:
    frame = regional(20_000, seed=0)
    return population_reference(frame, COLUMNS[:-3], frame["churn_probability"], MONITOR)


def test_a_price_increase_in_one_region_alarms_on_that_region_alone(regional_reference):
    assert set(regional_reference["groups"]) == {"region=East", "region=North", "region=South"}
    now = regional(4_000, seed=1, east_prices=2.0)
    table = drift_table(regional_reference, now, MONITOR)
    whole = table[table["group"] == "all"]
    assert not whole["alarm"].any()  # a quarter of the customers moved: the whole population barely shows it
    assert [drift_name(f, g) for f, g in table.loc[table["alarm"], ["feature", "group"]].to_numpy()] == \
        ["revenue_90 (region=East)"]
    summary = drift_summary(table)
    assert summary["alarms"] == ["revenue_90 (region=East)"] and summary["groups"]["region=East"] >= MONITOR.psi_alarm
    assert "drift_psi.revenue_90/region:East" in drift_metrics(summary)


@pytest.mark.parametrize("seed", range(1, 21))
def test_resamples_alarm_on_no_region(regional_reference, seed):
    table = drift_table(regional_reference, regional(4_000, seed=seed), MONITOR)
    assert not table["alarm"].any(), table.head(3).to_dict(orient="records")


def test_a_region_with_too_few_customers_is_not_compared(regional_reference):
    few = regional(1_000, seed=5, east_prices=2.0)  # ~400 East customers, fewer than min_group_customers
    table = drift_table(regional_reference, few, MONITOR)
    assert set(table["group"]) == {"all"} and MONITOR.min_group_customers > (few["region"] == "East").sum()


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
    from churn.monitor import DriftAlarm, check_drift, population_drift

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


def p_alive(n: int, seed: int, *, refit: float = 1.0, lapsing: float = 0.0) -> pd.DataFrame:
    """A feature bunched like BG/NBD's P(alive): 90% of customers within ~1e-3 of 1, the rest spread down to 0.
    `refit` scales every distance from 1 (refitting the model at another date moves everyone a little);
    `lapsing`: that share of customers drops to 0.2-0.6 (a real change)."""
    rng = np.random.default_rng(seed)
    gap = np.where(rng.random(n) < 0.9, rng.gamma(2.0, 2.5e-4, n), rng.beta(1.0, 2.0, n)) * refit
    p = 1 - np.clip(gap, 0, 1)
    drop = rng.random(n) < lapsing
    p[drop] = rng.uniform(0.2, 0.6, int(drop.sum()))
    return pd.DataFrame({"bgnbd_p_alive": p})


@pytest.mark.parametrize(("refit", "lapsing", "alarm"), [(1.6, 0.0, False), (0.6, 0.0, False), (1.0, 0.15, True),
                                                         (1.6, 0.15, True)])
def test_a_bunched_feature_alarms_on_a_real_change_not_on_a_refit(refit, lapsing, alarm):
    reference = reference_profile(p_alive(20_000, 0), ["bgnbd_p_alive"], MONITOR.bins, MONITOR.min_bin_width)
    table = drift_table(reference, p_alive(5_000, 1, refit=refit, lapsing=lapsing), MONITOR)
    assert bool(table.loc[0, "alarm"]) is alarm, table


def test_plain_quantile_bins_would_alarm_on_the_refit():
    """Why the bins have a minimum width: with none, moving everyone by 1e-4 reads as a major shift."""
    reference = reference_profile(p_alive(20_000, 0), ["bgnbd_p_alive"], MONITOR.bins, min_bin_width=0.0)
    assert drift_table(reference, p_alive(5_000, 1, refit=1.6), MONITOR).loc[0, "alarm"]
