"""Tests for the sample-history generator (churn.data._demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn.config import DemoConfig
from churn.data import DemoHistory, generate_history, shift_order_sizes, weekly_runs

TS_FORMAT = "%Y-%m-%d %H:%M:%S"
CFG = DemoConfig(seed=11, n_customers=800, inject_errors=False)
START, END = pd.Timestamp(CFG.start), pd.Timestamp(CFG.end)
WINDOW = pd.Timedelta(days=90)

COLUMNS = {
    "customers": ["customer_id", "name", "segment", "region", "owner", "signup_date", "is_key_account", "churn_date"],
    "orders": ["order_id", "customer_id", "ts", "amount", "quantity", "discount", "product", "margin"],
    "interactions": ["customer_id", "ts", "channel", "direction"],
    "tickets": ["customer_id", "ts", "category", "is_complaint", "resolved_ts"],
    "surveys": ["customer_id", "ts", "score", "quality_score", "service_score", "price_score"],
    "campaigns": ["customer_id", "ts", "action", "treated", "cost"],
    "loss_reasons": ["customer_id", "ts", "cause", "source"],
}
TRUTH_COLUMNS = ["customer_id", "churned", "churn_ts", "onset_ts", "cause", "need", "saved_by"]
ERROR_KINDS = {
    "orders.unparseable_ts",
    "orders.unknown_customer",
    "orders.sign_mismatch",
    "orders.future_ts",
    "tickets.unknown_customer",
}


@pytest.fixture(scope="module")
def clean() -> DemoHistory:
    return generate_history(CFG)


@pytest.fixture(scope="module")
def dirty() -> DemoHistory:
    return generate_history(CFG.model_copy(update={"inject_errors": True}))


def parse(ts: pd.Series) -> pd.Series:
    return pd.to_datetime(ts, format=TS_FORMAT, errors="coerce")


def with_ts(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(t=parse(df["ts"]))


def history_start(h: DemoHistory) -> pd.Series:
    """Where each customer's history starts: signup, or the start of the period."""
    c = h.tables["customers"].set_index("customer_id")
    return pd.to_datetime(c["signup_date"]).clip(lower=START)


def churners(h: DemoHistory, cause: str) -> pd.DataFrame:
    """Churners of `cause` whose last 180 days before the stop lie wholly inside their history."""
    tr = h.truth.set_index("customer_id")
    observed = history_start(h)[tr.index] <= tr["churn_ts"] - 2 * WINDOW
    return tr[(tr["cause"] == cause) & (tr["churn_ts"] <= END) & observed]


def stayers(h: DemoHistory) -> pd.Index:
    return pd.Index(h.truth.loc[~h.truth["churned"], "customer_id"])


def in_window(df: pd.DataFrame, stop: pd.Series, before: int = 0) -> pd.DataFrame:
    """Rows in [stop - 90d - before, stop - before) of each row's customer (customers in `stop`)."""
    s = df["customer_id"].map(stop)
    hi = s - pd.Timedelta(days=before)
    return df[(df["t"] >= hi - WINDOW) & (df["t"] < hi)]


def rate_per_day(df: pd.DataFrame, customers: pd.Index, customer_days: float) -> float:
    return df["customer_id"].isin(customers).sum() / customer_days


def stayer_days(h: DemoHistory) -> float:
    return float((END - history_start(h)[stayers(h)]).dt.days.sum())


# --------------------------------------------------------------------------- contract


def test_same_seed_same_output(clean: DemoHistory) -> None:
    again = generate_history(CFG)
    for name, df in clean.tables.items():
        pd.testing.assert_frame_equal(df, again.tables[name])
    pd.testing.assert_frame_equal(clean.truth, again.truth)
    assert clean.injected == again.injected


def test_different_seed_different_output(clean: DemoHistory) -> None:
    other = generate_history(CFG.model_copy(update={"seed": CFG.seed + 1}))
    for name, df in clean.tables.items():
        assert not df.equals(other.tables[name]), name
    assert not clean.truth["churned"].equals(other.truth["churned"])


def test_canonical_columns(clean: DemoHistory, dirty: DemoHistory) -> None:
    for h in (clean, dirty):
        assert set(h.tables) == set(COLUMNS)
        for name, cols in COLUMNS.items():
            assert list(h.tables[name].columns) == cols, name
        assert list(h.truth.columns) == TRUTH_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(clean.truth["churn_ts"])
    assert pd.api.types.is_datetime64_any_dtype(clean.truth["onset_ts"])
    assert clean.truth["churned"].dtype == bool


def test_customers_look_right(clean: DemoHistory) -> None:
    c = clean.tables["customers"]
    assert len(c) == CFG.n_customers and c["customer_id"].is_unique
    assert c["customer_id"].str.fullmatch(r"C\d{5}").all()
    assert set(c["segment"]) == {"hospital", "pharmacy", "clinic", "distributor"}
    assert c["region"].nunique() == 6
    assert 30 <= c["owner"].nunique() <= 40
    assert (c.groupby("owner")["region"].nunique() == 1).all()  # each owner covers one region
    key = c[c["is_key_account"]]
    assert 0.02 <= len(key) / len(c) <= 0.09
    assert key["segment"].isin(["hospital", "distributor"]).mean() >= 0.8
    assert c["churn_date"].isna().all()
    signup = pd.to_datetime(c["signup_date"], format="%Y-%m-%d")
    assert signup.min() >= START - pd.Timedelta(days=730)
    assert signup.max() <= END - pd.Timedelta(days=120)
    assert (signup < START).any()


def test_everything_inside_the_period(clean: DemoHistory) -> None:
    for name in ("orders", "interactions", "tickets", "surveys"):
        df = with_ts(clean.tables[name])
        assert df["t"].notna().all(), name
        assert df["t"].min() >= START and df["t"].max() < END, name
        first = df["customer_id"].map(history_start(clean))
        assert (df["t"] >= first).all(), f"{name} row before the customer's history starts"
    tickets = clean.tables["tickets"]
    resolved = parse(tickets["resolved_ts"].dropna())
    assert resolved.notna().all() and resolved.max() < END
    assert (resolved >= parse(tickets.loc[resolved.index, "ts"])).all()


def test_values_are_sane(clean: DemoHistory) -> None:
    o = clean.tables["orders"]
    assert o["discount"].between(0, 1).all()
    assert (np.sign(o["amount"]) == np.sign(o["quantity"])).all()
    sale = o[o["amount"] > 0]
    # Margin is roughly amount * (0.30 - discount): discounts eat margin.
    ratio = sale["margin"] / sale["amount"] + sale["discount"]
    assert ratio.between(0.2, 0.4).mean() > 0.99
    assert sale.groupby("order_id").size().between(1, 3).all()
    assert sale.groupby("order_id")["product"].nunique().eq(sale.groupby("order_id").size()).all()
    # Order value medians follow the segment.
    seg = clean.tables["customers"].set_index("customer_id")["segment"]
    value = sale.groupby("order_id").agg(v=("amount", "sum"), c=("customer_id", "first"))
    median = value.groupby(value["c"].map(seg))["v"].median()
    assert median["distributor"] > median["hospital"] > median["pharmacy"] > median["clinic"]
    s = clean.tables["surveys"]
    scores = s[["score", "quality_score", "service_score", "price_score"]]
    assert scores.ge(0).all().all() and scores.le(10).all().all()
    assert (scores * 10).round(6).mod(1).eq(0).all().all()  # one decimal


def test_key_accounts_get_far_more_contact(clean: DemoHistory) -> None:
    c = clean.tables["customers"].set_index("customer_id")
    i = clean.tables["interactions"]
    visits = i[i["channel"] == "visit"].groupby("customer_id").size().reindex(c.index, fill_value=0)
    months = (END - history_start(clean)).dt.days / 30.44
    per_month = (visits / months)[stayers(clean)]
    key = c.loc[per_month.index, "is_key_account"]
    clinic = c.loc[per_month.index, "segment"] == "clinic"
    assert per_month[key].median() >= 2.5  # about weekly
    assert per_month[clinic & ~key].median() < 0.5
    assert set(i.loc[i["channel"] == "visit", "direction"]) == {"outbound"}


# --------------------------------------------------------------------------- churn


def test_churn_share_and_cause_mix(clean: DemoHistory) -> None:
    tr = clean.truth
    assert 0.22 <= tr["churned"].mean() <= 0.38
    assert (tr["churned"] == tr["churn_ts"].notna()).all()
    assert (tr.loc[~tr["churned"], "cause"] == "none").all()
    mix = tr.loc[tr["churned"], "cause"].value_counts(normalize=True)
    expected = {"price": 0.25, "service": 0.25, "quality": 0.20, "engagement": 0.18, "sudden": 0.12}
    assert set(mix.index) == set(expected)
    for cause, share in expected.items():
        assert abs(mix[cause] - share) < 0.1, (cause, mix[cause])
    stop = tr.loc[tr["churned"], "churn_ts"]
    assert stop.min() >= START + pd.Timedelta(days=180)
    assert stop.max() < END + pd.Timedelta(days=60)
    assert (stop >= END).any()  # some stops are still in the future
    causal = tr[tr["churned"] & (tr["cause"] != "sudden")]
    assert causal["onset_ts"].notna().all() and (causal["onset_ts"] < causal["churn_ts"]).all()
    assert tr.loc[tr["cause"] == "sudden", "onset_ts"].isna().all()


def test_campaigns_hold_out_at_random_and_save_only_the_treated(clean: DemoHistory) -> None:
    from churn.data import CAMPAIGN_ACTIONS

    c = clean.tables["campaigns"].assign(t=lambda d: parse(d["ts"]))
    assert set(c["action"]) <= set(CAMPAIGN_ACTIONS)
    assert c["t"].min() >= START + pd.Timedelta(days=365) and c["t"].max() < END
    assert c["t"].dt.normalize().nunique() == 24  # monthly from the second year
    assert 0.25 <= 1 - c["treated"].mean() <= 0.35
    assert not c.duplicated(["customer_id", "ts"]).any()
    # a flagged customer is not flagged again within the 90-day cool-down (its outcome stays clean)
    gaps = c.sort_values("t").groupby("customer_id")["t"].diff().dropna()
    assert (gaps >= pd.Timedelta(days=90)).all()
    tr = clean.truth.set_index("customer_id")
    saved = tr[tr["saved_by"].notna()]
    assert len(saved) > 0 and not saved["churned"].any()
    treated_ids = set(c.loc[c["treated"], "customer_id"])
    assert set(saved.index) <= treated_ids
    # Saved customers go on buying after their campaign.
    o = with_ts(clean.tables["orders"])
    last = o[o["amount"] > 0].groupby("customer_id")["t"].max()
    assert (last.reindex(saved.index) > END - pd.Timedelta(days=120)).mean() > 0.8


def test_campaigns_lower_churn_among_the_treated(clean: DemoHistory) -> None:
    c = clean.tables["campaigns"].assign(t=lambda d: parse(d["ts"]))
    churn_ts = c["customer_id"].map(clean.truth.set_index("customer_id")["churn_ts"])
    c["lost"] = (churn_ts >= c["t"]) & (churn_ts < c["t"] + pd.Timedelta(days=240))
    rate = c.groupby("treated")["lost"].mean()
    assert rate[True] < rate[False] - 0.02, rate


def test_loss_reasons_are_recorded_for_lost_customers_after_they_left(clean: DemoHistory) -> None:
    reasons = with_ts(clean.tables["loss_reasons"])
    truth = clean.truth.set_index("customer_id")
    assert reasons["customer_id"].is_unique
    assert truth.loc[reasons["customer_id"], "churned"].all()  # only lost customers have a reason
    assert (reasons["t"] > truth.loc[reasons["customer_id"], "churn_ts"].to_numpy()).all()
    assert reasons["t"].max() < END
    caused = truth[truth["churned"] & truth["cause"].isin(["price", "service", "quality", "engagement"])]
    recorded = reasons[reasons["customer_id"].isin(caused.index)]
    right = (recorded["cause"].to_numpy() == caused.loc[recorded["customer_id"], "cause"].to_numpy()).mean()
    assert 0.80 <= right <= 0.90  # most name the true cause, a rep's guess the rest
    sudden = truth.index[truth["churned"] & (truth["cause"] == "sudden")]
    assert (reasons.loc[reasons["customer_id"].isin(sudden), "cause"] == "other").all()
    assert 0.4 <= len(reasons) / truth["churned"].sum() <= 0.65  # ~60% recorded, fewer for the latest losses


def test_no_positive_orders_after_stop(clean: DemoHistory) -> None:
    o = with_ts(clean.tables["orders"])
    stop = o["customer_id"].map(clean.truth.set_index("customer_id")["churn_ts"])
    assert not ((o["amount"] > 0) & (o["t"] >= stop)).any()
    # ...but they do buy right up to the decline: most churners ordered in their last 120 days.
    late = o[(o["amount"] > 0) & (o["t"] >= stop - pd.Timedelta(days=120))]
    gone = clean.truth[clean.truth["churned"] & (clean.truth["churn_ts"] <= END)]
    assert gone["customer_id"].isin(late["customer_id"]).mean() > 0.7


def _discount_drop(h: DemoHistory, cause: str) -> tuple[float, float]:
    """Mean discount in the 90 days before the stop vs before the onset, paired by customer."""
    ch = churners(h, cause)
    o = with_ts(h.tables["orders"])
    o = o[(o["amount"] > 0) & o["customer_id"].isin(ch.index)]
    onset = o["customer_id"].map(ch["onset_ts"].fillna(ch["churn_ts"] - pd.Timedelta(days=120)))
    late = in_window(o, ch["churn_ts"]).groupby("customer_id")["discount"].mean()
    early = o[o["t"] < onset].groupby("customer_id")["discount"].mean()
    both = late.index.intersection(early.index)
    assert len(both) >= 5, "too few customers with orders both before the onset and before the stop"
    return late[both].mean(), early[both].mean()


def _complaints(categories: tuple[str, ...], name: str | None = None):
    def metric(h: DemoHistory, cause: str) -> tuple[float, float]:
        """Complaints of these categories per customer-day: pre-stop window vs stayers."""
        ch = churners(h, cause)
        t = with_ts(h.tables["tickets"])
        t = t[t["is_complaint"] & t["category"].isin(categories)]
        window = in_window(t[t["customer_id"].isin(ch.index)], ch["churn_ts"])
        return rate_per_day(window, ch.index, 90 * len(ch)), rate_per_day(t, stayers(h), stayer_days(h))

    metric.__name__ = "complaints_" + (name or "+".join(categories))
    return metric


def _resolution_days(h: DemoHistory, cause: str) -> tuple[float, float]:
    """Median days to resolve (open tickets count until the end): pre-stop window vs stayers."""
    ch = churners(h, cause)
    t = with_ts(h.tables["tickets"])
    t["days"] = (parse(t["resolved_ts"]).fillna(END) - t["t"]).dt.total_seconds() / 86_400
    window = in_window(t[t["customer_id"].isin(ch.index)], ch["churn_ts"])
    return window["days"].median(), t.loc[t["customer_id"].isin(stayers(h)), "days"].median()


def _return_share(h: DemoHistory, cause: str) -> tuple[float, float]:
    """Returned value / sold value: pre-stop window vs stayers overall."""

    def share(df: pd.DataFrame) -> float:
        return -df.loc[df["amount"] < 0, "amount"].sum() / df.loc[df["amount"] > 0, "amount"].sum()

    ch = churners(h, cause)
    o = with_ts(h.tables["orders"])
    window = in_window(o[o["customer_id"].isin(ch.index)], ch["churn_ts"])
    return share(window), share(o[o["customer_id"].isin(stayers(h))])


def _survey(column: str):
    def metric(h: DemoHistory, cause: str) -> tuple[float, float]:
        """Mean survey sub-score: pre-stop window vs stayers."""
        ch = churners(h, cause)
        s = with_ts(h.tables["surveys"])
        window = in_window(s[s["customer_id"].isin(ch.index)], ch["churn_ts"])
        assert len(window) >= 5, "too few answered surveys to judge"
        return window[column].mean(), s.loc[s["customer_id"].isin(stayers(h)), column].mean()

    metric.__name__ = column
    return metric


def _contact_drop(kind: str):
    def metric(h: DemoHistory, cause: str) -> tuple[float, float]:
        """Contacts (or orders) in the 90 days before stop vs the 90 days before that."""
        ch = churners(h, cause)
        if kind == "orders":
            df = with_ts(h.tables["orders"])
            df = df[df["amount"] > 0].drop_duplicates("order_id")
        else:
            df = with_ts(h.tables["interactions"])
            df = df[df["direction"] == kind]
        df = df[df["customer_id"].isin(ch.index)]
        return len(in_window(df, ch["churn_ts"])), len(in_window(df, ch["churn_ts"], before=90))

    metric.__name__ = f"{kind}_drop"
    return metric


TROUBLE = ("price", "billing", "service", "delivery", "quality")

# (cause, metric, bound): the cause's churners must beat the reference by the bound,
# `< x` meaning value < x * reference and `> x` meaning value > x * reference.
SYMPTOMS = [
    ("price", _discount_drop, "< 0.6"),
    ("price", _complaints(("price", "billing")), "> 4"),
    ("price", _survey("price_score"), "< 0.75"),
    ("service", _complaints(("service", "delivery")), "> 4"),
    ("service", _resolution_days, "> 3"),
    ("service", _survey("service_score"), "< 0.75"),
    ("quality", _complaints(("quality",)), "> 4"),
    ("quality", _return_share, "> 4"),
    ("quality", _survey("quality_score"), "< 0.75"),
    ("engagement", _contact_drop("outbound"), "< 0.65"),
    ("engagement", _contact_drop("inbound"), "< 0.75"),
    ("engagement", _contact_drop("orders"), "< 0.85"),
    # Causes without that symptom stay near the background.
    ("engagement", _discount_drop, "> 0.85"),
    ("engagement", _complaints(TROUBLE, "any"), "< 2"),
    ("sudden", _contact_drop("orders"), "> 0.75"),
    ("sudden", _complaints(TROUBLE, "any"), "< 2"),
    ("price", _contact_drop("outbound"), "> 0.75"),
]


@pytest.mark.parametrize(
    ("cause", "metric", "bound"), SYMPTOMS, ids=[f"{c}-{m.__name__.strip('_')}" for c, m, _ in SYMPTOMS]
)
def test_churners_show_their_cause(clean: DemoHistory, cause: str, metric, bound: str) -> None:
    assert len(churners(clean, cause)) >= 10
    value, reference = metric(clean, cause)
    op, factor = bound.split()
    if op == "<":
        assert value < float(factor) * reference, (value, reference)
    else:
        assert value > float(factor) * reference, (value, reference)


def test_stayers_show_symptoms_too(clean: DemoHistory) -> None:
    """Scares: some stayers go through a bad patch, so symptoms alone do not settle it."""
    s = clean.tables["surveys"]
    stay = s[s["customer_id"].isin(stayers(clean))]
    low = stay[["quality_score", "service_score", "price_score"]].min(axis=1) < 5
    assert stay.loc[low, "customer_id"].nunique() >= 0.04 * len(stayers(clean))
    t = with_ts(clean.tables["tickets"])
    t = t[t["customer_id"].isin(stayers(clean)) & t["is_complaint"]]
    per_quarter = t.groupby(["customer_id", t["t"].dt.to_period("Q")]).size()
    assert (per_quarter >= 3).groupby(level=0).any().sum() >= 5


# --------------------------------------------------------------------------- injected errors


def bad_rows(h: DemoHistory) -> dict[str, pd.Series]:
    """Boolean masks of each kind of bad row, found from the data alone."""
    known = set(h.tables["customers"]["customer_id"])
    o, tk = h.tables["orders"], h.tables["tickets"]
    t = parse(o["ts"])
    return {
        "orders.unparseable_ts": t.isna(),
        "orders.unknown_customer": ~o["customer_id"].isin(known),
        "orders.sign_mismatch": (o["quantity"] < 0) & (o["amount"] > 0),
        "orders.future_ts": t >= END,
        "tickets.unknown_customer": ~tk["customer_id"].isin(known),
    }


def test_injected_counts_match_rows(dirty: DemoHistory) -> None:
    assert set(dirty.injected) == ERROR_KINDS
    masks = bad_rows(dirty)
    for kind, mask in masks.items():
        assert dirty.injected[kind] >= 1, kind
        assert mask.sum() == dirty.injected[kind], kind
    assert (parse(dirty.tables["orders"]["ts"]).dropna() >= pd.Timestamp("2030-01-01")).sum() == dirty.injected["orders.future_ts"]
    for name in ("orders", "tickets"):
        n_bad = sum(m.sum() for k, m in masks.items() if k.startswith(name))
        assert n_bad < 0.01 * len(dirty.tables[name]), name


def test_clean_run_has_no_bad_rows(clean: DemoHistory) -> None:
    assert clean.injected == {kind: 0 for kind in ERROR_KINDS}
    for kind, mask in bad_rows(clean).items():
        assert not mask.any(), kind


def test_injection_only_adds_rows(clean: DemoHistory, dirty: DemoHistory) -> None:
    """Dropping the bad rows gives back exactly the clean history."""
    masks = bad_rows(dirty)
    for name in ("orders", "tickets"):
        bad = np.logical_or.reduce([m.to_numpy() for k, m in masks.items() if k.startswith(name)])
        kept = dirty.tables[name][~bad].reset_index(drop=True)
        pd.testing.assert_frame_equal(kept, clean.tables[name])
    for name in ("customers", "interactions", "surveys"):
        pd.testing.assert_frame_equal(dirty.tables[name], clean.tables[name])
    pd.testing.assert_frame_equal(dirty.truth, clean.truth)



def test_the_deliberate_shift_moves_one_regions_orders_from_its_day_on(dirty: DemoHistory) -> None:
    start = pd.Timestamp("2026-01-01").date()
    tables, moved = shift_order_sizes(dirty.tables, "East", start, 3.0)
    before, after = dirty.tables["orders"], tables["orders"]
    east = set(dirty.tables["customers"].loc[dirty.tables["customers"]["region"] == "East", "customer_id"])
    when = pd.to_datetime(before["ts"], errors="coerce", format="mixed", utc=True)
    inside = (before["customer_id"].isin(east) & (when >= pd.Timestamp(start, tz="UTC"))
              & before["amount"].notna()).to_numpy()
    assert moved == inside.sum() > 0
    np.testing.assert_allclose(after.loc[inside, "amount"], before.loc[inside, "amount"] * 3.0)
    np.testing.assert_allclose(after.loc[inside, "margin"], before.loc[inside, "margin"] * 3.0)
    pd.testing.assert_frame_equal(after[~inside], before[~inside])  # every other order, and each column but two
    pd.testing.assert_frame_equal(after.drop(columns=["amount", "margin"]), before.drop(columns=["amount", "margin"]))
    assert tables["orders"] is not before and dirty.tables["orders"] is before  # the input is left alone
    with pytest.raises(ValueError, match="the demo has no region 'Atlantis'"):
        shift_order_sizes(dirty.tables, "Atlantis", start, 3.0)


@pytest.mark.parametrize(("weeks", "first"), [(2, "2026-06-26"), (6, "2026-05-29")])
def test_weekly_runs_end_a_horizon_before_the_demo_ends(weeks: int, first: str) -> None:
    demo = DemoConfig()
    runs, shift_from = weekly_runs(demo, 90, weeks)
    assert len(runs) == weeks and str(runs[0]) == first and str(runs[-1]) == "2026-07-03"
    assert all((b - a).days == 7 for a, b in zip(runs, runs[1:], strict=False))
    assert (runs[-1] - shift_from).days == demo.shift.days_before_last_run


def test_weekly_runs_need_two_weeks_and_a_year_of_history() -> None:
    with pytest.raises(ValueError, match="at least 2 weekly runs"):
        weekly_runs(DemoConfig(), 90, 1)
    with pytest.raises(ValueError, match="less than a year after the demo's start"):
        weekly_runs(DemoConfig(), 90, 100)
