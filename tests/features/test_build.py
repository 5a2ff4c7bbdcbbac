"""Brute-force oracle for churn.features.build_features.

Every feature defined in the module docstring of src/churn/features.py is recomputed here with
plain Python loops over one customer's rows at one cutoff, and compared with the DuckDB output.
Nothing is shared with features.py except the contract's ticket categories.

Reading of the docstring used by the oracle (all ages in days, `age = (cutoff - ts) / 1 day`):
  * a row is used only if ts < cutoff; "in window w" means age <= w; the previous trend
    window is t < age <= 2t (t = cfg.trend_window);
  * orders: a positive row has amount > 0; an order is its order_id, or the row itself when
    order_id is missing (null, or no order_id column); tenure_days is the larger of the age of
    signup_date (only if signup_date < cutoff) and the age of the earliest orders row;
  * trends (last - prev) / (last + prev) are 0 when the denominator is 0;
  * ipt: gaps in whole calendar days between the distinct calendar days that carry a positive
    row within 365 days; ipt_cv = population std / mean of those gaps;
  * interactions: visits_t, calls_t and days_since_visit count outbound contacts only (the
    docstring lists them under "outbound = ..."); with no direction column every row is
    outbound and none is inbound (inbound counts are 0);
  * tickets: with no is_complaint column (or a missing value) a ticket is a complaint (contract:
    "default true"); with no resolved_ts column every ticket is open; resolution_days_365
    averages resolved_ts - ts over tickets resolved before the cutoff and opened within 365 days;
  * surveys: means skip missing values; <d>_trend compares age <= 180 with 180 < age <= 360;
  * counts and sums are 0 when a customer has no rows; ages, means and ratios are NaN;
  * customers: segment / region are missing and is_key_account is 0 for an unknown customer,
    including one whose signup_date is at or after the cutoff.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from helpers import make_history

from churn.config import FeaturesConfig, LabelsConfig
from churn.data import TABLES
from churn.features import build_features

NAN = float("nan")
US_PER_DAY = 86_400_000_000
CATEGORIES = TABLES["tickets"].column("category").allowed
DIMENSIONS = ("score", "quality_score", "service_score", "price_score")
VISIT_CHANNELS = {"visit", "meeting", "event"}
REL_TOL = 1e-9
KEYS = ["customer_id", "cutoff"]

CONFIGS = {
    "w30-90-180-365_t90": FeaturesConfig(windows=[30, 90, 180, 365], trend_window=90),
    "w14-30-60_t30": FeaturesConfig(windows=[14, 30, 60], trend_window=30),
    "w14-60_t30": FeaturesConfig(windows=[14, 60], trend_window=30),  # trend window not among the windows
    "w30-365_t365_r400": FeaturesConfig(windows=[30, 365], trend_window=365, rhythm_days=400),  # no seasonality
}
SEEDS = [3, 17, 2024]
FIXED_CUTOFFS = [
    pd.Timestamp("2022-06-01"),  # before any order (some signups are earlier)
    pd.Timestamp("2023-07-01"),
    pd.Timestamp("2024-03-15 12:30:00"),
    pd.Timestamp("2025-01-01"),  # after the whole history
]


# ----------------------------------------------------------------------------- helpers


def _us(ts) -> int:
    """Microseconds since the epoch of one timestamp."""
    return pd.Timestamp(ts).as_unit("us")._value


def _present(value) -> bool:
    return value is not None and not pd.isna(value)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else NAN


def _trend(last: float, prev: float) -> float:
    return 0.0 if last + prev == 0 else (last - prev) / (last + prev)


def _rows(tables: dict[str, pd.DataFrame], name: str) -> dict[str, list[dict]]:
    """customer_id -> list of row dicts (ts as microseconds), one entry per row of the table."""
    out: dict[str, list[dict]] = defaultdict(list)
    if name not in tables:
        return out
    df = tables[name]
    for i, rec in enumerate(df.to_dict(orient="records")):
        rec["_row"] = i
        for col in ("ts", "resolved_ts"):
            if col in rec:
                rec[col] = _us(rec[col]) if _present(rec[col]) else None
        out[rec["customer_id"]].append(rec)
    return out


class Oracle:
    """The docstring's definitions, one (customer, cutoff) at a time."""

    def __init__(self, tables: dict[str, pd.DataFrame], cfg: FeaturesConfig):
        self.tables, self.cfg = tables, cfg
        self.cols = {name: set(df.columns) for name, df in tables.items()}
        self.orders = _rows(tables, "orders")
        self.interactions = _rows(tables, "interactions")
        self.tickets = _rows(tables, "tickets")
        self.surveys = _rows(tables, "surveys")
        self.customers = {}
        if "customers" in tables:
            for rec in tables["customers"].to_dict(orient="records"):
                self.customers[rec["customer_id"]] = rec

    def features(self, cid: str, cutoff: pd.Timestamp) -> tuple[dict, dict]:
        """(required features, optional features): optional ones may be absent from the output."""
        c = _us(cutoff)
        feats: dict = {}
        optional: dict = {}
        first_order_age = NAN
        if "orders" in self.tables:
            first_order_age = self._orders(cid, c, feats, optional)
        if "interactions" in self.tables:
            self._interactions(cid, c, feats)
        if "tickets" in self.tables:
            self._tickets(cid, c, feats)
        if "surveys" in self.tables:
            self._surveys(cid, c, feats)
        if "customers" in self.tables:
            self._customers(cid, c, feats)
        if "orders" in self.tables or "customers" in self.tables:
            signup_age = NAN
            cust = self.customers.get(cid)
            if cust is not None and _present(cust.get("signup_date")) and _us(cust["signup_date"]) < c:
                signup_age = (c - _us(cust["signup_date"])) / US_PER_DAY
            known = [a for a in (signup_age, first_order_age) if not math.isnan(a)]
            feats["tenure_days"] = max(known) if known else NAN
        return feats, optional

    # -- orders
    def _orders(self, cid: str, c: int, feats: dict, optional: dict) -> float:
        w_list, t = self.cfg.windows, self.cfg.trend_window
        cols = self.cols["orders"]
        rows = []
        for r in self.orders.get(cid, []):
            if r["ts"] < c:
                key = r["order_id"] if "order_id" in cols and _present(r["order_id"]) else ("row", r["_row"])
                rows.append((
                    (c - r["ts"]) / US_PER_DAY,
                    r["amount"],
                    key,
                    r["discount"] if "discount" in cols and _present(r["discount"]) else None,
                    r["margin"] if "margin" in cols and _present(r["margin"]) else r["amount"],
                    r["ts"],
                ))
        pos = [x for x in rows if x[1] > 0]

        def n_orders(lo: float, hi: float) -> float:
            return float(len({x[2] for x in pos if lo < x[0] <= hi}))

        def revenue(lo: float, hi: float) -> float:
            return float(sum(x[1] for x in rows if lo < x[0] <= hi))

        feats["recency_days"] = min((x[0] for x in pos), default=NAN)
        for w in w_list:
            feats[f"orders_{w}"] = n_orders(-math.inf, w)
            feats[f"revenue_{w}"] = revenue(-math.inf, w)
        last_o, prev_o = n_orders(-math.inf, t), n_orders(t, 2 * t)
        last_r, prev_r = revenue(-math.inf, t), revenue(t, 2 * t)
        if t not in w_list:  # not asked for by the windows; tolerated if the output carries it
            optional[f"orders_{t}"], optional[f"revenue_{t}"] = last_o, last_r
        feats[f"orders_prev_{t}"], feats[f"revenue_prev_{t}"] = prev_o, prev_r
        feats["orders_trend"] = _trend(last_o, prev_o)
        feats["revenue_trend"] = _trend(last_r, prev_r)

        days = sorted({x[5] // US_PER_DAY for x in pos if x[0] <= 365})
        gaps = [float(b - a) for a, b in zip(days, days[1:])]
        if gaps:
            mean = statistics.fmean(gaps)
            feats["ipt_mean_days"] = mean
            feats["ipt_cv"] = statistics.pstdev(gaps) / mean
            feats["overdue_ratio"] = feats["recency_days"] / mean
            feats["ipt_last_days"] = gaps[-1]
        else:
            feats["ipt_mean_days"] = feats["ipt_cv"] = feats["overdue_ratio"] = feats["ipt_last_days"] = NAN
        feats["ipt_last_vs_before"] = gaps[-1] / statistics.fmean(gaps[:-1]) if len(gaps) >= 2 else NAN

        # a day's age is that of its youngest positive row; seasonality looks at the year-ago coming horizon
        day_age: dict[int, float] = {}
        day_amount: dict[int, float] = defaultdict(float)
        for x in pos:
            day = x[5] // US_PER_DAY
            day_age[day] = min(day_age.get(day, math.inf), x[0])
            day_amount[day] += x[1]
        h = self.cfg.rhythm_days or LabelsConfig().horizon_days
        year_seen = bool(day_age) and max(day_age.values()) >= 365 and h < 365
        in_year = sum(a <= 365 for a in day_age.values())
        seasonal = float(sum(365 - h < a <= 365 for a in day_age.values()))
        feats["seasonal_orders"] = seasonal if year_seen else NAN
        feats["seasonal_share"] = seasonal / in_year if year_seen and in_year else NAN

        # BG/NBD inputs over the whole history, on distinct positive-order days
        all_days = sorted({x[5] // US_PER_DAY for x in pos})
        if all_days:
            feats["btyd_x"] = float(len(all_days) - 1)
            feats["btyd_tx"] = float(all_days[-1] - all_days[0])
            feats["btyd_T"] = (c - all_days[0] * US_PER_DAY) / US_PER_DAY
            repeat = [day_amount[d] for d in all_days[1:]]  # Gamma-Gamma: spend after the first day
            feats["btyd_m"] = statistics.fmean(repeat) if repeat else 0.0
        else:
            feats["btyd_x"] = feats["btyd_tx"] = feats["btyd_T"] = feats["btyd_m"] = NAN

        year = [x for x in rows if x[0] <= 365]
        neg = [x[1] for x in year if x[1] < 0]
        gross = sum(x[1] for x in year if x[1] > 0)
        feats["returns_365"] = float(len(neg))
        feats["returns_share_365"] = -sum(neg) / gross if gross > 0 else NAN
        feats["value_365"] = float(sum(x[4] for x in year))

        if "discount" in cols:
            last_d = _mean([x[3] for x in pos if x[0] <= t and x[3] is not None])
            prev_d = _mean([x[3] for x in pos if t < x[0] <= 2 * t and x[3] is not None])
            feats[f"discount_{t}"], feats[f"discount_prev_{t}"] = last_d, prev_d
            feats["discount_trend"] = last_d - prev_d
            # promotion: a positive row of the year whose discount is promo_gap above the year's median discount
            priced = [x for x in pos if x[0] <= 365 and x[3] is not None]
            med = statistics.median([x[3] for x in priced]) if priced else NAN
            promo = [x for x in priced if x[3] >= med + self.cfg.promo_gap]
            other = [x for x in priced if x[3] < med + self.cfg.promo_gap]
            feats["promo_lines_365"] = float(len(promo))
            feats["promo_lift_365"] = (statistics.fmean(x[1] for x in promo) / statistics.fmean(x[1] for x in other)
                                       if promo and other else NAN)
            margin = sum(x[4] for x in priced)
            feats["promo_share_365"] = sum(x[4] for x in promo) / margin if margin > 0 else NAN
        return max((x[0] for x in rows), default=NAN)

    # -- interactions
    def _interactions(self, cid: str, c: int, feats: dict) -> None:
        t = self.cfg.trend_window
        has_dir = "direction" in self.cols["interactions"]
        outbound, inbound = [], []  # (age, channel)
        for r in self.interactions.get(cid, []):
            if r["ts"] >= c:
                continue
            a = (c - r["ts"]) / US_PER_DAY
            direction = r["direction"] if has_dir and _present(r["direction"]) else None
            if not has_dir or direction == "outbound":
                outbound.append((a, r["channel"]))
            if has_dir and direction == "inbound":
                inbound.append((a, r["channel"]))
        last = float(sum(a <= t for a, _ in outbound))
        prev = float(sum(t < a <= 2 * t for a, _ in outbound))
        feats[f"outbound_{t}"], feats[f"outbound_prev_{t}"] = last, prev
        feats["outbound_trend"] = _trend(last, prev)
        feats[f"visits_{t}"] = float(sum(a <= t and ch in VISIT_CHANNELS for a, ch in outbound))
        feats[f"calls_{t}"] = float(sum(a <= t and ch == "call" for a, ch in outbound))
        feats[f"inbound_{t}"] = float(sum(a <= t for a, _ in inbound))
        feats[f"inbound_prev_{t}"] = float(sum(t < a <= 2 * t for a, _ in inbound))
        feats["days_since_outbound"] = min((a for a, _ in outbound), default=NAN)
        feats["days_since_visit"] = min((a for a, ch in outbound if ch in VISIT_CHANNELS), default=NAN)

    # -- tickets
    def _tickets(self, cid: str, c: int, feats: dict) -> None:
        t = self.cfg.trend_window
        cols = self.cols["tickets"]
        rows = []  # (age, category, complaint, resolved before cutoff, days to resolve)
        for r in self.tickets.get(cid, []):
            if r["ts"] >= c:
                continue
            complaint = bool(r["is_complaint"]) if "is_complaint" in cols and _present(r["is_complaint"]) else True
            res = r["resolved_ts"] if "resolved_ts" in cols else None
            resolved = res is not None and res < c
            rows.append(((c - r["ts"]) / US_PER_DAY, r["category"], complaint, resolved,
                         (res - r["ts"]) / US_PER_DAY if resolved else None))
        feats[f"tickets_{t}"] = float(sum(x[0] <= t for x in rows))
        feats[f"complaints_{t}"] = float(sum(x[0] <= t and x[2] for x in rows))
        for cat in CATEGORIES:
            for w in (t, 365):
                feats[f"complaints_{cat}_{w}"] = float(sum(x[0] <= w and x[2] and x[1] == cat for x in rows))
        open_ = [x[0] for x in rows if not x[3]]
        feats["open_tickets"] = float(len(open_))
        feats["open_ticket_age_max"] = max(open_, default=NAN)
        feats["resolution_days_365"] = _mean([x[4] for x in rows if x[3] and x[0] <= 365])

    # -- surveys
    def _surveys(self, cid: str, c: int, feats: dict) -> None:
        dims = [d for d in DIMENSIONS if d in self.cols["surveys"]]
        rows = [((c - r["ts"]) / US_PER_DAY, r) for r in self.surveys.get(cid, []) if r["ts"] < c]
        feats["surveys_365"] = float(sum(a <= 365 for a, _ in rows))
        feats["days_since_survey"] = min((a for a, _ in rows), default=NAN)
        for d in dims:
            last = _mean([r[d] for a, r in rows if a <= 180 and _present(r[d])])
            prev = _mean([r[d] for a, r in rows if 180 < a <= 360 and _present(r[d])])
            feats[f"{d}_mean_180"] = last
            feats[f"{d}_trend"] = last - prev

    # -- customers
    def _customers(self, cid: str, c, feats: dict) -> None:
        cols = self.cols["customers"]
        cust = self.customers.get(cid)
        if cust is not None and _present(cust.get("signup_date")) and _us(cust["signup_date"]) >= c:
            cust = None  # signed up at or after the cutoff: not known at it
        for col in ("segment", "region"):
            if col in cols:
                feats[col] = cust[col] if cust is not None and _present(cust[col]) else None
        if "is_key_account" in cols:
            feats["is_key_account"] = float(bool(cust["is_key_account"])) if cust is not None else 0.0


# Gamma-Gamma on these histories' spend (alike for everyone) lands on its ridge: the penalized fit's optimum is flat
# enough that inputs equal to 1e-12 move its q by ~2% and the expected spend by ~1e-4 relative.
LOOSE_TOL = {"gg_expected_spend": 1e-3, "bgnbd_expected_value": 1e-3}


def _same(expected, got, tol: float = REL_TOL) -> bool:
    e_na, g_na = not _present(expected), not _present(got)
    if e_na or g_na:
        return e_na and g_na
    if isinstance(expected, str) or isinstance(got, str):
        return expected == got
    return math.isclose(float(expected), float(got), rel_tol=tol, abs_tol=tol)


def _rhythm_oracle(computed: list[tuple], days: int) -> dict:
    """The BG/NBD features from the oracle's BG/NBD inputs: one fit per cutoff on the customers with a purchase
    before it (BGNBD itself is checked against `lifetimes` in tests/model/test_btyd.py)."""
    from churn.features import WEEK_DAYS, fit_bgnbd_or_penalized, fit_gamma_gamma_or_penalized
    from churn.features._btyd import MIN_BUYERS

    names = ("bgnbd_p_alive", "bgnbd_expected_orders", "bgnbd_expected_vs_rate", "gg_expected_spend",
             "bgnbd_expected_value")

    by_cutoff: dict[pd.Timestamp, list] = {}
    for cid, cutoff, f, _ in computed:
        by_cutoff.setdefault(cutoff, []).append(
            (cid, f.get("btyd_x", NAN), f.get("btyd_tx", NAN), f.get("btyd_T", NAN), f.get("btyd_m", NAN)))
    out = {}
    for cutoff, rows in by_cutoff.items():
        known = [r for r in rows if _present(r[1])]
        for cid, *_ in rows:
            out[(cid, cutoff)] = dict.fromkeys(names, NAN)
        if len(known) < MIN_BUYERS or not any(r[1] > 0 for r in known):
            continue
        x = np.array([r[1] for r in known])
        t_x = np.array([r[2] for r in known]) / WEEK_DAYS
        T = np.maximum(np.array([r[3] for r in known]) / WEEK_DAYS, t_x + 1e-9)
        try:
            model, _ = fit_bgnbd_or_penalized(x, t_x, T)
        except RuntimeError:  # no fit: the features stay missing
            continue
        weeks = days / WEEK_DAYS
        alive, expected = model.p_alive(x, t_x, T), model.expected_purchases(weeks, x, t_x, T)
        m = np.array([r[4] for r in known])
        spend = np.full(len(known), NAN)
        if (x > 0).sum() >= MIN_BUYERS:
            try:
                gg, _ = fit_gamma_gamma_or_penalized(x, m)
            except RuntimeError:  # no fit: spend stays missing
                gg = None
            if gg is not None and gg.q > 1:
                spend = gg.p * (gg.v + x * np.where(x > 0, m, 0.0)) / (gg.p * x + gg.q - 1.0)
        for i, (cid, *_) in enumerate(known):
            out[(cid, cutoff)] = {"bgnbd_p_alive": alive[i], "bgnbd_expected_orders": expected[i],
                                  "bgnbd_expected_vs_rate": expected[i] / ((x[i] + 1) / max(T[i], 1.0) * weeks),
                                  "gg_expected_spend": spend[i], "bgnbd_expected_value": expected[i] * spend[i]}
    return out


def compare(tables: dict[str, pd.DataFrame], population: pd.DataFrame, cfg: FeaturesConfig) -> pd.DataFrame:
    """Build the features, check them against the oracle and fail with every mismatch listed."""
    out = build_features(tables, population, cfg)
    problems: list[str] = []
    assert len(out) == len(population)
    # one row per pair, in the population's order
    assert out["customer_id"].tolist() == population["customer_id"].tolist()
    assert (out["cutoff"].to_numpy() == population["cutoff"].to_numpy()).all()

    oracle = Oracle(tables, cfg)
    got_cols = [c for c in out.columns if c not in KEYS]
    assert len(set(got_cols)) == len(got_cols), "duplicate feature columns"
    mismatches: list[tuple] = []
    column_issues: set[str] = set()
    records = out.to_dict(orient="records")
    computed = [(rec["customer_id"], pd.Timestamp(rec["cutoff"]), *oracle.features(rec["customer_id"],
                                                                                   pd.Timestamp(rec["cutoff"])))
                for rec in records]
    rhythm = _rhythm_oracle(computed, cfg.rhythm_days or LabelsConfig().horizon_days)
    for rec, (cid, cutoff, expected, optional) in zip(records, computed, strict=True):
        expected = expected | rhythm[(cid, cutoff)]
        for col in sorted(set(expected) - set(got_cols)):
            column_issues.add(f"missing feature column {col!r}")
        for col in sorted(set(got_cols) - set(expected) - set(optional)):
            column_issues.add(f"unexpected feature column {col!r}")
        for col in got_cols:
            if col in expected or col in optional:
                exp = expected[col] if col in expected else optional[col]
                if not _same(exp, rec[col], LOOSE_TOL.get(col, REL_TOL)):
                    mismatches.append((cid, str(cutoff), col, exp, rec[col]))
    if column_issues:
        problems.append("columns: " + "; ".join(sorted(column_issues)))
    if mismatches:
        by_feature = pd.Series([m[2] for m in mismatches]).value_counts().to_dict()
        lines = [f"  ({cid}, {cut}) {col}: expected {exp!r}, got {got!r}" for cid, cut, col, exp, got in mismatches[:40]]
        problems.append(
            f"{len(mismatches)} mismatching values over {len(records)} pairs; per feature {by_feature}\n" + "\n".join(lines)
        )
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return out


# ----------------------------------------------------------------------------- data


def _history(seed: int, n: int = 48) -> dict[str, pd.DataFrame]:
    """make_history plus customers with no rows in some tables."""
    h = make_history(n, seed)
    ids = h["customers"]["customer_id"]
    no_tickets, no_surveys, no_interactions, no_orders = ids.iloc[1], ids.iloc[2], ids.iloc[3], ids.iloc[4]
    not_a_customer = ids.iloc[5]
    h["tickets"] = h["tickets"][h["tickets"]["customer_id"] != no_tickets].reset_index(drop=True)
    h["surveys"] = h["surveys"][h["surveys"]["customer_id"] != no_surveys].reset_index(drop=True)
    h["interactions"] = h["interactions"][h["interactions"]["customer_id"] != no_interactions].reset_index(drop=True)
    h["orders"] = h["orders"][h["orders"]["customer_id"] != no_orders].reset_index(drop=True)
    # orders, but no customers row: segment/region missing, tenure from the first order only
    h["customers"] = h["customers"][h["customers"]["customer_id"] != not_a_customer].reset_index(drop=True)
    return h


def _population(tables: dict[str, pd.DataFrame], cfg: FeaturesConfig, seed: int, per_customer: int = 6) -> pd.DataFrame:
    """Several cutoffs per customer, many of them exactly on an event or on a window edge."""
    rng = np.random.default_rng(seed + 1000)
    w_all = sorted({*cfg.windows, cfg.trend_window, 2 * cfg.trend_window, 180, 360, 365})
    by = {name: dict(tuple(df.groupby("customer_id"))) for name, df in tables.items() if name != "customers"}
    ids = list(pd.unique(pd.concat([tables["customers"]["customer_id"], tables["orders"]["customer_id"]])))
    pairs = []
    for cid in ids:
        candidates = list(FIXED_CUTOFFS)
        for name in ("orders", "interactions", "tickets", "surveys"):
            rows = by.get(name, {}).get(cid)
            if rows is None or not len(rows):
                continue
            ts = rows["ts"].iloc[rng.integers(len(rows))]
            candidates.append(ts)  # exactly on an event: that event must not count
            for w in w_all:
                candidates.append(ts + pd.Timedelta(days=w))  # the event is exactly w days old
                candidates.append(ts + pd.Timedelta(days=w) + pd.Timedelta(microseconds=1))  # just outside
            if name == "tickets" and rows["resolved_ts"].notna().any():
                candidates.append(rows["resolved_ts"].dropna().iloc[0])  # resolved exactly at the cutoff: open
        cust = tables["customers"][tables["customers"]["customer_id"] == cid]
        if len(cust):
            candidates.append(cust["signup_date"].iloc[0])  # signup exactly at the cutoff: not known yet
        # a few fixed dates always, the rest at random among the event-aligned ones
        chosen = list(rng.choice(len(candidates), size=min(per_customer, len(candidates)), replace=False))
        for k in {0, 2, *chosen}:
            pairs.append((cid, pd.Timestamp(candidates[k])))
    pairs += [("NOBODY", FIXED_CUTOFFS[2]), ("NOBODY", FIXED_CUTOFFS[3])]  # in no table at all
    pop = pd.DataFrame(pairs, columns=KEYS).drop_duplicates(KEYS)
    pop = pop.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # not sorted: order must be kept
    return pop.astype({"customer_id": "string", "cutoff": "datetime64[us]"})


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("seed", SEEDS)
def test_features_match_oracle(seed: int, config: str) -> None:
    cfg = CONFIGS[config]
    tables = _history(seed)
    pop = _population(tables, cfg, seed)
    assert len(pop) > 300
    out = compare(tables, pop, cfg)
    assert out["bgnbd_p_alive"].notna().sum() > 30  # the cutoff with enough buyers for a BG/NBD fit was checked
    assert out["gg_expected_spend"].notna().sum() > 30  # ... and for a Gamma-Gamma fit
    assert out["ipt_last_vs_before"].notna().sum() > 30
    # seasonality was checked where a year of buying is seen, and is missing where the horizon spans a year
    assert (out["seasonal_share"] > 0).any() if (cfg.rhythm_days or LabelsConfig().horizon_days) < 365 else out["seasonal_share"].isna().all()


def _drop(tables: dict[str, pd.DataFrame], name: str, cols: list[str]) -> dict[str, pd.DataFrame]:
    return {**tables, name: tables[name].drop(columns=cols)}


VARIANTS = {
    "orders_without_order_id_discount_margin": lambda h: _drop(h, "orders", ["order_id", "discount", "margin"]),
    "orders_without_order_id": lambda h: _drop(h, "orders", ["order_id"]),
    "interactions_without_direction": lambda h: _drop(h, "interactions", ["direction"]),
    "tickets_without_is_complaint_resolved_ts": lambda h: _drop(h, "tickets", ["is_complaint", "resolved_ts"]),
    "tickets_without_resolved_ts": lambda h: _drop(h, "tickets", ["resolved_ts"]),
    "tickets_is_complaint_missing_values": lambda h: {
        **h,
        "tickets": h["tickets"].assign(
            is_complaint=pd.array(
                [None if i % 3 == 0 else bool(v) for i, v in enumerate(h["tickets"]["is_complaint"])], dtype="boolean"
            )
        ),
    },
    "surveys_score_only": lambda h: _drop(h, "surveys", ["quality_score", "service_score", "price_score"]),
    "customers_without_signup_date": lambda h: _drop(h, "customers", ["signup_date"]),
    "orders_only": lambda h: {"orders": h["orders"]},
    "orders_and_customers": lambda h: {"orders": h["orders"], "customers": h["customers"]},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_optional_columns_and_tables(variant: str) -> None:
    cfg = CONFIGS["w30-90-180-365_t90"]
    full = _history(seed=7, n=40)
    tables = VARIANTS[variant](full)
    pop = _population(full, cfg, seed=7, per_customer=4)
    out = compare(tables, pop, cfg)
    # features that need a missing table or column are left out, not filled
    absent = {
        "orders_without_order_id_discount_margin": ["discount_90", "discount_prev_90", "discount_trend",
                                                    "promo_lift_365"],
        "orders_only": ["segment", "region", "is_key_account", "outbound_90", "tickets_90", "open_tickets",
                        "surveys_365", "score_mean_180"],
        "orders_and_customers": ["outbound_90", "tickets_90", "surveys_365"],
        "surveys_score_only": ["quality_score_mean_180", "quality_score_trend", "price_score_trend"],
    }.get(variant, [])
    assert not set(absent) & set(out.columns)


def test_order_without_order_id_is_its_own_order() -> None:
    """Two positive rows sharing an order_id are one order; rows with no order_id are one each."""
    cutoff = pd.Timestamp("2024-01-01")
    ts = pd.Series([pd.Timestamp(x) for x in ("2023-12-01", "2023-12-01 10:00", "2023-12-02", "2023-12-02", "2023-12-03")])
    orders = pd.DataFrame({
        "customer_id": pd.array(["A"] * 5, dtype="string"),
        "ts": ts.astype("datetime64[us]"),
        "amount": [10.0, 5.0, 7.0, 7.0, -3.0],
        "order_id": pd.array(["X", "X", None, None, "X"], dtype="string"),
    })
    pop = pd.DataFrame({"customer_id": pd.array(["A"], dtype="string"), "cutoff": [cutoff]}).astype(
        {"cutoff": "datetime64[us]"}
    )
    out = compare({"orders": orders}, pop, CONFIGS["w30-90-180-365_t90"])
    assert out.loc[0, "orders_90"] == 3.0  # X, and each id-less row
    assert out.loc[0, "orders_30"] == 2.0  # Dec 1 is 31 days old: only the two id-less rows
    assert out.loc[0, "revenue_90"] == 26.0
    assert out.loc[0, "recency_days"] == 30.0
    assert out.loc[0, "returns_365"] == 1.0
    assert out.loc[0, "ipt_mean_days"] == 1.0  # positive days Dec 1, Dec 2 (the return day does not count)


def test_duplicate_population_pairs_are_rejected() -> None:
    tables = make_history(5, seed=1)
    cid = tables["customers"]["customer_id"].iloc[0]
    pop = pd.DataFrame({
        "customer_id": pd.array([cid, cid], dtype="string"),
        "cutoff": pd.to_datetime(["2024-01-01", "2024-01-01"]).astype("datetime64[us]"),
    })
    with pytest.raises(ValueError, match=r"duplicate \(customer_id, cutoff\) pairs"):
        build_features(tables, pop, FeaturesConfig())


def test_the_same_history_gives_bit_identical_features() -> None:
    """Rerunning a run gives the same list: sums of floating-point money must not depend on the order in which
    parallel threads add them (with DuckDB's default threads, revenue sums differed in the last bits between
    two builds of this history)."""
    rng = np.random.default_rng(5)
    n, customers = 600_000, 20_000
    ids = pd.array([f"C{i:05d}" for i in rng.integers(0, customers, n)], dtype="string")
    ts = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.uniform(0, 700, n), unit="D")
    amount = np.round(rng.lognormal(5, 1.5, n), 2) * np.where(rng.random(n) < 0.05, -0.3, 1.0)
    orders = pd.DataFrame({"customer_id": ids, "ts": ts.astype("datetime64[us]"), "amount": amount,
                           "discount": np.round(rng.uniform(0, 0.2, n), 3), "margin": np.round(amount * 0.3, 2)})
    population = pd.DataFrame({"customer_id": pd.array(sorted(set(ids)), dtype="string")}).assign(
        cutoff=pd.Timestamp("2024-12-01"))
    first = build_features({"orders": orders}, population, FeaturesConfig())
    again = build_features({"orders": orders}, population, FeaturesConfig())
    pd.testing.assert_frame_equal(first, again, check_exact=True)


@pytest.mark.parametrize("variant", ["full", "orders_without_order_id_discount_margin", "orders_only"])
def test_features_from_parquet_files_equal_features_from_dataframes_cell_by_cell(variant: str, tmp_path) -> None:
    """A history too large for pandas is read by DuckDB from its Parquet files (in parts): the same features."""
    from churn.features import ParquetTable

    cfg = CONFIGS["w30-90-180-365_t90"]
    full = _history(seed=11, n=60)
    tables = full if variant == "full" else VARIANTS[variant](full)
    pop = _population(full, cfg, seed=11, per_customer=4)
    files = {}
    for name, frame in tables.items():
        half = len(frame) // 2  # two parts, as a large history is written block by block
        parts = [frame.iloc[:half], frame.iloc[half:]]
        for i, part in enumerate(parts):
            part.to_parquet(tmp_path / f"{name}_{i}.parquet", index=False)
        files[name] = ParquetTable.of(*(tmp_path / f"{name}_{i}.parquet" for i in range(2)))
    from_frames = build_features(tables, pop, cfg)
    from_files = build_features(files, pop, cfg)
    pd.testing.assert_frame_equal(from_files, from_frames, check_exact=True)


@pytest.mark.parametrize(("source", "ranges", "workers"), [
    ("dataframes", 5, 1), ("dataframes", 5, 2), ("parquet", 5, 1), ("parquet", 5, 2),
    ("parquet", "one per customer", 2),  # the large-history path, each range as small as it gets (~9 s)
])
def test_features_computed_by_customer_range_equal_one_pass_cell_by_cell(
    source: str, ranges: int | str, workers: int, tmp_path
) -> None:
    """A large table is read in ranges of customer ids, some at the same time: every customer's rows lie in one
    range, in their order, so the features are the same bits as in one pass (and no customer is lost or twice)."""
    from churn.features import ParquetTable, _build

    cfg = CONFIGS["w30-90-180-365_t90"]
    tables = _history(seed=12, n=60)
    pop = _population(tables, cfg, seed=12, per_customer=4)
    # the orders joined to their customers' cutoffs, split into about `ranges` parts (the other tables into fewer)
    joined = len(tables["orders"]) * len(pop) / pop["customer_id"].nunique()
    partition_rows = 1 if ranges == "one per customer" else int(joined / ranges) + 1
    if source == "parquet":
        for name, frame in tables.items():
            frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
        tables = {name: ParquetTable.of(tmp_path / f"{name}.parquet") for name in tables}
    one_pass = build_features(tables, pop, cfg)
    expected = pop["customer_id"].nunique() if ranges == "one per customer" else ranges
    assert len(_build._customer_ranges(pop, -(-int(joined) // partition_rows))) == expected  # several, for real
    ranged = build_features(tables, pop, cfg.model_copy(update={"partition_rows": partition_rows,
                                                                "workers": workers}))
    pd.testing.assert_frame_equal(ranged, one_pass, check_exact=True)


def test_a_table_is_split_by_its_rows_joined_to_the_customers_cutoffs(monkeypatch) -> None:
    """Training joins every row to each of its customer's cutoffs: the ranges are counted on that join (at 1M
    customers and 11 cutoffs, ranges counted on order lines alone left DuckDB holding 11x the rows asked)."""
    from churn.features import _build

    counts = []
    real = _build._customer_ranges
    monkeypatch.setattr(_build, "_customer_ranges", lambda pop, count: counts.append(count) or real(pop, count))
    cfg = CONFIGS["w30-90-180-365_t90"]
    tables = _history(seed=12, n=60)
    pop = _population(tables, cfg, seed=12, per_customer=4)
    per_customer = len(pop) / pop["customer_id"].nunique()
    rows = len(tables["orders"])
    build_features(tables, pop, cfg.model_copy(update={"partition_rows": rows}))
    assert per_customer > 2 and counts[0] == -(-int(rows * per_customer) // rows) > 1  # orders come first


@pytest.mark.parametrize("count", [1, 2, 5, 1000])
def test_customer_ranges_split_the_population_into_contiguous_ranges(count: int) -> None:
    from churn.features._build import _customer_ranges

    ids = [f"C{i:03d}" for i in range(50)]
    pop = pd.DataFrame({"customer_id": pd.array(ids[::-1], dtype="string"), "cutoff": pd.Timestamp("2024-01-01")})
    ranges = _customer_ranges(pop, count)
    assert len(ranges) == min(count, len(ids))
    assert ranges[0][0] is None and ranges[-1][1] is None
    assert all(high == low for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False))
    assert sum(1 for low, high in ranges for i in ids if (low is None or i >= low) and (high is None or i < high)) == 50
