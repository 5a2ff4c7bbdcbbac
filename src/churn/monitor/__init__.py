"""Watching the model in use: drift of each scoring run's population against the training reference saved
with the model (`drift`).

Imports only `churn.config`.
"""

from churn.monitor._drift import (
    DRIFT_COLUMNS,
    MIX_COLUMNS,
    SCORE,
    DriftAlarm,
    alarm_text,
    check_drift,
    drift_metrics,
    drift_summary,
    drift_table,
    population_drift,
    population_reference,
    population_stability_index,
    reference_profile,
    scoring_drift,
    training_reference,
)

__all__ = ["DRIFT_COLUMNS", "MIX_COLUMNS", "SCORE", "DriftAlarm", "alarm_text", "check_drift", "drift_metrics",
           "drift_summary", "drift_table", "population_drift", "population_reference", "population_stability_index",
           "reference_profile", "scoring_drift", "training_reference"]
