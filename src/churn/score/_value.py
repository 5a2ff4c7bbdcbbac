"""Customer value: 12-month revenue and margin forecasts (BG/NBD x Gamma-Gamma), their holdout
validation, and key-account rules.

Units and choices (the same in every function here):

- **Money** is in the currency of `orders.amount`. **Revenue** is *gross sales*: the sum of
  rows with amount > 0. Rows with amount < 0 (returns, credit notes) are not purchases and are
  not netted against spend, exactly as in `churn.model.rfm_summary`; they are reported on their own
  as `trailing_returns_12m` (a positive number). The retention list's `value_12m` (features'
  `value_365`) is *net* (returns included, margin where known), so it is not the same number.
- **Trailing 12 months** is the 365 days before `as_of`: rows with `as_of - 365 days <= ts < as_of`.
- **A purchase** is a calendar day with a positive row (BG/NBD counts purchase *days*; Gamma-Gamma
  spend is per purchase *day*, the day's positive rows summed), so the forecast revenue is
  expected purchase days in the horizon x expected spend per purchase day.
- **Fitting**: BG/NBD and Gamma-Gamma are fitted by maximum likelihood (`churn.features._btyd`; no
  penalizer unless the plain fit fails or lands on the ridge of one dropout rate or one spend rate for
  everyone, see `churn.features.fit_bgnbd_or_penalized` and `fit_gamma_gamma_or_penalized`) on every customer
  with a positive row before `as_of`, in weeks (the horizon is `horizon_days / 7` weeks).
  Nothing at or after `as_of` is read.
- **One-time buyers** (x = 0): BG/NBD still expects some purchases (fewer the longer ago the
  first purchase was), and Gamma-Gamma gives them the population mean spend per purchase day
  (their first day's spend is not used: Gamma-Gamma models repeat purchases only).
- **Heavy-tailed spend** (Gamma-Gamma q <= 1, as on the demo business, where daily spend runs from
  hundreds to tens of thousands): the population mean spend is infinite, so the posterior mean
  is used wherever it is finite and one-time buyers count their first purchase day (see
  `_expected_spend`); `result.attrs["spend_rule"]` says which rule applied.
- **Margin rate** of a customer: margin / revenue over the positive rows of the trailing 12
  months whose margin is known, clipped to [0, 1]. Customers without such rows get the
  `margin_rate` argument if given, else the median rate of the customers who have one. With no
  margin at all (no column, or all empty) and no `margin_rate`, the rate is 1: the margin
  forecast is the revenue forecast, as the retention list's value falls back to revenue.

`forecast_*_12m` columns cover `horizon_days` (365 by default; the name stays the same).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from churn.config import KeyAccountRules, ValueConfig
from churn.features import daily_purchases, fit_bgnbd_or_penalized, fit_gamma_gamma_or_penalized, rfm_summary

__all__ = ["KeyAccountRules", "customer_value", "forecast_customer_value", "key_accounts", "validate_forecast"]

UNIT_DAYS = 7.0  # BG/NBD time unit: weeks
TRAILING_DAYS = 365
REQUIRED = ("customer_id", "ts", "amount")
VALUE_ORDER_COLUMNS = (*REQUIRED, "margin")  # the order columns customer_value reads

VALUE_COLUMNS = [
    "customer_id", "frequency", "recency_days", "age_days", "p_alive", "expected_purchases",
    "expected_spend_per_purchase", "trailing_revenue_12m", "trailing_returns_12m", "trailing_margin_12m",
    "margin_rate", "margin_rate_source", "forecast_revenue_12m", "forecast_margin_12m",
]


# --------------------------------------------------------------------------- the value stage

CUSTOMER_VALUE_COLUMNS = ["customer_id", "trailing_revenue_12m", "forecast_revenue_12m", "forecast_margin_12m",
                          "p_alive", "margin_if_retained_12m", "is_key_account", "key_account_rule"]



def customer_value(orders: pd.DataFrame, customers: pd.DataFrame | None, as_of: pd.Timestamp,
                   cfg: ValueConfig) -> pd.DataFrame:
    """Per customer (everyone with a purchase before `as_of`, and everyone in `customers`): the
    trailing and forecast 12-month value and the key-account verdict (`CUSTOMER_VALUE_COLUMNS`).

    `margin_if_retained_12m` is the margin forecast for a customer who stays: BG/NBD's expected
    purchases are P(alive) x the expectation given alive, so it is forecast_margin_12m / p_alive
    (missing where p_alive underflows to 0). It is what a retention action saves; multiplying the plain
    forecast by a churn probability would count the risk of leaving twice.

    When the forecast models cannot be fitted (e.g. nobody bought twice) the forecast columns are
    missing and `attrs["forecast"]` says why; value tiers then fall back to the trailing value.
    `attrs`: forecast ("bgnbd_gamma_gamma" or the reason it failed), spend_rule, key_accounts (count).
    """
    as_of = pd.Timestamp(as_of)
    try:
        value = forecast_customer_value(orders, as_of, cfg.horizon_days, cfg.margin_rate)
        note = {"forecast": "bgnbd_gamma_gamma", "spend_rule": value.attrs["spend_rule"]}
    except (ValueError, RuntimeError) as err:
        past = _past(orders, as_of)
        trailing = _trailing(past, as_of, TRAILING_DAYS)
        value = pd.DataFrame({"customer_id": pd.array(trailing.index, dtype="string"),
                              "trailing_revenue_12m": trailing["revenue"].to_numpy(dtype="float64"),
                              "forecast_revenue_12m": np.nan, "forecast_margin_12m": np.nan, "p_alive": np.nan})
        note = {"forecast": f"not available: {err}", "spend_rule": None}
    p_alive = value["p_alive"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        if_retained = (value["forecast_margin_12m"] / p_alive).where(p_alive > 0)
    value = value.assign(margin_if_retained_12m=if_retained.where(np.isfinite(if_retained)))
    keys = key_accounts(customers, value, cfg.key_accounts)
    out = keys.merge(value.drop(columns=["is_key_account", "key_account_rule"], errors="ignore"),
                     on="customer_id", how="left")
    out = out[CUSTOMER_VALUE_COLUMNS].sort_values("customer_id", ignore_index=True)
    out.attrs.update(note | {"key_accounts": int(out["is_key_account"].sum()), "as_of": str(as_of.date())})
    return out


# --------------------------------------------------------------------------- forecast


def forecast_customer_value(orders: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int = 365,
                            margin_rate: float | None = None) -> pd.DataFrame:
    """Trailing and forecast 12-month revenue and margin per customer with a purchase before `as_of`.

    Only rows with ts < as_of are used. Columns (one row per customer, sorted by customer_id):

      customer_id                  text
      frequency                    repeat purchase days before as_of (purchase days - 1)
      recency_days, age_days       first to last purchase day; first purchase day to as_of
      p_alive                      BG/NBD P(still active) (1 for one-time buyers, by the model)
      expected_purchases           BG/NBD expected purchase days in [as_of, as_of + horizon_days)
      expected_spend_per_purchase  Gamma-Gamma expected spend per purchase day
      trailing_revenue_12m         gross sales (positive rows) in the 365 days before as_of
      trailing_returns_12m         returns (minus the negative rows' amount) in the same days, >= 0
      trailing_margin_12m          margin of the positive rows with a known margin in the same days;
                                   NaN without a margin column or with no known margin there
      margin_rate                  the rate applied to the forecast (see the module docstring)
      margin_rate_source           "own", "median", "given" (the margin_rate argument) or "none" (1.0)
      forecast_revenue_12m         expected_purchases x expected_spend_per_purchase (gross sales)
      forecast_margin_12m          forecast_revenue_12m x margin_rate

    `margin_rate` (in [0, 1]) is the rate for customers without a known margin rate of their own
    (instead of the population median); with no margin column it applies to everyone.

    `result.attrs`: as_of, horizon_days, the fitted models ("bgnbd", weeks; "gamma_gamma"),
    "bgnbd_penalizer" (0, or 1e-4 when the plain fit failed or landed on the ridge),
    and "spend_rule" ("gamma_gamma" or "gamma_gamma_heavy_tail", see `_expected_spend`).
    Raises ValueError when orders lack customer_id, ts or amount, when nobody bought before
    `as_of`, or when the models cannot be fitted (e.g. no repeat purchases at all).
    """
    _check_orders(orders, "forecast_customer_value")
    if not horizon_days > 0:
        raise ValueError(f"forecast_customer_value: horizon_days must be positive, got {horizon_days}")
    if margin_rate is not None and not 0 <= margin_rate <= 1:
        raise ValueError(f"forecast_customer_value: margin_rate must be in [0, 1], got {margin_rate}")
    as_of = pd.Timestamp(as_of)
    past = _past(orders, as_of)

    daily = daily_purchases(past, as_of)  # purchase days: for the summary and the first day's spend
    summary = rfm_summary(past, as_of, unit_days=UNIT_DAYS, daily=daily)
    if summary.empty:
        raise ValueError(f"forecast_customer_value: no customer has a positive order before {as_of}")
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    try:
        bgnbd, penalizer = fit_bgnbd_or_penalized(x, t_x, T)
        gg, _ = fit_gamma_gamma_or_penalized(x, summary["monetary_value"])
        spend = _expected_spend(gg, x.to_numpy(dtype="float64"), summary["monetary_value"].to_numpy(),
                                _first_day_spend(daily, summary.index))
    except (ValueError, RuntimeError) as err:
        raise type(err)(f"forecast_customer_value: cannot fit BG/NBD and Gamma-Gamma on the orders "
                        f"before {as_of.date()}: {err}") from err
    purchases = bgnbd.expected_purchases(horizon_days / UNIT_DAYS, x, t_x, T)
    if not np.all(np.isfinite(purchases)):  # btyd integrates where eq. 10 overflows; never expected here
        raise RuntimeError(f"forecast_customer_value: BG/NBD expected purchases are not finite for "
                           f"{int((~np.isfinite(purchases)).sum())} customers ({bgnbd})")

    ids = summary.index.astype("string")
    trailing = _trailing(past, as_of, TRAILING_DAYS).reindex(ids)
    revenue = trailing["revenue"].fillna(0.0)
    rate, source = _margin_rates(trailing, margin_rate)

    out = pd.DataFrame({
        "customer_id": pd.array(ids, dtype="string"),
        "frequency": x.to_numpy(dtype="int64"),
        "recency_days": t_x.to_numpy() * UNIT_DAYS,
        "age_days": T.to_numpy() * UNIT_DAYS,
        "p_alive": bgnbd.p_alive(x, t_x, T),
        "expected_purchases": purchases,
        "expected_spend_per_purchase": spend,
        "trailing_revenue_12m": revenue.to_numpy(),
        "trailing_returns_12m": trailing["returns"].fillna(0.0).to_numpy(),
        "trailing_margin_12m": trailing["margin"].to_numpy(dtype="float64"),
        "margin_rate": rate.to_numpy(),
        "margin_rate_source": pd.array(source.to_numpy(), dtype="string"),
    })
    out["forecast_revenue_12m"] = out["expected_purchases"] * out["expected_spend_per_purchase"]
    out["forecast_margin_12m"] = out["forecast_revenue_12m"] * out["margin_rate"]
    out.attrs.update({"as_of": as_of, "horizon_days": horizon_days, "bgnbd": bgnbd, "gamma_gamma": gg,
                      "spend_rule": "gamma_gamma" if gg.q > 1 else "gamma_gamma_heavy_tail",
                      "bgnbd_penalizer": penalizer})
    return out[VALUE_COLUMNS]


def _first_day_spend(daily: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    first = daily[~daily["customer_id"].duplicated()].set_index("customer_id")["amount"]
    return first.reindex(ids.astype("string")).to_numpy(dtype="float64")


def _expected_spend(gg, x: np.ndarray, m: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Expected spend per purchase day: `GammaGamma.expected_average_value` when q > 1.

    q <= 1 means spend per customer is spread so widely (e.g. clinics at 400 and distributors at
    20,000 a day) that the Gamma prior's population mean p*v/(q-1) is infinite. The posterior mean
    p*(v + x*m)/(p*x + q - 1) is still finite wherever p*x + q > 1, so it is used there; customers
    without repeat purchases (x = 0) count their first purchase day as one observation (x = 1,
    m = first-day spend), and where even that is not finite their own mean (or first-day) spend
    is used.
    """
    if gg.q > 1:
        return gg.expected_average_value(x, m)
    xe = np.where(x > 0, x, 1.0)
    me = np.where(x > 0, m, first)
    denom = gg.p * xe + gg.q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        posterior = gg.p * (gg.v + xe * me) / denom
    return np.where(denom > 0, posterior, me)


def _check_orders(orders: pd.DataFrame, where: str) -> None:
    missing = [c for c in REQUIRED if c not in orders.columns]
    if missing:
        raise ValueError(f"{where}: orders lacks column(s) {missing}; it has {list(orders.columns)}")
    if not pd.api.types.is_datetime64_any_dtype(orders["ts"]):
        raise ValueError(f"{where}: orders.ts must be datetimes (validate the history first), "
                         f"got {orders['ts'].dtype}")


def _past(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    cols = [c for c in VALUE_ORDER_COLUMNS if c in orders.columns]
    past = orders.loc[orders["ts"] < as_of, cols]
    past = past[past["customer_id"].notna() & past["amount"].notna()]
    return past.assign(customer_id=past["customer_id"].astype("string"), amount=past["amount"].astype("float64"))


def _trailing(past: pd.DataFrame, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """Per customer, rows in [as_of - days, as_of): revenue and margin of the positive rows (margin
    and the revenue it applies to only where the margin is known), returns."""
    w = past[past["ts"] >= as_of - pd.Timedelta(days=days)]
    pos = w["amount"] > 0
    margin = w["margin"].astype("float64") if "margin" in w else pd.Series(np.nan, index=w.index)
    known = pos & margin.notna()
    parts = pd.DataFrame({
        "customer_id": w["customer_id"],
        "revenue": w["amount"].where(pos, 0.0),
        "returns": (-w["amount"]).where(w["amount"] < 0, 0.0),
        "margin": margin.where(known, 0.0),
        "margin_revenue": w["amount"].where(known, 0.0),
        "margin_rows": known.astype("int64"),
    })
    out = parts.groupby("customer_id", sort=True).sum()
    out["margin"] = out["margin"].where(out["margin_rows"] > 0)
    return out


def _margin_rates(trailing: pd.DataFrame, given: float | None) -> tuple[pd.Series, pd.Series]:
    own = (trailing["margin"] / trailing["margin_revenue"].where(trailing["margin_revenue"] > 0)).clip(0.0, 1.0)
    known = own.notna()
    if given is not None:
        fallback, label = float(given), "given"
    elif known.any():
        fallback, label = float(own[known].median()), "median"
    else:
        fallback, label = 1.0, "none"
    rate = own.where(known, fallback)
    source = pd.Series(np.where(known, "own", label), index=own.index)
    return rate, source


# --------------------------------------------------------------------------- validation


def validate_forecast(orders: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int = 365) -> dict:
    """Holdout check: forecast from `as_of - horizon` and compare with what customers then bought.

    Fits on rows before `cutoff = as_of - horizon_days`, forecasts the next `horizon_days`, and
    compares per customer (everyone with a purchase before the cutoff) with the actual gross sales
    in [cutoff, as_of). The naive forecast is "the next horizon = the trailing horizon" (gross
    sales in [cutoff - horizon_days, cutoff); the 12-months-equals-last-12-months rule for 365).
    Customers first buying after the cutoff cannot be forecast; their sales are reported apart.

    Returns a dict:
      as_of, cutoff, horizon_days, n_customers,
      new_customers, new_customer_revenue    first purchase in the holdout: not in the comparison
      summary     DataFrame, one row per model ("bgnbd_gg", "naive"): n, forecast_total,
                  actual_total, ratio (forecast / actual), mae, mae_share (MAE / mean actual),
                  spearman (rank correlation with actual)
      deciles     DataFrame: model, decile (1 = lowest forecast .. 10), n, mean_forecast, mean_actual,
                  ratio
      per_customer  DataFrame: customer_id, forecast (bgnbd_gg), naive, actual
      value       the forecast_customer_value frame at the cutoff (with the fitted models in attrs)
    """
    _check_orders(orders, "validate_forecast")
    if not horizon_days > 0:
        raise ValueError(f"validate_forecast: horizon_days must be positive, got {horizon_days}")
    as_of = pd.Timestamp(as_of)
    cutoff = as_of - pd.Timedelta(days=horizon_days)
    past = _past(orders, as_of)

    value = forecast_customer_value(past, cutoff, horizon_days)
    ids = value["customer_id"]
    holdout = past[(past["ts"] >= cutoff) & (past["amount"] > 0)]
    actual_all = holdout.groupby("customer_id")["amount"].sum()
    before = past[(past["ts"] < cutoff) & (past["ts"] >= cutoff - pd.Timedelta(days=horizon_days))
                  & (past["amount"] > 0)]
    naive = before.groupby("customer_id")["amount"].sum().reindex(ids).fillna(0.0).to_numpy()
    actual = actual_all.reindex(ids).fillna(0.0).to_numpy()
    new = actual_all[~actual_all.index.isin(ids)]

    per = pd.DataFrame({"customer_id": ids, "forecast": value["forecast_revenue_12m"].to_numpy(),
                        "naive": naive, "actual": actual})
    rows, deciles = [], []
    for model, col in (("bgnbd_gg", "forecast"), ("naive", "naive")):
        f, a = per[col].to_numpy(), per["actual"].to_numpy()
        mae = float(np.mean(np.abs(f - a)))
        rows.append({
            "model": model, "n": len(per), "forecast_total": float(f.sum()), "actual_total": float(a.sum()),
            "ratio": float(f.sum() / a.sum()) if a.sum() > 0 else np.nan,
            "mae": mae, "mae_share": mae / float(a.mean()) if a.mean() > 0 else np.nan,
            "spearman": float(stats.spearmanr(f, a).statistic) if len(per) > 1 else np.nan,
        })
        deciles.append(_decile_table(model, f, a))
    return {
        "as_of": as_of, "cutoff": cutoff, "horizon_days": horizon_days, "n_customers": len(per),
        "new_customers": len(new), "new_customer_revenue": float(new.sum()),
        "summary": pd.DataFrame(rows).set_index("model"),
        "deciles": pd.concat(deciles, ignore_index=True),
        "per_customer": per,
        "value": value,
    }


def _decile_table(model: str, forecast: np.ndarray, actual: np.ndarray) -> pd.DataFrame:
    # Ranks first, so ties (e.g. the naive forecast's zeros) still split into ten equal groups.
    n_bins = min(10, len(forecast))
    rank = pd.Series(forecast).rank(method="first").to_numpy()
    decile = pd.qcut(rank, n_bins, labels=False) + 1
    g = pd.DataFrame({"decile": decile, "f": forecast, "a": actual}).groupby("decile")
    out = g.agg(n=("f", "size"), mean_forecast=("f", "mean"), mean_actual=("a", "mean")).reset_index()
    out["ratio"] = out["mean_forecast"] / out["mean_actual"].where(out["mean_actual"] > 0)
    return out.assign(model=model)[["model", "decile", "n", "mean_forecast", "mean_actual", "ratio"]]


# --------------------------------------------------------------------------- key accounts


def key_accounts(customers: pd.DataFrame | None, value: pd.DataFrame, rules: KeyAccountRules) -> pd.DataFrame:
    """customer_id, is_key_account, key_account_rule for every customer in `value` or `customers`.

    `value` needs customer_id and trailing_revenue_12m (as from `forecast_customer_value`);
    `customers` (optional) is_key_account for the flag rule and segment for the segment rule.
    Rules are tried in the order flag, top revenue share, segment; the first that matches names
    the reason ("flag", "top 20% of 12-month revenue", "segment hospital"); non-key accounts have
    a missing rule. A customer missing from `value` has no trailing revenue (only flag/segment).
    """
    missing = [c for c in ("customer_id", "trailing_revenue_12m") if c not in value.columns]
    if missing:
        raise ValueError(f"key_accounts: value lacks column(s) {missing}")
    if customers is not None and "customer_id" not in customers.columns:
        raise ValueError("key_accounts: customers lacks column(s) ['customer_id']")
    if rules.segments and (customers is None or "segment" not in customers.columns):
        raise ValueError(f"key_accounts: rules name segments {rules.segments} but there is no "
                         "customers.segment column")

    ids = pd.Index(value["customer_id"].astype("string"))
    info = None
    if customers is not None:
        info = customers.assign(customer_id=customers["customer_id"].astype("string"))
        info = info.drop_duplicates("customer_id").set_index("customer_id")
        # a hash lookup: pandas' isin on Arrow text walks the values in Python (1M customers: 4.8 s -> 0.1 s)
        ids = ids.append(info.index[ids.unique().get_indexer(info.index) < 0])
    ids = pd.Index(ids.drop_duplicates(), dtype="string", name="customer_id")
    rule = pd.Series(pd.NA, index=ids, dtype="string")

    def apply(mask: pd.Series, text) -> None:
        take = mask.reindex(ids, fill_value=False).astype(bool) & rule.isna()
        rule[take] = text if isinstance(text, str) else text[take]

    if rules.use_flag and info is not None and "is_key_account" in info.columns:
        apply(_truthy(info["is_key_account"]), "flag")
    if rules.top_revenue_share is not None:
        revenue = value.assign(customer_id=value["customer_id"].astype("string")).drop_duplicates("customer_id")
        revenue = revenue.set_index("customer_id")["trailing_revenue_12m"].astype("float64")
        apply(_top_share(revenue, rules.top_revenue_share), f"top {rules.top_revenue_share:.0%} of 12-month revenue")
    if rules.segments:
        seg = info["segment"].astype("string").str.strip()
        wanted = {s.strip().casefold() for s in rules.segments}
        apply(seg.str.casefold().isin(wanted).fillna(False), ("segment " + seg).reindex(ids))

    return pd.DataFrame({"customer_id": ids.to_numpy(), "is_key_account": rule.notna().to_numpy(),
                         "key_account_rule": rule.to_numpy()}).astype(
        {"customer_id": "string", "is_key_account": bool, "key_account_rule": "string"})


def _truthy(flag: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(flag) or pd.api.types.is_numeric_dtype(flag):
        return flag.fillna(False).astype(bool)
    text = flag.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "y", "t", "1.0"]).fillna(False)


def _top_share(revenue: pd.Series, share: float) -> pd.Series:
    """The largest customers making up the first `share` of total positive revenue (a customer is
    in when the revenue of everyone larger is below the share), as actions.value_tiers cuts."""
    v = revenue.clip(lower=0).fillna(0.0).sort_values(ascending=False, kind="stable")
    total = v.sum()
    if total <= 0:
        return pd.Series(False, index=revenue.index)
    before = (v.cumsum() - v) / total
    return ((before < share) & (v > 0)).reindex(revenue.index)
