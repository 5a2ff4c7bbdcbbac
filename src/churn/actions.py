"""Value tiers, risk bands, reasons and the retention playbook."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from churn.config import CAUSES

SEGMENTS = ("key_account", "high", "medium", "low")


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
            missing = [c for c in CAUSES if c not in rules.get(seg, {})]
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
    segment = np.where(frame["is_key_account"].astype(bool), "key_account", frame["value_tier"])
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


def _pct(a: float, b: float) -> int:
    return int(round(100 * (a - b) / b))


def reasons(features: pd.DataFrame, primary_cause: pd.Series, trend_window: int) -> pd.Series:
    """A short sentence from each customer's own numbers, cause-specific signs first."""
    t = trend_window
    out = []
    for (_, f), cause in zip(features.iterrows(), primary_cause, strict=True):
        signs: dict[str, list[str]] = {c: [] for c in ("price", "service", "quality", "engagement", "symptom")}
        g = f.get
        last, prev = g(f"orders_{t}", np.nan), g(f"orders_prev_{t}", np.nan)
        if prev and prev > 0 and last < prev * 0.8:
            signs["symptom"].append(f"orders down {-_pct(last, prev)}% vs the previous {t} days")
        rec, ipt = g("recency_days", np.nan), g("ipt_mean_days", np.nan)
        if pd.notna(rec) and rec >= 30 and (pd.isna(ipt) or rec > 1.5 * ipt):
            signs["symptom"].append(f"no order in {int(rec)} days")
        if g("discount_trend", 0) is not None and pd.notna(g("discount_trend")) and g("discount_trend") <= -0.02:
            signs["price"].append(
                f"discount down from {g(f'discount_prev_{t}') * 100:.0f}% to {g(f'discount_{t}') * 100:.0f}%"
            )
        for cat, cause_of in (("price", "price"), ("billing", "price"), ("service", "service"),
                              ("delivery", "service"), ("quality", "quality")):
            n = g(f"complaints_{cat}_{t}", 0) or 0
            if n >= 1:
                signs[cause_of].append(f"{int(n)} {cat} complaint{'s' * (n > 1)} in {t} days")
        if (g("open_tickets", 0) or 0) >= 1:
            n = int(g("open_tickets"))
            signs["service"].append(f"{n} open ticket{'s' * (n > 1)} (oldest {int(g('open_ticket_age_max'))} days)")
        if pd.notna(g("resolution_days_365", np.nan)) and g("resolution_days_365") >= 10:
            signs["service"].append(f"tickets take {g('resolution_days_365'):.0f} days to resolve")
        if (g("returns_share_365", 0) or 0) >= 0.05:
            signs["quality"].append(f"returns {g('returns_share_365') * 100:.0f}% of purchases")
        for dim in ("price", "service", "quality"):
            s = g(f"{dim}_score_mean_180", np.nan)
            if pd.notna(s) and s < 6:
                signs[dim].append(f"{dim} satisfaction {s:.1f}/10")
        dv = g("days_since_visit", np.nan)
        if "days_since_visit" in f and (pd.isna(dv) or dv >= 60):
            signs["engagement"].append("no rep visit on record" if pd.isna(dv) else f"no rep visit in {int(dv)} days")
        ot = g(f"outbound_{t}", np.nan)
        op = g(f"outbound_prev_{t}", np.nan)
        if pd.notna(op) and op >= 2 and ot <= op * 0.5:
            signs["engagement"].append(f"rep contacts down from {int(op)} to {int(ot)} per {t} days")
        first = signs.get(cause, [])
        rest = [s for c in ("symptom", "price", "service", "quality", "engagement") if c != cause for s in signs[c]]
        out.append("; ".join((first + rest)[:4]) or "no warning signs in the data")
    return pd.Series(out, index=features.index, dtype="string")
