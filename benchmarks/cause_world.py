"""A second, independent world for checking loss causes: a B2B medical-supplies history whose mechanics
differ from the demo's on purpose. It is a test instrument: the cause method is never chosen or tuned on it
(it was written before the method it checks, see docs/loss_causes.md).

How it differs from the demo (`churn.data._demo`), cause by cause:

- price: the customer buys a smaller share of its needs (smaller baskets rather than fewer orders), asks
  for better terms (more *inbound* calls, which the feature map files under engagement), complains about
  *billing* more than about price, and marks price down in surveys. Discounts do not shrink.
- service: delivery and service complaints whose resolution drags on (tickets left open), chasing calls in,
  a lower service score; orders fall in steps rather than smoothly.
- quality: returns (negative order lines a few days after a purchase) with a quality complaint only half the
  time, a lower quality score.
- engagement: no complaint at all; the rep's visits and calls thin out, the customer calls in less and
  stops answering surveys; orders fade gradually.
- symptoms start 30-240 days before the stop (not a fixed lag) with a strength drawn per customer; every
  churner's other survey scores sag a little (a halo), a quarter of churners show a weaker second cause
  as well, and a tenth leave with no symptom at all (business closed or merged: cause "none", not judged).
- stayers: a third live through a passing "scare" of a random cause (symptoms that rise and fade), and
  tickets of every category arrive now and then for everyone.
- loss reasons (`loss_reasons`, added after the first draft, set before any method saw them): a win-back call
  1-5 months after the stop records a reason for 45% of lost customers (none for key accounts in particular).
  Its biases differ from the demo's: a churner with a second cause names that one 40% of the time; otherwise
  the true cause 80% of the time and else "price" (reps blame price); a silent churner is recorded as
  "other" 70% of the time, "price" otherwise.

Everything is drawn on a customer x day grid with one seeded generator; the same arguments always give the
same tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CauseWorld", "generate_world"]

WORLD_CAUSES = ("price", "service", "quality", "engagement", "none")
CAUSE_P = np.array([0.30, 0.25, 0.15, 0.20, 0.10])
PRICE, SERVICE, QUALITY, ENGAGEMENT, NONE = range(5)
SEGMENTS = ("hospital_group", "independent_pharmacy", "wholesaler", "dental_clinic", "laboratory")
SEGMENT_P = np.array([0.15, 0.35, 0.10, 0.25, 0.15])
ORDERS_PER_MONTH = np.array([8.0, 3.0, 12.0, 1.5, 2.5])
BASKET_MEDIAN = np.array([6_000.0, 700.0, 25_000.0, 350.0, 1_200.0])
REGIONS = ("North", "South", "East", "West", "Capital")
TICKET_CATEGORIES = ("quality", "service", "delivery", "price", "billing", "other")


@dataclass
class CauseWorld:
    """The canonical tables (customers, orders, interactions, tickets, surveys, loss_reasons) and the hidden truth:
    one row per customer with `churned`, `churn_ts` and `cause` (price/service/quality/engagement for a
    caused churner, "none" for a silent one or a stayer), `second_cause` where a churner had two."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame


def generate_world(n_customers: int = 5000, seed: int = 7, start: str = "2022-01-01",
                   end: str = "2024-11-01", churn_share: float = 0.35) -> CauseWorld:
    """Generate the world; history runs from `start` up to (not including) `end`."""
    rng = np.random.default_rng(seed)
    t0 = dt.date.fromisoformat(start)
    T = (dt.date.fromisoformat(end) - t0).days
    n = n_customers
    days = np.arange(T, dtype=float)

    seg = rng.choice(len(SEGMENTS), n, p=SEGMENT_P)
    size = rng.lognormal(0.0, 0.6, n)
    order_rate = ORDERS_PER_MONTH[seg] * rng.gamma(4.0, 0.25, n) / 30.44  # per day
    basket = BASKET_MEDIAN[seg] * size
    signup = np.where(rng.random(n) < 0.8, -rng.integers(30, 2000, n), rng.integers(0, int(T * 0.6), n))
    born = np.maximum(signup, 0)

    churn = rng.random(n) < churn_share
    stop = np.where(churn, rng.uniform(born + 150, T + 60), np.inf)  # some stops fall after the end
    churn &= stop > born + 150
    cause = np.where(churn, rng.choice(5, n, p=CAUSE_P), NONE)
    lag = rng.uniform(30, 240, n)
    strength = rng.uniform(0.5, 1.0, n)
    curve = rng.uniform(0.5, 1.5, n)  # ramps that start fast or slow
    second = np.where(churn & (cause != NONE) & (rng.random(n) < 0.25), rng.choice(4, n), -1)
    second = np.where(second == cause, (second + 1 + rng.integers(0, 3, n)) % 4, second)

    alive = (days[None, :] >= born[:, None]) & (days[None, :] < stop[:, None])
    onset = stop - lag
    ramp = np.clip((days[None, :] - onset[:, None]) / lag[:, None], 0.0, 1.0) ** curve[:, None]
    ramp = np.where(np.isfinite(stop)[:, None], ramp, 0.0)

    # passing scares of stayers (and of churners long before they go): a bump that rises and fades
    scare = rng.random(n) < 0.33
    scare_cause = rng.choice(4, n)
    s_mid = rng.uniform(60, T - 30, n)
    s_half = rng.uniform(20, 70, n)
    s_level = rng.uniform(0.2, 0.7, n)
    bump = np.clip(1 - np.abs(days[None, :] - s_mid[:, None]) / s_half[:, None], 0.0, None)
    bump = np.where((scare & (s_mid + s_half < onset))[:, None], bump * s_level[:, None], 0.0)

    def signal(c: int) -> np.ndarray:
        """How strongly cause c shows in each customer on each day (0..1)."""
        main = np.where((cause == c)[:, None], strength[:, None] * ramp, 0.0)
        two = np.where((second == c)[:, None], 0.45 * strength[:, None] * ramp, 0.0)
        passing = np.where((scare_cause == c)[:, None], bump, 0.0)
        return main + two + passing

    sig = [signal(c) for c in range(4)]
    season = 1 + 0.15 * np.sin(2 * np.pi * (days + t0.timetuple().tm_yday) / 365.25)
    tables = {
        "customers": _customers(rng, n, seg, signup, t0),
        "orders": _orders(rng, n, t0, alive, season, order_rate, basket, sig),
        "interactions": _interactions(rng, n, t0, alive, sig),
        "tickets": _tickets(rng, n, t0, alive, size, sig),
        "surveys": _surveys(rng, n, t0, alive, sig, churn, ramp),
    }
    ids = _ids(n)
    base = pd.Timestamp(t0)
    truth = pd.DataFrame({
        "customer_id": ids,
        "churned": churn & (stop < T),
        "churn_ts": [base + pd.Timedelta(days=float(s)) if c and s < T else pd.NaT for s, c in zip(stop, churn)],
        "cause": np.array(WORLD_CAUSES, dtype=object)[cause],
        "second_cause": np.where(second >= 0, np.array(WORLD_CAUSES, dtype=object)[np.maximum(second, 0)], None),
    })
    tables["loss_reasons"] = _loss_reasons(np.random.default_rng(seed + 1000), ids, t0, T, stop, churn, cause, second)
    return CauseWorld(tables=tables, truth=truth)


def _loss_reasons(rng: np.random.Generator, ids: np.ndarray, t0: dt.date, T: int, stop: np.ndarray,
                  churn: np.ndarray, cause: np.ndarray, second: np.ndarray) -> pd.DataFrame:
    """Win-back calls' recorded reasons (module docstring); their own generator, so the other tables stay."""
    n = ids.size
    day = stop + rng.uniform(30, 150, n)
    recorded = churn & (rng.random(n) < 0.45) & (day < T)
    said = np.where(rng.random(n) < 0.8, cause, PRICE)
    said = np.where((second >= 0) & (rng.random(n) < 0.4), second, said)
    labels = np.array([*WORLD_CAUSES[:4], "other"], dtype=object)
    said = np.where(cause == NONE, np.where(rng.random(n) < 0.7, 4, PRICE), said)
    ci = np.flatnonzero(recorded)
    ci = ci[np.argsort(day[ci], kind="stable")]
    base = pd.Timestamp(t0)
    return pd.DataFrame({
        "customer_id": ids[ci],
        "ts": [(base + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d 11:00:00") for d in day[ci]],
        "cause": labels[said[ci]],
        "source": "win-back call",
    })


def _ids(n: int) -> np.ndarray:
    return np.array([f"K{i:05d}" for i in range(1, n + 1)], dtype=object)


def _events(rng: np.random.Generator, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and day of each event of a daily Poisson rate grid."""
    counts = rng.poisson(np.clip(rate, 0.0, None))
    ci, day = np.nonzero(counts)
    reps = counts[ci, day]
    return np.repeat(ci, reps), np.repeat(day, reps)


def _ts(rng: np.random.Generator, t0: dt.date, day: np.ndarray, hours=(8.0, 18.0)) -> pd.Series:
    secs = (day * 86400 + rng.uniform(hours[0], hours[1], len(day)) * 3600).astype("int64")
    return pd.Series(pd.Timestamp(t0) + pd.to_timedelta(secs, unit="s"))


def _customers(rng: np.random.Generator, n: int, seg: np.ndarray, signup: np.ndarray, t0: dt.date) -> pd.DataFrame:
    owners = np.array([f"Rep {chr(65 + i // 10)}{i % 10}" for i in range(30)], dtype=object)
    return pd.DataFrame({
        "customer_id": _ids(n),
        "name": [f"Account {i}" for i in range(1, n + 1)],
        "segment": np.array(SEGMENTS, dtype=object)[seg],
        "region": np.array(REGIONS, dtype=object)[rng.integers(0, len(REGIONS), n)],
        "owner": owners[rng.integers(0, len(owners), n)],
        "signup_date": pd.Timestamp(t0) + pd.to_timedelta(signup, unit="D"),
        "is_key_account": rng.random(n) < np.where(seg == 2, 0.4, 0.05),
    })


def _orders(rng, n, t0, alive, season, order_rate, basket, sig) -> pd.DataFrame:
    price, service, quality, engagement = sig
    # service problems cut orders in steps (after a bad month), engagement fades them smoothly
    freq = 1 - 0.25 * price - 0.6 * np.floor(service * 3) / 3 - 0.45 * quality - 0.8 * engagement
    rate = order_rate[:, None] * season[None, :] * alive * np.clip(freq, 0.05, None)
    ci, day = _events(rng, rate)
    share = np.clip(1 - 0.65 * price[ci, day] - 0.1 * quality[ci, day], 0.15, None)  # buying elsewhere
    amount = basket[ci] * rng.lognormal(0, 0.45, len(ci)) * share
    discount = np.clip(rng.normal(0.06, 0.03, n)[ci] + rng.normal(0, 0.015, len(ci)), 0, 0.4)
    margin = amount * rng.uniform(0.18, 0.32, len(ci))
    ts = _ts(rng, t0, day)
    orders = pd.DataFrame({"customer_id": _ids(n)[ci], "ts": ts, "amount": amount.round(2),
                           "order_id": [f"SO{i:07d}" for i in range(len(ci))], "quantity": np.ceil(amount / 40),
                           "discount": discount.round(3), "margin": margin.round(2)})
    # returns: a share of a delivery comes back a few days later
    back = rng.random(len(ci)) < np.clip(0.015 + 0.5 * quality[ci, day], 0, 0.6)
    returns = orders[back].copy()
    part = rng.uniform(0.1, 0.6, int(back.sum()))
    returns["ts"] = returns["ts"] + pd.to_timedelta(rng.integers(2, 15, len(returns)), unit="D")
    returns["amount"] = (-returns["amount"] * part).round(2)
    returns["margin"] = (-returns["margin"] * part).round(2)
    returns["quantity"] = -np.ceil(returns["quantity"] * part)
    returns["order_id"] = "R" + returns["order_id"]
    end = pd.Timestamp(t0) + pd.Timedelta(days=alive.shape[1])
    returns = returns[returns["ts"] < end]
    return pd.concat([orders, returns], ignore_index=True).sort_values(["ts", "customer_id"], ignore_index=True)


def _interactions(rng, n, t0, alive, sig) -> pd.DataFrame:
    price, service, quality, engagement = sig
    diligence = rng.gamma(3.0, 1 / 3.0, 30)[rng.integers(0, 30, n)]
    out_rate = rng.uniform(0.5, 4.0, n) * diligence / 30.44
    in_rate = rng.uniform(0.2, 1.2, n) / 30.44
    outbound = out_rate[:, None] * alive * np.clip(1 - 0.85 * engagement, 0.05, None)
    # customers chase price and service problems by phone, and stop calling when the relationship fades
    inbound = in_rate[:, None] * alive * (1 + 1.8 * price + 1.2 * service) * np.clip(1 - 0.8 * engagement, 0.1, None)
    frames = []
    for direction, rate, channels, p in (("outbound", outbound, ("visit", "call", "email", "meeting"),
                                          (0.35, 0.35, 0.2, 0.1)),
                                         ("inbound", inbound, ("call", "email", "other"), (0.6, 0.3, 0.1))):
        ci, day = _events(rng, rate)
        frames.append(pd.DataFrame({"customer_id": _ids(n)[ci], "ts": _ts(rng, t0, day),
                                    "channel": rng.choice(channels, len(ci), p=p), "direction": direction}))
    return pd.concat(frames, ignore_index=True).sort_values(["ts", "customer_id"], ignore_index=True)


def _tickets(rng, n, t0, alive, size, sig) -> pd.DataFrame:
    price, service, quality, engagement = sig
    base = (0.12 * np.sqrt(size) / 30.44)[:, None] * alive
    frames = []
    # background tickets of every category; complaints among them now and then
    ci, day = _events(rng, base)
    frames.append((ci, day, rng.choice(len(TICKET_CATEGORIES), len(ci)), rng.random(len(ci)) < 0.3,
                   rng.uniform(0.5, 8, len(ci))))
    for cause_sig, cats, p, rate, complaint_p, fix in (
        (price, (4, 3), (0.75, 0.25), 1.2, 0.8, (1, 10)),
        (service, (2, 1), (0.55, 0.45), 1.5, 0.85, (15, 70)),
        (quality, (0,), (1.0,), 0.8, 0.9, (2, 20)),
    ):
        ci, day = _events(rng, cause_sig * alive * rate / 30.44)
        frames.append((ci, day, rng.choice(cats, len(ci), p=p), rng.random(len(ci)) < complaint_p,
                       rng.uniform(*fix, len(ci))))
    ci, day, cat, complaint, fix_days = (np.concatenate(x) for x in zip(*frames))
    ts = _ts(rng, t0, day)
    resolved = ts + pd.to_timedelta(fix_days, unit="D")
    still_open = rng.random(len(ci)) < 0.05
    resolved = resolved.mask(still_open)
    return pd.DataFrame({"customer_id": _ids(n)[ci], "ts": ts,
                         "category": np.array(TICKET_CATEGORIES, dtype=object)[cat],
                         "is_complaint": complaint, "resolved_ts": resolved}).sort_values(
        ["ts", "customer_id"], ignore_index=True)


def _surveys(rng, n, t0, alive, sig, churn, ramp) -> pd.DataFrame:
    price, service, quality, engagement = sig
    surveyed = rng.random(n) < 0.75
    every = rng.uniform(45, 120, n)
    answer = np.clip(1 - 0.75 * engagement, 0.05, 1) * 0.8
    rate = np.where(surveyed[:, None], alive * answer / every[:, None], 0.0)
    ci, day = _events(rng, rate)
    mood = rng.normal(0, 0.8, n)[ci]
    halo = np.where(churn[ci], 0.8 * ramp[ci, day], 0.0)  # unhappy churners mark everything a little down

    def score(base: float, drop: np.ndarray) -> np.ndarray:
        return np.clip(base + mood - halo - drop + rng.normal(0, 1.0, len(ci)), 0, 10).round(0)

    price_s = score(7.2, 3.5 * price[ci, day])
    service_s = score(7.6, 3.0 * service[ci, day])
    quality_s = score(7.9, 3.0 * quality[ci, day])
    overall = np.clip((price_s + service_s + quality_s) / 3 + rng.normal(0, 0.7, len(ci)), 0, 10).round(0)
    return pd.DataFrame({"customer_id": _ids(n)[ci], "ts": _ts(rng, t0, day), "score": overall,
                         "quality_score": quality_s, "service_score": service_s,
                         "price_score": price_s}).sort_values(["ts", "customer_id"], ignore_index=True)
