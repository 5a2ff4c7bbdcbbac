"""BG/NBD and Gamma-Gamma against the published CDNOW fits, a hand-written orders table and Monte Carlo."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from churn.model import BGNBD, HOMOGENEOUS_DROPOUT, GammaGamma, fit_bgnbd, fit_gamma_gamma, forecast_value, rfm_summary

FIXTURES = Path(__file__).parents[1] / "fixtures"
# Fader, Hardie & Lee (2005): BG/NBD on the 2,357-customer CDNOW sample (weeks), and its log-likelihood.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
# Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", on the 946 CDNOW repeat buyers.
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
PAPER = BGNBD(**PUBLISHED_BGNBD)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_money() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "cdnow_customers_summary_with_transactions.csv").rename(
        columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_fit(cdnow) -> BGNBD:
    return BGNBD.fit(cdnow)


# --- BG/NBD fit ---------------------------------------------------------------------------------

def test_bgnbd_fit_reproduces_published_cdnow_parameters(cdnow, cdnow_fit):
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(cdnow_fit, name) == pytest.approx(published, rel=0.01), name
    ll = cdnow_fit.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()
    assert ll == pytest.approx(PUBLISHED_LL, abs=0.05)
    # The optimum is at least as good as the published (rounded) parameters.
    assert ll >= PAPER.log_likelihood(cdnow["frequency"], cdnow["recency"], cdnow["T"]).sum()


def test_bgnbd_fit_does_not_depend_on_the_time_unit(cdnow, cdnow_fit):
    days = fit_bgnbd(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    assert days.alpha == pytest.approx(cdnow_fit.alpha * 7, rel=1e-4)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(cdnow_fit, name), rel=1e-4)


def test_penalizer_shrinks_unit_free_parameters_towards_one(cdnow, cdnow_fit):
    shrunk = BGNBD.fit(cdnow, penalizer=0.05)
    size = lambda m: np.log(m.r) ** 2 + np.log(m.a) ** 2 + np.log(m.b) ** 2  # noqa: E731
    assert size(shrunk) < size(cdnow_fit)
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert shrunk.log_likelihood(*args).sum() < cdnow_fit.log_likelihood(*args).sum()


@pytest.mark.parametrize(("summary", "penalizer", "match"), [
    (pd.DataFrame({"frequency": [], "recency": [], "T": []}), 0.0, "no customers"),
    (pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [3.0, 5.0]}), 0.0, "no customer has a repeat"),
    (pd.DataFrame({"frequency": [1, 2], "recency": [4.0, 1.0], "T": [3.0, 5.0]}), 0.0, "recency <= T"),
    (pd.DataFrame({"frequency": [1.5, 2], "recency": [1.0, 1.0], "T": [3.0, 5.0]}), 0.0, "integer count"),
    (pd.DataFrame({"frequency": [1, 2], "recency": [np.nan, 1.0], "T": [3.0, 5.0]}), 0.0, "no NaN"),
    (pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 1.0], "T": [3.0, 5.0]}), -1.0, "penalizer"),
    (pd.DataFrame({"frequency": [1, 2], "recency": [1.0, 1.0]}), 0.0, r"lacks column\(s\) \['T'\]"),
])
def test_bgnbd_fit_rejects_bad_input(summary, penalizer, match):
    with pytest.raises(ValueError, match=match):
        BGNBD.fit(summary, penalizer=penalizer)


# --- BG/NBD predictions -------------------------------------------------------------------------

def test_expected_purchases_matches_eq10_written_out(cdnow):
    # Eq. 10 exactly as printed in the paper (the module uses Euler's transformation of it).
    r, alpha, a, b = PAPER.r, PAPER.alpha, PAPER.a, PAPER.b
    x, t_x, T = cdnow["frequency"].to_numpy(float), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy()
    for t in (1.0, 39.0, 78.0):
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        den = 1 + (x > 0) * a / np.where(x > 0, b + x - 1, 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        np.testing.assert_allclose(PAPER.expected_purchases(t, x, t_x, T), num / den, rtol=1e-9)


@pytest.mark.parametrize(("x", "t_x", "T"), [(2, 30.43, 38.86), (0, 0.0, 38.86), (7, 35.0, 38.86), (1, 35.0, 36.0)])
def test_expected_purchases_and_p_alive_agree_with_monte_carlo(x, t_x, T):
    # Independent of eq. 10: draw (lambda, p) from the prior, weight by each draw's likelihood of
    # (x, t_x, T), and average P(alive | lambda, p) * E[purchases in t | alive, lambda, p], where the
    # latter is (1 - exp(-lambda p t)) / p for a Poisson process stopped by a geometric dropout.
    # Over seeds the estimates scatter by <= 0.3% (sd) for these customers; 2% is a safe margin.
    rng = np.random.default_rng(7)
    n, t = 200_000, 39.0
    lam, p = rng.gamma(PAPER.r, 1 / PAPER.alpha, n), rng.beta(PAPER.a, PAPER.b, n)
    log_alive = x * np.log1p(-p) + x * np.log(lam) - lam * T
    log_dead = (np.log(p) + (x - 1) * np.log1p(-p) + x * np.log(lam) - lam * t_x) if x > 0 else np.full(n, -np.inf)
    log_lik = np.logaddexp(log_alive, log_dead)
    w = np.exp(log_lik - log_lik.max())
    alive = np.exp(log_alive - log_lik)
    mc_purchases = np.sum(w * alive * -np.expm1(-lam * p * t) / p) / w.sum()
    mc_alive = np.sum(w * alive) / w.sum()
    assert PAPER.expected_purchases(t, x, t_x, T) == pytest.approx(mc_purchases, rel=0.02)
    assert PAPER.p_alive(x, t_x, T) == pytest.approx(mc_alive, rel=0.02)


def test_expected_purchases_grow_with_the_horizon(cdnow, cdnow_fit):
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    curve = np.stack([cdnow_fit.expected_purchases(t, *args) for t in (0.0, 1.0, 4.0, 13.0, 39.0, 104.0, 520.0)])
    assert np.all(curve[0] == 0)
    assert np.all(np.diff(curve, axis=0) > 0)


def test_expected_purchases_of_the_papers_first_customer():
    # CDNOW customer 1 (x = 2, t_x = 30.43, T = 38.86): 1.226 purchases in the next 39 weeks.
    assert PAPER.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)


def test_p_alive_is_one_for_one_time_buyers_whatever_their_age():
    # This is why churn_score does not use 1 - P(alive): it would call every one-time buyer safe.
    T = np.array([0.5, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(PAPER.p_alive(np.zeros(4), np.zeros(4), T), 1.0)
    assert PAPER.p_alive(3, 2.0, 40.0) < 0.5  # a repeat buyer silent for 38 weeks is probably gone


def test_churn_score_ranks_lapsed_buyers_above_recent_frequent_ones():
    # customers: recent frequent, lapsed frequent, one-time buyer 2 years ago, one-time buyer last week
    x, t_x, T = np.array([10, 10, 0, 0]), np.array([37.0, 5.0, 0.0, 0.0]), np.array([38.0, 38.0, 104.0, 1.0])
    score = PAPER.churn_score(13, x, t_x, T)
    assert score[0] < score[1]
    assert score[3] < score[2]  # old one-time buyer is riskier, though both have P(alive) = 1
    assert score[0] < score[3] < score[2]
    np.testing.assert_allclose(score, -PAPER.expected_purchases(13, x, t_x, T))


# Eq. 10 at 40 digits with mpmath (via Pfaff's transformation, itself checked against the printed
# form to 1e-38), for customers where scipy's hyp2f1 overflows in one or both forms of eq. 10.
MPMATH_REFERENCE = [
    # (r, alpha, a, b), x, t_x, T, t, E[Y(t) | x, t_x, T]
    ((0.243, 4.414, 0.793, 2.426), 1000, 38.76, 38.86, 520, 3363.8538879672533),  # both forms overflow
    ((0.243, 4.414, 0.793, 2.426), 5000, 38.76, 38.86, 39, 193.52545771538794),  # both forms overflow
    ((3.29, 8.54, 229094.0, 26456367.0), 0, 0.0, 38.86, 39, 2.6664530163906015),  # "no dropout" fit
    ((3.29, 8.54, 229094.0, 26456367.0), 10, 38.76, 38.86, 39, 10.310425272028604),
    ((20.0, 5.0, 0.1, 0.5), 100, 38.76, 38.86, 13, 34.957556433920566),
    ((1.5, 30.0, 1.0001, 3.0), 10, 38.76, 38.86, 39, 4.860873286607886),  # a next to the pole at a = 1
]


@pytest.mark.parametrize(("params", "x", "t_x", "T", "t", "expected"), MPMATH_REFERENCE)
def test_expected_purchases_stays_accurate_at_extremes(params, x, t_x, T, t, expected):
    assert BGNBD(*params).expected_purchases(t, x, t_x, T) == pytest.approx(expected, rel=1e-8)


def test_expected_purchases_at_a_equal_one_is_the_limit():
    # Eq. 10 divides by a - 1; at a = 1 exactly the module integrates numerically instead.
    args = (39.0, [0, 1, 10], [0.0, 10.0, 30.0], 38.86)
    at_one = BGNBD(r=1.5, alpha=30.0, a=1.0, b=3.0).expected_purchases(*args)
    around = [BGNBD(r=1.5, alpha=30.0, a=1.0 + d, b=3.0).expected_purchases(*args) for d in (-1e-6, 1e-6)]
    np.testing.assert_allclose(at_one, np.mean(around, axis=0), rtol=1e-6)


def test_expected_purchases_rejects_bad_input():
    with pytest.raises(ValueError, match="horizon t must be finite and >= 0"):
        PAPER.expected_purchases(-1, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="T must be > 0"):
        PAPER.p_alive(0, 0.0, 0.0)


# --- Gamma-Gamma --------------------------------------------------------------------------------

def test_gamma_gamma_reproduces_published_cdnow_parameters(cdnow_money):
    gg = GammaGamma.fit(cdnow_money)
    for name, published in PUBLISHED_GG.items():
        assert getattr(gg, name) == pytest.approx(published, rel=0.01), name
    assert fit_gamma_gamma(cdnow_money["frequency"], cdnow_money["monetary_value"]) == gg


def test_expected_average_value_blends_population_and_own_mean(cdnow_money):
    gg = GammaGamma(**PUBLISHED_GG)
    population = gg.p * gg.v / (gg.q - 1)
    # One-time buyers get the population mean, whatever monetary_value says.
    np.testing.assert_allclose(gg.expected_average_value([0, 0], [0.0, 500.0]), population)
    # Repeat buyers land between the population mean and their own mean, closer to their own with more purchases.
    own = 100.0
    values = gg.expected_average_value([1, 5, 50, 5000], [own] * 4)
    assert np.all((values > population) & (values < own))
    assert np.all(np.diff(values) > 0)
    assert values[-1] == pytest.approx(own, rel=1e-3)


@pytest.mark.parametrize(("frequency", "monetary_value", "match"), [
    ([0, 0], [0.0, 0.0], "no customer with frequency > 0"),
    ([], [], "no customer with frequency > 0"),
    ([1, 2], [10.0, 0.0], "monetary_value must be > 0"),
    ([1, -2], [10.0, 5.0], "non-negative integer"),
])
def test_gamma_gamma_fit_rejects_bad_input(frequency, monetary_value, match):
    with pytest.raises(ValueError, match=match):
        fit_gamma_gamma(frequency, monetary_value)


def test_expected_average_value_needs_q_above_one():
    with pytest.raises(ValueError, match="does not exist"):
        GammaGamma(p=2.0, q=0.9, v=10.0).expected_average_value([0], [0.0])


# --- rfm_summary --------------------------------------------------------------------------------

CUTOFF = pd.Timestamp("2024-03-01")


def _orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array([r[0] for r in rows], dtype="string"),
        "ts": pd.to_datetime([r[1] for r in rows], format="ISO8601").astype("datetime64[us]"),
        "amount": [r[2] for r in rows],
    })


@pytest.mark.parametrize(("rows", "expected"), [
    pytest.param([("A", "2024-01-01 09:00", 10.0), ("A", "2024-01-01 17:00", 5.0), ("A", "2024-01-15", 20.0),
                  ("A", "2024-01-15 18:00", 4.0)],
                 {"A": (1, 2.0, 60 / 7, 24.0)}, id="same-day rows are one purchase, amounts summed"),
    pytest.param([("B", "2024-01-01", 10.0), ("B", "2024-01-08", -10.0), ("B", "2024-01-22", 30.0),
                  ("B", "2024-01-22 12:00", -5.0), ("B", "2024-01-29", 0.0)],
                 {"B": (1, 3.0, 60 / 7, 30.0)}, id="returns and zero rows are no purchase and are not netted"),
    pytest.param([("C", "2024-01-01", 10.0), ("C", "2024-01-08", 12.0), ("C", "2024-02-29 23:59", 14.0),
                  ("C", "2024-03-01", 99.0), ("C", "2024-05-01", 99.0)],
                 {"C": (2, 59 / 7, 60 / 7, 13.0)}, id="rows at or after the cutoff are ignored"),
    pytest.param([("D", "2024-02-16 10:00", 50.0), ("D", "2024-02-16 11:00", 20.0)],
                 {"D": (0, 0.0, 2.0, 0.0)}, id="one-time buyer: x = 0, monetary 0"),
    pytest.param([("E", "2024-03-02", 10.0), ("E", "2023-12-01", -3.0), ("F", "2024-02-23", 1.0)],
                 {"F": (0, 0.0, 1.0, 0.0)}, id="no purchase before the cutoff: absent"),
])
def test_rfm_summary_cases(rows, expected):
    orders = _orders(rows)
    before = orders.copy()
    out = rfm_summary(orders, CUTOFF)
    pd.testing.assert_frame_equal(orders, before)  # input untouched
    assert list(out.columns) == ["frequency", "recency", "T", "monetary_value"]
    assert out.index.name == "customer_id" and out.index.dtype == "string"
    assert list(out.index) == list(expected)
    for cid, (x, t_x, T, m) in expected.items():
        row = out.loc[cid]
        assert row["frequency"] == x
        assert (row["recency"], row["T"], row["monetary_value"]) == pytest.approx((t_x, T, m))


def test_daily_purchases_equal_a_groupby_of_the_positive_rows_to_the_bit():
    from churn.features import daily_purchases

    rng = np.random.default_rng(4)
    n = 3000
    orders = pd.DataFrame({
        "customer_id": pd.array(rng.choice(["b", "a", "c10", "c9", "é", None], n), dtype="string"),
        "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 90, n), unit="D")).astype("datetime64[us]"),
        "amount": np.round(rng.normal(30, 40, n), 2) * rng.choice([1.0, 1e-7, 1e7], n),
    })
    cutoff = pd.Timestamp("2024-03-01 12:00")
    pos = orders[(orders["ts"] < cutoff) & (orders["amount"] > 0)]
    expected = (pos.groupby(["customer_id", pos["ts"].dt.normalize().rename("day")], sort=True)["amount"].sum()
                .reset_index())
    out = daily_purchases(orders, cutoff)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert out["day"].max() < cutoff and "é" in set(out["customer_id"])
    assert daily_purchases(orders, pd.Timestamp("2020-01-01")).empty


def test_rfm_summary_units_and_empty_input():
    orders = _orders([("A", "2024-01-01", 10.0), ("A", "2024-01-15", 20.0)])
    in_days = rfm_summary(orders, CUTOFF, unit_days=1.0)
    assert (in_days.loc["A", "recency"], in_days.loc["A", "T"]) == (14.0, 60.0)
    empty = rfm_summary(orders.iloc[:0], CUTOFF)
    assert empty.empty and list(empty.columns) == ["frequency", "recency", "T", "monetary_value"]


@pytest.mark.parametrize(("orders", "unit_days", "match"), [
    (pd.DataFrame({"customer_id": ["A"], "ts": [pd.Timestamp("2024-01-01")]}), 7.0, r"lacks column\(s\) \['amount'\]"),
    (pd.DataFrame({"customer_id": ["A"], "ts": [pd.Timestamp("2024-01-01")], "amount": [1.0]}), 0.0, "unit_days"),
])
def test_rfm_summary_rejects_bad_input(orders, unit_days, match):
    with pytest.raises(ValueError, match=match):
        rfm_summary(orders, CUTOFF, unit_days=unit_days)


def test_rfm_summary_reproduces_the_cdnow_summary_from_transactions(cdnow_money):
    # Customers 1-100 of CDNOW_sample.txt; the published summary covers the 39 weeks to 1997-09-30
    # inclusive, i.e. cutoff 1997-10-01. Its T is measured to 1997-09-30, one day (1/7 week) less.
    raw = pd.read_csv(FIXTURES / "cdnow_sample_first100.txt", sep=r"\s+", header=None, dtype=str,
                      names=["master_id", "customer_id", "date", "cds", "amount"])
    orders = pd.DataFrame({"customer_id": raw["customer_id"].astype("string"),
                           "ts": pd.to_datetime(raw["date"], format="%Y%m%d"),
                           "amount": raw["amount"].astype(float)})
    ours = rfm_summary(orders, pd.Timestamp("1997-10-01"))
    published = cdnow_money.assign(customer_id=cdnow_money["ID"].map("{:04d}".format)).set_index("customer_id")
    published = published.loc[published["ID"] <= 100]
    # Customer 0087's only purchase cost $0: a purchase in the paper's data, not under amount > 0.
    assert raw.loc[raw["customer_id"] == "0087", "amount"].astype(float).tolist() == [0.0]
    assert list(ours.index) == [c for c in published.index if c != "0087"]
    published = published.drop(index="0087")
    np.testing.assert_array_equal(ours["frequency"], published["frequency"])
    np.testing.assert_allclose(ours["recency"], published["recency"], atol=0.005)  # published to 2 decimals
    np.testing.assert_allclose(ours["T"] - 1 / 7, published["T"], atol=0.005)
    np.testing.assert_allclose(ours["monetary_value"], published["monetary_value"], atol=0.005)


# --- forecast_value -----------------------------------------------------------------------------

def test_forecast_value_is_purchases_times_spend(cdnow_money, cdnow_fit):
    gg = GammaGamma.fit(cdnow_money)
    summary = cdnow_money.set_index("ID").iloc[:300]
    before = summary.copy()
    value = forecast_value(summary, cdnow_fit, gg, horizon_units=52)
    pd.testing.assert_frame_equal(summary, before)
    expected = (cdnow_fit.expected_purchases(52, summary["frequency"], summary["recency"], summary["T"])
                * gg.expected_average_value(summary["frequency"], summary["monetary_value"]))
    np.testing.assert_allclose(value.to_numpy(), expected)
    assert value.index.equals(summary.index) and (value > 0).all()

    discounted = forecast_value(summary, cdnow_fit, gg, horizon_units=52, monthly_discount_rate=0.01)
    assert ((discounted < value) & (discounted > value / 1.01 ** 12)).all()
    tiny = forecast_value(summary, cdnow_fit, gg, horizon_units=52, monthly_discount_rate=1e-9)
    np.testing.assert_allclose(tiny, value, rtol=1e-7)  # monthly pieces add up to the whole horizon


def test_forecast_value_rejects_bad_input(cdnow_money, cdnow_fit):
    gg = GammaGamma(**PUBLISHED_GG)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['monetary_value'\]"):
        forecast_value(cdnow_money.drop(columns="monetary_value"), cdnow_fit, gg, 52)
    with pytest.raises(ValueError, match="monthly_discount_rate"):
        forecast_value(cdnow_money, cdnow_fit, gg, 52, monthly_discount_rate=-0.1)


def test_end_to_end_on_a_random_history(history):
    # conftest's customers stop at uniform random times, not after a purchase with a customer-specific
    # probability: the likelihood rises along a ridge of growing a and b (one dropout probability for
    # everyone), and where the optimizer stops on it differs between machines. Far along the ridge the
    # Euler-transformed eq. 10 underflows and the printed form takes over: forecasts stay finite and
    # hardly differ from the fitted point's.
    summary = rfm_summary(history["orders"], pd.Timestamp("2024-06-01"))
    model, gg = BGNBD.fit(summary), GammaGamma.fit(summary)
    assert model.a + model.b > HOMOGENEOUS_DROPOUT
    value = forecast_value(summary, model, gg, horizon_units=13)
    assert len(value) == len(summary) > 50 and np.isfinite(value).all() and (value > 0).all()
    far = dataclasses.replace(model, a=model.a * 1e3, b=model.b * 1e3)
    far_value = forecast_value(summary, far, gg, horizon_units=13)
    assert np.isfinite(far_value).all() and far_value.to_numpy() == pytest.approx(value.to_numpy(), rel=0.05)
    shrunk = BGNBD.fit(summary, penalizer=0.01)
    assert shrunk.a < 10 and shrunk.b < 100
    assert np.isfinite(forecast_value(summary, shrunk, gg, horizon_units=13)).all()


@pytest.mark.parametrize("seed", [0, 3])
def test_a_fit_on_the_homogeneous_dropout_ridge_is_redone_with_a_small_penalizer_and_the_baseline_uses_it(seed):
    from helpers import END, make_history

    from churn.model import bgnbd_churn_probability, fit_bgnbd_or_penalized

    # almost no heterogeneity in dropout here: the plain fit lets a and b drift off together, and
    # either stops somewhere on that ridge or does not converge (seed 3 here)
    s = rfm_summary(make_history(seed=seed)["orders"], END, unit_days=7.0)
    model, penalizer = fit_bgnbd_or_penalized(s["frequency"], s["recency"], s["T"])
    assert penalizer == 1e-4 and np.isfinite([model.r, model.alpha, model.a, model.b]).all()
    assert model == fit_bgnbd(s["frequency"], s["recency"], s["T"], penalizer=1e-4)
    frame = pd.DataFrame({"btyd_x": s["frequency"].to_numpy(), "btyd_tx": s["recency"].to_numpy() * 7,
                          "btyd_T": s["T"].to_numpy() * 7})
    p = bgnbd_churn_probability(frame, 90)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("give_up", [False, True])
def test_a_minimisation_that_stops_short_where_its_caller_would_not_keep_it_fails_at_once(give_up):
    from churn.features._btyd import _minimize

    # |t0 - 1| + |t1 - 2| has no gradient at its minimum: L-BFGS-B stops short there (ABNORMAL), Nelder-Mead finishes
    stops = []

    def hopeless(theta):
        stops.append(theta.copy())
        return give_up

    def objective(theta):
        return float(abs(theta[0] - 1) + abs(theta[1] - 2))

    if give_up:
        with pytest.raises(RuntimeError, match="stopped short where it would not be kept"):
            _minimize(objective, np.zeros(2), "test", hopeless)
    else:
        np.testing.assert_allclose(_minimize(objective, np.zeros(2), "test", hopeless), [1, 2], atol=1e-6)
    assert len(stops) == 1  # asked once, about where L-BFGS-B stopped


def test_a_fit_with_real_heterogeneity_keeps_the_plain_maximum_likelihood(cdnow, cdnow_fit):
    from churn.model import fit_bgnbd_or_penalized

    model, penalizer = fit_bgnbd_or_penalized(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert penalizer == 0.0 and model == cdnow_fit


def test_the_likelihood_per_distinct_count_equals_the_formula_per_customer_to_the_bit():
    """The fit computes the special functions once per distinct repeat count (3x faster at 100,000 buyers): the
    same values as the formula evaluated customer by customer, so the same fit."""

    from churn.features._btyd import _bgnbd_ll

    rng = np.random.default_rng(4)
    T = rng.uniform(1, 100, 5000)
    x = rng.poisson(3, 5000).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 5000), 0.0)
    theta = np.log([0.8, 4.0, 0.6, 2.5])
    r, alpha, a, b = np.exp(theta)
    repeat = x > 0
    per_customer = (special.gammaln(r + x) - special.gammaln(r) + r * theta[1] - special.betaln(a, b)
                    + np.logaddexp(special.betaln(a, b + x) - (r + x) * np.log(alpha + T),
                                   np.where(repeat, special.betaln(a + 1.0, np.where(repeat, b + x - 1.0, 1.0))
                                            - (r + x) * np.log(alpha + t_x), -np.inf)))
    np.testing.assert_array_equal(_bgnbd_ll(theta, x, t_x, T), per_customer)


def test_the_spend_likelihood_per_distinct_count_equals_the_formula_per_customer_to_the_bit():
    """Gamma-Gamma's terms in the repeat count alone are computed once per distinct count, log(m) once per fit:
    the same values as the formula customer by customer, so the same fit."""
    from churn.features._btyd import _gg_ll

    rng = np.random.default_rng(5)
    x = 1.0 + rng.poisson(2, 5000)
    m = rng.lognormal(4, 1, 5000)
    theta = np.log([2.5, 3.5, 1.7])
    p, q, v = np.exp(theta)
    per_customer = (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * theta[2]
                    + p * x * np.log(x) + (p * x - 1.0) * np.log(m) - (p * x + q) * np.log(v + x * m))
    np.testing.assert_array_equal(_gg_ll(theta, x, m), per_customer)
    np.testing.assert_array_equal(_gg_ll(theta, x, m, np.unique(x, return_inverse=True), np.log(m)), per_customer)
