"""Scoring: each active customer's churn risk and band, value and tier (BG/NBD x Gamma-Gamma forecast,
key accounts), loss cause (from the model's feature contributions) and reasons (as codes and values, no text), ranked by
expected loss.

Imports only `churn.model`, `churn.features`, `churn.data`, `churn.config` and `churn.vocab`.
"""

from churn.score._bands import risk_bands, value_tiers
from churn.score._causes import (
    cause_agreement,
    cause_check,
    cause_evidence,
    cause_metrics,
    cause_population,
    explain_causes,
    explained_part,
    explained_rows,
    feature_groups,
    judge_causes,
    learnt_causes,
    learnt_probabilities,
    reference_sample,
    stated_causes,
    symptom_rule_causes,
    weigh_with_evidence,
)
from churn.score._listing import (
    CAUSE_COLUMNS,
    explain_customers,
    lapsed_customers,
    lifecycle_stages,
    name_causes,
    score_customers,
)
from churn.score._needs import (
    NO_NEED,
    RESPONSE_ORDER_COLUMNS,
    campaign_responses,
    need_check,
    need_metrics,
    need_profiles,
)
from churn.score._reasons import REASON_KEYS, reason_codes
from churn.score._value import (
    CUSTOMER_VALUE_COLUMNS,
    VALUE_COLUMNS,
    VALUE_ORDER_COLUMNS,
    customer_value,
    forecast_customer_value,
    key_accounts,
    validate_forecast,
)

__all__ = [
    "CAUSE_COLUMNS", "cause_evidence", "cause_population", "explained_part", "explained_rows", "explain_customers",
    "learnt_causes", "learnt_probabilities", "name_causes", "reference_sample",
    "CUSTOMER_VALUE_COLUMNS", "REASON_KEYS", "VALUE_COLUMNS", "cause_agreement", "cause_check", "cause_metrics",
    "customer_value", "explain_causes", "feature_groups", "forecast_customer_value", "judge_causes", "key_accounts",
    "NO_NEED", "RESPONSE_ORDER_COLUMNS", "VALUE_ORDER_COLUMNS", "campaign_responses", "lapsed_customers",
    "need_check", "need_metrics", "lifecycle_stages", "need_profiles", "reason_codes", "risk_bands", "score_customers",
    "stated_causes", "symptom_rule_causes", "validate_forecast",
    "value_tiers", "weigh_with_evidence",
]
