"""Point-in-time leakage canary, the as-of view of the history, and the churn labels.

The canary builds features at a cutoff, then adds rows AT and AFTER that cutoff to every
table (and resolves open tickets, and adds customers who sign up at or after it), rebuilds
and requires the exact same frame: nothing at or after the cutoff may reach a feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import make_history

from churn.config import FeaturesConfig, LabelsConfig
from churn.data import point_in_time
from churn.features import build_features, label, plan_cutoffs, population, training_examples

US = pd.Timedelta(microseconds=1)
DAY = pd.Timedelta(days=1)
FEATURE_CONFIGS = {
    "default": FeaturesConfig(windows=[30, 90, 180, 365], trend_window=90),
    "short": FeaturesConfig(windows=[14, 30, 60], trend_window=30),
}
EXPLICIT = LabelsConfig(definition="explicit", horizon_days=90)
INACTIVITY = LabelsConfig(definition="inactivity", horizon_days=90, active_days=180)


def _with_churn_dates(tables: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    """make_history has no churn_date: give a fifth of the customers one somewhere in the history."""
    rng = np.random.default_rng(seed)
    c = tables["customers"]
    churn = pd.Timestamp("2023-03-01") + pd.to_timedelta(rng.uniform(0, 640, len(c)), unit="D")
    churn = pd.Series(churn, index=c.index).where(rng.random(len(c)) < 0.2)
    return {**tables, "customers": c.assign(churn_date=churn.astype("datetime64[us]"))}


def _base(seed: int = 5) -> dict[str, pd.DataFrame]:
    return _with_churn_dates(make_history(40, seed), seed)


def _cutoff(kind: str, tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    if kind == "midnight":
        return pd.Timestamp("2024-01-01")
    if kind == "odd_time":
        return pd.Timestamp("2023-08-17 09:15:30.123456")
    # exactly on an existing order, an interaction and a ticket resolution of the history
    return pd.Timestamp(tables["orders"]["ts"].iloc[len(tables["orders"]) // 2])


def _append(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    new = pd.DataFrame(rows, columns=df.columns).astype(df.dtypes.to_dict())
    return pd.concat([df, new], ignore_index=True).sort_values("ts", kind="stable", ignore_index=True)


def _future(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp, seed: int) -> dict[str, pd.DataFrame]:
    """The same history plus everything that happens at or after `cutoff`."""
    rng = np.random.default_rng(seed)
    ids = [*tables["customers"]["customer_id"], "GHOST", "NEW-AT", "NEW-AFTER"]
    at_or_after = [cutoff, cutoff + US, cutoff + DAY, cutoff + 45 * DAY, cutoff + 400 * DAY]
    past_order = tables["orders"][tables["orders"]["ts"] < cutoff].groupby("customer_id")["order_id"].last()
    orders, interactions, tickets, surveys = [], [], [], []
    for cid in ids:
        for k, ts in enumerate(at_or_after):
            orders.append({"customer_id": cid, "ts": ts, "amount": 500.0 + k, "order_id": f"F-{cid}-{k}",
                           "quantity": 3.0, "discount": 0.9, "product": "a", "margin": 250.0})
            interactions.append({"customer_id": cid, "ts": ts, "channel": ["visit", "call", "meeting"][k % 3],
                                 "direction": "outbound"})
            interactions.append({"customer_id": cid, "ts": ts, "channel": "email", "direction": "inbound"})
            tickets.append({"customer_id": cid, "ts": ts, "category": ["quality", "price", "service"][k % 3],
                            "is_complaint": True, "resolved_ts": ts + 2 * DAY if k % 2 else pd.NaT})
            surveys.append({"customer_id": cid, "ts": ts, "score": 0.0, "quality_score": 0.0,
                            "service_score": 10.0, "price_score": 0.0})
        # a return and a second line of an order placed before the cutoff, booked at / after it
        if cid in past_order.index and pd.notna(past_order[cid]):
            orders.append({"customer_id": cid, "ts": cutoff, "amount": -80.0, "order_id": past_order[cid],
                           "quantity": -1.0, "discount": 0.0, "product": "a", "margin": -20.0})
            orders.append({"customer_id": cid, "ts": cutoff + 3 * DAY, "amount": 60.0, "order_id": past_order[cid],
                           "quantity": 1.0, "discount": 0.1, "product": "b", "margin": 10.0})
        # a refund with no order_id exactly at the cutoff
        orders.append({"customer_id": cid, "ts": cutoff, "amount": -999.0, "order_id": None,
                       "quantity": -5.0, "discount": None, "product": "b", "margin": None})
    out = dict(tables)
    out["orders"] = _append(tables["orders"], orders)
    out["interactions"] = _append(tables["interactions"], interactions)
    out["surveys"] = _append(tables["surveys"], surveys)

    # tickets opened before the cutoff and still open at it get resolved at or after the cutoff
    t = tables["tickets"].copy()
    still_open = (t["ts"] < cutoff) & ~(t["resolved_ts"] < cutoff)
    assert still_open.any(), "the history needs a ticket open at the cutoff"
    later = pd.Series(cutoff + pd.to_timedelta(rng.integers(0, 30, len(t)), unit="D"), index=t.index)
    later[still_open.cumsum() % 2 == 1] = cutoff  # half of them exactly at the cutoff
    t["resolved_ts"] = t["resolved_ts"].where(~still_open, later).astype("datetime64[us]")
    out["tickets"] = _append(t, tickets)

    # customers: new ones signing up at / after the cutoff; churn dates at / after the cutoff
    c = tables["customers"]
    churn = c["churn_date"].where(c["churn_date"] < cutoff, cutoff + pd.to_timedelta(np.arange(len(c)) % 3, unit="D"))
    c = c.assign(churn_date=churn.astype("datetime64[us]"))
    new = pd.DataFrame({
        "customer_id": ["NEW-AT", "NEW-AFTER"], "segment": ["hospital", "clinic"], "region": ["North", "South"],
        "owner": ["AM-1", "AM-2"], "signup_date": [cutoff, cutoff + 10 * DAY], "is_key_account": [True, True],
        "churn_date": [pd.NaT, cutoff + 20 * DAY],
    }).astype(c.dtypes.to_dict())
    out["customers"] = pd.concat([c, new], ignore_index=True)
    return out


def _population(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    """Everyone known before the cutoff, everyone who bought recently, and an id with no history."""
    pop = pd.concat([
        population(tables, [cutoff], EXPLICIT),
        population(tables, [cutoff], INACTIVITY),
        pd.DataFrame({"customer_id": pd.array(["GHOST"], dtype="string"), "cutoff": [cutoff]}),
    ], ignore_index=True)
    return pop.astype({"customer_id": "string", "cutoff": "datetime64[us]"}).drop_duplicates(ignore_index=True)


@pytest.mark.parametrize("config", list(FEATURE_CONFIGS))
@pytest.mark.parametrize("kind", ["midnight", "odd_time", "on_an_event"])
def test_rows_at_or_after_the_cutoff_change_no_feature(kind: str, config: str) -> None:
    cfg = FEATURE_CONFIGS[config]
    base = _base()
    cutoff = _cutoff(kind, base)
    pop = _population(base, cutoff)
    assert len(pop) > 20
    before = build_features(base, pop, cfg)

    future = _future(base, cutoff, seed=1)
    # the canary is alive: the added rows are real and would matter one microsecond later
    assert len(future["orders"]) > len(base["orders"])
    later = build_features(future, pop.assign(cutoff=pop["cutoff"] + US), cfg)
    assert not later["orders_30"].equals(before["orders_30"])

    after = build_features(future, pop, cfg)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


@pytest.mark.parametrize("kind", ["midnight", "odd_time", "on_an_event"])
@pytest.mark.parametrize("definition", [EXPLICIT, INACTIVITY], ids=["explicit", "inactivity"])
def test_population_ignores_rows_at_or_after_the_cutoff(kind: str, definition: LabelsConfig) -> None:
    base = _base()
    cutoff = _cutoff(kind, base)
    before = population(base, [cutoff], definition)
    after = population(_future(base, cutoff, seed=2), [cutoff], definition)
    pd.testing.assert_frame_equal(before, after, check_exact=True)
    assert not {"NEW-AT", "NEW-AFTER", "GHOST"} & set(after["customer_id"])


def test_customer_signing_up_at_or_after_the_cutoff_is_unknown_at_it() -> None:
    """A customers row whose signup_date is at / after the cutoff must not reach the features at it."""
    cfg = FEATURE_CONFIGS["default"]
    base = _base()
    cutoff = _cutoff("midnight", base)
    pop = pd.DataFrame({
        "customer_id": pd.array(["NEW-AT", "NEW-AFTER"], dtype="string"),
        "cutoff": [cutoff, cutoff],
    }).astype({"cutoff": "datetime64[us]"})
    before = build_features(base, pop, cfg)
    after = build_features(_future(base, cutoff, seed=3), pop, cfg)
    pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_as_of_view_gives_the_same_features_as_the_full_history() -> None:
    """point_in_time(tables, T) then features at T == features at T on the full history."""
    cfg = FEATURE_CONFIGS["default"]
    base = _base()
    cutoff = pd.Timestamp("2024-02-10 08:00")
    view, _ = point_in_time(base, cutoff)
    pop = _population(view, cutoff)
    pd.testing.assert_frame_equal(build_features(view, pop, cfg), build_features(base, pop, cfg), check_exact=True)


@pytest.mark.parametrize("definition", [EXPLICIT, INACTIVITY], ids=["explicit", "inactivity"])
def test_scoring_features_from_the_workspace_files_equal_those_of_the_as_of_view(definition, tmp_path) -> None:
    """The scoring stage gives DuckDB the validated files, every row at and after as_of still in them: the same
    features as the as-of view in pandas, the same population, and the rows left out counted as before."""
    from helpers import CONFIG

    from churn.config import load_config
    from churn.ops import Workspace, io
    from churn.runners import run_scoring_features

    cfg = load_config(CONFIG).model_copy(update={"labels": definition})
    base = _base()
    as_of = _cutoff("odd_time", base)
    future = _future(base, as_of, seed=4)
    ws = Workspace(root=tmp_path)
    io.replace_tables(future, ws.validated)
    result = run_scoring_features(cfg, ws, as_of)
    view, later = point_in_time(future, as_of)
    expected = build_features(view, population(view, [as_of], definition), cfg.features)
    pd.testing.assert_frame_equal(io.read_parquet(ws.scoring_features), expected, check_exact=True)
    assert result["rows_at_or_after_as_of"] == later and later["orders"] > 0 and later["customers"] == 2


@pytest.mark.parametrize("definition", [EXPLICIT, INACTIVITY], ids=["explicit", "inactivity"])
def test_training_examples_from_the_workspace_files_equal_those_of_the_as_of_view(definition, tmp_path) -> None:
    """The training features stage, like scoring's, gives DuckDB the validated files with every row at and after
    as_of in them, and the population and labels the orders' three columns: the same examples as the as-of view."""
    from helpers import CONFIG

    from churn.config import load_config
    from churn.ops import Workspace, io
    from churn.runners import run_training_features

    cfg = load_config(CONFIG)
    cfg = cfg.model_copy(update={"labels": definition.model_copy(update={"horizon_days": 60})})
    base = _base()
    as_of = pd.Timestamp("2024-06-01 10:30")
    ws = Workspace(root=tmp_path)
    io.replace_tables(_future(base, as_of, seed=5), ws.validated)
    result = run_training_features(cfg, ws, as_of)
    view, _ = point_in_time(_future(base, as_of, seed=5), as_of)
    plan = plan_cutoffs(as_of, cfg.labels, refit=cfg.train.refit)
    expected = training_examples(view, plan, cfg.labels, cfg.features)
    assert len(expected) > 100 and expected["churned"].nunique() == 2 and len(result["cutoffs"]) > 2
    # Equal but for the last bits of a few means: with rows after as_of in the tables DuckDB joins them in another
    # order over several cutoffs (measured: 29 of 304 resolution_days_365 cells, 7e-15 apart). A row leaking
    # through would move a count or a mean by far more; the demo's 45,397 examples are equal to the bit.
    pd.testing.assert_frame_equal(io.read_parquet(ws.examples), expected, check_exact=False, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- point_in_time

AS_OF = pd.Timestamp("2024-06-01")


def _ts(*values) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[us]")


def _pit_tables() -> dict[str, pd.DataFrame]:
    edge = [AS_OF - 30 * DAY, AS_OF - US, AS_OF, AS_OF + US, AS_OF + 30 * DAY]
    ids = pd.array(["A", "B", "C", "D", "E"], dtype="string")
    return {
        "customers": pd.DataFrame({
            "customer_id": pd.array(["early", "just_before", "at", "after", "unknown_signup"], dtype="string"),
            "signup_date": _ts(AS_OF - 400 * DAY, AS_OF - US, AS_OF, AS_OF + DAY, None),
            "churn_date": _ts(AS_OF - DAY, AS_OF, AS_OF - 2 * DAY, None, AS_OF + 5 * DAY),
        }),
        "orders": pd.DataFrame({"customer_id": ids, "ts": _ts(*edge), "amount": [1.0, 2.0, 3.0, 4.0, 5.0]}),
        "interactions": pd.DataFrame({"customer_id": ids, "ts": _ts(*edge), "channel": ["call"] * 5}),
        "tickets": pd.DataFrame({
            "customer_id": ids,
            "ts": _ts(*edge),
            "category": ["price"] * 5,
            "resolved_ts": _ts(AS_OF - 10 * DAY, AS_OF, AS_OF + DAY, None, AS_OF + 31 * DAY),
        }),
        "surveys": pd.DataFrame({"customer_id": ids, "ts": _ts(*edge), "score": [1.0, 2.0, 3.0, 4.0, 5.0]}),
    }


def test_point_in_time_drops_rows_at_or_after_as_of() -> None:
    tables = _pit_tables()
    view, later = point_in_time(tables, AS_OF)
    for name in ("orders", "interactions", "tickets", "surveys"):
        assert view[name]["customer_id"].tolist() == ["A", "B"], name
        assert (view[name]["ts"] < AS_OF).all()
        assert later[name] == 3
    # customers signed up at / after as_of are not known yet; an unknown signup date is kept
    assert view["customers"]["customer_id"].tolist() == ["early", "just_before", "unknown_signup"]
    assert later["customers"] == 2


def test_point_in_time_blanks_what_had_not_happened_yet() -> None:
    tables = _pit_tables()
    view, _ = point_in_time(tables, AS_OF)
    # ticket A resolved before as_of keeps its time; B resolved exactly at as_of is still open
    assert view["tickets"]["resolved_ts"].tolist()[0] == AS_OF - 10 * DAY
    assert pd.isna(view["tickets"]["resolved_ts"].iloc[1])
    churn = dict(zip(view["customers"]["customer_id"], view["customers"]["churn_date"]))
    assert churn["early"] == AS_OF - DAY
    assert pd.isna(churn["just_before"])  # churned exactly at as_of: not yet
    assert pd.isna(churn["unknown_signup"])  # churns after as_of
    assert view["customers"]["churn_date"].dtype == tables["customers"]["churn_date"].dtype
    # the input is not modified
    assert tables["tickets"]["resolved_ts"].notna().sum() == 4
    assert len(tables["customers"]) == 5


def test_point_in_time_of_a_generated_history() -> None:
    tables = _base()
    as_of = pd.Timestamp(tables["orders"]["ts"].iloc[300])  # exactly on an order
    view, later = point_in_time(tables, as_of)
    for name in ("orders", "interactions", "tickets", "surveys"):
        assert (view[name]["ts"] < as_of).all()
        assert len(view[name]) + later[name] == len(tables[name])
        assert later[name] == int((tables[name]["ts"] >= as_of).sum())
    assert not (view["tickets"]["resolved_ts"] >= as_of).any()
    assert not (view["customers"]["churn_date"] >= as_of).any()
    assert not (view["customers"]["signup_date"] >= as_of).any()


# ----------------------------------------------------------------------------- labels

C = pd.Timestamp("2024-01-01")
H = 90 * DAY  # horizon_days
A = 180 * DAY  # active_days

# (case, [(ts, amount), ...], in population at C, churned within the horizon)
INACTIVITY_CASES = [
    ("buys_again", [(C - 10 * DAY, 100.0), (C + 10 * DAY, 50.0)], True, 0),
    ("never_again", [(C - 10 * DAY, 100.0)], True, 1),
    ("buys_exactly_at_cutoff", [(C - 10 * DAY, 100.0), (C, 20.0)], True, 0),
    ("buys_exactly_at_horizon_end", [(C - 10 * DAY, 100.0), (C + H, 20.0)], True, 1),
    ("buys_just_before_horizon_end", [(C - 10 * DAY, 100.0), (C + H - US, 20.0)], True, 0),
    ("only_a_return_after", [(C - 10 * DAY, 100.0), (C + 5 * DAY, -20.0)], True, 1),
    ("first_order_exactly_active_days_before", [(C - A, 100.0), (C + DAY, 1.0)], True, 0),
    ("last_order_just_outside_active_window", [(C - A - US, 100.0), (C + DAY, 1.0)], False, None),
    ("first_order_exactly_at_cutoff", [(C, 100.0)], False, None),
    ("only_returns_before", [(C - 5 * DAY, -30.0), (C + DAY, 10.0)], False, None),
    ("zero_amount_before", [(C - 5 * DAY, 0.0)], False, None),
]


def _orders(rows: list[tuple[pd.Timestamp, float]], cid: str = "X") -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": pd.array([cid] * len(rows), dtype="string"),
        "ts": _ts(*[r[0] for r in rows]),
        "amount": [r[1] for r in rows],
    })


@pytest.mark.parametrize("rows,in_pop,churned", [c[1:] for c in INACTIVITY_CASES], ids=[c[0] for c in INACTIVITY_CASES])
def test_inactivity_label(rows, in_pop: bool, churned: int | None) -> None:
    tables = {"orders": _orders(rows)}
    pop = population(tables, [C], INACTIVITY)
    assert pop["customer_id"].tolist() == (["X"] if in_pop else [])
    if in_pop:
        assert pop["cutoff"].tolist() == [C]
        assert label(tables, pop, INACTIVITY).tolist() == [churned]


# (case, signup_date, churn_date, order times, in population at C, churned within the horizon)
EXPLICIT_CASES = [
    ("active", C - 100 * DAY, None, [], True, 0),
    ("churns_exactly_at_cutoff", C - 100 * DAY, C, [], True, 1),
    ("churns_inside_horizon", C - 100 * DAY, C + 30 * DAY, [], True, 1),
    ("churns_just_before_horizon_end", C - 100 * DAY, C + H - US, [], True, 1),
    ("churns_exactly_at_horizon_end", C - 100 * DAY, C + H, [], True, 0),
    ("churned_just_before_cutoff", C - 100 * DAY, C - US, [], False, None),
    ("signs_up_exactly_at_cutoff", C, None, [], False, None),
    ("signs_up_just_before_cutoff", C - US, C + DAY, [], True, 1),
    ("no_signup_date_but_an_order_before", None, None, [C - 400 * DAY], True, 0),
    ("no_signup_date_order_exactly_at_cutoff", None, None, [C], False, None),
    ("signs_up_after_but_ordered_before", C + 5 * DAY, None, [C - DAY], True, 0),
]


@pytest.mark.parametrize(
    "signup,churn,order_ts,in_pop,churned", [c[1:] for c in EXPLICIT_CASES], ids=[c[0] for c in EXPLICIT_CASES]
)
def test_explicit_label(signup, churn, order_ts, in_pop: bool, churned: int | None) -> None:
    tables = {
        "customers": pd.DataFrame({
            "customer_id": pd.array(["X"], dtype="string"),
            "signup_date": _ts(signup),
            "churn_date": _ts(churn),
        }),
        "orders": _orders([(t, 10.0) for t in order_ts]),
    }
    pop = population(tables, [C], EXPLICIT)
    assert pop["customer_id"].tolist() == (["X"] if in_pop else [])
    if in_pop:
        assert label(tables, pop, EXPLICIT).tolist() == [churned]


def test_population_and_labels_over_several_cutoffs() -> None:
    """Rows per cutoff in cutoff order, ids sorted within a cutoff, labels aligned with the rows."""
    c2 = C + 30 * DAY
    tables = {"orders": pd.concat([
        _orders([(C - 10 * DAY, 5.0), (C + 20 * DAY, 5.0)], "b"),  # active at both; buys in C's horizon only
        _orders([(C - 100 * DAY, 5.0), (c2, 5.0)], "a"),  # active at both; buys exactly at c2
        _orders([(C + 5 * DAY, 5.0)], "c"),  # new between the cutoffs, never again
        _orders([(C - 200 * DAY, 5.0)], "d"),  # inactive at both
    ], ignore_index=True)}
    pop = population(tables, [C, c2], INACTIVITY)
    assert pop["customer_id"].tolist() == ["a", "b", "a", "b", "c"]
    assert pop["cutoff"].tolist() == [C, C, c2, c2, c2]
    assert str(pop["cutoff"].dtype) == "datetime64[us]"
    assert label(tables, pop, INACTIVITY).tolist() == [0, 0, 0, 1, 1]
    shuffled = pop.iloc[[4, 1, 3, 0, 2]]
    assert label(tables, shuffled, INACTIVITY).tolist() == [1, 0, 1, 0, 0]


@pytest.mark.parametrize("offset", [pd.Timedelta(0), pd.Timedelta(milliseconds=1500)],
                         ids=["cutoffs_at_midnight", "cutoffs_within_a_second"])
def test_labels_equal_a_row_by_row_count_of_orders(offset) -> None:
    """Many customers, cutoffs and orders (some at a cutoff or a horizon's end to the microsecond, returns,
    zero amounts, customers without orders): each label is 1 exactly when no positive order falls in
    [cutoff, cutoff + horizon), counted row by row."""
    rng = np.random.default_rng(7)
    n, horizon = 300, pd.Timedelta(days=INACTIVITY.horizon_days)
    cutoffs = [C + offset + k * 30 * DAY for k in range(4)]
    ids = [f"c{i:03d}" for i in range(n)]
    when = C + pd.to_timedelta(rng.integers(-200, 300, 4000), unit="D") + pd.to_timedelta(rng.integers(0, 86_400_000_000, 4000), unit="us")
    edges = [c + shift for c in cutoffs for shift in (pd.Timedelta(0), horizon, horizon - US, -US)]
    orders = pd.DataFrame({
        "customer_id": pd.array(list(rng.choice(ids[:-20], 4000)) + list(rng.choice(ids[:-20], len(edges))), dtype="string"),
        "ts": pd.array(list(when) + edges, dtype="datetime64[us]"),
        "amount": list(rng.choice([-5.0, 0.0, 10.0, 25.0], 4000 + len(edges))),
    })
    pop = pd.DataFrame({"customer_id": pd.array(ids * len(cutoffs), dtype="string"),
                        "cutoff": pd.array([c for c in cutoffs for _ in ids], dtype="datetime64[us]")}).sample(frac=1, random_state=1)
    expected = [int(not ((orders["customer_id"] == cid) & (orders["ts"] >= cut) & (orders["ts"] < cut + horizon)
                         & (orders["amount"] > 0)).any()) for cid, cut in zip(pop["customer_id"], pop["cutoff"], strict=True)]
    got = label({"orders": orders}, pop, INACTIVITY)
    assert got.index.equals(pop.index) and got.tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_labels_need_their_tables() -> None:
    customers = pd.DataFrame({"customer_id": pd.array(["X"], dtype="string"), "signup_date": _ts(C - DAY)})
    with pytest.raises(ValueError, match="inactivity needs an `orders` table"):
        population({"customers": customers}, [C], INACTIVITY)
    with pytest.raises(ValueError, match="explicit needs a `customers` table with a churn_date column"):
        population({"customers": customers, "orders": _orders([(C - DAY, 1.0)])}, [C], EXPLICIT)


def test_every_label_window_ends_by_as_of() -> None:
    cfg = LabelsConfig(horizon_days=90, cutoff_step_days=30, train_cutoffs=4)
    plan = plan_cutoffs(pd.Timestamp("2025-01-01 15:00"), cfg)
    assert plan.as_of == pd.Timestamp("2025-01-01")
    assert plan.test + H == plan.as_of
    assert list(plan.train) == sorted(plan.train) and len(plan.train) == 4
    assert plan.train[-1] + H == plan.test  # no fitted label window overlaps the holdout's
    assert plan.train[0] + 3 * 30 * DAY == plan.train[-1]
    assert [plan.role(c) for c in plan.all()] == ["train"] * 4 + ["test"]


def test_a_refit_plan_adds_only_windows_that_end_by_as_of() -> None:
    # What the registered model and each backtest date fit on: every cutoff up to the holdout's.
    cfg = LabelsConfig(horizon_days=90, cutoff_step_days=30, train_cutoffs=3)
    plan = plan_cutoffs(pd.Timestamp("2025-01-01"), cfg, refit=True)
    assert all(c + H <= plan.as_of for c in plan.all()) and max(plan.all()) + H == plan.as_of
    assert [plan.role(c) for c in plan.all()] == ["train"] * 3 + ["refit"] * 2 + ["test"]
