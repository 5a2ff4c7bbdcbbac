"""Watching the model in use: drift of each scoring run's population against the training reference saved
with the model (`drift`).

Imports only `churn.config` and `churn.vocab`.
"""

from churn.monitor._drift import (
    DRIFT_COLUMNS,
    MIX_COLUMNS,
    SCORE,
    DriftAlarm,
    check_drift,
    drift_summary,
    drift_table,
    population_drift,
    population_reference,
    population_stability_index,
    reference_profile,
)

__all__ = ["DRIFT_COLUMNS", "MIX_COLUMNS", "SCORE", "DriftAlarm", "check_drift", "drift_summary", "drift_table", "population_drift",
           "population_reference", "population_stability_index", "reference_profile"]
