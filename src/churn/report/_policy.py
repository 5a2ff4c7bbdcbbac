"""The differentiated service policy as a manager reads it: for each segment (key account, then value tier) and
need profile, the action each loss cause gets and the win-back action of a lapsed customer, in the report's
language (`churn.action.service_policy` gives the action codes)."""

from __future__ import annotations

import pandas as pd

import churn.report.localize as localize
from churn.vocab import KEY_ACCOUNT, LIST_CAUSES


def policy_table(policy: pd.DataFrame, labels: dict[str, str], language: str) -> pd.DataFrame:
    """`policy` (segment, lifecycle_stage (None: every stage without rules of its own), need_profile, one column
    per cause of `LIST_CAUSES`, winback: action codes) with the playbook's English `labels` by action code, as a
    table with headings and words in `language`."""
    t, columns = localize.TEXT[language], localize.COLUMNS[language]

    def label(code: object) -> str:
        return "" if code is None or pd.isna(code) else localize.action_label(str(code), labels.get(str(code), str(code)),
                                                                             language)

    out = pd.DataFrame({
        columns["segment"]: [columns["is_key_account"] if s == KEY_ACCOUNT
                             else localize.term(localize.VALUE_TIERS, s, language) for s in policy["segment"]],
    })
    if "lifecycle_stage" in policy.columns:
        out[columns["lifecycle_stage"]] = [t["policy_other_stages"] if s is None or pd.isna(s)
                                           else localize.term(localize.LIFECYCLE_STAGES, s, language)
                                           for s in policy["lifecycle_stage"]]
    out[columns["need_profile"]] = [localize.term(localize.NEED_PROFILES, n, language) for n in policy["need_profile"]]
    for cause in LIST_CAUSES:
        out[localize.term(localize.CAUSES, cause, language)] = policy[cause].map(label)
    if policy["winback"].notna().any():
        out[t["policy_winback"]] = policy["winback"].map(label)
    return out
