"""The history as known at a date: what every feature, label and value query may see."""

from __future__ import annotations

import pandas as pd


def point_in_time(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> tuple[dict[str, pd.DataFrame], dict]:
    """The history as it was known just before `as_of`: only rows with ts < as_of.

    Customers who signed up at or after `as_of` are not known yet; a churn_date at or after
    `as_of` had not happened yet and is blanked. Returns the view and the rows left out per table.
    """
    as_of = pd.Timestamp(as_of)
    view, later = {}, {}
    for name, df in tables.items():
        if name == "customers":
            keep = ~(df["signup_date"] >= as_of) if "signup_date" in df else pd.Series(True, index=df.index)
            out = df[keep].copy()
            if "churn_date" in out:
                out["churn_date"] = out["churn_date"].where(out["churn_date"] < as_of)
        else:
            keep = df["ts"] < as_of
            out = df[keep]
            if name == "tickets" and "resolved_ts" in out:
                out = out.assign(resolved_ts=out["resolved_ts"].where(out["resolved_ts"] < as_of))
        view[name] = out.reset_index(drop=True)
        later[name] = int((~keep).sum())
    return view, later


def data_end(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The day after the latest order: label windows must end by then to be complete."""
    return (tables["orders"]["ts"].max() + pd.Timedelta(days=1)).normalize()
