"""Each customer's reasons: the warning signs in their own numbers, signs of the primary cause first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.vocab import CAUSES, COMPLAINT_CAUSE

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
