"""Watching the model in use: drift of each scoring run's population against the training reference saved
with the model (`drift`), and what the model achieved on past runs once their horizon has passed (`realised`).

Imports only `churn.action` and the layers below it.
"""

from churn.monitor._drift import (
    DRIFT_COLUMNS,
    MIX_COLUMNS,
    SCORE,
    DriftAlarm,
    check_drift,
    drift_metrics,
    drift_name,
    drift_summary,
    drift_table,
    population_drift,
    population_reference,
    population_stability_index,
    reference_profile,
    scoring_drift,
    training_reference,
)
from churn.monitor._plots import save_realised_plot
from churn.monitor._realised import (
    CAUSE_MIX_COLUMNS,
    REALISED_COLUMNS,
    RUN_LIST_COLUMNS,
    alert_text,
    due_runs,
    realised_metrics,
    realised_performance,
    realised_summary,
)

__all__ = ["CAUSE_MIX_COLUMNS", "REALISED_COLUMNS", "RUN_LIST_COLUMNS", "alert_text", "due_runs", "realised_metrics",
           "realised_performance", "realised_summary", "save_realised_plot", "DRIFT_COLUMNS", "MIX_COLUMNS", "SCORE", "DriftAlarm", "check_drift", "drift_name", "drift_metrics",
           "drift_summary", "drift_table", "population_drift", "population_reference", "population_stability_index",
           "reference_profile", "scoring_drift", "training_reference"]
