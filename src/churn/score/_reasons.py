"""Each customer's reasons as data: the warning signs in their own numbers, each a reason key and its
values, signs of the primary cause first. No text: `churn.report.localize` words them in each language.

A customer's reasons are a JSON list of objects, e.g.
`[{"key": "complaints", "n": 3, "category": "service", "t": 90}, {"key": "silent", "days": 70}]`,
so they travel unchanged through Parquet, CSV and a database table. An empty list: no warning sign.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

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


def json_number(value: float | int) -> str:
    """A value as `json.dumps` writes it (the reasons are JSON text, made without building objects per sign)."""
    return json.dumps(value) if isinstance(value, float) and not math.isfinite(value) else repr(value)


def _signs(features: pd.DataFrame, t: int) -> list[tuple[str, np.ndarray, Callable[[int], str]]]:
    """Every warning sign as (the cause it points to, "symptom": none; the customers who show it; its reason for
    customer i, a JSON object as `json.dumps` writes it with separators "," and ":"), in the order a customer's
    reasons list them. Whole columns at once: a customer at a time cost ~25 s at a million customers; a JSON
    encoding per customer ~7 s more."""
    cache: dict[str, np.ndarray] = {}

    def num(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = (features[name].to_numpy(dtype="float64", na_value=np.nan) if name in features.columns
                           else np.full(len(features), np.nan))
        return cache[name]

    signs: list[tuple[str, np.ndarray, Callable[[int], str]]] = []
    with np.errstate(invalid="ignore"):
        last, prev = num(f"orders_{t}"), num(f"orders_prev_{t}")
        signs.append(("symptom", (prev > 0) & (last < prev * 0.8), lambda i: (
            f'{{"key":"orders_down","pct":{round(100 * (float(prev[i]) - float(last[i])) / float(prev[i]))},'
            f'"t":{t}}}')))
        recency, gap = num("recency_days"), num("ipt_mean_days")
        signs.append(("symptom", (recency >= 30) & ~(recency <= 1.5 * gap),
                      lambda i: f'{{"key":"silent","days":{int(recency[i])}}}'))
        before, after = num(f"discount_prev_{t}"), num(f"discount_{t}")
        signs.append(("price", num("discount_trend") <= -0.02, lambda i: (
            f'{{"key":"discount_down","before":{round(100 * float(before[i]))},'
            f'"after":{round(100 * float(after[i]))}}}')))
        for category, cause in COMPLAINT_CAUSE.items():
            n = num(f"complaints_{category}_{t}")
            signs.append((cause, n >= 1, lambda i, n=n, category=json.dumps(category, ensure_ascii=False): (
                f'{{"key":"complaints","n":{int(n[i])},"category":{category},"t":{t}}}')))
        tickets, age = num("open_tickets"), num("open_ticket_age_max")
        signs.append(("service", tickets >= 1,
                      lambda i: f'{{"key":"open_tickets","n":{int(tickets[i])},"days":{int(age[i])}}}'))
        slow = num("resolution_days_365")
        signs.append(("service", slow >= 10,
                      lambda i: f'{{"key":"slow_resolution","days":{round(float(slow[i]))}}}'))
        returns = num("returns_share_365")
        signs.append(("quality", returns >= 0.05,
                      lambda i: f'{{"key":"returns","pct":{round(100 * float(returns[i]))}}}'))
        for dimension in ("price", "service", "quality"):
            score = num(f"{dimension}_score_mean_180")
            signs.append((dimension, score < 6, lambda i, score=score, dimension=json.dumps(dimension): (
                f'{{"key":"low_score","dimension":{dimension},"score":{json_number(round(float(score[i]), 1))}}}')))
        if "days_since_visit" in features.columns:
            days = num("days_since_visit")
            signs.append(("engagement", np.isnan(days), lambda i: '{"key":"never_visited"}'))
            signs.append(("engagement", days >= 60, lambda i: f'{{"key":"no_visit","days":{int(days[i])}}}'))
        before_c, after_c = num(f"outbound_prev_{t}"), num(f"outbound_{t}")
        signs.append(("engagement", (before_c >= 2) & (after_c <= before_c * 0.5), lambda i: (
            f'{{"key":"contacts_down","before":{int(before_c[i])},"after":{int(after_c[i])},"t":{t}}}')))
    return signs


def reason_codes(features: pd.DataFrame, primary_cause: pd.Series, trend_window: int) -> pd.Series:
    """Each customer's warning signs (at most four, the primary cause's first) as a JSON list of
    `{"key": ..., <values>}` objects (`REASON_KEYS`)."""
    groups = ("symptom", *CAUSES)
    found: list[dict[str, list[str]]] = [{} for _ in range(len(features))]
    for group, mask, reason in _signs(features, trend_window):
        for i in np.flatnonzero(mask).tolist():
            found[i].setdefault(group, []).append(reason(i))
    out = []
    for signs, cause in zip(found, primary_cause, strict=True):
        if not signs:
            out.append("[]")
            continue
        ordered = signs.get(cause, []) + [s for c in groups if c != cause for s in signs.get(c, [])]
        out.append("[" + ",".join(ordered[:MAX_REASONS]) + "]")
    return pd.Series(out, index=features.index, dtype="string")
