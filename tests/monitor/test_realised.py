"""Realised performance of past scoring runs: every figure equals the value worked out by hand on a crafted
archive of ten customers."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import CONFIG

from churn.config import load_config
from churn.monitor import (
    CAUSE_MIX_COLUMNS,
    REALISED_COLUMNS,
    alert_text,
    due_runs,
    realised_metrics,
    realised_performance,
    realised_summary,
)

CFG = load_config(CONFIG)
LABELS = CFG.labels.model_copy(update={"definition": "inactivity", "horizon_days": 90})
MONITOR = CFG.monitor.model_copy(update={"auc_margin": 0.05})
RUN = "2024-01-01"
SCORES = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
CHURNED = [1, 1, 0, 1, 0, 0, 0, 1, 0, 0]
CAUSES = ["price", "service", "quality", "price", None, None, None, None, None, None]
DECISIONS = ["chosen", "chosen", "chosen", "holdout", "holdout", None, None, None, None, None]


def history() -> dict[str, pd.DataFrame]:
    """Everyone buys on 2023-12-01; those who stay buy again on 2024-02-01 (inside the 90 days after the run);
    one order on 2024-04-15 makes the history reach past the run's horizon (2024-03-31)."""
    ids = [f"C{i}" for i in range(10)]
    rows = [(c, "2023-12-01") for c in ids] + [(c, "2024-02-01") for c, y in zip(ids, CHURNED, strict=True) if not y]
    rows.append(("C2", "2024-04-15"))
    orders = pd.DataFrame(rows, columns=["customer_id", "ts"]).assign(
        customer_id=lambda d: d["customer_id"].astype("string"), ts=lambda d: pd.to_datetime(d["ts"]), amount=100.0)
    return {"orders": orders}


def archive() -> pd.DataFrame:
    """The run's list as `runs/<as-of>.parquet` keeps it: scores, causes and the contact plan."""
    return pd.DataFrame({
        "customer_id": pd.array([f"C{i}" for i in range(10)], dtype="string"),
        "churn_probability": SCORES,
        "primary_cause": pd.array(CAUSES, dtype="string"),
        "model_version": "churn v1",
        "decision": pd.array(DECISIONS, dtype="string"),
        "contact": pd.array(["rep_visit" if d == "chosen" else None for d in DECISIONS], dtype="string"),
        "holdout": [d == "holdout" for d in DECISIONS],
        "holdout_action": pd.array(["rep_visit" if d == "holdout" else None for d in DECISIONS], dtype="string"),
    })


def test_every_figure_equals_the_hand_computed_value():
    table, mix = realised_performance({RUN: archive()}, history(), LABELS, MONITOR, {RUN: 0.85})
    assert list(table.columns) == REALISED_COLUMNS and list(mix.columns) == CAUSE_MIX_COLUMNS
    row = table.iloc[0]
    assert row["as_of"] == RUN and row["horizon_end"] == "2024-03-31" and row["model"] == "churn v1"
    assert (row["customers"], row["churners"], row["churn_rate"]) == (10, 4, 0.4)
    # churners score .9 .8 .6 .2 against six who stayed: they outrank 6 + 6 + 5 + 2 = 19 of 24 pairs
    assert row["roc_auc"] == pytest.approx(19 / 24)
    # precision at each churner, in score order: 1/1, 2/2, 3/4, 4/8
    assert row["pr_auc"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 8) / 4)
    # squared errors .01 .04 .49 .16 .25 .16 .09 .64 .01 .0025
    assert row["brier"] == pytest.approx(1.8525 / 10)
    assert row["mean_predicted"] == pytest.approx(0.455)
    assert row["calibration_gap"] == pytest.approx(0.455 - 0.4)
    assert row["lift_top10"] == pytest.approx(1.0 / 0.4)  # the top customer left: rate 1 against 0.4
    # contacted C0-C2 (two left), held out C3-C4 (one left): effect = 1/2 - 2/3
    assert (row["contacted"], row["held_out"]) == (3, 2)
    assert row["contacted_churn"] == pytest.approx(2 / 3) and row["held_out_churn"] == pytest.approx(1 / 2)
    assert row["effect"] == pytest.approx(1 / 2 - 2 / 3)
    assert row["effect_low"] < row["effect"] < row["effect_high"]
    # promised 0.85, realised 0.7917: 0.0583 below, more than the 0.05 margin
    assert row["promised_roc_auc"] == 0.85 and row["auc_drop"] == pytest.approx(0.85 - 19 / 24)
    assert bool(row["alert"]) is True
    # those who left: C0 price, C1 service, C3 price, C7 no cause named
    assert mix.set_index("cause")["churners"].to_dict() == {"none": 1, "price": 2, "service": 1}
    assert mix.set_index("cause")["share"].to_dict() == {"none": 0.25, "price": 0.5, "service": 0.25}


@pytest.mark.parametrize(("promised", "alert"), [(0.85, True), (0.80, False), (None, False)])
def test_an_alert_only_when_realised_roc_auc_falls_more_than_the_margin(promised, alert):
    table, mix = realised_performance({RUN: archive()}, history(), LABELS, MONITOR, {RUN: promised})
    assert bool(table.loc[0, "alert"]) is alert
    summary = realised_summary(table, mix)
    assert summary["runs"] == 1 and len(summary["alerts"]) == int(alert)
    assert summary["latest"]["cause_mix"] == {"none": 1, "price": 2, "service": 1}
    if alert:
        assert "retrain" in alert_text(summary["alerts"], MONITOR.auc_margin)


def test_a_run_without_a_contact_plan_has_no_effect_but_every_other_figure():
    table, _ = realised_performance({RUN: archive().drop(columns=["decision", "contact", "holdout", "holdout_action"])}, history(), LABELS,
                                    MONITOR)
    row = table.iloc[0]
    assert row["roc_auc"] == pytest.approx(19 / 24) and row["contacted"] == 0 and pd.isna(row["effect"])
    assert pd.isna(row["promised_roc_auc"]) and not row["alert"]


def test_only_runs_whose_horizon_has_passed_are_due_and_others_are_refused():
    end = pd.Timestamp("2024-04-16")  # the day after the last order
    assert due_runs(["2024-02-01", RUN, "2023-12-15"], end, 90) == ["2023-12-15", RUN]
    with pytest.raises(ValueError, match="horizon of the run of 2024-02-01 ends on 2024-05-01"):
        realised_performance({"2024-02-01": archive()}, history(), LABELS, MONITOR)


def test_metrics_per_run_leave_out_what_was_not_measured():
    table, _ = realised_performance({RUN: archive().drop(columns=["decision", "contact", "holdout", "holdout_action"])}, history(), LABELS,
                                    MONITOR)
    [(as_of, metrics)] = realised_metrics(table)
    assert as_of == RUN and metrics["realised_roc_auc"] == pytest.approx(19 / 24)
    assert "realised_effect" not in metrics and "realised_auc_drop" not in metrics
