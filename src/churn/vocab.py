"""churn's domain vocabulary, defined once: table names, loss causes, risk bands, value tiers,
playbook segments, the no-owner marker and the retention list's columns.

A leaf module (no churn imports): every layer may import it. Translations of these words live
in `churn.report.localize`; their meaning is here.
"""

from __future__ import annotations

import pandas as pd

# The canonical tables of an interaction history; every table but customers refers to a customer.
TABLES = ("customers", "orders", "interactions", "tickets", "surveys", "campaigns", "loss_reasons")
CUSTOMER_TABLES = TABLES[1:]

# Loss causes a customer can be explained by; "other" when no cause dominates.
CAUSES = ("price", "service", "quality", "engagement")
OTHER_CAUSE = "other"
LIST_CAUSES = (*CAUSES, OTHER_CAUSE)
# Complaint categories (tickets.category) and the loss cause each points to.
COMPLAINT_CAUSE = {"price": "price", "billing": "price", "service": "service", "delivery": "service",
                   "quality": "quality"}

# Churn risk bands, riskiest first; the bands a retention plan acts on by default.
RISK_BANDS = ("high", "medium", "low")
AT_RISK_BANDS = ("high", "medium")
# Value tiers (Pareto cuts of customer value), most valuable first.
VALUE_TIERS = ("high", "medium", "low")
# What a customer is most sensitive to (its need profile, `score.needs`); "none" when no need stands out.
NEEDS = ("price", "service", "quality")
# Lifecycle stages of a customer at the as-of date (`score.lifecycle` holds the rules), in the order of a life.
LIFECYCLE_STAGES = ("new", "growing", "mature", "declining", "lapsed")
# Playbook segments: key accounts first, then the value tiers. A customer may get the action of a
# lower segment, never of a higher one.
KEY_ACCOUNT = "key_account"
SEGMENTS = (KEY_ACCOUNT, *VALUE_TIERS)

# The owner shown for customers without an account manager (an owner of their own in the plan and
# the workbook's sheets).
NO_OWNER = "(no owner)"

# A customer's personal details (customers table, and the list beside the id) and how each is masked when
# `report.mask_personal` is on; the owner is staff and is not among them.
PERSONAL_COLUMNS = {"name": "name", "contact_name": "name", "email": "email", "phone": "phone"}

# The retention list, column by column, in order (the contact plan adds its own columns after these).
LIST_COLUMNS = [
    "customer_id", *PERSONAL_COLUMNS, "churn_probability", "risk_band", "value_tier", "is_key_account", "key_account_rule", "owner",
    "segment", "region", "primary_cause", "cause_share", "secondary_cause", "action", "action_label", "channel",
    "owner_role", "action_cost", "value_12m", "forecast_value_12m", "value_if_retained_12m", "expected_loss",
    "days_since_last_order", "usual_gap_days", "lapsed", "lifecycle_stage", "need_profile", "need_evidence", "reasons", "reason_codes", "model_version", "as_of",
]
# The playbook's columns in the list; the scored list before actions are chosen has the others but the
# reasons' text (`reasons`, English words for `reason_codes`, the reasons as data).
ACTION_COLUMNS = ["action", "action_label", "channel", "owner_role", "action_cost"]
SCORED_COLUMNS = [c for c in LIST_COLUMNS if c not in ACTION_COLUMNS and c != "reasons"]
SCORE_DECIMALS = 4  # a churn probability as the list carries it (and as the drift reference keeps it)

# The contact plan's decision for each customer: contacted this week, held out at random to measure the
# actions (never contacted, never shown an action), or why not (`churn.action.choose_actions`).
CONTACTED = "chosen"
HELD_OUT = "holdout"
NOT_CONTACTED = ("below budget line", "owner at capacity", "not worth its cost")
DECISIONS = (CONTACTED, HELD_OUT, *NOT_CONTACTED)
# The columns the contact plan adds after LIST_COLUMNS.
DECISION_COLUMNS = ["contact", "contact_label", "contact_channel", "contact_cost", "decision", "holdout",
                    "holdout_action", "expected_retained_value"]



def lapsed_flags(listing: pd.DataFrame) -> pd.Series:
    """True for lapsed customers (the list's `lapsed`: the win-back list); all False for a list without it."""
    if "lapsed" not in listing.columns:
        return pd.Series(False, index=listing.index)
    return listing["lapsed"].astype("boolean").fillna(False).astype(bool)


def alarm_text(drift: dict, separator: str = ", ") -> str:
    """A drift summary's alarms in words, "revenue_90 (PSI 0.41), segment (PSI 0.27)": the CLI, the run's log,
    the report and the drift error word them alike (here because the report must not depend on the monitor)."""
    return separator.join(f"{name} (PSI {drift['psi'][name]:.2f})" for name in drift["alarms"])


def at_risk_flags(listing: pd.DataFrame) -> pd.Series:
    """True for customers at risk who can still be kept: an AT_RISK_BANDS risk band and not lapsed."""
    return listing["risk_band"].isin(AT_RISK_BANDS) & ~lapsed_flags(listing)


__all__ = ["LIFECYCLE_STAGES", "NEEDS", "TABLES", "CUSTOMER_TABLES", "CAUSES", "OTHER_CAUSE", "LIST_CAUSES", "COMPLAINT_CAUSE", "RISK_BANDS",
           "AT_RISK_BANDS", "VALUE_TIERS", "KEY_ACCOUNT", "SEGMENTS", "NO_OWNER", "LIST_COLUMNS",
           "ACTION_COLUMNS", "SCORED_COLUMNS", "SCORE_DECIMALS", "CONTACTED", "HELD_OUT", "NOT_CONTACTED", "DECISIONS",
           "DECISION_COLUMNS", "alarm_text", "lapsed_flags", "at_risk_flags"]
