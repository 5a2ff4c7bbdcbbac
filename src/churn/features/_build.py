"""Point-in-time features for (customer, cutoff) pairs, computed in one DuckDB query per table.

Definitions (all ages in days, `age = (cutoff - ts) / 1 day`; a row is used only if ts < cutoff;
"in window w" means age <= w; the trend window t and its previous window (t, 2t]):

orders (positive row = amount > 0; an order is an order_id, or a row when there is no order_id)
  recency_days        age of the latest positive row
  tenure_days         age of the earliest known event: signup_date (if before the cutoff) or first order
  orders_w            distinct orders with a positive row in window w (w in windows, and t)
  revenue_w           sum of amount in window w (net of returns)
  orders_prev_t, revenue_prev_t   the same over the previous trend window
  orders_trend, revenue_trend     (last - prev) / (last + prev), 0 when last + prev is 0
  ipt_mean_days, ipt_cv           mean and coefficient of variation (population std) of the gaps (days) between
                                  distinct positive-order days within 365 days
  ipt_last_days       the latest of those gaps
  ipt_last_vs_before  ipt_last_days / the mean of the gaps before it (missing under two gaps): above 1, slowing
  overdue_ratio       recency_days / ipt_mean_days
  seasonal_orders     distinct positive-order days a year before the coming `rhythm_days` (age in
                      (365 - rhythm_days, 365]); missing when rhythm_days >= 365 or unless the first such day
                      is at least 365 days old (a full year of buying seen)
  seasonal_share      seasonal_orders / distinct positive-order days within 365 days (missing likewise)
  returns_365         rows with amount < 0 within 365 days
  returns_share_365   -sum(negative amounts) / sum(positive amounts) within 365 days
  discount_t, discount_prev_t, discount_trend   mean discount of positive rows; last - prev
  promo_lines_365     positive rows within 365 days bought on promotion: a discount at least `promo_gap` above the
                      customer's median discount of those rows (missing without a discount column)
  promo_lift_365      mean amount of those rows / mean amount of the other positive rows within 365 days (missing
                      without both kinds): above 1, the customer buys more when the price drops
  promo_share_365     share of the margin (amount where margin is null) of positive rows within 365 days bought on
                      promotion
  value_365           sum of margin (amount where margin is null) within 365 days
  btyd_x, btyd_tx, btyd_T         BG/NBD inputs over the whole history (not model features):
                                  distinct positive-order days - 1, days from the first to the
                                  last such day, days from the first such day to the cutoff
  btyd_m              Gamma-Gamma's input: mean positive amount per such day after the first (0 without one)
purchase rhythm (BG/NBD fitted, without labels, on the btyd_* inputs of the population's customers at each
cutoff: only what was known then; missing where the cutoff has fewer than MIN_BUYERS buyers, none
with a repeat purchase, or the fit does not converge)
  bgnbd_p_alive       P(alive at the cutoff)
  bgnbd_expected_orders   expected purchase days in the next `rhythm_days` (default: the churn horizon)
  bgnbd_expected_vs_rate  those over the customer's own past rate ((x + 1) / T) over the same days: below 1,
                          BG/NBD expects less than the customer's habit
  gg_expected_spend   Gamma-Gamma's expected spend per purchase day, fitted on the cutoff's repeat buyers (missing
                      under MIN_BUYERS of them, when the fit fails or its population mean is infinite, q <= 1)
  bgnbd_expected_value    bgnbd_expected_orders * gg_expected_spend
interactions (outbound = direction outbound, or every row when there is no direction column)
  outbound_t, outbound_prev_t, outbound_trend, visits_t (outbound visit, meeting, event),
  calls_t (outbound calls), inbound_t, inbound_prev_t (0 without a direction column),
  days_since_outbound, days_since_visit (outbound visits only)
tickets
  tickets_t, complaints_t, complaints_<category>_t and _365 for each contract category,
  open_tickets (opened before the cutoff, not resolved before it; every ticket without a
  resolved_ts column), open_ticket_age_max, resolution_days_365 (mean days to resolve the
  tickets opened within 365 days and resolved before the cutoff). A ticket without is_complaint
  counts as a complaint.
surveys (dimension d in score, quality_score, service_score, price_score)
  <d>_mean_180, <d>_trend (mean over 180 days minus mean over the 180 before), surveys_365,
  days_since_survey
customers (only customers signed up before the cutoff, or without signup_date)
  segment, region, is_key_account
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from churn.config import FeaturesConfig, LabelsConfig
from churn.data import TABLES
from churn.features._btyd import (
    BGNBD,
    MIN_BUYERS,
    WEEK_DAYS,
    GammaGamma,
    fit_gamma_gamma_or_penalized,
    fits_per_cutoff,
    rhythm,
)

TICKET_CATEGORIES = TABLES["tickets"].column("category").allowed
SURVEY_DIMENSIONS = ("score", "quality_score", "service_score", "price_score")
CATEGORICAL = ("segment", "region")
KEYS = ["customer_id", "cutoff"]
AGE = "(epoch_us(p.cutoff) - epoch_us(x.ts)) / 86400e6"


@dataclass(frozen=True)
class ParquetTable:
    """A history table that DuckDB reads straight from its Parquet file(s), never loaded into pandas: what
    `build_features` takes in place of a DataFrame when the history is too large to hold (`ParquetTable.of`)."""

    paths: tuple[str, ...]
    columns: tuple[str, ...]

    @classmethod
    def of(cls, *paths: str | Path) -> ParquetTable:
        """The table in these files (one schema; the first file's columns)."""
        import pyarrow.parquet as pq

        if not paths:
            raise ValueError("a Parquet table needs at least one file")
        return cls(tuple(str(p) for p in paths), tuple(pq.read_schema(paths[0]).names))

    def sql(self) -> str:
        files = ", ".join(_literal(p) for p in self.paths)
        return f"SELECT * FROM read_parquet([{files}])"

    def __len__(self) -> int:
        """Rows in the files (from their footers; nothing read)."""
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.paths)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build_features(
    tables: dict[str, pd.DataFrame | ParquetTable], population: pd.DataFrame, cfg: FeaturesConfig
) -> pd.DataFrame:
    """One row per (customer_id, cutoff) of `population`, in its order, with every feature the tables allow.
    A table may be a DataFrame or a `ParquetTable` (read by DuckDB from its files: the same features)."""
    out = customer_features(tables, population, cfg)
    return with_purchase_rhythm(out, purchase_rhythm_fits(out), cfg)


def customer_features(
    tables: dict[str, pd.DataFrame | ParquetTable], population: pd.DataFrame, cfg: FeaturesConfig
) -> pd.DataFrame:
    """`build_features` without the purchase rhythm: every feature that depends on the customer's own rows alone,
    so a part of the customers (with their rows) gets the same features, to the bit, as in the whole: what the
    Dask engine computes per partition. The rhythm's BG/NBD fits need every customer of a cutoff."""
    pop = population[KEYS].astype({"customer_id": "string", "cutoff": "datetime64[us]"})
    if pop.duplicated(KEYS).any():
        raise ValueError("population has duplicate (customer_id, cutoff) pairs")
    out = pop.reset_index(drop=True)
    cutoffs_per_customer = len(pop) / max(pop["customer_id"].nunique(), 1)
    for name, builder in _BUILDERS.items():
        if name in tables and len(tables[name].columns):
            part = _by_customer_range(name, builder, tables[name], pop, cfg, cutoffs_per_customer)
            out = out.merge(part, on=KEYS, how="left", validate="one_to_one")
    return _fill(out)


def _by_customer_range(name: str, builder, table: pd.DataFrame | ParquetTable, pop: pd.DataFrame,
                       cfg: FeaturesConfig, cutoffs_per_customer: float) -> pd.DataFrame:
    """One table's features, computed over ranges of customer ids and put together: every customer's rows fall in
    one range, in the same order, so the features are the same whatever the number of ranges. A table whose rows
    joined to their customers' cutoffs (rows x `cutoffs_per_customer`) are over `cfg.partition_rows` is split so
    that DuckDB holds one range's join at a time per worker (training's 11 cutoffs join 20M order lines into
    ~110M rows: split by order lines alone, the stage peaked at 12.3 GB at 1M customers)."""
    ranges = _customer_ranges(pop, -(-int(len(table) * cutoffs_per_customer) // cfg.partition_rows))

    def build(bounds: tuple[str | None, str | None]) -> pd.DataFrame:
        # One thread: parallel threads add floating-point sums in no fixed order, so the same history gave
        # features differing in the last bits and, through them, a different refit model. Exact sums (integer
        # cents) would allow threads again; measured on the demo's training features: 12.4 s with 2 threads,
        # 18.7 s with 1. Ranges run side by side instead, each on a connection of its own.
        con = duckdb.connect(config={"threads": 1})
        try:
            con.register("pop_all", pop)
            if isinstance(table, ParquetTable):
                con.execute(f"CREATE VIEW {name}_all AS {table.sql()}")
            else:
                con.register(f"{name}_all", table)
            where = _range_filter(*bounds)
            con.execute(f"CREATE VIEW pop AS SELECT * FROM pop_all {where}")
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_all {where}")
            return builder(con, table.columns, cfg)
        finally:
            con.close()

    if len(ranges) == 1:
        return build(ranges[0])
    with ThreadPoolExecutor(min(cfg.workers, len(ranges))) as pool:
        return pd.concat(list(pool.map(build, ranges)), ignore_index=True)


def _customer_ranges(pop: pd.DataFrame, count: int) -> list[tuple[str | None, str | None]]:
    """`count` ranges [low, high) of customer ids holding about as many of `pop`'s customers each (None: open);
    ranges rather than hashes so that files written customer by customer are skipped by their statistics."""
    if count <= 1:
        return [(None, None)]
    with duckdb.connect(config={"threads": 1}) as con:  # DuckDB's own order: the order its filters compare in
        con.register("pop", pop)
        ids = con.execute("SELECT DISTINCT customer_id FROM pop ORDER BY customer_id").fetchnumpy()["customer_id"]
    count = min(count, len(ids))
    starts = [str(ids[len(ids) * i // count]) for i in range(1, count)]
    return list(zip([None, *starts], [*starts, None], strict=True))


def _range_filter(low: str | None, high: str | None) -> str:
    terms = ([f"customer_id >= {_literal(low)}"] if low is not None else []) + (
        [f"customer_id < {_literal(high)}"] if high is not None else [])
    return f"WHERE {' AND '.join(terms)}" if terms else ""


def _rhythm_days(cfg: FeaturesConfig) -> int:
    return cfg.rhythm_days or LabelsConfig().horizon_days


RHYTHM_INPUTS = ["cutoff", "btyd_x", "btyd_tx", "btyd_T", "btyd_m"]


def purchase_rhythm_fits(features: pd.DataFrame) -> dict[pd.Timestamp, tuple[BGNBD | None, GammaGamma | None]]:
    """BG/NBD and Gamma-Gamma fitted per cutoff on that cutoff's buyers (see the module docstring), from the
    `RHYTHM_INPUTS` columns of `customer_features` in population order (the fits add up rows in that order);
    empty when the history has no orders."""
    if "btyd_x" not in features:
        return {}
    fits = {}
    x_all = rhythm(features)[0]
    m_all = features["btyd_m"].fillna(0).to_numpy(dtype=float)
    cutoffs = features["cutoff"].to_numpy()
    for rows, known, model in fits_per_cutoff(features):
        at = rows[known]
        fits[pd.Timestamp(cutoffs[rows[0]])] = (model, _spend_fit(x_all[at], m_all[at]) if model else None)
    return fits


def with_purchase_rhythm(features: pd.DataFrame, fits: dict, cfg: FeaturesConfig) -> pd.DataFrame:
    """`customer_features` with the BG/NBD and Gamma-Gamma features of `purchase_rhythm_fits` (row by row: a part
    of the rows gets the same values as in the whole)."""
    if "btyd_x" not in features:
        return features
    out = features
    p_alive, expected, vs_rate, spend = (np.full(len(out), np.nan) for _ in range(4))
    x_all, t_x_all, T_all = rhythm(out)
    m_all = out["btyd_m"].fillna(0).to_numpy(dtype=float)
    known_all = out["btyd_x"].notna().to_numpy()
    weeks = _rhythm_days(cfg) / WEEK_DAYS
    cutoffs = out["cutoff"].to_numpy()
    for cutoff in pd.unique(cutoffs):
        model, spend_model = fits.get(pd.Timestamp(cutoff), (None, None))
        if model is None:
            continue
        at = np.flatnonzero((cutoffs == cutoff) & known_all)
        x, t_x, T = x_all[at], t_x_all[at], T_all[at]
        p_alive[at] = model.p_alive(x, t_x, T)
        expected[at] = model.expected_purchases(weeks, x, t_x, T)
        vs_rate[at] = expected[at] / ((x + 1) / np.maximum(T, 1.0) * weeks)
        if spend_model is not None:
            spend[at] = spend_model.expected_average_value(x, m_all[at])
    return out.assign(bgnbd_p_alive=p_alive, bgnbd_expected_orders=expected, bgnbd_expected_vs_rate=vs_rate,
                      gg_expected_spend=spend, bgnbd_expected_value=expected * spend)


def _spend_fit(x: np.ndarray, m: np.ndarray) -> GammaGamma | None:
    """Gamma-Gamma on the repeat buyers' mean spend; None under MIN_BUYERS of them, or where the fit fails or
    has no finite population mean (q <= 1)."""
    if (x > 0).sum() < MIN_BUYERS:
        return None
    try:
        model, _ = fit_gamma_gamma_or_penalized(x, m)
    except RuntimeError:
        return None
    return model if model.q > 1 else None


def _trend(last: str, prev: str) -> str:
    return f"CASE WHEN ({last}) + ({prev}) = 0 THEN 0.0 ELSE (({last}) - ({prev})) / (({last}) + ({prev})) END"


def _orders(con: duckdb.DuckDBPyConnection, columns, cfg: FeaturesConfig) -> pd.DataFrame:
    windows, t = cfg.windows, cfg.trend_window
    order_windows = sorted(set(windows) | {t})  # the trend needs orders_t even when t is not a window
    order_id = "CAST(order_id AS VARCHAR)" if "order_id" in columns else "NULL::VARCHAR"
    disc = "discount" if "discount" in columns else "NULL::DOUBLE"
    margin = "coalesce(margin, amount)" if "margin" in columns else "amount"
    prev = f"age > {t} AND age <= {2 * t}"
    # a year before the coming horizon: the purchase days whose age lies in (365 - h, 365]
    h = _rhythm_days(cfg)
    seasonal_orders = (f"count(*) FILTER (WHERE day_age > {365 - h} AND day_age <= 365)::DOUBLE" if h < 365
                       else "NULL::DOUBLE")
    sel = ["min(age) FILTER (WHERE amount > 0) AS recency_days", "max(age) AS first_order_age"]
    sel += [f"coalesce(sum(amount) FILTER (WHERE age <= {w}), 0) AS revenue_{w}" for w in windows]
    sel += [
        f"coalesce(sum(amount) FILTER (WHERE age <= {t}), 0) AS revenue_t",
        f"coalesce(sum(amount) FILTER (WHERE {prev}), 0) AS revenue_prev_{t}",
        "count(*) FILTER (WHERE amount < 0 AND age <= 365) AS returns_365",
        "coalesce(-sum(amount) FILTER (WHERE amount < 0 AND age <= 365), 0) AS returned_365",
        "coalesce(sum(amount) FILTER (WHERE amount > 0 AND age <= 365), 0) AS gross_365",
        "coalesce(sum(value) FILTER (WHERE age <= 365), 0) AS value_365",
    ]
    if "discount" in columns:
        sel += [
            f"avg(discount) FILTER (WHERE amount > 0 AND age <= {t}) AS discount_{t}",
            f"avg(discount) FILTER (WHERE amount > 0 AND {prev}) AS discount_prev_{t}",
        ]
    # Response to price: how much more the customer buys when a line comes at a promotion's discount (a year).
    promo = f"discount >= med + {cfg.promo_gap}"
    promo_cte = f""",
    priced AS (SELECT * FROM j WHERE amount > 0 AND age <= 365 AND discount IS NOT NULL),
    promo AS (
        -- summed in (ts, amount) order: the join below yields a customer's rows in an order that depends on
        -- the other customers read with it, and float sums in another order differ in the last bit (a Dask
        -- partition or a customer range must give the bits of the whole)
        SELECT customer_id, cutoff, count(*) FILTER (WHERE {promo})::DOUBLE AS promo_lines_365,
               avg(amount ORDER BY ts, amount) FILTER (WHERE {promo})
                   / avg(amount ORDER BY ts, amount) FILTER (WHERE NOT ({promo})) AS promo_lift_365,
               CASE WHEN sum(value ORDER BY ts, value) > 0
                    THEN coalesce(sum(value ORDER BY ts, value) FILTER (WHERE {promo}), 0)
                         / sum(value ORDER BY ts, value) END AS promo_share_365
        FROM priced JOIN (SELECT customer_id, cutoff, median(discount) AS med FROM priced GROUP BY customer_id, cutoff)
             USING (customer_id, cutoff)
        GROUP BY customer_id, cutoff
    )""" if "discount" in columns else ""
    counts = [f"count(*) FILTER (WHERE pos_age <= {w}) AS orders_{w}" for w in order_windows]
    counts.append(f"count(*) FILTER (WHERE in_prev) AS orders_prev_{t}")
    # Orders are counted on one row per order (min age of its positive rows) rather than with
    # count(DISTINCT ...): measured 1.7x faster on 2M rows and it keeps both cores busy.
    sql = f"""
    WITH j AS (
        SELECT p.customer_id, p.cutoff, x.amount, {disc} AS discount, {margin} AS value, x.ts,
               {order_id} AS order_id, {AGE} AS age
        FROM pop p JOIN orders x ON x.customer_id = p.customer_id AND x.ts < p.cutoff
    ),
    agg AS (SELECT customer_id, cutoff, {", ".join(sel)} FROM j GROUP BY customer_id, cutoff),
    per_order AS (
        SELECT customer_id, cutoff, min(age) FILTER (WHERE amount > 0) AS pos_age,
               bool_or(amount > 0 AND {prev}) AS in_prev
        FROM j WHERE order_id IS NOT NULL GROUP BY customer_id, cutoff, order_id
        UNION ALL  -- a row without order_id is an order of its own
        SELECT customer_id, cutoff, CASE WHEN amount > 0 THEN age END, amount > 0 AND {prev}
        FROM j WHERE order_id IS NULL
    ),
    oc AS (SELECT customer_id, cutoff, {", ".join(counts)} FROM per_order GROUP BY customer_id, cutoff),
    all_days AS (  -- one row per positive-order day; its youngest row decides the 365-day window
        SELECT customer_id, cutoff, date_trunc('day', ts) AS d, min(age) AS day_age, sum(amount) AS day_amount
        FROM j WHERE amount > 0 GROUP BY customer_id, cutoff, date_trunc('day', ts)
    ),
    days AS (SELECT customer_id, cutoff, d FROM all_days WHERE day_age <= 365),
    life AS (  -- whole purchase history in BG/NBD's terms (repeat purchase days, recency, age, repeat spend)
        SELECT customer_id, cutoff, count(*) - 1 AS btyd_x, date_diff('day', min(d), max(d)) AS btyd_tx,
               (epoch_us(cutoff) - epoch_us(min(d))) / 86400e6 AS btyd_T,
               -- summed in date order: the same bits whatever order the days' hash aggregation produced
               coalesce(sum(day_amount ORDER BY d) FILTER (WHERE NOT is_first) / (count(*) - 1), 0.0) AS btyd_m,
               CASE WHEN max(day_age) >= 365 THEN {seasonal_orders} END AS seasonal_orders,
               CASE WHEN max(day_age) >= 365 AND count(*) FILTER (WHERE day_age <= 365) > 0
                    THEN ({seasonal_orders}) / count(*) FILTER (WHERE day_age <= 365) END AS seasonal_share
        FROM (SELECT *, d = min(d) OVER (PARTITION BY customer_id, cutoff) AS is_first FROM all_days)
        GROUP BY customer_id, cutoff
    ),
    gaps AS (
        SELECT customer_id, cutoff, d,
               date_diff('day', lag(d) OVER (PARTITION BY customer_id, cutoff ORDER BY d), d) AS gap
        FROM days
    ),
    ipt AS (
        SELECT customer_id, cutoff, avg(gap) AS ipt_mean_days,
               -- std / mean from integer sums: exact, so the same whatever order the days arrive in (stddev_pop
               -- accumulates in arrival order, which follows the day aggregation's hash table)
               CASE WHEN sum(gap) > 0
                    THEN sqrt((count(*) * sum(gap * gap) - sum(gap) * sum(gap))::DOUBLE) / sum(gap) END AS ipt_cv,
               arg_max(gap, d)::DOUBLE AS ipt_last_days,
               CASE WHEN count(*) > 1  -- gaps between distinct days are >= 1 day
                    THEN arg_max(gap, d) / ((sum(gap) - arg_max(gap, d)) / (count(*) - 1)) END AS ipt_last_vs_before
        FROM gaps WHERE gap IS NOT NULL GROUP BY customer_id, cutoff
    ){promo_cte}
    SELECT agg.* EXCLUDE (revenue_t, returned_365, gross_365), oc.* EXCLUDE (customer_id, cutoff),
           {"promo.* EXCLUDE (customer_id, cutoff)," if promo_cte else ""}
           ipt.* EXCLUDE (customer_id, cutoff), life.* EXCLUDE (customer_id, cutoff),
           {_trend(f'oc.orders_{t}', f'oc.orders_prev_{t}')} AS orders_trend,
           {_trend('agg.revenue_t', f'agg.revenue_prev_{t}')} AS revenue_trend,
           CASE WHEN ipt.ipt_mean_days > 0 THEN recency_days / ipt.ipt_mean_days END AS overdue_ratio,
           CASE WHEN gross_365 > 0 THEN returned_365 / gross_365 END AS returns_share_365
           {f", discount_{t} - discount_prev_{t} AS discount_trend" if "discount" in columns else ""}
    FROM agg JOIN oc USING (customer_id, cutoff) LEFT JOIN ipt USING (customer_id, cutoff)
    LEFT JOIN life USING (customer_id, cutoff) {"LEFT JOIN promo USING (customer_id, cutoff)" if promo_cte else ""}
    """
    return con.execute(sql).df()


def _interactions(con: duckdb.DuckDBPyConnection, columns, cfg: FeaturesConfig) -> pd.DataFrame:
    t = cfg.trend_window
    outbound = "x.direction = 'outbound'" if "direction" in columns else "TRUE"
    inbound = "x.direction = 'inbound'" if "direction" in columns else "FALSE"
    visit = "x.channel IN ('visit', 'meeting', 'event')"
    sql = f"""
    WITH j AS (
        SELECT p.customer_id, p.cutoff, {AGE} AS age, {outbound} AS is_out, {inbound} AS is_in,
               {visit} AS is_visit, x.channel = 'call' AS is_call
        FROM pop p JOIN interactions x ON x.customer_id = p.customer_id AND x.ts < p.cutoff
    )
    SELECT customer_id, cutoff,
        count(*) FILTER (WHERE is_out AND age <= {t}) AS outbound_{t},
        count(*) FILTER (WHERE is_out AND age > {t} AND age <= {2 * t}) AS outbound_prev_{t},
        count(*) FILTER (WHERE is_out AND is_visit AND age <= {t}) AS visits_{t},
        count(*) FILTER (WHERE is_out AND is_call AND age <= {t}) AS calls_{t},
        count(*) FILTER (WHERE is_in AND age <= {t}) AS inbound_{t},
        count(*) FILTER (WHERE is_in AND age > {t} AND age <= {2 * t}) AS inbound_prev_{t},
        min(age) FILTER (WHERE is_out) AS days_since_outbound,
        min(age) FILTER (WHERE is_out AND is_visit) AS days_since_visit
    FROM j GROUP BY customer_id, cutoff
    """
    out = con.execute(sql).df()
    last, prev = out[f"outbound_{t}"], out[f"outbound_prev_{t}"]
    return out.assign(outbound_trend=((last - prev) / (last + prev)).where(last + prev > 0, 0.0))


def _tickets(con: duckdb.DuckDBPyConnection, columns, cfg: FeaturesConfig) -> pd.DataFrame:
    t = cfg.trend_window
    complaint = "x.is_complaint" if "is_complaint" in columns else "TRUE"
    resolved = "x.resolved_ts" if "resolved_ts" in columns else "NULL::TIMESTAMP"
    sel = [
        f"count(*) FILTER (WHERE age <= {t}) AS tickets_{t}",
        f"count(*) FILTER (WHERE is_complaint AND age <= {t}) AS complaints_{t}",
        "count(*) FILTER (WHERE NOT is_resolved) AS open_tickets",
        "max(age) FILTER (WHERE NOT is_resolved) AS open_ticket_age_max",
        "avg(resolve_days) FILTER (WHERE is_resolved AND age <= 365) AS resolution_days_365",
    ]
    for cat in TICKET_CATEGORIES:
        for w in sorted({t, 365}):
            sel.append(f"count(*) FILTER (WHERE is_complaint AND category = '{cat}' AND age <= {w}) AS complaints_{cat}_{w}")
    sql = f"""
    WITH j AS (
        SELECT p.customer_id, p.cutoff, {AGE} AS age, x.category, coalesce({complaint}, TRUE) AS is_complaint,
               ({resolved} IS NOT NULL AND {resolved} < p.cutoff) AS is_resolved,
               (epoch_us({resolved}) - epoch_us(x.ts)) / 86400e6 AS resolve_days
        FROM pop p JOIN tickets x ON x.customer_id = p.customer_id AND x.ts < p.cutoff
    )
    SELECT customer_id, cutoff, {", ".join(sel)} FROM j GROUP BY customer_id, cutoff
    """
    return con.execute(sql).df()


def _surveys(con: duckdb.DuckDBPyConnection, columns, cfg: FeaturesConfig) -> pd.DataFrame:
    dims = [d for d in SURVEY_DIMENSIONS if d in columns]
    sel = ["count(*) FILTER (WHERE age <= 365) AS surveys_365", "min(age) AS days_since_survey"]
    for d in dims:
        sel.append(f"avg({d}) FILTER (WHERE age <= 180) AS {d}_mean_180")
        sel.append(f"avg({d}) FILTER (WHERE age <= 180) - avg({d}) FILTER (WHERE age > 180 AND age <= 360) AS {d}_trend")
    sql = f"""
    WITH j AS (
        SELECT p.customer_id, p.cutoff, {AGE} AS age, {", ".join(f"x.{d}" for d in dims)}
        FROM pop p JOIN surveys x ON x.customer_id = p.customer_id AND x.ts < p.cutoff
    )
    SELECT customer_id, cutoff, {", ".join(sel)} FROM j GROUP BY customer_id, cutoff
    """
    return con.execute(sql).df()


def _customers(con: duckdb.DuckDBPyConnection, columns, cfg: FeaturesConfig) -> pd.DataFrame:
    cols = [c for c in ("segment", "region", "is_key_account") if c in columns]
    signup = "c.signup_date" if "signup_date" in columns else "NULL::TIMESTAMP"
    # A customer who signs up at or after the cutoff is not known at it: none of its attributes are used.
    known = "AND (c.signup_date IS NULL OR c.signup_date < p.cutoff)" if "signup_date" in columns else ""
    sql = f"""
    SELECT p.customer_id, p.cutoff, {"".join(f"c.{c}, " for c in cols)}
           (epoch_us(p.cutoff) - epoch_us({signup})) / 86400e6 AS signup_age
    FROM pop p JOIN customers c ON c.customer_id = p.customer_id {known}
    """
    return con.execute(sql).df()


_BUILDERS = {
    "orders": _orders,
    "interactions": _interactions,
    "tickets": _tickets,
    "surveys": _surveys,
    "customers": _customers,
}


def _fill(out: pd.DataFrame) -> pd.DataFrame:
    """Counts are 0 where a customer has no rows; ages and means stay missing (LightGBM handles NaN)."""
    counts = [
        c
        for c in out.columns
        if c.split("_")[0] in ("orders", "revenue", "returns", "value", "outbound", "visits", "calls", "inbound",
                               "tickets", "complaints", "surveys")
        and not c.endswith("_trend") and c != "returns_share_365"
    ] + [c for c in ("open_tickets", "promo_lines_365") if c in out]
    # No copy: `out` is build_features' own frame, and copy-on-write keeps any frame sharing its data intact
    # (a copy here was 0.35 GB at a million customers).
    for c in counts:
        out[c] = out[c].fillna(0).astype("float64")
    tenure = [c for c in ("signup_age", "first_order_age") if c in out]
    if tenure:
        out["tenure_days"] = out[tenure].max(axis=1)
        out = out.drop(columns=tenure)
    for c in ("orders_trend", "revenue_trend", "outbound_trend"):
        if c in out:
            out[c] = out[c].fillna(0.0)
    if "is_key_account" in out:
        out["is_key_account"] = out["is_key_account"].fillna(False).astype("float64")
    for c in CATEGORICAL:
        if c in out:
            out[c] = out[c].astype("string")
    out["customer_id"] = out["customer_id"].astype("string")
    return out


def training_examples(tables: dict[str, pd.DataFrame], plan, labels_cfg, cfg: FeaturesConfig,
                      build: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> pd.DataFrame:
    """Features, churn label and role (train / refit / test) at every cutoff of `plan`.

    The population and labels come from `tables` (customers and the orders' POPULATION_ORDER_COLUMNS are enough);
    the features from `build(population)` when given (`build_features` on the history's files, or the Dask
    engine's), else from `tables`."""
    from churn.features._labels import label, population

    pop = population(tables, plan.all(), labels_cfg)
    feats = build(pop) if build is not None else build_features(tables, pop, cfg)
    churned = label(tables, pop, labels_cfg)
    roles = pop["cutoff"].map({c: plan.role(c) for c in plan.all()})
    return feats.assign(churned=churned.to_numpy(), role=roles.to_numpy())
