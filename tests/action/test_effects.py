"""Tests for churn.action._effects: measured effects with intervals, campaign examples, evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import make_history

from churn.action import (
    MEASURE_COLUMNS,
    campaign_examples,
    effect_records,
    evidence,
    measure_effects,
    newcombe_interval,
    pool_measurements,
    uplift_effects,
    wilson_interval,
)
from churn.config import EffectsConfig, FeaturesConfig, LabelsConfig
from churn.model import feature_columns

LABELS = LabelsConfig(horizon_days=90, active_days=180)


def records(groups: dict[tuple[str, str, bool], tuple[int, int]]) -> pd.DataFrame:
    """(action, cause, treated) -> (customers, churners) as record rows."""
    rows = []
    for (action, cause, treated), (n, churned) in groups.items():
        rows += [(f"{action}-{cause}-{treated}-{i}", action, treated, cause, int(i < churned)) for i in range(n)]
    return pd.DataFrame(rows, columns=["customer_id", "action", "treated", "cause", "churned"])


# --------------------------------------------------------------------------- intervals

@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "low", "high"), [
    (56, 70, 48, 80, 0.0524, 0.3339),   # Newcombe (1998), Stat Med 17:873, table II, method 10
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
])
def test_newcombe_interval_matches_the_published_examples(x1, n1, x2, n2, low, high):
    got = newcombe_interval(x1, n1, x2, n2, 0.95)
    assert got == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_stays_inside_0_1_and_covers_the_rate():
    for x, n in ((0, 10), (10, 10), (3, 7)):
        lo, hi = wilson_interval(x, n, 0.9)
        assert 0 <= lo <= x / n <= hi <= 1
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0, 0.9)


# --------------------------------------------------------------------------- measuring

def test_measure_effects_per_action_and_cause():
    r = records({("visit", "price", True): (100, 10), ("visit", "price", False): (50, 20),
                 ("visit", "service", True): (40, 8), ("visit", "service", False): (20, 4),
                 ("email", "price", True): (30, 6)})
    m = measure_effects(r, 0.9).set_index(["action", "cause"])
    assert list(m.reset_index().columns) == MEASURE_COLUMNS
    visit = m.loc[("visit", "all")]
    assert (visit["n_treated"], visit["n_control"]) == (140, 70)
    assert visit["churn_treated"] == pytest.approx(18 / 140) and visit["churn_control"] == pytest.approx(24 / 70)
    assert visit["effect"] == pytest.approx(24 / 70 - 18 / 140)
    assert visit["relative_effect"] == pytest.approx(visit["effect"] / (24 / 70))
    assert visit["ci_low"] < visit["effect"] < visit["ci_high"] and visit["ci_low"] > 0 and visit["p_value"] < 0.01
    price = m.loc[("visit", "price")]
    assert price["effect"] == pytest.approx(0.4 - 0.1)
    assert (price["ci_low"], price["ci_high"]) == pytest.approx(newcombe_interval(20, 50, 10, 100, 0.9))
    service = m.loc[("visit", "service")]
    assert service["effect"] == pytest.approx(0.0) and service["ci_low"] < 0 < service["ci_high"]
    # No held-out customers for e-mail: reported, but no effect is read into it.
    email = m.loc[("email", "all")]
    assert email["n_control"] == 0 and np.isnan(email["effect"]) and np.isnan(email["ci_low"])


@pytest.mark.parametrize(("change", "match"), [
    (lambda r: r.drop(columns="treated"), r"lack column\(s\) \['treated'\]"),
    (lambda r: r.assign(churned=2), "churned must be 0 or 1"),
    (lambda r: r.assign(action=pd.NA), "without an action"),
])
def test_measure_effects_refuses_bad_records(change, match):
    r = records({("visit", "price", True): (5, 1), ("visit", "price", False): (5, 2)})
    with pytest.raises(ValueError, match=match):
        measure_effects(change(r))


def test_evidence_needs_enough_customers_per_arm_and_keeps_causes():
    r = records({("visit", "price", True): (100, 10), ("visit", "price", False): (60, 24),
                 ("visit", "service", True): (20, 2), ("visit", "service", False): (10, 2),
                 ("call", "price", True): (10, 1), ("call", "price", False): (5, 1)})
    ev = evidence(measure_effects(r), min_per_arm=50)
    assert ev["effects"] == {"visit": pytest.approx(round((26 / 70 - 12 / 120) / (26 / 70), 4))}
    assert ev["effect_by_cause"] == {"visit": {"price": pytest.approx(0.75)}}  # service: too few
    assert evidence(measure_effects(r), min_per_arm=1)["effect_by_cause"]["call"] == {"price": pytest.approx(0.5)}


def test_pooling_runs_adds_the_counts_up():
    a = records({("visit", "price", True): (100, 10), ("visit", "price", False): (50, 20)})
    b = records({("visit", "price", True): (60, 12), ("visit", "price", False): (30, 6)})
    pooled = pool_measurements([measure_effects(a), measure_effects(b)]).set_index(["action", "cause"])
    both = measure_effects(pd.concat([a, b], ignore_index=True)).set_index(["action", "cause"])
    pd.testing.assert_frame_equal(pooled, both, check_dtype=False)


# --------------------------------------------------------------------------- records of a run

AS_OF_RUN = pd.Timestamp("2024-06-01")


def run_list(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ids = tables["customers"]["customer_id"].head(40)
    k = len(ids)
    return pd.DataFrame({
        "customer_id": ids.to_numpy(),
        "decision": ["chosen"] * 20 + ["holdout"] * 10 + ["below budget line"] * (k - 30),
        "contact": ["rep_visit"] * 20 + [None] * (k - 20),
        "holdout": [False] * 20 + [True] * 10 + [False] * (k - 30),
        "holdout_action": [None] * 20 + ["rep_visit"] * 10 + [None] * (k - 30),
        "primary_cause": ["price", "service"] * (k // 2),
    })


def test_effect_records_from_a_scoring_run(history):
    recs, source = effect_records(history, run_list(history), AS_OF_RUN, LABELS)
    assert source == "scoring run" and len(recs) == 30
    assert recs["treated"].sum() == 20 and (recs["action"] == "rep_visit").all()
    # churned = no positive order in the 90 days after the run, from the history itself
    o = history["orders"]
    window = o[(o["ts"] >= AS_OF_RUN) & (o["ts"] < AS_OF_RUN + pd.Timedelta(days=90)) & (o["amount"] > 0)]
    expected = (~recs["customer_id"].isin(window["customer_id"])).astype(int)
    assert recs["churned"].tolist() == expected.tolist()


def test_effect_records_from_the_campaigns_table(history):
    ids = history["customers"]["customer_id"].head(12).to_numpy()
    camp = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"),
                         "ts": pd.Timestamp("2024-06-01 10:00") + pd.to_timedelta(np.arange(12), unit="min"),
                         "action": "rep_visit", "treated": [True, False] * 6, "cost": 250.0})
    other_day = camp.head(3).assign(ts=pd.Timestamp("2024-07-01 10:00"))
    tables = {**history, "campaigns": pd.concat([camp, other_day], ignore_index=True)}
    recs, source = effect_records(tables, None, AS_OF_RUN, LABELS)
    assert source == "campaigns table" and len(recs) == 12 and recs["treated"].sum() == 6
    assert (recs["cause"] == "all").all()


@pytest.mark.parametrize(("run_date", "with_list", "match"), [
    ("2024-12-01", True, "ends on 2025-03-01, but the history only reaches 2025-01-0"),
    ("2024-06-02", False, "no scoring run of 2024-06-02 was found and the campaigns table has no rows"),
])
def test_effect_records_refuses_what_cannot_be_measured(history, run_date, with_list, match):
    with pytest.raises(ValueError, match=match):
        effect_records(history, run_list(history) if with_list else None, pd.Timestamp(run_date), LABELS)


def test_effect_records_refuses_a_list_without_a_plan(history):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['holdout_action'\]"):
        effect_records(history, run_list(history).drop(columns="holdout_action"), AS_OF_RUN, LABELS)


# --------------------------------------------------------------------------- campaigns -> examples and uplift

def with_campaigns(tables: dict[str, pd.DataFrame], seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = tables["customers"]["customer_id"].to_numpy()
    rows = []
    for day in ("2023-09-01", "2024-03-01", "2024-11-01"):
        picked = rng.choice(ids, 60, replace=False)
        rows.append(pd.DataFrame({"customer_id": picked, "ts": pd.Timestamp(day) + pd.Timedelta(hours=9),
                                  "action": rng.choice(["rep_visit", "check_in_call"], 60),
                                  "treated": rng.random(60) < 0.7, "cost": 100.0}))
    camp = pd.concat(rows, ignore_index=True).astype({"customer_id": "string", "ts": "datetime64[us]"})
    return {**tables, "campaigns": camp}


def test_campaign_examples_use_only_complete_horizons_and_earlier_history(history):
    tables = with_campaigns(history)
    as_of = pd.Timestamp("2024-09-01")
    ex = campaign_examples(tables, as_of, LABELS, FeaturesConfig())
    # the 2024-11-01 campaign has no outcome yet at 2024-09-01
    assert set(ex["cutoff"].dt.strftime("%Y-%m-%d")) == {"2023-09-01", "2024-03-01"}
    assert len(ex) == 120 and {"action", "treated", "churned", "recency_days"} <= set(ex.columns)
    # features as of the campaign's day: recency counts only orders before it
    o = history["orders"]
    row = ex[ex["recency_days"].notna()].iloc[0]
    before = o[(o["customer_id"] == row["customer_id"]) & (o["ts"] < row["cutoff"]) & (o["amount"] > 0)]
    assert row["recency_days"] == pytest.approx((row["cutoff"] - before["ts"].max()) / pd.Timedelta(days=1))
    assert campaign_examples(history, as_of, LABELS, FeaturesConfig()).empty  # no campaigns table


def test_campaign_examples_with_features_from_the_files_equal_those_from_frames(history, tmp_path):
    """The effects stage gives the campaigns and the orders' few columns in pandas and the features' tables as
    files (every row after as_of still in them): the same examples."""
    from churn.data import point_in_time
    from churn.features import POPULATION_ORDER_COLUMNS, ParquetTable

    tables = with_campaigns(history)
    as_of = pd.Timestamp("2024-09-01")
    view, _ = point_in_time(tables, as_of)
    files = {}
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
        files[name] = ParquetTable.of(tmp_path / f"{name}.parquet")
    few = {"campaigns": view["campaigns"], "orders": view["orders"][[*POPULATION_ORDER_COLUMNS]]}
    expected = campaign_examples(view, as_of, LABELS, FeaturesConfig())
    assert len(expected) == 120
    pd.testing.assert_frame_equal(campaign_examples(few, as_of, LABELS, FeaturesConfig(), files), expected,
                                  check_exact=True)


def test_uplift_effects_without_campaigns_keep_the_priors(history):
    feats = history["customers"][["customer_id"]].assign(recency_days=1.0)
    effects, summary, priors = uplift_effects(pd.DataFrame(), feats, ["recency_days"], EffectsConfig())
    assert effects.shape == (len(feats), 0) and summary.empty and priors == {}


def test_uplift_effects_measure_actions_and_gate_per_customer_models():
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.normal(size=n)
    treated = rng.random(n) < 0.6
    action = np.where(rng.random(n) < 0.5, "works", "useless")
    base = 1 / (1 + np.exp(-(x - 0.5)))
    churned = (rng.random(n) < np.where(treated & (action == "works"), base * 0.5, base)).astype(int)
    ex = pd.DataFrame({"customer_id": pd.array([f"C{i}" for i in range(n)], dtype="string"), "x": x,
                       "action": action, "treated": treated, "churned": churned})
    feats = pd.DataFrame({"customer_id": pd.array(["A", "B"], dtype="string"), "x": [-2.0, 2.0]})
    _, summary, priors = uplift_effects(ex, feats, ["x"], EffectsConfig(method="relative"))
    s = summary.set_index("action")
    assert s.loc["works", "ci_low"] > 0 and s.loc["useless", "ci_low"] < 0 < s.loc["useless", "ci_high"]
    assert priors["works"] == pytest.approx(0.5, abs=0.12) and abs(priors["useless"]) < 0.15
    assert not s["model"].any()
    effects, summary, _ = uplift_effects(ex, feats, ["x"], EffectsConfig(method="two_model"))
    # a per-customer model only for the action whose average effect is proven
    assert list(effects.columns) == ["works"] and summary.set_index("action")["model"].to_dict() == \
        {"useless": False, "works": True}
    # halving the churn risk saves more of the riskier customer
    assert effects.loc["B", "works"] > effects.loc["A", "works"]


def test_campaign_features_feed_the_uplift_models(history):
    tables = with_campaigns(make_history(200, seed=3))
    ex = campaign_examples(tables, pd.Timestamp("2025-01-01"), LABELS, FeaturesConfig())
    feats = ex.drop(columns=["action", "treated", "churned"]).drop_duplicates("customer_id").head(5)
    effects, summary, _ = uplift_effects(ex, feats, feature_columns(feats), EffectsConfig(min_per_arm=5))
    assert set(summary["action"]) == {"rep_visit", "check_in_call"}
    assert (summary["n_treated"] + summary["n_control"]).sum() == len(ex)
    assert effects.index.tolist() == feats["customer_id"].tolist()


def test_recording_a_run_again_replaces_it_and_pools_every_run():
    from churn.action import record_run

    cfg = EffectsConfig(min_per_arm=50)
    a = measure_effects(records({("visit", "price", True): (100, 10), ("visit", "price", False): (50, 20)}))
    b = measure_effects(records({("visit", "price", True): (60, 12), ("visit", "price", False): (30, 6)}))
    book = record_run(None, "2026-01-01", "scoring run", a, cfg)
    assert list(book["runs"]) == ["2026-01-01"] and book["priors"]["effects"]["visit"] == pytest.approx(0.75)
    both = record_run(book, "2026-02-01", "scoring run", b, cfg)
    assert list(both["runs"]) == ["2026-01-01", "2026-02-01"] and list(book["runs"]) == ["2026-01-01"]
    pooled = pd.DataFrame(both["pooled"]).set_index(["action", "cause"])
    assert pooled.loc[("visit", "all"), "n_control"] == 80
    again = record_run(both, "2026-02-01", "scoring run", b, cfg)
    assert list(again["runs"]) == ["2026-01-01", "2026-02-01"] and again["pooled"] == both["pooled"]
