"""Buy-Till-You-Die models: BG/NBD for purchase counts, Gamma-Gamma for spend, and their product.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each purchase they drop out for
good with probability p ~ Beta(a, b). Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; the
2013 note "The Gamma-Gamma model of monetary value"): a customer's spend per purchase has mean
p / nu with nu ~ Gamma(q, v); spend is independent of the purchase process.

Inputs per customer (`rfm_summary`), in time units of `unit_days` days:
  frequency x       repeat purchase days: distinct days with a positive order, minus 1
  recency t_x       time from the first to the last purchase day
  T                 time from the first purchase day to the cutoff
  monetary_value    mean revenue per repeat purchase day (0 when x = 0)

All functions are pure: they take arrays or frames and return new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from churn_portable import WEEK_DAYS, bgnbd_log_odds_dead, rhythm
from churn_portable import no_purchase_probability as _no_purchase_probability

DAYS_PER_MONTH = 365.25 / 12


def rfm_summary(orders: pd.DataFrame, cutoff: pd.Timestamp, unit_days: float = WEEK_DAYS,
                daily: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer from rows with ts < cutoff.

    A purchase is a calendar day with at least one row with amount > 0 (returns and zero rows are
    not purchases and are not netted against spend). Customers without a purchase before the
    cutoff are absent. Index: customer_id (string), sorted. `daily`: `daily_purchases(orders, cutoff)` when the
    caller has it already (it is most of the work).
    """
    missing = [c for c in ("customer_id", "ts", "amount") if c not in orders.columns]
    if missing:
        raise ValueError(f"rfm_summary: orders lacks column(s) {missing}")
    if not unit_days > 0:
        raise ValueError(f"rfm_summary: unit_days must be positive, got {unit_days}")
    cutoff = pd.Timestamp(cutoff)
    unit = pd.Timedelta(days=unit_days)

    daily = daily_purchases(orders, cutoff) if daily is None else daily
    # Spend on the first day is excluded: the Gamma-Gamma model describes repeat purchases only
    # (as in the paper's CDNOW data, where zbar is the mean over repeat transactions).
    is_first = ~daily["customer_id"].duplicated()
    per = daily.assign(repeat_amount=daily["amount"].where(~is_first, 0.0)).groupby("customer_id", sort=True).agg(
        days=("day", "size"), first=("day", "min"), last=("day", "max"), repeat_amount=("repeat_amount", "sum"))

    frequency = (per["days"] - 1).astype("int64")
    out = pd.DataFrame({
        "frequency": frequency,
        "recency": (per["last"] - per["first"]) / unit,
        "T": (cutoff - per["first"]) / unit,
        "monetary_value": (per["repeat_amount"] / frequency.where(frequency > 0)).fillna(0.0),
    }, index=pd.Index(per.index, dtype="string", name="customer_id"))
    return out.astype({"recency": "float64", "T": "float64", "monetary_value": "float64"})


def daily_purchases(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """customer_id (string), day, amount: the rows with amount > 0 and ts < `cutoff` summed per customer and
    calendar day, sorted by customer and day (a purchase of `rfm_summary`)."""
    rows = orders.loc[(orders["ts"] < pd.Timestamp(cutoff)) & (orders["amount"] > 0), ["customer_id", "ts", "amount"]]
    # One int64 key per (customer, day) instead of grouping by text and time; the sums add the same rows in the
    # same order, so they are the same to the bit.
    codes, ids = pd.factorize(rows["customer_id"].astype("string"), sort=True)
    days = rows["ts"].to_numpy("datetime64[us]").astype("datetime64[D]").astype(np.int64)
    known = codes >= 0  # a row without a customer belongs to nobody (grouping drops it)
    codes, days, amount = codes[known].astype(np.int64), days[known], rows["amount"].to_numpy("float64")[known]
    first, span = (days.min(), np.int64(days.max() - days.min() + 1)) if len(days) else (0, np.int64(1))
    sums = pd.Series(amount).groupby(codes * span + (days - first), sort=True).sum()
    key = sums.index.to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "customer_id": pd.Index(ids, dtype="string").take(key // span).array,
        "day": (key % span + first).astype("datetime64[D]").astype("datetime64[us]"),
        "amount": sums.to_numpy(dtype="float64"),
    })


@dataclass(frozen=True)
class BGNBD:
    """BG/NBD parameters: purchase rate ~ Gamma(shape r, rate alpha), dropout ~ Beta(a, b).

    alpha is in the time unit of the data it was fitted on; r, a, b are unit-free.
    """

    r: float
    alpha: float
    a: float
    b: float

    @classmethod
    def fit(cls, summary: pd.DataFrame, penalizer: float = 0.0) -> BGNBD:
        """Maximum-likelihood fit on a frame with columns frequency, recency, T (see `fit_bgnbd`)."""
        _require_columns(summary, ("frequency", "recency", "T"), "BGNBD.fit")
        return fit_bgnbd(summary["frequency"], summary["recency"], summary["T"], penalizer=penalizer)

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood (eq. 6 of the paper)."""
        x, t_x, T = _check_rft(frequency, recency, T, "BGNBD.log_likelihood")
        return _bgnbd_ll(np.log([self.r, self.alpha, self.a, self.b]), x, t_x, T)

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still alive at T | x, t_x, T). Exactly 1 for x = 0: the model only lets customers drop
        out right after a purchase, so a one-time buyer cannot have dropped out yet."""
        x, t_x, T = _check_rft(frequency, recency, T, "BGNBD.p_alive")
        return special.expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases in (T, T + t] given x, t_x, T (eq. 10 of the paper).

        Eq. 10 with scipy.special.hyp2f1, in whichever of two equal forms stays finite; where both
        overflow (thousands of repeat purchases, or a -> infinity) or a = 1, by quadrature.
        """
        x, t_x, T = _check_rft(frequency, recency, T, "BGNBD.expected_purchases")
        t = np.asarray(t, dtype="float64")
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ValueError("expected_purchases: horizon t must be finite and >= 0")
        t, x, t_x, T = np.broadcast_arrays(t, x, t_x, T)
        return _purchases_if_alive(self, t, x, T) * special.expit(-self._log_odds_dead(x, t_x, T))

    def churn_score(self, horizon, frequency, recency, T) -> np.ndarray:
        """Churn score for ranking: minus the expected purchases in the next `horizon` units.

        Higher = more likely to churn. "1 - P(alive)" is NOT used: BG/NBD's P(alive) is exactly 1
        for every one-time buyer (x = 0), however long ago they bought, so it would rank a
        customer who bought once two years ago as safer than any repeat buyer. Expected purchases
        fall with time since the first purchase for x = 0 as well (the rate posterior shrinks
        with T), so they rank one-time buyers sensibly.
        """
        return -self.expected_purchases(horizon, frequency, recency, T)

    def _log_odds_dead(self, x, t_x, T) -> np.ndarray:
        return bgnbd_log_odds_dead(self.r, self.alpha, self.a, self.b, x, t_x, T)


def _purchases_if_alive(m: BGNBD, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T]: the numerator of eq. 10,
    (a+b+x-1)/(a-1) * [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)] with z = t / (alpha+T+t)."""
    r, alpha, a, b = m.r, m.alpha, m.a, m.b
    z = t / (alpha + T + t)
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)
    with np.errstate(all="ignore"):
        # Two equal forms (Euler's transformation) that fail in different places: the printed one
        # overflows for large x (2F1 ~ (1-z)^-x), the transformed one for large a ((1-z)^(a-1) -> 0).
        euler = _power_times(a - 1.0, log_1mz, special.hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z))
        printed = _power_times(r + x, log_1mz, special.hyp2f1(r + x, b + x, a + b + x - 1.0, z))
        tail = np.where(np.isfinite(euler), euler, printed)
        out = (a + b + x - 1.0) / (a - 1.0) * (1.0 - tail)
    out = np.where(t == 0, 0.0, out)
    bad = ~np.isfinite(out)
    if np.any(bad):  # both forms failed (or a = 1 exactly): integrate numerically instead
        out[bad] = _purchases_if_alive_quadrature(m, t[bad], x[bad], T[bad])
    return out


def _power_times(power, log_base: np.ndarray, h: np.ndarray) -> np.ndarray:
    # base^power * h, NaN where base^power under- or h overflows (the product would be 0 * inf or lose digits).
    log_factor = power * log_base
    return np.where((log_factor > -700.0) & np.isfinite(h) & (h > 0), np.exp(log_factor) * h, np.nan)


def _purchases_if_alive_quadrature(m: BGNBD, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The same expectation as an integral over the dropout probability p ~ Beta(a, b+x) (the
    posterior given alive): E[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p]. Tanh-sinh quadrature
    over the quantile u of p: no overflow anywhere, ~1e-12 relative error (281 nodes)."""
    step, half_width = 0.025, 3.5
    tau = np.arange(-half_width, half_width + step / 2, step)
    y = np.pi * np.sinh(tau)
    tail_u = special.expit(-np.abs(y))  # min(u, 1 - u), exact at both ends
    weights = step * tail_u * (1.0 - tail_u) * np.pi * np.cosh(tau)
    out = np.empty(t.shape)
    for lo in range(0, t.size, 2048):  # chunks bound memory at 2048 x 281 nodes
        sl = slice(lo, lo + 2048)
        xx, tt, TT = x[sl, None], t[sl, None], T[sl, None]
        p = np.where(y < 0, special.betaincinv(m.a, m.b + xx, tail_u), special.betainccinv(m.a, m.b + xx, tail_u))
        limit = (m.r + xx) * tt / (m.alpha + TT)  # the integrand's value at p = 0
        safe_p = np.where(p > 0, p, 1.0)
        g = np.where(p > 0, -np.expm1(-(m.r + xx) * np.log1p(safe_p * tt / (m.alpha + TT))) / safe_p, limit)
        out[sl] = g @ weights
    return out


def fit_bgnbd(frequency, recency, T, penalizer: float = 0.0, ridge_fails: bool = False) -> BGNBD:
    """Fit BG/NBD by maximum likelihood (L-BFGS-B on log-parameters, Nelder-Mead as fallback).

    penalizer adds `penalizer * (log(r)^2 + log(a)^2 + log(b)^2)` to the mean negative
    log-likelihood: it shrinks towards exponential purchase rates (r = 1) and a uniform dropout
    probability (a = b = 1). alpha is not penalized because it carries the time unit, so the fit
    is the same in days or weeks (alpha scales, r, a, b do not). When the data suggest one dropout
    probability for everyone (or none), a and b grow without bound at a fixed a/(a+b); the fit
    stops at e^15 ~ 3e6, and a small penalizer keeps them moderate. With `ridge_fails`, an L-BFGS-B that stops
    short on that ridge (a + b > HOMOGENEOUS_DROPOUT) raises at once instead of Nelder-Mead walking it, for a caller
    that would replace a fit there anyway (`fit_bgnbd_or_penalized`).
    """
    x, t_x, T = _check_rft(frequency, recency, T, "fit_bgnbd")
    if x.size == 0:
        raise ValueError("fit_bgnbd: no customers to fit on (empty summary)")
    if not np.any(x > 0):
        raise ValueError("fit_bgnbd: no customer has a repeat purchase (all frequency = 0); "
                         "the dropout process cannot be estimated")
    if penalizer < 0:
        raise ValueError(f"fit_bgnbd: penalizer must be >= 0, got {penalizer}")

    # Fit on times rescaled so the typical T is 1: keeps log(alpha) near 0 whatever the unit.
    # The likelihood only changes by a constant under this rescaling (alpha scales with it).
    scale = float(np.median(T))
    xs, ts, Ts = x, t_x / scale, T / scale
    rate = max(float(np.mean(x / Ts)), 1e-3)  # repeat purchases per (rescaled) unit
    start = np.log([1.0, 1.0 / rate, 1.0, 1.0])
    n = x.size
    counts = np.unique(xs, return_inverse=True)  # once per fit: the likelihood's special functions per count

    def objective(theta: np.ndarray) -> float:
        value = -np.sum(_bgnbd_ll(theta, xs, ts, Ts, counts)) / n
        return value + penalizer * (theta[0] ** 2 + theta[2] ** 2 + theta[3] ** 2)

    hopeless = (lambda theta: np.exp(theta[2]) + np.exp(theta[3]) > HOMOGENEOUS_DROPOUT) if ridge_fails else None
    theta = _minimize(objective, start, "BG/NBD", hopeless)
    r, alpha, a, b = np.exp(theta)
    return BGNBD(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def _bgnbd_ll(theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
              counts: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Each customer's log-likelihood. The special functions depend on the repeat count x alone: computed once per
    distinct count (`counts` = np.unique(x, return_inverse=True)) and gathered, which gives the same values to the
    bit and, with a few hundred distinct counts among a million buyers, most of the fit's time back."""
    r, alpha, a, b = np.exp(theta)
    log_alpha = theta[1]
    ux, at = counts if counts is not None else np.unique(x, return_inverse=True)
    repeat_u = ux > 0
    gamma_rx = special.gammaln(r + ux)[at]
    beta_alive = special.betaln(a, b + ux)[at]
    beta_dead = special.betaln(a + 1.0, np.where(repeat_u, b + ux - 1.0, 1.0))[at]
    common = gamma_rx - special.gammaln(r) + r * log_alpha - special.betaln(a, b)
    alive = beta_alive - (r + x) * np.log(alpha + T)
    repeat = x > 0
    # The "dropped out after the last purchase" term exists only for x > 0; b + x - 1 is then >= b.
    dead = np.where(repeat, beta_dead - (r + x) * np.log(alpha + t_x), -np.inf)
    return common + np.logaddexp(alive, dead)


@dataclass(frozen=True)
class GammaGamma:
    """Gamma-Gamma spend parameters: spend per purchase ~ Gamma(p, nu), nu ~ Gamma(q, v).

    Population mean spend per purchase is p * v / (q - 1) (finite only for q > 1).
    """

    p: float
    q: float
    v: float

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> GammaGamma:
        """Fit on a frame with columns frequency and monetary_value (see `fit_gamma_gamma`)."""
        _require_columns(summary, ("frequency", "monetary_value"), "GammaGamma.fit")
        return fit_gamma_gamma(summary["frequency"], summary["monetary_value"])

    def log_likelihood(self, frequency, monetary_value) -> np.ndarray:
        """Per-customer log-density of the mean spend, for customers with frequency > 0."""
        x, m = _check_fm(frequency, monetary_value, "GammaGamma.log_likelihood")
        if np.any(x <= 0):
            raise ValueError("GammaGamma.log_likelihood: defined for frequency > 0 only")
        return _gg_ll(np.log([self.p, self.q, self.v]), x, m)

    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """E[mean spend per purchase | x, observed mean]: a credibility-weighted blend of the
        population mean p*v/(q-1) and the customer's own mean; the population mean for x = 0."""
        x, m = _check_fm(frequency, monetary_value, "expected_average_value")
        if self.q <= 1:
            raise ValueError(f"expected_average_value: q = {self.q:.4g} <= 1, the population mean spend "
                             "p*v/(q-1) does not exist")
        m = np.where(x > 0, m, 0.0)  # monetary_value of one-time buyers carries no information
        return self.p * (self.v + x * m) / (self.p * x + self.q - 1.0)


def fit_gamma_gamma(frequency, monetary_value, penalizer: float = 0.0) -> GammaGamma:
    """Fit Gamma-Gamma by maximum likelihood on the customers with frequency > 0.

    penalizer adds `penalizer * (log(p)^2 + log(q)^2)` to the mean negative log-likelihood (v carries the money
    unit and is not penalized). When every customer spends alike, q and v grow without bound at a fixed v/q.
    """
    x, m = _check_fm(frequency, monetary_value, "fit_gamma_gamma")
    if penalizer < 0:
        raise ValueError(f"fit_gamma_gamma: penalizer must be >= 0, got {penalizer}")
    keep = x > 0
    x, m = x[keep], m[keep]
    if x.size == 0:
        raise ValueError("fit_gamma_gamma: no customer with frequency > 0 to fit on")
    if np.any(m <= 0):
        raise ValueError("fit_gamma_gamma: monetary_value must be > 0 where frequency > 0")
    # Fit in money rescaled so the typical spend is 1; v scales with it, p and q do not.
    scale = float(np.median(m))
    ms = m / scale
    # Start at p = 2, q = 3 and the v whose population mean p*v/(q-1) is the mean observed spend.
    start = np.log([2.0, 3.0, float(np.mean(ms))])
    n = x.size
    counts = np.unique(x, return_inverse=True)  # once per fit, as for BG/NBD
    log_m = np.log(ms)

    def objective(theta: np.ndarray) -> float:
        return -np.sum(_gg_ll(theta, x, ms, counts, log_m)) / n + penalizer * (theta[0] ** 2 + theta[1] ** 2)

    theta = _minimize(objective, start, "Gamma-Gamma")
    p, q, v = np.exp(theta)
    return GammaGamma(p=float(p), q=float(q), v=float(v * scale))


def _gg_ll(theta: np.ndarray, x: np.ndarray, m: np.ndarray, counts: tuple[np.ndarray, np.ndarray] | None = None,
           log_m: np.ndarray | None = None) -> np.ndarray:
    """Each customer's log-likelihood: the density of the mean of x iid Gamma(p, nu) spends, nu ~ Gamma(q, v)
    integrated out. The terms in x alone are computed once per distinct count (`counts` = np.unique(x,
    return_inverse=True)) and log(m) once per fit (`log_m`): the same values to the bit, gathered."""
    p, q, v = np.exp(theta)
    px = p * x
    ux, at = counts if counts is not None else np.unique(x, return_inverse=True)
    pux = p * ux
    return (special.gammaln(pux + q)[at] - special.gammaln(pux)[at] - special.gammaln(q) + q * theta[2]
            + (pux * np.log(ux))[at] + (px - 1.0) * (np.log(m) if log_m is None else log_m)
            - (px + q) * np.log(v + x * m))


def forecast_value(summary: pd.DataFrame, bgnbd: BGNBD, gg: GammaGamma, horizon_units: float,
                   monthly_discount_rate: float = 0.0, unit_days: float = 7.0) -> pd.Series:
    """Expected revenue per customer over the next `horizon_units` (BG/NBD purchases x Gamma-Gamma spend).

    With monthly_discount_rate d > 0 the horizon is cut into months of 30.44 days (`unit_days`
    gives the summary's time unit) and the purchases expected in month k are discounted by
    (1 + d)^k; a last partial month by its fractional end, (1 + d)^(horizon in months).
    """
    _require_columns(summary, ("frequency", "recency", "T", "monetary_value"), "forecast_value")
    if not horizon_units >= 0:
        raise ValueError(f"forecast_value: horizon_units must be >= 0, got {horizon_units}")
    if monthly_discount_rate < 0:
        raise ValueError(f"forecast_value: monthly_discount_rate must be >= 0, got {monthly_discount_rate}")
    if not unit_days > 0:
        raise ValueError(f"forecast_value: unit_days must be positive, got {unit_days}")
    args = (summary["frequency"], summary["recency"], summary["T"])
    if monthly_discount_rate == 0:
        purchases = bgnbd.expected_purchases(horizon_units, *args)
    else:
        month = DAYS_PER_MONTH / unit_days
        ends = np.append(np.arange(month, horizon_units, month), horizon_units)
        cumulative = [np.zeros(len(summary))] + [bgnbd.expected_purchases(t, *args) for t in ends]
        purchases = sum((cumulative[k + 1] - cumulative[k]) / (1.0 + monthly_discount_rate) ** (ends[k] / month)
                        for k in range(len(ends)))
    spend = gg.expected_average_value(summary["frequency"], summary["monetary_value"])
    return pd.Series(np.asarray(purchases * spend, dtype="float64"), index=summary.index, name="expected_value")


FALLBACK_PENALIZER = 1e-4
# Beta(a, b) dropout probabilities with a + b above this are one probability for everyone (their
# standard deviation is under 3% of the mean for a mean below 0.1): a and b are no longer identified.
HOMOGENEOUS_DROPOUT = 1e3


def fit_bgnbd_or_penalized(frequency, recency, T) -> tuple[BGNBD, float]:
    """BG/NBD by plain maximum likelihood; with penalizer 1e-4 if that fails or lands on the ridge.

    Returns the model and the penalizer used (0 or 1e-4). When the dropout probability hardly
    varies between customers the likelihood keeps rising as a and b grow together (a/(a+b)
    fixed). Where the optimizer then stops depends on floating-point details: on one machine it
    ran to the e^15 bound or out of iterations (Online Retail II as of 2010-07-01), on another the
    same conftest histories stopped at a of 40 to 3e4. So a plain fit that fails, or ends with
    a + b > 1e3, is replaced by the penalized one: a penalizer of 1e-4 (on log(a)^2 + log(b)^2 +
    log(r)^2, next to a mean log-likelihood of order 1) has a single optimum on that ridge, the same
    on every machine. Along the ridge forecasts hardly move (conftest seed 0: by at most 1.6% per
    customer between a = 41 and a = 41,000). Fits with real heterogeneity (the demo: a + b = 77,
    CDNOW: 3.2) are left as they are.
    """
    # (a plain fit that stops short on the ridge goes to the penalized one at once: Nelder-Mead walking the ridge
    # from there took 131 s of one cutoff's fit at 1M customers, and ended on the ridge or failed)
    return _plain_or_penalized(lambda penalizer: fit_bgnbd(frequency, recency, T, penalizer, ridge_fails=True),
                               lambda model: model.a + model.b > HOMOGENEOUS_DROPOUT)


# Gamma(q, v) spend rates with q above this are one rate for everyone (coefficient of variation 1/sqrt(q) < 3%).
HOMOGENEOUS_SPEND = 1e3


def fit_gamma_gamma_or_penalized(frequency, monetary_value) -> tuple[GammaGamma, float]:
    """Gamma-Gamma by plain maximum likelihood; with penalizer 1e-4 if that fails or lands on the ridge of a
    homogeneous spend (q > 1e3), where, as for BG/NBD's dropout (`fit_bgnbd_or_penalized`), where the optimizer
    stops depends on floating-point details and the penalized fit has one optimum. Returns (model, penalizer)."""
    return _plain_or_penalized(lambda penalizer: fit_gamma_gamma(frequency, monetary_value, penalizer=penalizer),
                               lambda model: model.q > HOMOGENEOUS_SPEND)


def _plain_or_penalized(fit, on_ridge):
    """(model, penalizer): `fit(0)` unless it fails or lands `on_ridge`, then `fit(FALLBACK_PENALIZER)`; where that
    fails too, the plain fit on the ridge (forecasts hardly move along it), else the error."""
    try:
        model = fit(0.0)
    except RuntimeError:
        model = None
    if model is not None and not on_ridge(model):
        return model, 0.0
    try:
        return fit(FALLBACK_PENALIZER), FALLBACK_PENALIZER
    except RuntimeError:
        if model is None:
            raise
        return model, 0.0


def _minimize(objective, start: np.ndarray, name: str, hopeless=None) -> np.ndarray:
    """The minimum of `objective` from `start`: L-BFGS-B, else Nelder-Mead from where it stopped, unless
    `hopeless(where it stopped)` (then the error at once)."""
    # Bounds on log-parameters keep exp() finite. The data is rescaled so real optima sit well
    # inside; an optimum at infinity (BG/NBD's a, b for a homogeneous dropout) stops at e^15.
    bounds = [(-15.0, 15.0)] * len(start)
    res = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9})
    if not (res.success and np.isfinite(res.fun)) and hopeless is not None and hopeless(res.x):
        raise RuntimeError(f"{name} fit stopped short where it would not be kept: {res.message}")
    if not (res.success and np.isfinite(res.fun)):
        # 2,000 iterations are plenty for 4 parameters: past them Nelder-Mead is walking a ridge (BG/NBD's a, b on
        # a homogeneous dropout), where 20,000 took 18 s here and failed anyway; the caller then fits penalized.
        res = optimize.minimize(objective, res.x if np.isfinite(res.fun) else start, method="Nelder-Mead",
                                bounds=bounds, options={"maxiter": 2000, "xatol": 1e-8, "fatol": 1e-12})
    if not (res.success and np.isfinite(res.fun)):
        raise RuntimeError(f"{name} fit did not converge: {res.message}")
    return res.x


def _check_rft(frequency, recency, T, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError(f"{where}: frequency, recency and T must be finite (no NaN)")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError(f"{where}: frequency must be a non-negative integer count")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError(f"{where}: need 0 <= recency <= T")
    if np.any(T <= 0):
        raise ValueError(f"{where}: T must be > 0 (time from first purchase to cutoff)")
    return x, t_x, T


def _check_fm(frequency, monetary_value, where: str) -> tuple[np.ndarray, np.ndarray]:
    x, m = np.broadcast_arrays(np.asarray(frequency, dtype="float64"), np.asarray(monetary_value, dtype="float64"))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(m))):
        raise ValueError(f"{where}: frequency and monetary_value must be finite (no NaN)")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError(f"{where}: frequency must be a non-negative integer count")
    return x, m


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: summary lacks column(s) {missing}")


def no_purchase_probability(model: BGNBD, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                            horizon_weeks: float) -> np.ndarray:
    """P(no purchase in (T, T + horizon]) under BG/NBD, from x repeat purchases, t_x and T in weeks."""
    x, t_x, T = _check_rft(x, t_x, T, "no_purchase_probability")
    return _no_purchase_probability(model.r, model.alpha, model.a, model.b, x, t_x, T, horizon_weeks)


# BG/NBD describes a population: a cutoff with fewer buyers than this (a campaign day, a test) gets no fit; one
# customer's fit is meaningless and may take minutes to fail.
MIN_BUYERS = 30


def fits_per_cutoff(frame: pd.DataFrame):
    """For each cutoff of `frame` (all rows, without a `cutoff` column): its row positions, which of them are
    buyers (a purchase before the cutoff: btyd_x known), and BG/NBD fitted without labels on the buyers' purchase
    rhythm; None where there are fewer than MIN_BUYERS buyers, none with a repeat purchase, or the fit does not
    converge. One fit per cutoff: only what was known then, never a later cutoff's parameters."""
    cutoffs = frame["cutoff"].to_numpy() if "cutoff" in frame else np.zeros(len(frame))
    known_all = frame["btyd_x"].notna().to_numpy()
    x_all, t_x_all, T_all = rhythm(frame)
    for cutoff in pd.unique(cutoffs):
        rows = np.flatnonzero(cutoffs == cutoff)
        known = known_all[rows]
        x, t_x, T = x_all[rows][known], t_x_all[rows][known], T_all[rows][known]
        model = None
        if known.sum() >= MIN_BUYERS and (x > 0).any():
            try:
                model, _ = fit_bgnbd_or_penalized(x, t_x, T)
            except RuntimeError:
                model = None
        yield rows, known, model
