"""Satisfaction and complaints: survey scores and complaints over time and by segment and owner, the complaints
still open for customers at risk, how long complaints take to resolve, and how churn went with complaints in the
history (from the training examples: each customer's complaints and resolution time before a cutoff, and whether
it churned within the horizon after).

The tables come as they were known before the run's date (`churn.data.point_in_time`: no survey or ticket at or
after it, a ticket resolved at or after it still open). A ticket without `is_complaint` counts as a complaint, as
in the features; its cause is its category's (`churn.vocab.COMPLAINT_CAUSE`), "other" for the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import churn.report.localize as localize
from churn.data import id_positions
from churn.report._frame import by_value
from churn.vocab import COMPLAINT_CAUSE, NEEDS, NO_OWNER, at_risk_flags

SCORES = ("score", "price_score", "service_score", "quality_score")
SATISFACTION_COLUMNS = ["dimension", "group", "customers", "surveys", *SCORES, "complaints", "complaints_per_customer",
                        *(f"complaints_{need}" for need in NEEDS), "resolution_days", "open_complaints", "at_risk"]
OPEN_COLUMNS = ["customer_id", "name", "owner", "category", "opened", "days_open", "risk_band", "churn_probability",
                "expected_loss"]
CHURN_LINK_COLUMNS = ["measure", "group", "customers", "churned", "churn_rate"]
# Buckets of the history's link to churn: complaints in the year before a cutoff, mean days to resolve them.
COMPLAINT_BUCKETS = ((0, 0, "0"), (1, 1, "1"), (2, 3, "2-3"), (4, np.inf, "4+"))
RESOLUTION_BUCKETS = ((0, 2, "< 2"), (2, 7, "2-7"), (7, 14, "7-14"), (14, np.inf, "14+"))
NO_RESOLVED = "none resolved"


def satisfaction_analysis(surveys: pd.DataFrame | None, tickets: pd.DataFrame | None, listing: pd.DataFrame,
                          examples: pd.DataFrame | None, as_of: pd.Timestamp, quarters: int = 8) -> dict:
    """The section's tables from the validated `surveys` and `tickets` as of `as_of` (`churn.data.point_in_time`;
    either may be None: its columns stay empty), the run's `listing` (its customers, segments, owners, risk) and the training `examples` (None: no link
    to churn): "satisfaction" (`SATISFACTION_COLUMNS`: the last `quarters` calendar quarters before `as_of`, then
    the scored customers by segment and by owner over the 365 days before it), "open_complaints"
    (`OPEN_COLUMNS`: complaints still open of customers at risk, largest expected loss first) and "churn_link"
    (`CHURN_LINK_COLUMNS`)."""
    as_of = pd.Timestamp(as_of)
    surveys = _table(surveys)
    complaints = _complaints(_table(tickets))
    # the columns `_figures` reads, split into groups below (the ids' and categories' text is not carried along)
    survey_figures, complaint_figures = [c for c in SCORES if c in surveys.columns], ["cause", "resolution_days", "open"]
    periods = pd.period_range(end=(as_of - pd.Timedelta(days=1)).to_period("Q"), periods=quarters, freq="Q")
    by_quarter = zip(_split(surveys[survey_figures], periods.get_indexer(surveys["ts"].dt.to_period("Q")),
                            len(periods)),
                     _split(complaints[complaint_figures],
                            periods.get_indexer(complaints["opened"].dt.to_period("Q")), len(periods)), strict=True)
    rows = [_figures(quarter_surveys, quarter_complaints, None) | {"dimension": "quarter", "group": str(p)}
            for p, (quarter_surveys, quarter_complaints) in zip(periods, by_quarter, strict=True)]
    year = as_of - pd.Timedelta(days=365)
    recent_surveys, recent = surveys[surveys["ts"] >= year], complaints[complaints["opened"] >= year]
    risky = at_risk_flags(listing)
    # each survey's and complaint's customer looked up once (a set per group walked every id, group by group)
    ids = listing["customer_id"].astype(str).to_numpy(dtype=object)
    first = ~pd.Index(ids).duplicated()  # a customer listed twice counts once, in its first row's group
    customers = pd.Index(ids[first])
    survey_of, complaint_of = (id_positions(t["customer_id"], customers) for t in (recent_surveys, recent))
    flags = np.asarray(risky.fillna(False), dtype=bool)
    for dimension in ("segment", "owner"):
        if dimension not in listing.columns:
            continue
        group = listing[dimension].astype("object").where(listing[dimension].notna(), NO_OWNER)
        code, levels = pd.factorize(group.to_numpy(dtype=object), sort=True)
        customer_code = code[first]
        survey_group = np.where(survey_of >= 0, customer_code[survey_of], -1)
        complaint_group = np.where(complaint_of >= 0, customer_code[complaint_of], -1)
        counts = np.bincount(customer_code, minlength=len(levels))
        at_risk = np.bincount(code, weights=flags, minlength=len(levels))
        groups = zip(_split(recent_surveys[survey_figures], survey_group, len(levels)),
                     _split(recent[complaint_figures], complaint_group, len(levels)), strict=True)
        for i, (name, (group_surveys, group_complaints)) in enumerate(zip(levels, groups, strict=True)):
            rows.append(_figures(group_surveys, group_complaints, int(counts[i]))
                        | {"dimension": dimension, "group": name, "at_risk": int(at_risk[i])})
    table = pd.DataFrame(rows).reindex(columns=SATISFACTION_COLUMNS)
    return {"satisfaction": table, "open_complaints": _open_at_risk(complaints, listing, risky, as_of),
            "churn_link": _churn_link(examples)}


def _split(frame: pd.DataFrame, group: np.ndarray, groups: int) -> list[pd.DataFrame]:
    """The rows of `frame` in each of `groups` groups (`group`: a row's group, -1 none), in their order: one stable
    sort, not a filter of every row per group (40 owners' filters of 14M survey and complaint rows cost 7 s)."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(groups + 1))
    return [frame.iloc[order[bounds[i]:bounds[i + 1]]] for i in range(groups)]


def _table(table: pd.DataFrame | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({"customer_id": pd.Series(dtype="string"), "ts": pd.Series(dtype="datetime64[ns]")})
    return table.assign(customer_id=table["customer_id"].astype(str))


def _complaints(tickets: pd.DataFrame) -> pd.DataFrame:
    """One row per complaint: customer, opened, category, cause, days to resolve (missing while open), open."""
    if "is_complaint" in tickets.columns:
        tickets = tickets[tickets["is_complaint"].fillna(True).astype(bool)]
    resolved = pd.to_datetime(tickets["resolved_ts"]) if "resolved_ts" in tickets.columns else \
        pd.Series(pd.NaT, index=tickets.index)
    category = tickets["category"].astype("object") if "category" in tickets.columns else \
        pd.Series(None, index=tickets.index, dtype="object")
    return pd.DataFrame({
        "customer_id": tickets["customer_id"], "opened": tickets["ts"], "category": category,
        "cause": by_value(category, lambda c: COMPLAINT_CAUSE.get(str(c), "other")),
        "resolution_days": (resolved - tickets["ts"]).dt.total_seconds() / 86_400,
        "open": resolved.isna(),
    })


def _figures(surveys: pd.DataFrame, complaints: pd.DataFrame, customers: int | None) -> dict:
    out = {"customers": customers, "surveys": len(surveys)}
    for score in SCORES:
        values = pd.to_numeric(surveys[score], errors="coerce") if score in surveys.columns else pd.Series(dtype=float)
        out[score] = round(float(values.mean()), 2) if values.notna().any() else np.nan
    out["complaints"] = len(complaints)
    out["complaints_per_customer"] = round(len(complaints) / customers, 3) if customers else np.nan
    for need in NEEDS:
        out[f"complaints_{need}"] = int((complaints["cause"] == need).sum())
    days = complaints["resolution_days"].dropna()
    out["resolution_days"] = round(float(days.mean()), 1) if len(days) else np.nan
    out["open_complaints"] = int(complaints["open"].sum())
    return out


def _open_at_risk(complaints: pd.DataFrame, listing: pd.DataFrame, risky: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    at_risk = listing[risky.to_numpy()].assign(customer_id=lambda d: d["customer_id"].astype(str))
    columns = [c for c in ("customer_id", "name", "owner", "risk_band", "churn_probability", "expected_loss")
               if c in at_risk.columns]
    still = complaints[complaints["open"]].merge(at_risk[columns], on="customer_id", how="inner")
    still = still.assign(days_open=((as_of - still["opened"]).dt.total_seconds() / 86_400).round(0),
                         opened=still["opened"].dt.date.astype(str))
    still = still.sort_values(["expected_loss", "customer_id", "opened"], ascending=[False, True, True])
    return still.reindex(columns=OPEN_COLUMNS).reset_index(drop=True)


def _churn_link(examples: pd.DataFrame | None) -> pd.DataFrame:
    """Churn within the horizon by complaints in the year before each labelled cutoff (the examples'
    complaints_<category>_365 summed), and by mean days to resolve the tickets of that year, over every
    (customer, cutoff) example."""
    by_category = [c for c in (examples.columns if examples is not None else [])
                   if c.startswith("complaints_") and c.endswith("_365")]
    if examples is None or "churned" not in examples.columns or not by_category:
        return pd.DataFrame(columns=CHURN_LINK_COLUMNS)
    known = examples[examples["churned"].notna()]
    churned = known["churned"].astype(float)
    complaints = known[by_category].fillna(0).sum(axis=1)  # complaints_<category>_365: every category once
    rows = [_rate("complaints_365", label, churned[(complaints >= lo) & (complaints <= hi)])
            for lo, hi, label in COMPLAINT_BUCKETS]
    if "resolution_days_365" in known.columns:
        days = known["resolution_days_365"]
        rows += [_rate("resolution_days_365", label, churned[(days >= lo) & (days < hi)])
                 for lo, hi, label in RESOLUTION_BUCKETS]
        rows.append(_rate("resolution_days_365", NO_RESOLVED, churned[days.isna()]))
    return pd.DataFrame(rows, columns=CHURN_LINK_COLUMNS)


def _rate(measure: str, group: str, churned: pd.Series) -> dict:
    return {"measure": measure, "group": group, "customers": len(churned), "churned": int(churned.sum()),
            "churn_rate": round(float(churned.mean()), 4) if len(churned) else np.nan}


def satisfaction_tables(analysis: dict, language: str) -> dict[str, pd.DataFrame]:
    """`satisfaction_analysis`'s tables with dimensions, groups, categories and measures in `language`'s words
    (the workbook's sheets and the report's section)."""
    words = localize.SATISFACTION_TERMS[language]
    t = localize.TEXT[language]
    table = analysis["satisfaction"].copy()
    table["group"] = [localize.term(localize.SEGMENTS, g, language) if d == "segment"
                      else t["no_owner"] if g == NO_OWNER else g
                      for d, g in zip(table["dimension"], table["group"], strict=True)]
    table["dimension"] = table["dimension"].map(lambda d: words[d])
    still = analysis["open_complaints"].copy()
    still["category"] = still["category"].map(lambda c: localize.term(localize.REASON_TERMS, c, language))
    still["risk_band"] = still["risk_band"].map(lambda v: localize.term(localize.RISK_BANDS, v, language))
    still["owner"] = still["owner"].map(lambda o: t["no_owner"] if pd.isna(o) or o == NO_OWNER else o)
    link = analysis["churn_link"].copy()
    link["measure"] = link["measure"].map(lambda m: words[m])
    link["group"] = link["group"].map(lambda g: words.get(g, g))
    return {"satisfaction": table, "open_complaints": still.dropna(axis=1, how="all"), "churn_link": link}
