"""Each customer's reasons as data: the warning signs in their own numbers, each a reason key and its
values, signs of the primary cause first. No text: `churn.report.localize` words them in each language.

A customer's reasons are a JSON list of objects, e.g.
`[{"key": "complaints", "n": 3, "category": "service", "t": 90}, {"key": "silent", "days": 70}]`,
so they travel unchanged through Parquet, CSV and a database table. An empty list: no warning sign.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from churn.vocab import CAUSES, COMPLAINT_CAUSE

# Every reason key and the values it carries (`churn.report.localize` has one phrase per key and language).
REASON_KEYS = {
    "orders_down": ("pct", "t"),
    "silent": ("days",),
    "discount_down": ("before", "after"),
    "complaints": ("n", "category", "t"),
    "open_tickets": ("n", "days"),
    "slow_resolution": ("days",),
    "returns": ("pct",),
    "promo_lift": ("x",),
    "campaign_response": ("pct", "category"),
    "low_score": ("dimension", "score"),
    "no_visit": ("days",),
    "never_visited": (),
    "contacts_down": ("before", "after", "t"),
}
MAX_REASONS = 4


class _Row:
    """One customer's features as floats (missing: NaN), read from whole columns converted on first use: a
    pandas row a customer (iterrows) cost ~10x more."""

    def __init__(self, columns: dict[str, np.ndarray | None], features: pd.DataFrame, i: int):
        self.columns, self.features, self.i = columns, features, i

    def __contains__(self, name: str) -> bool:
        return name in self.features.columns

    def get(self, name: str, default: float = np.nan) -> float:
        if name not in self.columns:
            self.columns[name] = self.features[name].to_numpy(dtype="float64", na_value=np.nan) \
                if name in self.features.columns else None
        values = self.columns[name]
        return default if values is None else float(values[self.i])


def _signs(f: _Row, t: int) -> dict[str, list[dict]]:
    """Warning signs of one customer, grouped by the cause they point to ("symptom": none)."""
    def num(name: str) -> float:
        return f.get(name, np.nan)

    signs: dict[str, list[dict]] = {c: [] for c in ("symptom", *CAUSES)}
    last, prev = num(f"orders_{t}"), num(f"orders_prev_{t}")
    if prev > 0 and last < prev * 0.8:
        signs["symptom"].append({"key": "orders_down", "pct": round(100 * (prev - last) / prev), "t": t})
    recency, gap = num("recency_days"), num("ipt_mean_days")
    if recency >= 30 and not recency <= 1.5 * gap:
        signs["symptom"].append({"key": "silent", "days": int(recency)})
    if num("discount_trend") <= -0.02:
        signs["price"].append({"key": "discount_down", "before": round(100 * num(f"discount_prev_{t}")),
                               "after": round(100 * num(f"discount_{t}"))})
    for category, cause in COMPLAINT_CAUSE.items():
        n = num(f"complaints_{category}_{t}")
        if n >= 1:
            signs[cause].append({"key": "complaints", "n": int(n), "category": category, "t": t})
    if num("open_tickets") >= 1:
        signs["service"].append({"key": "open_tickets", "n": int(num("open_tickets")),
                                 "days": int(num("open_ticket_age_max"))})
    if num("resolution_days_365") >= 10:
        signs["service"].append({"key": "slow_resolution", "days": round(num("resolution_days_365"))})
    if num("returns_share_365") >= 0.05:
        signs["quality"].append({"key": "returns", "pct": round(100 * num("returns_share_365"))})
    for dimension in ("price", "service", "quality"):
        score = num(f"{dimension}_score_mean_180")
        if score < 6:
            signs[dimension].append({"key": "low_score", "dimension": dimension, "score": round(score, 1)})
    if "days_since_visit" in f:
        days = num("days_since_visit")
        if np.isnan(days):
            signs["engagement"].append({"key": "never_visited"})
        elif days >= 60:
            signs["engagement"].append({"key": "no_visit", "days": int(days)})
    before, after = num(f"outbound_prev_{t}"), num(f"outbound_{t}")
    if before >= 2 and after <= before * 0.5:
        signs["engagement"].append({"key": "contacts_down", "before": int(before), "after": int(after), "t": t})
    return signs


def reason_codes(features: pd.DataFrame, primary_cause: pd.Series, trend_window: int) -> pd.Series:
    """Each customer's warning signs (at most four, the primary cause's first) as a JSON list of
    `{"key": ..., <values>}` objects (`REASON_KEYS`)."""
    columns: dict[str, np.ndarray | None] = {}  # shared by the rows: each column converted once
    out = []
    for i, cause in enumerate(primary_cause):
        signs = _signs(_Row(columns, features, i), trend_window)
        ordered = signs.get(cause, []) + [s for c, items in signs.items() if c != cause for s in items]
        out.append(json.dumps(ordered[:MAX_REASONS], ensure_ascii=False, separators=(",", ":")))
    return pd.Series(out, index=features.index, dtype="string")

