"""Value tiers, risk bands, reasons and the retention playbook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from churn.vocab import CAUSES, COMPLAINT_CAUSE, KEY_ACCOUNT, LIST_CAUSES, SEGMENTS


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    channel: str
    owner_role: str
    cost: float


class Playbook(BaseModel):
    """`actions` by name; `rules[segment][cause]` names the action (segment: key_account or a value tier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    actions: dict[str, Action]
    rules: dict[str, dict[str, str]]
    no_action: str = "monitor"

    @field_validator("rules")
    @classmethod
    def _complete(cls, rules: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for seg in SEGMENTS:
            missing = [c for c in LIST_CAUSES if c not in rules.get(seg, {})]
            if missing:
                raise ValueError(f"playbook rules.{seg} has no action for cause(s) {missing}")
        return rules

    @model_validator(mode="after")
    def _known_actions(self) -> Playbook:
        used = {a for seg in self.rules.values() for a in seg.values()} | {self.no_action}
        unknown = sorted(used - set(self.actions))
        if unknown:
            raise ValueError(f"playbook uses undefined action(s) {unknown}")
        return self



def load_playbook(path: str | Path) -> Playbook:
    """The retention playbook (see configs/playbook.yaml), checked against the vocabulary."""
    return Playbook.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

def value_tiers(value: pd.Series, cuts: dict[str, float]) -> pd.Series:
    """Pareto tiers: the largest customers making up the first `cuts['high']` of total value
    are high, up to `cuts['medium']` medium, the rest (and customers with no value) low."""
    v = value.clip(lower=0).fillna(0)
    order = v.sort_values(ascending=False, kind="stable")
    total = order.sum()
    before = (order.cumsum() - order) / total if total > 0 else order * 0
    tier = np.where(before < cuts["high"], "high", np.where(before < cuts["medium"], "medium", "low"))
    tier = pd.Series(tier, index=order.index).where(order > 0, "low")
    return tier.reindex(value.index)


def risk_bands(probability: pd.Series, bands: dict[str, float]) -> pd.Series:
    return pd.Series(
        np.where(probability >= bands["high"], "high", np.where(probability >= bands["medium"], "medium", "low")),
        index=probability.index,
    )


def choose_actions(frame: pd.DataFrame, playbook: Playbook, act_on: list[str]) -> pd.DataFrame:
    """action, action_label, channel, owner_role, action_cost for each customer row."""
    segment = np.where(frame["is_key_account"].astype(bool), KEY_ACCOUNT, frame["value_tier"])
    names = [
        playbook.rules[seg][cause] if band in act_on else playbook.no_action
        for seg, cause, band in zip(segment, frame["primary_cause"], frame["risk_band"], strict=True)
    ]
    acts = [playbook.actions[n] for n in names]
    return pd.DataFrame(
        {
            "action": names,
            "action_label": [a.label for a in acts],
            "channel": [a.channel for a in acts],
            "owner_role": [a.owner_role for a in acts],
            "action_cost": [a.cost for a in acts],
        },
        index=frame.index,
    )


# Reason phrases; issue-4 languages are added here as further keys.
PHRASES = {
    "en": {
        "orders_down": "orders down {pct}% vs the previous {t} days",
        "silent": "no order in {days} days",
        "discount_down": "discount down from {before}% to {after}%",
        "complaints": "{n} {category} complaint{s} in {t} days",
        "open_tickets": "{n} open ticket{s} (oldest {days} days)",
        "slow_resolution": "tickets take {days} days to resolve",
        "returns": "returns {pct}% of purchases",
        "low_score": "{dimension} satisfaction {score}/10",
        "no_visit": "no rep visit in {days} days",
        "never_visited": "no rep visit on record",
        "contacts_down": "rep contacts down from {before} to {after} per {t} days",
        "none": "no warning signs in the data",
    }
}


def _signs(f: pd.Series, t: int, say) -> dict[str, list[str]]:
    """Warning signs of one customer, grouped by the cause they point to ("symptom": none)."""
    def num(name: str) -> float:
        value = f.get(name, np.nan)
        return float(value) if pd.notna(value) else np.nan

    signs: dict[str, list[str]] = {c: [] for c in ("symptom", *CAUSES)}
    last, prev = num(f"orders_{t}"), num(f"orders_prev_{t}")
    if prev > 0 and last < prev * 0.8:
        signs["symptom"].append(say("orders_down", pct=round(100 * (prev - last) / prev), t=t))
    recency, gap = num("recency_days"), num("ipt_mean_days")
    if recency >= 30 and not recency <= 1.5 * gap:
        signs["symptom"].append(say("silent", days=int(recency)))
    if num("discount_trend") <= -0.02:
        signs["price"].append(say("discount_down", before=round(100 * num(f"discount_prev_{t}")),
                                  after=round(100 * num(f"discount_{t}"))))
    for category, cause in COMPLAINT_CAUSE.items():
        n = num(f"complaints_{category}_{t}")
        if n >= 1:
            signs[cause].append(say("complaints", n=int(n), category=category, s="s" if n > 1 else "", t=t))
    if num("open_tickets") >= 1:
        n = int(num("open_tickets"))
        signs["service"].append(say("open_tickets", n=n, s="s" if n > 1 else "", days=int(num("open_ticket_age_max"))))
    if num("resolution_days_365") >= 10:
        signs["service"].append(say("slow_resolution", days=round(num("resolution_days_365"))))
    if num("returns_share_365") >= 0.05:
        signs["quality"].append(say("returns", pct=round(100 * num("returns_share_365"))))
    for dimension in ("price", "service", "quality"):
        score = num(f"{dimension}_score_mean_180")
        if score < 6:
            signs[dimension].append(say("low_score", dimension=dimension, score=f"{score:.1f}"))
    if "days_since_visit" in f:
        days = num("days_since_visit")
        if np.isnan(days):
            signs["engagement"].append(say("never_visited"))
        elif days >= 60:
            signs["engagement"].append(say("no_visit", days=int(days)))
    before, after = num(f"outbound_prev_{t}"), num(f"outbound_{t}")
    if before >= 2 and after <= before * 0.5:
        signs["engagement"].append(say("contacts_down", before=int(before), after=int(after), t=t))
    return signs


def reasons(features: pd.DataFrame, primary_cause: pd.Series, trend_window: int, language: str = "en") -> pd.Series:
    """A short sentence from each customer's own numbers, signs of the primary cause first."""
    phrases = PHRASES[language]

    def say(key: str, **values) -> str:
        return phrases[key].format(**values)

    out = []
    for (_, f), cause in zip(features.iterrows(), primary_cause, strict=True):
        signs = _signs(f, trend_window, say)
        ordered = signs.get(cause, []) + [s for c, items in signs.items() if c != cause for s in items]
        out.append("; ".join(ordered[:4]) or say("none"))
    return pd.Series(out, index=features.index, dtype="string")
