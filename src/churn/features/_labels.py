"""Who is a customer at a cutoff, who churned after it, and which cutoffs training may use."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from churn.config import LabelsConfig


@dataclass(frozen=True)
class CutoffPlan:
    """Cutoffs for one training run as of `as_of`. Every label window ends on or before `as_of`.

    The `test` cutoff is the latest complete one (as_of - horizon) and the fit cutoffs end one horizon
    before it, so no fitted label overlaps the holdout's. Probabilities are calibrated on out-of-fold
    predictions over the fit cutoffs. (A backtest date fits on every cutoff of its plan and is judged on
    what happens after the date.)

    `refit` cutoffs are the complete windows between the fit cutoffs and the holdout: with them, the fit
    cutoffs and the holdout, the registered model is fitted again on every complete window once the
    holdout has judged its specification.
    """

    as_of: pd.Timestamp
    test: pd.Timestamp
    train: tuple[pd.Timestamp, ...]
    refit: tuple[pd.Timestamp, ...] = ()

    def all(self) -> list[pd.Timestamp]:
        return sorted({*self.train, *self.refit, self.test})

    def role(self, cutoff: pd.Timestamp) -> str:
        if cutoff == self.test:
            return "test"
        return "train" if cutoff in self.train else "refit"


def plan_cutoffs(as_of: pd.Timestamp, cfg: LabelsConfig, refit: bool = False) -> CutoffPlan:
    as_of = pd.Timestamp(as_of).normalize()
    horizon, step = pd.Timedelta(days=cfg.horizon_days), pd.Timedelta(days=cfg.cutoff_step_days)
    test = as_of - horizon
    latest_fit = test - horizon
    train = tuple(sorted(latest_fit - step * k for k in range(cfg.train_cutoffs)))
    steps_back = range(1, cfg.horizon_days // cfg.cutoff_step_days + 1)
    between = tuple(sorted(c for c in (test - step * k for k in steps_back) if c > latest_fit)) if refit else ()
    return CutoffPlan(as_of, test, train, between)


def population(tables: dict[str, pd.DataFrame], cutoffs: list[pd.Timestamp], cfg: LabelsConfig) -> pd.DataFrame:
    """(customer_id, cutoff) for every customer active at each cutoff.

    inactivity: a positive order in the `active_days` before the cutoff.
    explicit: known before the cutoff (signed up or any order) and not yet churned.
    """
    frames = []
    for cutoff in cutoffs:
        cutoff = pd.Timestamp(cutoff)
        if cfg.definition == "inactivity":
            ids = _buyers(tables, cutoff - pd.Timedelta(days=cfg.active_days), cutoff)
        else:
            ids = _known_not_churned(tables, cutoff)
        frames.append(pd.DataFrame({"customer_id": pd.Series(sorted(ids), dtype="string"), "cutoff": cutoff}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["customer_id", "cutoff"])
    return out.astype({"cutoff": "datetime64[us]"})


def label(tables: dict[str, pd.DataFrame], pop: pd.DataFrame, cfg: LabelsConfig) -> pd.Series:
    """1 if the customer churned within `horizon_days` after the cutoff, else 0 (aligned with `pop`)."""
    horizon = pd.Timedelta(days=cfg.horizon_days)
    churned = pd.Series(0, index=pop.index, dtype="int64")
    for cutoff, group in pop.groupby("cutoff"):
        if cfg.definition == "inactivity":
            # a hash lookup: Series.isin on a string column walks a Python set of every buyer on each call
            stayed = pd.Index(list(_buyers(tables, cutoff, cutoff + horizon)))
            churned.loc[group.index] = (stayed.get_indexer(group["customer_id"]) < 0).astype("int64")
        else:
            cust = tables["customers"].set_index("customer_id")["churn_date"]
            when = group["customer_id"].map(cust)
            churned.loc[group.index] = ((when >= cutoff) & (when < cutoff + horizon)).astype("int64")
    return churned


def _buyers(tables: dict[str, pd.DataFrame], start: pd.Timestamp, end: pd.Timestamp) -> set[str]:
    if "orders" not in tables:
        raise ValueError("labels.definition=inactivity needs an `orders` table; use `explicit` with customers.churn_date")
    o = tables["orders"]
    mask = (o["ts"] >= start) & (o["ts"] < end) & (o["amount"] > 0)
    return set(o.loc[mask, "customer_id"])


def _known_not_churned(tables: dict[str, pd.DataFrame], cutoff: pd.Timestamp) -> set[str]:
    if "customers" not in tables or "churn_date" not in tables["customers"]:
        raise ValueError("labels.definition=explicit needs a `customers` table with a churn_date column")
    c = tables["customers"]
    known = set(tables["orders"].loc[tables["orders"]["ts"] < cutoff, "customer_id"]) if "orders" in tables else set()
    if "signup_date" in c:
        known |= set(c.loc[c["signup_date"] < cutoff, "customer_id"])
    gone = set(c.loc[c["churn_date"] < cutoff, "customer_id"])
    return known - gone
