"""The customer structure of a run: how many customers and how much value sit in each value tier, need profile,
lifecycle stage, key-account status, segment and region, how many of them are at risk and what they stand to
lose; and how concentrated value is (the Pareto curve: the share of value the largest customers hold)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import churn.report.localize as localize
from churn.report._changes import NOT_LISTED
from churn.vocab import LIFECYCLE_STAGES, NEEDS, VALUE_TIERS, at_risk_flags

# The dimensions, in the order the sheet shows them, and the order of their groups (None: by value, largest first).
DIMENSIONS = {"value_tier": list(VALUE_TIERS), "is_key_account": [True, False], "lifecycle_stage": list(LIFECYCLE_STAGES),
              "need_profile": [*NEEDS, "none"], "segment": None, "region": None}
STRUCTURE_COLUMNS = ["dimension", "group", "customers", "customer_share", "value_12m", "value_share", "at_risk",
                     "expected_loss"]
MOVE_COLUMNS = ["customers_change", "value_change"]  # with a previous run: the change since it
PARETO_SHARES = (0.01, 0.05, 0.1, 0.2, 0.5)


def customer_structure(listing: pd.DataFrame, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (dimension, group) of the scored customers (`STRUCTURE_COLUMNS`): customers and their share,
    12-month value (margin) and its share, customers at risk (high or medium risk, not lapsed), expected loss.
    Dimensions the list does not carry are left out; a missing group value counts as "(none)". With the
    `previous` run's list, `MOVE_COLUMNS` as well: customers and value now minus then, per group (a group new
    since then counts from 0; a dimension the previous list lacks stays empty)."""
    out = _structure(listing)
    if previous is None or not {"value_12m", "expected_loss", "risk_band"} <= set(previous.columns):
        return out  # no run before, or one archived before the structure was
    before = _structure(previous).set_index(["dimension", "group"])
    keys = pd.MultiIndex.from_frame(out[["dimension", "group"]])
    known = out["dimension"].isin(set(before.index.get_level_values(0))).to_numpy()
    then = before.reindex(keys)
    out["customers_change"] = np.where(known, out["customers"] - then["customers"].fillna(0).to_numpy(), np.nan)
    out["value_change"] = np.where(known, (out["value_12m"] - then["value_12m"].fillna(0).to_numpy()).round(2), np.nan)
    return out


def _structure(listing: pd.DataFrame) -> pd.DataFrame:
    value = pd.to_numeric(listing["value_12m"], errors="coerce").fillna(0.0).clip(lower=0)
    loss = pd.to_numeric(listing["expected_loss"], errors="coerce").fillna(0.0)
    risky = at_risk_flags(listing)
    frames = []
    for dimension, order in DIMENSIONS.items():
        if dimension not in listing.columns:
            continue
        group = listing[dimension].astype("object").where(listing[dimension].notna(), "(none)")
        table = pd.DataFrame({"group": group.to_numpy(), "value": value.to_numpy(), "risky": risky.to_numpy(),
                              "loss": loss.to_numpy()}).groupby("group", sort=False).agg(
            customers=("value", "size"), value_12m=("value", "sum"), at_risk=("risky", "sum"),
            expected_loss=("loss", "sum"))
        known = [g for g in (order or []) if g in table.index]
        rest = table.drop(index=known).sort_values("value_12m", ascending=False).index.tolist()
        table = table.reindex(known + rest)
        table.insert(0, "dimension", dimension)
        frames.append(table.reset_index())
    out = pd.concat(frames, ignore_index=True)
    out["customer_share"] = out["customers"] / max(len(listing), 1)
    total = float(value.sum())
    out["value_share"] = out["value_12m"] / total if total > 0 else 0.0
    out["at_risk"] = out["at_risk"].astype(int)
    out["value_12m"] = out["value_12m"].round(2)
    out["expected_loss"] = out["expected_loss"].round(2)
    return out[STRUCTURE_COLUMNS]


def pareto_curve(listing: pd.DataFrame, shares: tuple[float, ...] = PARETO_SHARES) -> pd.DataFrame:
    """The share of 12-month value held by the largest customers: for each share of customers (top 1%, 5%, ...),
    how many customers that is and the share of value they hold."""
    value = np.sort(pd.to_numeric(listing["value_12m"], errors="coerce").fillna(0.0).clip(lower=0).to_numpy())[::-1]
    total = value.sum()
    rows = []
    for share in shares:
        n = max(int(np.ceil(share * len(value))), 1) if len(value) else 0
        rows.append({"top_share": share, "customers": n, "value_share": float(value[:n].sum() / total) if total else 0.0})
    return pd.DataFrame(rows)


def structure_table(frame: pd.DataFrame, language: str, previous: pd.DataFrame | None = None) -> pd.DataFrame:
    """The customer structure (`customer_structure`, with the change since the `previous` run's list when given)
    and the Pareto curve of value below it, with dimensions and groups in `language`'s words (the workbook's
    sheet and the report's section)."""
    t = localize.TEXT[language]
    structure = customer_structure(frame, previous)
    terms = {"value_tier": localize.VALUE_TIERS, "lifecycle_stage": localize.LIFECYCLE_STAGES,
             "need_profile": localize.NEED_PROFILES, "segment": localize.SEGMENTS, "region": localize.REGIONS}
    structure["group"] = [t["yes"] if g is True else t["no"] if g is False
                          else localize.term(terms[d], g, language) if d in terms else g
                          for d, g in zip(structure["dimension"], structure["group"], strict=True)]
    pareto = pareto_curve(frame)
    pareto = pd.DataFrame({"dimension": "pareto", "customers": pareto["customers"],
                           "group": [t["pareto_top"].format(share=f"{s:.0%}") for s in pareto["top_share"]],
                           "customer_share": pareto["top_share"], "value_share": pareto["value_share"]})
    columns = STRUCTURE_COLUMNS + [c for c in MOVE_COLUMNS if c in structure.columns]
    out = pd.concat([structure, pareto], ignore_index=True)[columns]
    out["dimension"] = out["dimension"].map(lambda d: localize.STRUCTURE_DIMENSIONS[language][d])
    return out


def lifecycle_moves_table(lifecycle: dict | None, language: str) -> pd.DataFrame | None:
    """The customers who moved between lifecycle stages since the previous run (`lifecycle`: `lifecycle_flows`, as
    the decide stage's summary holds it) as a matrix in `language`'s words: one row per stage then (and "not
    listed": new to the list), one column per stage now (and "not listed": no longer active), the count in each
    cell and 0 where none moved (staying is not a move). None without a previous run to compare with."""
    if not lifecycle or not lifecycle.get("since"):
        return None
    flows = lifecycle["flows"]
    stages = [*LIFECYCLE_STAGES, NOT_LISTED]
    words = {s: localize.term(localize.LIFECYCLE_STAGES, s, language) for s in LIFECYCLE_STAGES}
    words[NOT_LISTED] = localize.TEXT[language]["not_listed"]
    t = localize.TEXT[language]
    table = pd.DataFrame([[flows.get(b, {}).get(n, 0) for n in stages] for b in stages],
                         columns=[words[n] for n in stages])
    table.insert(0, t["moves_from"], [words[b] for b in stages])
    return table
