"""A seeded, reproducible sample history of a pharmaceutical distributor.

`generate_history` invents customers (hospitals, pharmacies, clinics, distributors), their
orders, rep contacts, tickets, surveys and the company's past retention campaigns. About 30% of customers stop buying during the
period, and each causal churner shows the symptoms of its loss cause for weeks before the
stop (price: tickets about price, shrinking discounts; service: slow tickets; quality:
returns; engagement: reps stop calling). Stayers get the same symptoms more weakly now and
then ("scares"), so symptoms alone never give the answer away. The hidden truth comes back
alongside the tables so models and explanations can be scored against it.

Needs: besides any bad patch, 55% of customers are sensitive to price, service or quality all along (the
truth's `need`; `NEED_P`): the need's survey sub-score runs 1.5 points lower, the customer complains about it
more, a quality-sensitive customer returns more, and a price-sensitive one orders twice as much when an order
falls under one of the promotions everyone gets now and then (a quarter of orders, 8 points more discount).
Needs are drawn apart from loss causes: a price-sensitive customer may still leave over service.

Past campaigns (the `campaigns` table): every month from the second year on, the company's old
rule flags customers in a bad patch (the likelier the further it has gone) plus a few others at
random, none flagged in the last 90 days, gives each the action its segment gets
(`CAMPAIGN_ACTIONS`) and holds out 30% at random. A treated churner whose stop lies within the
next 90 days is saved with the probability `CAMPAIGN_EFFECT[action, cause]`
(the action works best on fading engagement, not at all on a sudden loss); held-out customers
are left alone. The truth's `saved_by` names the action that saved a customer.

Loss reasons (the `loss_reasons` table): for 60% of the lost customers (90% of key accounts) an exit
survey or the account manager's note records why, 2-10 weeks after the last order; 85% name the true
cause, the rest another one.

Events are vectorised across all customers at once (candidates of a Poisson process, thinned
by a time-varying intensity); nothing loops over days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from churn.config import DemoConfig

__all__ = ["DemoHistory", "generate_history"]

DAY_S = 86_400
MONTH = 30.44  # days; rates below are per month

SEGMENTS = ("hospital", "pharmacy", "clinic", "distributor")
HOSPITAL, PHARMACY, CLINIC, DISTRIBUTOR = range(4)
SEGMENT_P = np.array([0.22, 0.40, 0.28, 0.10])
ORDERS_PER_MONTH = np.array([6.0, 4.0, 2.0, 10.0])
ORDER_MEDIAN = np.array([5_000.0, 800.0, 400.0, 20_000.0])
# Lines per order (1, 2, 3): bigger buyers put more products on one order.
LINES_P = np.array([[0.72, 0.20, 0.08], [0.80, 0.16, 0.04], [0.88, 0.10, 0.02], [0.60, 0.28, 0.12]])
DISCOUNT_SHIFT = np.array([0.01, 0.0, -0.01, 0.04])

REGIONS = ("North", "Northeast", "East", "South", "Central", "West")
REGION_P = np.array([0.18, 0.10, 0.26, 0.20, 0.14, 0.12])
N_OWNERS = 40

PRODUCTS = ("antibiotics", "cardiovascular", "oncology", "vaccines", "diabetes", "respiratory", "OTC", "medical devices")
UNIT_PRICE = np.array([30.0, 45.0, 600.0, 80.0, 60.0, 40.0, 12.0, 250.0])
PRODUCT_MARGIN = np.array([0.29, 0.30, 0.33, 0.27, 0.30, 0.30, 0.32, 0.31])
# Segment product mix (rows: segments); customers scatter around it.
PRODUCT_MIX = np.array(
    [
        [0.20, 0.16, 0.18, 0.08, 0.12, 0.10, 0.04, 0.12],
        [0.12, 0.16, 0.02, 0.06, 0.16, 0.12, 0.34, 0.02],
        [0.24, 0.12, 0.01, 0.16, 0.12, 0.14, 0.16, 0.05],
        [0.16, 0.15, 0.10, 0.10, 0.13, 0.12, 0.14, 0.10],
    ]
)

CAUSES = ("none", "price", "service", "quality", "engagement", "sudden")
NONE, PRICE, SERVICE, QUALITY, ENGAGEMENT, SUDDEN = range(6)
CHURN_SHARE = 0.30
CAUSE_P = np.array([0.25, 0.25, 0.20, 0.18, 0.12])  # price, service, quality, engagement, sudden
SCARE_SHARE = 0.20
SCARE_W = 0.5  # scares show their cause's symptoms at half intensity

# Needs: what a customer is most sensitive to, whether or not it ever leaves (none, price, service, quality).
# It shows all along, not only in a bad patch: the need's survey sub-score runs lower, the customer complains
# about it more, a quality-sensitive customer returns more, a price-sensitive one orders far more on promotion.
# Needs and loss causes are drawn apart: a need is a standing trait, a cause what went wrong in the end.
NEED_P = np.array([0.45, 0.22, 0.18, 0.15])  # none, price, service, quality
NEED_SCORE_GAP = 1.5  # survey points
NEED_TICKETS = 0.15  # extra tickets a month in the need's categories (x the customer's ticket habit)
NEED_RETURNS = 0.04  # extra chance an order line is partly returned (quality)
PROMO_P = 0.25  # share of orders placed under a promotion, for everyone
PROMO_DISCOUNT = 0.08  # a promotion's extra discount
PROMO_LIFT = 2.0  # a price-sensitive customer's order under a promotion is this much larger

# Past retention campaigns: action by segment (key accounts first), with the playbook's names and costs.
CAMPAIGN_ACTIONS = ("ka_business_review", "rep_visit", "reengagement_call", "auto_reengagement")
CAMPAIGN_COST = np.array([1000.0, 250.0, 40.0, 2.0])
CAMPAIGN_BY_SEGMENT = np.array([1, 2, 3, 1])  # hospital, pharmacy, clinic, distributor (key accounts: 0)
# True chance that a treated churner is saved, by action (rows) and cause (price, service, quality,
# engagement, sudden): personal contact works best on fading engagement, e-mail hardly at all.
CAMPAIGN_EFFECT = np.array(
    [
        [0.50, 0.60, 0.40, 0.80, 0.0],
        [0.40, 0.50, 0.30, 0.70, 0.0],
        [0.20, 0.30, 0.15, 0.45, 0.0],
        [0.03, 0.05, 0.03, 0.15, 0.0],
    ]
)
CAMPAIGN_EVERY_MONTHS = 1
CAMPAIGN_COOL_DOWN = 90  # days: a customer flagged (treated or held out) is not flagged again sooner
CAMPAIGN_HOLDOUT = 0.3
CAMPAIGN_NOTICED = 0.9  # share of customers deep in a bad patch that the old rule flags ...
CAMPAIGN_LATE = 2.0  # ... x (share of the patch gone by) ** this: late trouble is plainer
CAMPAIGN_BROAD = 0.02  # share of the other active customers flagged as well
CAMPAIGN_REACH = 90  # days: a churner whose stop is further off is not yet reachable

TICKET_CATEGORIES = ("quality", "service", "delivery", "price", "billing", "other")
T_QUALITY, T_SERVICE, T_DELIVERY, T_PRICE, T_BILLING, T_OTHER = range(6)
TICKET_MIX = np.array([0.12, 0.20, 0.25, 0.10, 0.23, 0.10])
COMPLAINT_P = np.array([0.70, 0.60, 0.50, 0.50, 0.35, 0.15])
TICKETS_PER_MONTH = np.array([0.45, 0.25, 0.12, 0.70])
# Categories of the extra tickets a cause brings, by cause code.
SYMPTOM_TICKETS = {PRICE: [(T_PRICE, 0.6), (T_BILLING, 0.4)], SERVICE: [(T_SERVICE, 0.5), (T_DELIVERY, 0.5)], QUALITY: [(T_QUALITY, 1.0)]}

# Contact channels: (channel, direction, monthly rate by segment, key-account rate, hours, weekday weights).
CHANNELS = ("visit", "call", "email", "meeting", "event")
DIRECTIONS = ("outbound", "inbound")
OFFICE = np.array([1, 1, 1, 1, 1, 0.08, 0.02])
CONTACTS = (
    ("visit", "outbound", (1.2, 0.4, 0.15, 1.2), 4.3, (9, 17), OFFICE),
    ("call", "outbound", (2.0, 1.0, 0.6, 2.5), 4.0, (8.5, 18.5), OFFICE),
    ("email", "outbound", (1.0, 0.6, 0.4, 1.5), 3.0, (7, 23), np.array([1, 1, 1, 1, 1, 0.15, 0.1])),
    ("call", "inbound", (1.2, 0.6, 0.3, 1.5), 2.5, (8, 19), OFFICE),
    ("email", "inbound", (0.4, 0.2, 0.1, 0.8), 1.0, (7, 23), np.array([1, 1, 1, 1, 1, 0.3, 0.2])),
    ("meeting", "outbound", (0.25, 0.03, 0.03, 0.1), 0.5, (9, 18), OFFICE),
    ("meeting", "inbound", (0.05, 0.0, 0.0, 0.03), 0.1, (9, 18), OFFICE),
    # Academic events often run over weekends.
    ("event", "outbound", (0.12, 0.03, 0.04, 0.05), 0.3, (9, 20), np.array([0.6, 0.6, 0.6, 0.6, 1, 1.5, 1])),
)

SURNAMES = ("Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo")
GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jun", "Yan", "Hui", "Qiang", "Xin", "Tao", "Ming", "Hong", "Ping", "Gang", "Hua", "Yu", "Chao")
NAME_STEMS = (
    "Renhe", "Kangning", "Tongji", "Xiehe", "Huaxi", "Ruijin", "Zhongshan", "Anzhen", "Yikang", "Jiahe", "Minsheng",
    "Baiyun", "Tiantan", "Huashan", "Fuxing", "Shengli", "Hengan", "Yongan", "Jinxiu", "Deren", "Taikang", "Guanghua",
)
NAME_KINDS = (
    ("Hospital", "People's Hospital", "Central Hospital", "Women and Children's Hospital"),
    ("Pharmacy", "Drugstore", "Pharmacy Chain"),
    ("Clinic", "Community Health Center", "Family Clinic"),
    ("Medical Trading Co.", "Pharma Distribution", "Medicine Logistics"),
)

# Unparseable by any date parser (a day-first string would still parse under some settings).
BAD_TS = ("2025-13-45 10:12:00", "n/a", "2024-02-30 09:00:00", "0000-00-00 00:00:00", "#VALUE!")


@dataclass(frozen=True)
class DemoHistory:
    """Canonical tables, hidden per-customer truth, and counts of injected bad rows."""

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    injected: dict[str, int]


@dataclass(frozen=True)
class _Latent:
    """Hidden per-customer state; times are days since cfg.start (floats)."""

    start: dt.date
    T: int  # days in [start, end)
    seg: np.ndarray
    region: np.ndarray
    owner: np.ndarray
    owner_names: np.ndarray
    key: np.ndarray
    signup: np.ndarray  # may be negative (before start)
    first: np.ndarray  # max(signup, 0): the customer's history starts here
    size: np.ndarray
    order_rate: np.ndarray  # orders per day at normal intensity
    trend: np.ndarray  # log growth per year
    disc_base: np.ndarray
    pref: np.ndarray  # product preferences, one row per customer
    contact: np.ndarray  # how much contact this customer gets/asks for
    owner_factor: np.ndarray  # reps differ in diligence
    survey_p: np.ndarray
    survey_phase: np.ndarray
    mood: np.ndarray  # customer's baseline satisfaction offset
    churn: np.ndarray
    cause: np.ndarray  # cause code of the churn or scare episode, NONE without one
    need: np.ndarray  # cause code of the customer's need (NONE, PRICE, SERVICE or QUALITY)
    ep_lo: np.ndarray  # episode [ep_lo, ep_hi): onset..stop for churners, the scare for stayers
    ep_hi: np.ndarray
    stop: np.ndarray  # stop date s (inf for stayers)
    seas: np.ndarray  # order seasonality per day
    wday: np.ndarray  # weekday (Mon=0) per day


@dataclass(frozen=True)
class Block:
    """One block of a large sample business (`history_blocks`): its number, the number of its first customer and
    the whole business's size (customer ids are numbered across blocks; planted unknown customers lie past all)."""

    number: int
    first_customer: int
    population: int


def generate_history(cfg: DemoConfig, block: Block | None = None) -> DemoHistory:
    """Generate the sample history for `cfg`; the same cfg always gives the same output. With `block`, the
    `cfg.n_customers` customers of one block of a larger business (`history_blocks`)."""
    T = (cfg.end - cfg.start).days
    if T < 365:
        raise ValueError(f"demo period {cfg.start}..{cfg.end} is shorter than a year")
    # Independent streams per table: changing how one table is drawn leaves the others alone,
    # and error injection never shifts the clean data.
    # (Streams added later come last, so the earlier ones draw what they always drew.)
    seed = cfg.seed if block is None else np.random.SeedSequence([cfg.seed, block.number])
    streams = np.random.default_rng(seed).spawn(11)
    r_cust, r_ord, r_int, r_tix, r_srv, r_err, r_camp, r_why, r_need, r_promo, r_gripe = streams
    lat = _latent(r_cust, cfg, T, r_need)
    if block is not None:  # one roster of account managers for the whole business (owner k covers one region)
        lat = replace(lat, owner_names=_owner_names(np.random.default_rng(cfg.seed), lat.owner_names.size))
    lat, campaigns, saved_by = _campaigns(r_camp, lat)
    first, population = (1, cfg.n_customers) if block is None else (block.first_customer, block.population)
    width = max(5, len(str(population + 1000)))
    ids = _ids("C", np.arange(first, first + cfg.n_customers), width)
    order_prefix = "SO" if block is None else f"SO{block.number:04d}-"
    tables = {
        "customers": _customers(r_cust, lat, ids),
        "orders": _orders(r_ord, lat, ids, r_promo, order_prefix),
        "interactions": _interactions(r_int, lat, ids),
        "tickets": _tickets(r_tix, lat, ids, r_gripe, cfg.activity),
        "surveys": _surveys(r_srv, lat, ids),
        "campaigns": _campaign_table(campaigns, lat, ids),
        "loss_reasons": _loss_reasons(r_why, lat, ids),
    }
    injected = {k: 0 for k in _ERROR_KINDS}
    if cfg.inject_errors:
        injected = _inject_errors(r_err, tables, lat, width, population, order_prefix)
    truth = _truth(lat, ids).assign(saved_by=_str(np.where(saved_by >= 0, np.array(CAMPAIGN_ACTIONS)[saved_by], "")))
    truth["saved_by"] = truth["saved_by"].mask(truth["saved_by"] == "")
    return DemoHistory(tables=tables, truth=truth, injected=injected)


def history_blocks(cfg: DemoConfig, customers: int, block_size: int = 10_000):
    """A sample business of `customers` customers, one block of at most `block_size` at a time (each a
    `DemoHistory` of its own customers, seeded by its number): what a history too large to hold in memory is
    written from, block by block. The demo's causal world, so causes stay checkable (each block's truth)."""
    if customers < 50 or block_size < 50:
        raise ValueError("a large history needs at least 50 customers, and blocks of at least 50")
    for number, first in enumerate(range(1, customers + 1, block_size)):
        size = min(block_size, customers - first + 1)
        if size < 50:  # the generator's smallest business
            raise ValueError(f"the last block would hold {size} customers: choose a block size that leaves 50+")
        yield generate_history(cfg.model_copy(update={"n_customers": size}), Block(number, first, customers))


def weekly_runs(demo: DemoConfig, horizon_days: int, weeks: int) -> tuple[list[dt.date], dt.date]:
    """`churn demo --weeks N`: the as-of dates of N weekly runs, the last one a horizon before the demo's end (so
    every run's horizon has passed), and the day the deliberate shift starts."""
    if weeks < 2:
        raise ValueError(f"--weeks needs at least 2 weekly runs, got {weeks}")
    last = demo.end - dt.timedelta(days=horizon_days)
    runs = [last - dt.timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    if runs[0] - dt.timedelta(days=365) < demo.start:
        raise ValueError(f"{weeks} weekly runs before {last} start on {runs[0]}, less than a year after the demo's "
                         f"start {demo.start}: fewer weeks, or an earlier demo.start")
    return runs, last - dt.timedelta(days=demo.shift.days_before_last_run)


def shift_order_sizes(tables: dict[str, pd.DataFrame], region: str, start: dt.date, factor: float
                      ) -> tuple[dict[str, pd.DataFrame], int]:
    """The history with a deliberate shift for `churn demo --weeks`: from `start` on, the orders of the customers
    in `region` are `factor` times as large (amount and margin; the same quantities and discount rate), as after
    a price list change. Returns the new tables (the input is not changed) and how many orders moved.
    Rows whose customer, date or amount does not parse (the demo's injected errors) are left as they are."""
    customers, orders = tables["customers"], tables["orders"]
    if region not in set(customers["region"].dropna()):
        raise ValueError(f"the demo has no region {region!r}: one of {sorted(customers['region'].dropna().unique())}")
    inside = set(customers.loc[customers["region"] == region, "customer_id"])
    when = pd.to_datetime(orders["ts"], errors="coerce", format="mixed", utc=True)
    moved = (orders["customer_id"].isin(inside) & (when >= pd.Timestamp(start, tz="UTC"))
             & orders["amount"].notna()).to_numpy()
    shifted = orders.copy()
    for column in ("amount", "margin"):
        shifted[column] = np.where(moved, orders[column] * factor, orders[column])
    return {**tables, "orders": shifted}, int(moved.sum())


# --------------------------------------------------------------------------- customers


def _latent(rng: np.random.Generator, cfg: DemoConfig, T: int, r_need: np.random.Generator) -> _Latent:
    n = cfg.n_customers
    seg = rng.choice(4, n, p=SEGMENT_P)
    region = rng.choice(len(REGIONS), n, p=REGION_P)

    # Owners: ~40 account managers, each covering one region; books differ in size.
    per_region = _allocate(N_OWNERS, REGION_P, minimum=2)
    owner_region = np.repeat(np.arange(len(REGIONS)), per_region)
    owner_names = _owner_names(rng, owner_region.size)
    owner = np.empty(n, dtype=np.int64)
    for r in range(len(REGIONS)):
        mine = np.flatnonzero(owner_region == r)
        book = rng.dirichlet(np.full(mine.size, 4.0))
        at = region == r
        owner[at] = rng.choice(mine, at.sum(), p=book)
    owner_factor = rng.uniform(0.7, 1.3, owner_region.size)[owner]

    size = rng.lognormal(0.0, 0.5, n)
    big = (seg == HOSPITAL) | (seg == DISTRIBUTOR)
    cut = np.quantile(size[big], 0.85) if big.any() else np.inf
    key = (big & (size >= cut)) | (rng.random(n) < 0.007)

    signup = rng.integers(-730, T - 120 + 1, n)
    first = np.maximum(signup, 0)
    order_rate = (ORDERS_PER_MONTH[seg] / MONTH * rng.gamma(3.0, 1 / 3, n) * size**0.25 * np.where(key, 1.3, 1.0)
                  * cfg.activity)
    trend = rng.normal(0.0, 0.1, n)
    disc_base = rng.uniform(0.08, 0.12, n) + DISCOUNT_SHIFT[seg] + 0.02 * key
    pref = rng.gamma(PRODUCT_MIX[seg] * 10)
    pref /= pref.sum(axis=1, keepdims=True)

    # Churn: key accounts are stickier, small clinics less so; rescaled to keep ~30% overall.
    lean = np.array([0.9, 1.05, 1.15, 0.85])[seg] * np.where(key, 0.5, 1.0)
    churn = rng.random(n) < np.clip(CHURN_SHARE * lean / lean.mean(), 0, 1)
    cause = np.where(churn, rng.choice(np.arange(PRICE, SUDDEN + 1), n, p=CAUSE_P), NONE)
    need = r_need.choice(np.array([NONE, PRICE, SERVICE, QUALITY]), n, p=NEED_P)
    lo = np.maximum(182, first + 90)
    stop = np.floor(lo + rng.random(n) * (T + 60 - lo))
    lag = np.where(cause == ENGAGEMENT, rng.uniform(120, 220, n), rng.uniform(60, 150, n))
    onset = np.maximum(np.floor(stop - lag), first)
    ep_lo = np.where(churn, np.where(cause == SUDDEN, stop, onset), 0.0)
    ep_hi = np.where(churn, stop, 0.0)
    stop = np.where(churn, stop, np.inf)

    # Scares: some stayers go through a bad patch with one cause's symptoms, then recover.
    scare = ~churn & (rng.random(n) < SCARE_SHARE)
    scare_cause = rng.choice(np.arange(PRICE, ENGAGEMENT + 1), n, p=CAUSE_P[:4] / CAUSE_P[:4].sum())
    scare_lo = np.floor(first + rng.random(n) * (T - 30 - first))
    scare_hi = np.minimum(scare_lo + rng.uniform(30, 90, n), T)
    cause = np.where(scare, scare_cause, cause)
    ep_lo = np.where(scare, scare_lo, ep_lo)
    ep_hi = np.where(scare, scare_hi, ep_hi)

    days = np.datetime64(cfg.start, "D") + np.arange(T)
    doy = (days - days.astype("M8[Y]")).astype(np.int64)
    return _Latent(
        start=cfg.start,
        T=T,
        seg=seg,
        region=region,
        owner=owner,
        owner_names=owner_names,
        key=key,
        signup=signup,
        first=first,
        size=size,
        order_rate=order_rate,
        trend=trend,
        disc_base=disc_base,
        pref=pref,
        contact=rng.gamma(4.0, 0.25, n) * cfg.activity,
        owner_factor=owner_factor,
        survey_p=rng.beta(6, 4, n),
        survey_phase=rng.uniform(0, 91.3, n),
        mood=rng.normal(0.0, 0.75, n),
        churn=churn,
        cause=cause,
        need=need,
        ep_lo=ep_lo,
        ep_hi=ep_hi,
        stop=stop,
        seas=_seasonality(doy),
        wday=(days.astype(np.int64) + 3) % 7,  # 1970-01-01 was a Thursday
    )


def _seasonality(doy: np.ndarray) -> np.ndarray:
    """Order seasonality: a winter high and a Spring Festival trough (late Jan - Feb)."""

    def shape(d: np.ndarray) -> np.ndarray:
        return 1 + 0.08 * np.cos(2 * np.pi * (d - 340) / 365.25) - 0.35 * np.exp(-0.5 * ((d - 38) / 9) ** 2)

    return shape(doy) / shape(np.arange(365)).mean()


def _allocate(total: int, p: np.ndarray, minimum: int) -> np.ndarray:
    """Split `total` into integer parts proportional to p, each at least `minimum`."""
    spare = total - minimum * p.size
    raw = spare * p / p.sum()
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(out - raw)[: spare - out.sum()]] += 1
    return out + minimum


def _owner_names(rng: np.random.Generator, k: int) -> np.ndarray:
    pairs = rng.choice(len(SURNAMES) * len(GIVEN), k, replace=False)
    return np.array([f"AM-{i + 1:02d} {SURNAMES[p // len(GIVEN)]} {GIVEN[p % len(GIVEN)]}" for i, p in enumerate(pairs)])


def _customers(rng: np.random.Generator, lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    stems = rng.integers(0, len(NAME_STEMS), n)
    kinds = rng.integers(0, 12, n)  # reduced modulo each segment's list below
    names = [
        f"{NAME_STEMS[s]} {NAME_KINDS[g][k % len(NAME_KINDS[g])]} {i + 1}"
        for i, (s, g, k) in enumerate(zip(stems, lat.seg, kinds, strict=True))
    ]
    signup = np.datetime_as_string(np.datetime64(lat.start, "D") + lat.signup, unit="D")
    return pd.DataFrame(
        {
            "customer_id": _str(ids),
            "name": _str(np.array(names)),
            "segment": _cat(lat.seg, SEGMENTS),
            "region": _cat(lat.region, REGIONS),
            "owner": _cat(lat.owner, lat.owner_names),
            "signup_date": _str(signup),
            "is_key_account": lat.key,
            # Non-contractual business: nobody formally cancels, so this stays empty.
            "churn_date": pd.Series([None] * n, dtype="str"),
        }
    )


def _truth(lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    base = np.datetime64(lat.start, "ns")
    stop = np.where(lat.churn, lat.stop, 0).astype(np.int64)
    causal = lat.churn & (lat.cause != SUDDEN)
    onset = np.where(causal, lat.ep_lo, 0).astype(np.int64)
    day = np.timedelta64(1, "D")
    return pd.DataFrame(
        {
            "customer_id": _str(ids),
            "churned": lat.churn.copy(),
            "churn_ts": np.where(lat.churn, base + stop * day, np.datetime64("NaT", "ns")),
            "onset_ts": np.where(causal, base + onset * day, np.datetime64("NaT", "ns")),
            "cause": _cat(np.where(lat.churn, lat.cause, NONE), CAUSES),
            "need": _cat(lat.need, CAUSES),
        }
    )


# --------------------------------------------------------------------------- campaigns


def _campaigns(rng: np.random.Generator, lat: _Latent) -> tuple[_Latent, dict[str, np.ndarray], np.ndarray]:
    """Past monthly campaigns (module docstring): who was flagged, treated or held out, and who
    was saved. Returns the latent state with saved churners turned into stayers, the campaign rows
    (customer index, day, action code, treated) and, per customer, the action code that saved it (-1)."""
    n = lat.first.size
    churn, stop, ep_hi = lat.churn.copy(), lat.stop.copy(), lat.ep_hi.copy()
    saved_by = np.full(n, -1)
    last_flag = np.full(n, -np.inf)
    action = np.where(lat.key, 0, CAMPAIGN_BY_SEGMENT[lat.seg])
    first = np.datetime64(lat.start, "M") + 12  # from the second year on
    months = np.arange(first, first + lat.T // 28, CAMPAIGN_EVERY_MONTHS).astype("M8[D]")
    days = (months - np.datetime64(lat.start, "D")).astype(np.int64).astype(float)
    rows = []
    for d in days[days <= lat.T - 30]:
        active = (lat.first <= d) & (d < stop) & (d - last_flag >= CAMPAIGN_COOL_DOWN)
        bad_patch = active & (lat.ep_lo <= d) & (d < ep_hi)
        # The worse the patch has become, the likelier the old rule notices it.
        ramp = np.clip((d - lat.ep_lo) / np.maximum(ep_hi - lat.ep_lo, 1.0), 0.0, 1.0)
        u = rng.random(n)
        flagged = np.flatnonzero(np.where(bad_patch, u < CAMPAIGN_NOTICED * ramp ** CAMPAIGN_LATE,
                                          active & (u < CAMPAIGN_BROAD)))
        last_flag[flagged] = d
        treated = rng.random(flagged.size) >= CAMPAIGN_HOLDOUT
        cause = np.clip(lat.cause[flagged] - PRICE, 0, SUDDEN - PRICE)
        reachable = churn[flagged] & (stop[flagged] > d) & (stop[flagged] - d <= CAMPAIGN_REACH)
        p_save = CAMPAIGN_EFFECT[action[flagged], cause]
        saved = flagged[treated & reachable & (rng.random(flagged.size) < p_save)]
        churn[saved] = False
        stop[saved] = np.inf
        ep_hi[saved] = np.maximum(lat.ep_lo[saved], np.minimum(ep_hi[saved], d + 14))  # recovery within two weeks
        saved_by[saved] = action[saved]
        rows.append((flagged, np.full(flagged.size, d), action[flagged], treated))
    ci, day, act, treated = (np.concatenate(p) for p in zip(*rows, strict=True)) if rows else [np.array([], int)] * 4
    lat = replace(lat, churn=churn, stop=stop, ep_hi=ep_hi)
    return lat, {"ci": ci, "day": day, "action": act, "treated": treated.astype(bool)}, saved_by


def _campaign_table(c: dict[str, np.ndarray], lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    # Deterministic clock (no rng): the campaign rows never shift another table's draws.
    secs = c["day"].astype(np.int64) * DAY_S + 9 * 3600 + (c["ci"] * 7919) % (8 * 3600)
    sort = np.lexsort((c["ci"], secs))
    return pd.DataFrame(
        {
            "customer_id": _cat(c["ci"][sort], ids),
            "ts": _str(_fmt_ts(lat.start, secs[sort])),
            "action": _cat(c["action"][sort], CAMPAIGN_ACTIONS),
            "treated": c["treated"][sort],
            "cost": CAMPAIGN_COST[c["action"][sort]],
        }
    )


# --------------------------------------------------------------------------- loss reasons

REASON_RECORDED = 0.6  # share of lost customers whose reason is recorded (key accounts: REASON_RECORDED_KEY)
REASON_RECORDED_KEY = 0.9
REASON_RIGHT = 0.85  # a recorded reason names the true cause; else another of the four (a rep's guess)
REASON_SOURCES = ("exit survey", "account manager")


def _loss_reasons(rng: np.random.Generator, lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    """Why lost customers left, as a CRM records it: for a share of the churners (more of the key accounts),
    an exit survey or the account manager's lost-reason note 2-10 weeks after the last order, before the
    history ends. It names the true cause most of the time, another cause otherwise; a sudden loss (closed,
    merged) is recorded as "other"."""
    n = lat.churn.size
    recorded = lat.churn & (rng.random(n) < np.where(lat.key, REASON_RECORDED_KEY, REASON_RECORDED))
    day = lat.stop + rng.uniform(14, 75, n)
    guess = PRICE + (lat.cause - PRICE + rng.integers(1, 4, n)) % 4  # one of the three other causes
    said = np.where(rng.random(n) < REASON_RIGHT, lat.cause, guess)
    said = np.where(lat.cause == SUDDEN, SUDDEN, said)
    source = rng.integers(0, len(REASON_SOURCES), n)
    ci = np.flatnonzero(recorded & (day < lat.T))
    secs = np.floor(day[ci]).astype(np.int64) * DAY_S + 10 * 3600
    sort = np.lexsort((ci, secs))
    ci, secs = ci[sort], secs[sort]
    labels = [*CAUSES[:SUDDEN], "other"]  # "sudden" is recorded as "other"
    return pd.DataFrame(
        {
            "customer_id": _cat(ci, ids),
            "ts": _str(_fmt_ts(lat.start, secs)),
            "cause": _cat(said[ci], labels),
            "source": _cat(source[ci], REASON_SOURCES),
        }
    )


# --------------------------------------------------------------------------- dynamics


def _episode(lat: _Latent, ci: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The episode cause of each event's customer and its symptom intensity (0..1) at t."""
    lo, hi = lat.ep_lo[ci], lat.ep_hi[ci]
    inside = (t >= lo) & (t < hi)
    ramp = np.clip((t - lo) / np.maximum(hi - lo, 1.0), 0.0, 1.0)
    cause = lat.cause[ci]
    # Price/service/quality trouble is plain from the onset and worsens; neglect creeps in
    # (fast at first: once the rep stops coming, the relationship goes quiet quickly).
    w_churn = np.where(cause == ENGAGEMENT, np.sqrt(ramp), 0.7 + 0.3 * ramp)
    w = np.where(lat.churn[ci], w_churn, SCARE_W)
    return cause, np.where(inside, w, 0.0)


def _order_level(lat: _Latent, ci: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Order-rate multiplier: gradual decline from onset to stop, a dip during scares."""
    lo, hi = lat.ep_lo[ci], lat.ep_hi[ci]
    inside = (t >= lo) & (t < hi)
    ramp = np.clip((t - lo) / np.maximum(hi - lo, 1.0), 0.0, 1.0)
    m = np.where(inside, np.where(lat.churn[ci], 1.0 - 0.65 * ramp, 0.85), 1.0)
    return np.where(t >= lat.stop[ci], 0.0, m)


def _candidates(
    rng: np.random.Generator, rate: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Homogeneous Poisson events per customer on [lo, hi): (customer index, time)."""
    span = np.maximum(hi - lo, 0.0)
    ci = np.repeat(np.arange(rate.size), rng.poisson(rate * span))
    return ci, lo[ci] + rng.random(ci.size) * span[ci]


def _clock(rng: np.random.Generator, day: np.ndarray, hours: tuple[float, float]) -> np.ndarray:
    """Seconds since start: the given days at a random time within office hours."""
    tod = rng.integers(int(hours[0] * 3600), int(hours[1] * 3600), day.size)
    return day.astype(np.int64) * DAY_S + tod


# --------------------------------------------------------------------------- orders


def _orders(rng: np.random.Generator, lat: _Latent, ids: np.ndarray, r_promo: np.random.Generator,
            prefix: str = "SO") -> pd.DataFrame:
    weekday = np.array([1, 1, 1, 1, 1, 0.35, 0.15])
    weekday = weekday / weekday.mean()
    peak = lat.seas.max() * weekday.max() * np.exp(np.abs(lat.trend) * lat.T / 730)
    hi = np.minimum(lat.stop, lat.T)  # nothing is ordered at or after the stop date
    ci, t = _candidates(rng, lat.order_rate * peak, lat.first.astype(float), hi)
    day = t.astype(np.int64)
    level = lat.seas[day] * weekday[lat.wday[day]] * np.exp(lat.trend[ci] * (t - lat.T / 2) / 365)
    keep = rng.random(t.size) * peak[ci] < level * _order_level(lat, ci, t)
    ci, t, day = ci[keep], t[keep], day[keep]
    secs = _clock(rng, day, (8, 18))
    order_no = np.empty(ci.size, np.int64)
    order_no[np.lexsort((ci, secs))] = np.arange(ci.size)

    # Lines: 1-3 distinct products per order, picked by Gumbel top-k on the customer's mix.
    cum = LINES_P[lat.seg[ci]].cumsum(axis=1)
    k = 1 + (rng.random(ci.size)[:, None] > cum[:, :2]).sum(axis=1)
    top = np.argsort(-(np.log(lat.pref[ci]) + rng.gumbel(size=(ci.size, len(PRODUCTS)))), axis=1)
    o = np.repeat(np.arange(ci.size), k)
    rank = np.arange(o.size) - np.repeat(np.cumsum(k) - k, k)
    product = top[o, rank]
    share = rng.gamma(2.0, 1.0, o.size)
    share /= np.bincount(o, share)[o]
    value = ORDER_MEDIAN[lat.seg[ci]] * lat.size[ci] * rng.lognormal(0.0, 0.6, ci.size)
    promo = r_promo.random(ci.size) < PROMO_P
    value = value * np.where(promo & (lat.need[ci] == PRICE), PROMO_LIFT, 1.0)
    lci, lt = ci[o], t[o]

    cause, w = _episode(lat, lci, lt)
    # A price rise shows up as the usual discount melting away.
    w_price = np.where(cause == PRICE, w, 0.0)
    disc = np.clip(lat.disc_base[lci] * (1 - 0.7 * w_price) + PROMO_DISCOUNT * promo[o] + rng.normal(0, 0.01, o.size),
                   0.0, 0.6)
    unit = UNIT_PRICE[product] * rng.uniform(0.9, 1.1, o.size)
    qty = np.maximum(1.0, np.round(value[o] * share / unit))
    amount = qty * unit * (1 - disc)
    margin = amount * (PRODUCT_MARGIN[product] - disc + rng.normal(0, 0.01, o.size))

    # Returns: credit notes a few days later for part of a line; quality trouble multiplies them.
    w_quality = np.where(cause == QUALITY, w, 0.0)
    ret = rng.random(o.size) < 0.02 + NEED_RETURNS * (lat.need[lci] == QUALITY) + 0.35 * w_quality
    ret_t = lt[ret] + rng.uniform(2, 21, ret.sum())
    inside = ret_t < lat.T
    ret_idx = np.flatnonzero(ret)[inside]
    ret_day = ret_t[inside].astype(np.int64)
    ret_secs = _clock(rng, ret_day, (9, 17))
    ret_qty = np.maximum(1.0, np.round(rng.uniform(0.3, 0.9, ret_idx.size) * qty[ret_idx]))
    frac = ret_qty / qty[ret_idx]
    ret_no = np.empty(ret_idx.size, np.int64)
    ret_no[np.lexsort((lci[ret_idx], ret_secs))] = np.arange(ret_idx.size)

    all_secs = np.concatenate([secs[o], ret_secs])
    all_ci = np.concatenate([lci, lci[ret_idx]])
    returns = "RT" + prefix[2:]
    order_ids = np.concatenate([_ids(prefix, order_no[o] + 1, 8), _ids(returns, ret_no + 1, 8)])
    sort = np.lexsort((order_ids, all_secs))
    return pd.DataFrame(
        {
            "order_id": _str(order_ids[sort]),
            "customer_id": _cat(all_ci[sort], ids),
            "ts": _str(_fmt_ts(lat.start, all_secs[sort])),
            "amount": np.round(np.concatenate([amount, -amount[ret_idx] * frac]), 2)[sort],
            "quantity": np.concatenate([qty, -ret_qty])[sort],
            "discount": np.round(np.concatenate([disc, disc[ret_idx]]), 4)[sort],
            "product": _cat(np.concatenate([product, product[ret_idx]])[sort], PRODUCTS),
            "margin": np.round(np.concatenate([margin, -margin[ret_idx] * frac]), 2)[sort],
        }
    )


# --------------------------------------------------------------------------- interactions


def _interactions(rng: np.random.Generator, lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    parts_ci, parts_secs, parts_kind = [], [], []
    for kind, (channel, direction, seg_rate, key_rate, hours, weekday) in enumerate(CONTACTS):
        weekday = weekday / weekday.mean()
        monthly = np.where(lat.key, key_rate, np.asarray(seg_rate)[lat.seg]) * lat.contact
        outbound = direction == "outbound"
        # Bounds on the thinning multiplier below: diligent reps (1.3), complaint calls (1.6).
        peak = weekday.max() * (1.3 if outbound else 1.6)
        ci, t = _candidates(rng, monthly / MONTH * peak, lat.first.astype(float), np.full(ids.size, float(lat.T)))
        day = t.astype(np.int64)
        cause, w = _episode(lat, ci, t)
        w_eng = np.where(cause == ENGAGEMENT, w, 0.0)
        stop = lat.stop[ci]
        gone = t >= stop
        if outbound:
            # Reps drift away from neglected accounts; after the stop, win-back attempts fade out.
            since = np.where(gone, t - np.where(gone, stop, t), 0.0)  # no inf arithmetic for stayers
            m = lat.owner_factor[ci] * (1 - 0.82 * w_eng) * np.where(gone, 0.3 * np.exp(-since / 120), 1.0)
        else:
            # Unhappy customers phone in about their problem; drifting ones simply go quiet.
            w_gripe = np.where((cause >= PRICE) & (cause <= QUALITY), w, 0.0)
            m = (1 - 0.8 * w_eng) * (1 + 0.6 * w_gripe) * np.where(gone, 0.05, 1.0)
        keep = rng.random(t.size) * peak < weekday[lat.wday[day]] * m
        parts_ci.append(ci[keep])
        parts_secs.append(_clock(rng, day[keep], hours))
        parts_kind.append(np.full(keep.sum(), kind))
    ci, secs, kind = (np.concatenate(p) for p in (parts_ci, parts_secs, parts_kind))
    sort = np.lexsort((kind, ci, secs))
    channel = np.array([CHANNELS.index(c[0]) for c in CONTACTS])
    direction = np.array([DIRECTIONS.index(c[1]) for c in CONTACTS])
    return pd.DataFrame(
        {
            "customer_id": _cat(ci[sort], ids),
            "ts": _str(_fmt_ts(lat.start, secs[sort])),
            "channel": _cat(channel[kind[sort]], CHANNELS),
            "direction": _cat(direction[kind[sort]], DIRECTIONS),
        }
    )


# --------------------------------------------------------------------------- tickets


def _symptom_categories(cause: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The ticket category of each of a cause's tickets (`SYMPTOM_TICKETS`), from uniform draws `u`."""
    out = np.empty(cause.size, np.int64)
    for c, mix in SYMPTOM_TICKETS.items():
        at = cause == c
        cats, p = zip(*mix, strict=True)
        out[at] = np.asarray(cats)[np.searchsorted(np.cumsum(p), u[at] * sum(p), side="right").clip(max=len(cats) - 1)]
    return out


def _tickets(rng: np.random.Generator, lat: _Latent, ids: np.ndarray, r_gripe: np.random.Generator,
             activity: float) -> pd.DataFrame:
    n = ids.size
    monthly = TICKETS_PER_MONTH[lat.seg] * np.where(lat.key, 1.5, 1.0) * lat.size**0.3 * rng.gamma(3.0, 1 / 3, n)
    end = np.full(n, float(lat.T))
    # A customer who buys less raises fewer tickets (`demo.activity`); a cause's own complaints do not follow it.
    ci, t = _candidates(rng, monthly * activity / MONTH, lat.first.astype(float), end)
    # After the stop only the odd billing dispute still comes in.
    keep = (t < lat.stop[ci]) | (rng.random(t.size) < 0.1)
    ci, t = ci[keep], t[keep]
    cat = rng.choice(len(TICKET_CATEGORIES), ci.size, p=TICKET_MIX)
    complaint = rng.random(ci.size) < COMPLAINT_P[cat]

    # The cause's own tickets on top, at a rate that dwarfs the background.
    extra = (0.8 + 1.5 * monthly) / MONTH
    sci, st = _candidates(rng, extra, lat.ep_lo, np.minimum(lat.ep_hi, lat.T))
    cause, w = _episode(lat, sci, st)
    keep = (rng.random(st.size) < w) & np.isin(cause, list(SYMPTOM_TICKETS))
    sci, st, cause = sci[keep], st[keep], cause[keep]
    scat = _symptom_categories(cause, rng.random(sci.size))
    # A customer's need brings its own complaints all along, while it buys.
    nci, nt = _candidates(r_gripe, np.where(lat.need != NONE, NEED_TICKETS * (1 + monthly) * activity, 0.0) / MONTH,
                          lat.first.astype(float), np.minimum(lat.stop, lat.T))
    ncat = _symptom_categories(lat.need[nci], r_gripe.random(nci.size))
    ci, t = np.concatenate([ci, sci, nci]), np.concatenate([t, st, nt])
    cat = np.concatenate([cat, scat, ncat])
    complaint = np.concatenate([complaint, rng.random(sci.size) < 0.85, r_gripe.random(nci.size) < 0.8])

    secs = _clock(rng, t.astype(np.int64), (7, 22))
    # Resolution takes 1-5 days normally; a failing service desk takes weeks or never closes.
    cause, w = _episode(lat, ci, t)
    w_service = np.where(cause == SERVICE, w, 0.0)
    slow = rng.random(ci.size) < w_service
    hours = np.where(slow, rng.uniform(10, 40, ci.size) * 24, 12 + rng.gamma(2.0, 24.0, ci.size))
    never = rng.random(ci.size) < np.where(slow, 0.25, 0.01)
    resolved = secs + (hours * 3600).astype(np.int64)
    open_ = never | (resolved >= lat.T * DAY_S)
    resolved_ts = _fmt_ts(lat.start, resolved).astype(object)
    resolved_ts[open_] = None
    sort = np.lexsort((cat, ci, secs))
    return pd.DataFrame(
        {
            "customer_id": _cat(ci[sort], ids),
            "ts": _str(_fmt_ts(lat.start, secs[sort])),
            "category": _cat(cat[sort], TICKET_CATEGORIES),
            "is_complaint": complaint[sort],
            "resolved_ts": pd.Series(resolved_ts[sort], dtype="str"),
        }
    )


# --------------------------------------------------------------------------- surveys


def _surveys(rng: np.random.Generator, lat: _Latent, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    k = int(np.ceil(lat.T / 91.3)) + 1
    sent = lat.survey_phase[:, None] + 91.3 * np.arange(k)[None, :]  # quarterly, per-customer phase
    ci = np.repeat(np.arange(n), k)
    sent = sent.ravel()
    ok = (sent >= lat.first[ci]) & (sent < lat.T)
    ci, sent = ci[ok], sent[ok]
    cause, w = _episode(lat, ci, sent)
    w_eng = np.where(cause == ENGAGEMENT, w, 0.0)
    p = lat.survey_p[ci] * (1 - 0.83 * w_eng) * np.where(sent >= lat.stop[ci], 0.08, 1.0)
    t = sent + rng.uniform(0, 21, ci.size)
    keep = (rng.random(ci.size) < p) & (t < lat.T)
    ci, t, cause, w = ci[keep], t[keep], cause[keep], w[keep]

    def sub(c: int) -> np.ndarray:
        base = 7.5 + lat.mood[ci] + rng.normal(0, 0.9, ci.size) - NEED_SCORE_GAP * (lat.need[ci] == c)
        wc = np.where(cause == c, w, 0.0)
        return (1 - wc) * base + wc * rng.uniform(2, 5, ci.size)

    quality, service, price = sub(QUALITY), sub(SERVICE), sub(PRICE)
    general = 7.5 + lat.mood[ci] + rng.normal(0, 0.9, ci.size)
    score = (quality + service + price + general) / 4 + rng.normal(0, 0.4, ci.size)
    secs = _clock(rng, t.astype(np.int64), (8, 22))
    sort = np.lexsort((ci, secs))

    def col(x: np.ndarray) -> np.ndarray:
        return np.round(np.clip(x, 0, 10), 1)[sort]

    return pd.DataFrame(
        {
            "customer_id": _cat(ci[sort], ids),
            "ts": _str(_fmt_ts(lat.start, secs[sort])),
            "score": col(score),
            "quality_score": col(quality),
            "service_score": col(service),
            "price_score": col(price),
        }
    )


# --------------------------------------------------------------------------- errors

_ERROR_KINDS = (
    "orders.unparseable_ts",
    "orders.unknown_customer",
    "orders.sign_mismatch",
    "orders.future_ts",
    "tickets.unknown_customer",
)


def _inject_errors(rng: np.random.Generator, tables: dict[str, pd.DataFrame], lat: _Latent, width: int,
                   population: int, order_prefix: str) -> dict[str, int]:
    """Add a few realistic bad rows (copies of real rows, each with one defect) in place."""
    orders, tickets = tables["orders"], tables["tickets"]

    def count(rate: float, rows: int) -> int:
        return int(max(1, rng.poisson(rate * rows)))

    def unknown_ids(k: int) -> np.ndarray:
        # Customers created in the ERP after the CRM export: ids just past the known range.
        return _ids("C", population + 1 + rng.integers(0, 1000, k), width)

    positive = np.flatnonzero(orders["amount"].to_numpy() > 0)
    made: dict[str, pd.DataFrame] = {}
    for kind, rate in (
        ("orders.unparseable_ts", 1e-4),
        ("orders.unknown_customer", 5e-5),
        ("orders.sign_mismatch", 5e-5),
        ("orders.future_ts", 2e-5),
    ):
        rows = orders.iloc[rng.choice(positive, count(rate, len(orders)), replace=False)].copy()
        k = len(rows)
        if kind == "orders.unparseable_ts":
            rows["ts"] = rng.choice(BAD_TS, k)
        elif kind == "orders.unknown_customer":
            rows["customer_id"] = unknown_ids(k)
        elif kind == "orders.sign_mismatch":
            rows["quantity"] = -rows["quantity"]
        else:  # a mistyped year, years past the end of the period
            secs = (lat.T + rng.integers(1500, 2500, k)) * DAY_S + rng.integers(8 * 3600, 18 * 3600, k)
            rows["ts"] = _fmt_ts(lat.start, secs)
        made[kind] = rows
    bad = pd.concat(list(made.values()), ignore_index=True)
    bad["order_id"] = _ids(order_prefix, 90_000_000 + np.arange(len(bad)), 8)
    tables["orders"] = _scatter(rng, orders, bad)

    rows = tickets.iloc[rng.choice(len(tickets), count(1e-3, len(tickets)), replace=False)].copy()
    rows["customer_id"] = unknown_ids(len(rows))
    made["tickets.unknown_customer"] = rows
    tables["tickets"] = _scatter(rng, tickets, rows)
    return {kind: len(made[kind]) for kind in _ERROR_KINDS}


def _scatter(rng: np.random.Generator, clean: pd.DataFrame, bad: pd.DataFrame) -> pd.DataFrame:
    """Insert bad rows at random positions, as they would sit in a real extract."""
    pos = np.concatenate([np.arange(len(clean), dtype=float), rng.uniform(0, len(clean), len(bad))])
    out = pd.concat([clean, bad.astype(clean.dtypes.to_dict())], ignore_index=True)
    return out.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)


# --------------------------------------------------------------------------- strings


def _ids(prefix: str, nums: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded ids like C00042, built as code points (much faster than f-strings)."""
    nums = np.asarray(nums, dtype=np.int64)
    pre = np.array([prefix]).view(np.uint32)
    digits = 48 + (nums[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10
    out = np.concatenate([np.broadcast_to(pre, (nums.size, pre.size)), digits], axis=1).astype(np.uint32)
    return np.ascontiguousarray(out).view(f"<U{pre.size + width}").ravel()


def _fmt_ts(start: dt.date, secs: np.ndarray) -> np.ndarray:
    """Seconds since `start` -> 'YYYY-MM-DD HH:MM:SS' strings (lookup tables, no per-row formatting)."""
    secs = np.asarray(secs, dtype=np.int64)
    if secs.size == 0:
        return np.array([], dtype="<U19")
    day = secs // DAY_S
    lo = day.min()
    dates = np.datetime_as_string(np.datetime64(start, "D") + np.arange(lo, day.max() + 1), unit="D")
    dates = dates.astype("<U10").view(np.uint32).reshape(-1, 10)
    tod = np.arange(DAY_S)
    clock = np.stack([tod // 36000, tod // 3600 % 10, tod // 600 % 6, tod // 60 % 10, tod // 10 % 6, tod % 10], axis=1) + 48
    out = np.empty((secs.size, 19), np.uint32)
    out[:, :10] = dates[day - lo]
    out[:, 10] = ord(" ")
    out[:, [11, 12, 14, 15, 17, 18]] = clock[secs % DAY_S]
    out[:, [13, 16]] = ord(":")
    return out.view("<U19").ravel()


def _str(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(values, dtype="str"))


def _cat(codes: np.ndarray, labels) -> pd.Series:
    """Labels by code, via a categorical: far faster than materialising a numpy string array."""
    return pd.Series(pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), np.asarray(labels))).astype("str")
