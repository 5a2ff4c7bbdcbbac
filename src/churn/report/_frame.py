"""The list as the report shows it: personal details masked on request, columns in reading order, and
the small formatting helpers the HTML page and the workbook share."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from churn.data import mask_personal_columns
from churn.vocab import (
    ACTION_COLUMNS,
    CONTACTED,
    DECISION_COLUMNS,
    HELD_OUT,
    LIST_COLUMNS,
    PERSONAL_COLUMNS,
    at_risk_flags,
    lapsed_flags,
)

MONEY_COLUMNS = ("action_cost", "value_12m", "forecast_value_12m", "value_if_retained_12m", "expected_loss",
                 "contact_cost", "expected_retained_value")
# Currency codes shown as a symbol before the amount; any other code follows the amount ("1,234 CHF").
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


# ---------------------------------------------------------------------------------------- helpers

def prepare_list(listing: pd.DataFrame, mask_personal: bool) -> pd.DataFrame:
    """The list in rank order with the report's columns: personal columns after the id, unknown extras last.

    Held-out customers (the random measurement group) lose every trace of an action here, so no page or
    sheet a manager reads can show one: acting on them would spoil the measurement of the actions.
    `attrs["planned"]`: whether the list carries a contact plan (a list from before plans does not)."""
    missing = [c for c in ("customer_id", "churn_probability", "risk_band", "expected_loss") if c not in listing]
    if missing:
        raise ValueError(f"the retention list has no column(s) {missing}")
    planned = "decision" in listing.columns
    frame = listing.reset_index(drop=True)
    for column in (*LIST_COLUMNS, *DECISION_COLUMNS):
        if column not in frame.columns:
            frame[column] = (False if column in ("is_key_account", "holdout", "lapsed")
                             else 0.0 if column in MONEY_COLUMNS else None)
    if mask_personal:
        frame = mask_personal_columns(frame)
    personal = [c for c in PERSONAL_COLUMNS if c in frame.columns]
    extras = [c for c in frame.columns if c not in LIST_COLUMNS and c not in personal]
    order = ["customer_id", *personal, *(c for c in LIST_COLUMNS[1:] if c not in personal), *extras]
    frame = frame[order]
    for column in ("churn_probability", "cause_share", *MONEY_COLUMNS):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["expected_loss"] = frame["expected_loss"].fillna(0.0)
    frame["action_cost"] = frame["action_cost"].fillna(0.0)
    frame["is_key_account"] = frame["is_key_account"].astype("boolean").fillna(False).astype(bool)
    frame["contact_cost"] = frame["contact_cost"].fillna(0.0)
    frame["expected_retained_value"] = frame["expected_retained_value"].fillna(0.0)
    held = (frame["holdout"].astype("boolean").fillna(False).astype(bool)
            | frame["decision"].astype("string").eq(HELD_OUT).fillna(False)).to_numpy()
    frame["holdout"] = held
    for column in (*ACTION_COLUMNS, "holdout_action", "contact", "contact_label", "contact_channel"):
        frame[column] = frame[column].astype("object").where(~held, None)
    frame.loc[held, ["action_cost", "contact_cost", "expected_retained_value"]] = 0.0
    frame["lapsed"] = lapsed_flags(frame)
    # Lapsed customers are lost for a manager: ranked apart, as the win-back list; the others are the retention
    # list proper. Each list's rank counts from 1 in the list's own order (expected loss).
    frame["rank"] = frame.groupby("lapsed").cumcount() + 1
    frame.attrs["planned"] = planned
    return frame


def plan_totals(frame: pd.DataFrame, lapsed: bool | None = False) -> dict:
    """The contact plan's figures from the list itself (a `prepare_list` frame): customers to contact, the cost
    of their contacts and the value they are expected to retain, and the customers held out; for the retention
    list (`lapsed=False`), the win-back list (True) or both (None). The headline, the owner table and the
    workbook all read them from here, so they cannot disagree."""
    part = frame if lapsed is None else frame[frame["lapsed"] == lapsed]
    contacted = part["decision"].astype("string").eq(CONTACTED).fillna(False).to_numpy()
    return {"n": len(part), "n_contact": int(contacted.sum()),
            "contact_cost": float(part.loc[contacted, "contact_cost"].sum()),
            "retained": float(part.loc[contacted, "expected_retained_value"].sum()),
            "n_holdout": int(part["holdout"].sum()), "expected_loss": float(part["expected_loss"].sum())}


def money_format(currency: str | None):
    """A formatter of amounts in `currency` (a code such as CNY or USD; None or "": plain numbers)."""
    code = (currency or "").strip()
    symbol = CURRENCY_SYMBOLS.get(code.upper())

    def fmt(value: object) -> str:
        if _missing(value):
            return "n/a"
        number = f"{float(value):,.0f}"
        if number.startswith("-"):
            return "-" + fmt(-float(value))
        return f"{symbol}{number}" if symbol else f"{number} {code}" if code else number
    return fmt


def excel_money_format(currency: str | None) -> str:
    """The Excel number format of amounts in `currency` (see `money_format`)."""
    code = (currency or "").strip()
    symbol = CURRENCY_SYMBOLS.get(code.upper())
    return f'"{symbol}"#,##0' if symbol else f'#,##0" {code}"' if code else "#,##0"


def by_value(values: pd.Series, word: Callable[[object], object]) -> list:
    """`word(value)` for each of `values`, computed once per distinct value, missing values as None: a list's
    columns repeat a few values over up to a million rows, and a Python call per row costs seconds there."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    words = np.empty(len(uniques) + 1, dtype=object)
    # text converted at once: iterating an Arrow-backed index yields its values one call at a time (0.46 s ->
    # 0.1 s for the 421,795 distinct reason lists of a million customers); other kinds as they come
    text = isinstance(uniques.dtype, pd.StringDtype)
    for i, value in enumerate(np.asarray(uniques, dtype=object).tolist() if text else uniques):
        words[i] = word(value)
    words[-1] = word(None)  # code -1: missing
    return words[codes].tolist()


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _key(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _first(frame: pd.DataFrame, column: str) -> str:
    values = frame[column].dropna()
    return str(values.iloc[0]) if len(values) else "n/a"


def _money(value: object) -> str:
    return "n/a" if _missing(value) else f"{float(value):,.0f}"


def _count(value: object) -> str:
    return f"{int(value):,}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def shown_customers(frame: pd.DataFrame, list_all_up_to: int | None) -> np.ndarray:
    """Which rows of the list the report and the workbook show: all of them when there are at most
    `list_all_up_to` (None: no limit); otherwise the customers a manager acts on, at risk (`AT_RISK_BANDS`),
    lapsed or in the contact plan (contacted or held out). A million rows would make a page nobody can open."""
    if list_all_up_to is None or len(frame) <= list_all_up_to:
        return np.ones(len(frame), dtype=bool)
    planned = frame["decision"].isin([CONTACTED, HELD_OUT]) if "decision" in frame.columns else False
    return (at_risk_flags(frame) | lapsed_flags(frame) | planned).fillna(False).to_numpy(bool)
