"""Reasons are data: each customer's warning signs as reason keys and values from their own numbers."""

import json

import numpy as np
import pandas as pd

from churn.score import REASON_KEYS, reason_codes
from churn.vocab import COMPLAINT_CAUSE


def codes(features: pd.DataFrame, causes: list[str]) -> list[list[dict]]:
    return [json.loads(v) for v in reason_codes(features, pd.Series(causes), 90)]


def test_reasons_use_the_customers_own_numbers_primary_cause_first():
    f = pd.DataFrame([{
        "orders_90": 5, "orders_prev_90": 10, "recency_days": 70.0, "ipt_mean_days": 20.0,
        "complaints_service_90": 3, "open_tickets": 2, "open_ticket_age_max": 35.0, "days_since_visit": 80.0,
        "discount_trend": 0.0,
    }])
    [service] = codes(f, ["service"])
    assert service == [{"key": "complaints", "n": 3, "category": "service", "t": 90},
                       {"key": "open_tickets", "n": 2, "days": 35},
                       {"key": "orders_down", "pct": 50, "t": 90}, {"key": "silent", "days": 70}]
    [engagement] = codes(f, ["engagement"])
    assert engagement[0] == {"key": "no_visit", "days": 80} and len(engagement) == 4


def test_no_warning_sign_is_an_empty_list():
    quiet = pd.DataFrame([{"orders_90": 3, "orders_prev_90": 3, "recency_days": 5.0, "ipt_mean_days": 10.0}])
    assert codes(quiet, ["other"]) == [[]]


def test_every_reason_carries_exactly_its_keys_values():
    f = pd.DataFrame([{
        "orders_90": 0, "orders_prev_90": 4, "recency_days": 200.0, "ipt_mean_days": 10.0,
        "discount_trend": -0.05, "discount_prev_90": 0.12, "discount_90": 0.07, "complaints_billing_90": 1,
        "open_tickets": 1, "open_ticket_age_max": 9.0, "resolution_days_365": 12.4, "returns_share_365": 0.06,
        "price_score_mean_180": 4.66, "days_since_visit": float("nan"), "outbound_prev_90": 8, "outbound_90": 1,
    }] * 3)
    seen = set()
    for cause in ("price", "service", "quality"):
        for reason in codes(f.head(1), [cause])[0]:
            assert set(reason) - {"key"} == set(REASON_KEYS[reason["key"]]), reason
            seen.add(reason["key"])
    assert {"discount_down", "complaints", "low_score", "open_tickets", "slow_resolution", "returns"} <= seen
    price = codes(f.head(1), ["price"])[0]
    assert {"key": "low_score", "dimension": "price", "score": 4.7} in price


def test_the_reasons_are_json_as_json_dumps_writes_it():
    # the JSON text is put together sign by sign: it must read and print back exactly as json.dumps writes it
    rng = np.random.default_rng(0)
    n = 400
    columns = ["orders_90", "orders_prev_90", "recency_days", "ipt_mean_days", "discount_trend", "discount_prev_90",
               "discount_90", *(f"complaints_{c}_90" for c in COMPLAINT_CAUSE), "open_tickets",
               "open_ticket_age_max", "resolution_days_365", "returns_share_365", "price_score_mean_180",
               "service_score_mean_180", "quality_score_mean_180", "days_since_visit", "outbound_prev_90",
               "outbound_90"]
    f = pd.DataFrame({c: rng.choice([0.0, 1.0, 3.0, 0.07, 0.12, 4.66, 12.4, 70.0, 200.0, -0.05], n) for c in columns})
    f["days_since_visit"] = f["days_since_visit"].mask(rng.random(n) < 0.2)
    causes = pd.Series(rng.choice(["price", "service", "quality", "engagement", "other"], n))
    texts = reason_codes(f, causes, 90).tolist()
    assert sum(t != "[]" for t in texts) > n * 0.9 and len({t for t in texts}) > n * 0.5
    for text in texts:
        assert text == json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
