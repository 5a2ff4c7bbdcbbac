"""What to do about each at-risk customer: the playbook's action by segment and cause, what past
campaigns measured the actions to achieve (`effects`, per-customer `uplift`), and the contact plan
(`plan`: options, budget- and capacity-bound choice, random holdout).

Imports only `churn.score` and the layers below it.
"""

from churn.action._effects import (
    ALL,
    EXAMPLE_KEYS,
    MEASURE_COLUMNS,
    campaign_examples,
    effect_records,
    evidence,
    measure_effects,
    newcombe_interval,
    plan_arms,
    pool_measurements,
    record_run,
    uplift_effects,
    wilson_interval,
)
from churn.action._plan import (
    STATUSES,
    action_options,
    allowed_actions,
    apply_plan,
    assign_holdout,
    choose_actions,
    compare_with_risk_ranking,
    decide,
    effect_sources,
    with_measured_effects,
)
from churn.action._playbook import (
    Playbook,
    acting_causes,
    action_needs,
    load_playbook,
    playbook_actions,
    rule_action,
    service_policy,
    winback_playbook,
    with_playbook_actions,
)
from churn.action._uplift import (
    DEFAULT_PARAMS,
    UpliftModel,
    action_effects,
    predict_effects,
    qini_report,
    uplift_by_decile,
)
from churn.vocab import DECISION_COLUMNS  # the plan's columns, defined with the vocabulary

__all__ = [
    "ALL", "DECISION_COLUMNS", "DEFAULT_PARAMS", "EXAMPLE_KEYS", "MEASURE_COLUMNS", "STATUSES", "Playbook", "UpliftModel",
    "acting_causes", "action_effects", "action_needs", "action_options", "allowed_actions", "apply_plan", "assign_holdout", "campaign_examples",
    "choose_actions", "compare_with_risk_ranking", "decide", "effect_records", "effect_sources", "evidence",
    "load_playbook", "measure_effects", "newcombe_interval", "plan_arms", "playbook_actions", "pool_measurements",
    "predict_effects", "qini_report", "record_run", "rule_action", "service_policy", "uplift_by_decile", "uplift_effects", "wilson_interval",
    "winback_playbook", "with_measured_effects", "with_playbook_actions",
]
