"""The retention list as an Excel workbook: the full list (frozen header, autofilter, colour scale on churn
probability, high risk filled) and one sheet per owner with the customers to contact this week, customers
without an owner last. Held-out customers (the random measurement group) are on the full list as "do not
contact", with no action, and on no owner's sheet: their owners serve them as usual, unaware, so the
measurement of the actions stays clean."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

import churn.report.localize as localize
from churn.report._changes import changes_since, runs_before
from churn.report._frame import (
    MONEY_COLUMNS,
    _missing,
    _text,
    excel_money_format,
    prepare_list,
    shown_customers,
)
from churn.report._policy import policy_table
from churn.report._satisfaction import satisfaction_tables
from churn.report._structure import lifecycle_moves_table, structure_table
from churn.report.localize import list_reasons, render_reasons
from churn.vocab import CONTACTED, DECISION_COLUMNS, NO_OWNER

OWNER_SHEET_COLUMNS = [
    "customer_id", "name", "contact_name", "email", "phone", "lapsed", "churn_probability", "risk_band", "value_tier",
    "is_key_account", "segment", "region", "primary_cause", "contact_label", "contact_channel", "contact_cost",
    "expected_retained_value", "expected_loss", "value_12m", "days_since_last_order", "reasons",
]
# A list from before contact plans: the owners' sheets show the playbook's action.
UNPLANNED_OWNER_SHEET_COLUMNS = [
    "customer_id", "name", "contact_name", "email", "phone", "churn_probability", "risk_band", "value_tier",
    "is_key_account", "segment", "region", "primary_cause", "action_label", "channel", "owner_role", "action_cost",
    "value_12m", "expected_loss", "reasons",
]
# Codes for programs (the CSV and Parquet list keep them); the sheets say the same in words.
CODE_COLUMNS = ["reason_codes", "action", "contact", "holdout", "holdout_action", "rank"]
# The plan's columns, left off the full list of a list without a plan (they would all be empty).
DECISION_ONLY = [c for c in DECISION_COLUMNS if c not in CODE_COLUMNS]
_FORBIDDEN_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RESERVED_SHEET_NAMES = {"history"}


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name: no []:*?/\\, no leading/trailing apostrophe, at most 31
    characters, not "History", unique ignoring case (as Excel compares). Adds the name to `taken`."""
    base = _FORBIDDEN_SHEET_CHARS.sub("_", str(name)).strip().strip("'").strip() or "_"
    base = base[:31].rstrip()
    if base.casefold() in _RESERVED_SHEET_NAMES:
        base = f"{base} _"
    candidate, n = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def write_excel(listing: pd.DataFrame, target: str | Path | IO[bytes], language: str = "en",
                mask_personal: bool = False, currency: str | None = None,
                earlier_runs: dict[str, pd.DataFrame] | None = None, satisfaction: dict | None = None,
                policy: tuple[pd.DataFrame, dict[str, str]] | None = None, lifecycle: dict | None = None,
                list_all_up_to: int | None = None) -> None:
    """The list as an .xlsx workbook, saved to `target` (a path or a binary buffer such as BytesIO); amounts in
    `currency` (a code: CNY, USD, ...).

    Sheet 1 has the full list (a list longer than `list_all_up_to`: the customers to act on, `shown_customers`);
    then one sheet per owner (alphabetical) with that owner's customers to contact
    this week and the planned contact, and customers without an owner last, in "(no owner)". A list without a
    contact plan gives each owner all their customers with the playbook's action. With `earlier_runs` (archived
    lists by as-of date), a "Since last run" sheet lists the customers whose state changed since the latest one.
    The customer structure comes last but for, with the run summary's `lifecycle` (`churn.report.lifecycle_flows`),
    the lifecycle moves sheet, with `policy` (`churn.action.service_policy` and the playbook's
    labels by action), the service policy sheet and, with `satisfaction` (`churn.report.satisfaction_analysis`),
    the satisfaction, open complaints and complaints-and-churn sheets after it.

    Written with XlsxWriter row by row in its constant-memory mode (openpyxl built every cell as an object
    first: 54 s for a 100,000-customer business's workbook).
    """
    import xlsxwriter

    localize.check_language(language)
    t = localize.TEXT[language]
    frame = prepare_list(listing, mask_personal)
    planned = frame.attrs["planned"]
    table = _excel_values(frame, language).drop(columns=CODE_COLUMNS)
    if not planned:
        table = table.drop(columns=[c for c in DECISION_ONLY if c in table.columns])
    money = excel_money_format(currency)
    # Text stays text: a name such as "=1+1" or a web address in the data is never made a formula or a link.
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
               "constant_memory": True}
    if not isinstance(target, str | Path):
        options["in_memory"] = True
    wb = xlsxwriter.Workbook(target, options)
    styles = _Styles(wb, money)
    taken: set[str] = set()

    def sheet(title: str, rows: pd.DataFrame) -> None:
        _write_sheet(wb.add_worksheet(sheet_name(title, taken)), rows, language, styles)

    sheet(t["sheet_list"], table[shown_customers(frame, list_all_up_to)])
    as_of = str(frame["as_of"].dropna().iloc[0]) if frame["as_of"].notna().any() else "9999-12-31"
    earlier = runs_before(earlier_runs or {}, as_of)
    previous = earlier[max(earlier)] if earlier else None  # the latest run before this one
    if previous is not None:  # second: what changed since the last run
        changes = changes_since(previous, frame)
        sheet(t["sheet_changes"], pd.DataFrame({
            "customer_id": changes["customer_id"],
            "owner": changes["owner"].map(lambda o: t["no_owner"] if o == NO_OWNER else o),
            "change": changes["change"].map(lambda c: localize.CHANGES[language][c]),
            "expected_loss": changes["expected_loss"],
        }))
    lapsed = frame["lapsed"].to_numpy()
    if lapsed.any():  # the win-back list, apart: customers who have already gone
        sheet(t["sheet_winback"], table.loc[lapsed])

    owner = frame["owner"].astype("object")
    wanted = OWNER_SHEET_COLUMNS if planned else UNPLANNED_OWNER_SHEET_COLUMNS
    owner_columns = [c for c in wanted if c in table.columns]
    to_contact = frame["decision"].astype("string").eq(CONTACTED).fillna(False).to_numpy() if planned \
        else pd.Series(True, index=frame.index).to_numpy()
    # each owner's week: the retention contacts first, then the win-back ones
    week = np.argsort(lapsed, kind="stable")
    for name in sorted(owner.dropna().astype(str).unique(), key=str.casefold):
        rows = week[((owner == name).to_numpy() & to_contact)[week]]
        sheet(name, table.iloc[rows][owner_columns])
    if owner.isna().any():
        rows = week[(owner.isna().to_numpy() & to_contact)[week]]
        sheet(t["no_owner"], table.iloc[rows][owner_columns])
    if len(frame):  # the customer structure, last: the sheets before it are the week's work
        sheet(t["sheet_structure"], structure_table(frame, language, previous))
        moves = lifecycle_moves_table(lifecycle, language)
        if moves is not None:
            sheet(t["sheet_moves"], moves)
    if policy is not None:
        sheet(t["sheet_policy"], policy_table(*policy, language))
    if satisfaction is not None:
        tables = satisfaction_tables(satisfaction, language)
        for key, title in (("satisfaction", "sheet_satisfaction"), ("open_complaints", "sheet_open_complaints"),
                           ("churn_link", "sheet_complaints_churn")):
            sheet(t[title], tables[key])
    wb.close()


def _excel_values(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The list with readable (translated) values; numbers stay numbers."""
    t = localize.TEXT[language]
    out = frame.copy()
    out["risk_band"] = frame["risk_band"].map(lambda v: localize.term(localize.RISK_BANDS, v, language))
    out["value_tier"] = frame["value_tier"].map(lambda v: localize.term(localize.VALUE_TIERS, v, language))
    for c in ("primary_cause", "secondary_cause"):
        out[c] = frame[c].map(lambda v: localize.term(localize.CAUSES, v, language))
    out["is_key_account"] = frame["is_key_account"].map(lambda v: t["yes"] if bool(v) else t["no"])
    out["key_account_rule"] = frame["key_account_rule"].map(lambda v: localize.key_account_reason(v, language) or None)
    out["segment"] = frame["segment"].map(lambda v: localize.term(localize.SEGMENTS, v, language))
    out["region"] = frame["region"].map(lambda v: localize.term(localize.REGIONS, v, language))
    out["channel"] = frame["channel"].map(lambda v: localize.term(localize.CHANNELS, v, language))
    out["owner_role"] = frame["owner_role"].map(lambda v: localize.term(localize.OWNER_ROLES, v, language))
    out["action_label"] = [localize.action_label(a, _text(label), language)
                           for a, label in zip(frame["action"], frame["action_label"], strict=True)]
    out["reasons"] = list_reasons(frame, language)
    out["decision"] = frame["decision"].map(lambda v: localize.term(localize.DECISIONS, v, language))
    out["lapsed"] = frame["lapsed"].map(lambda v: t["section_winback"] if v else t["section_retention"])
    out["lifecycle_stage"] = frame["lifecycle_stage"].map(lambda v: localize.term(localize.LIFECYCLE_STAGES, v, language))
    out["need_profile"] = frame["need_profile"].map(lambda v: localize.term(localize.NEED_PROFILES, v, language))
    out["need_evidence"] = render_reasons(frame["need_evidence"].fillna("[]"), language)
    out["contact_channel"] = frame["contact_channel"].map(lambda v: localize.term(localize.CHANNELS, v, language))
    out["contact_label"] = [localize.action_label(_text(a), _text(label), language) if _text(a) else None
                            for a, label in zip(frame["contact"], frame["contact_label"], strict=True)]
    return out


_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # not allowed in the file's XML
FORMATS = {"churn_probability": "0.0%", "cause_share": "0%", "customer_share": "0.0%", "value_share": "0.0%",
           "churn_rate": "0.0%", "customers_change": "+#,##0;-#,##0;0"}


class _Styles:
    """The workbook's cell formats, made once (XlsxWriter keeps one record per distinct format)."""

    def __init__(self, wb, money: str) -> None:
        self.wb, self.money, self.by_number = wb, money, {}
        self.header = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F3A5F", "pattern": 1,
                                     "valign": "vcenter", "text_wrap": True, "bottom": 1, "bottom_color": "#B0B7C3"})
        self.high = wb.add_format({"bg_color": "#F4CCCC", "bold": True, "font_color": "#990000"})
        self.date = wb.add_format({"num_format": "yyyy-mm-dd"})

    def of(self, column: str):
        """The number format of `column`'s cells, or None."""
        number = FORMATS.get(column) or (self.money if column in MONEY_COLUMNS or column == "value_change" else None)
        if number is None:
            return None
        if number not in self.by_number:
            self.by_number[number] = self.wb.add_format({"num_format": number})
        return self.by_number[number]


def _write_sheet(ws, table: pd.DataFrame, language: str, styles: _Styles) -> None:
    from xlsxwriter.utility import xl_col_to_name

    headings = localize.COLUMNS[language]
    columns = list(table.columns)
    n = len(table)
    for j, column in enumerate(columns):  # widths first: a constant-memory sheet is written top to bottom
        ws.set_column(j, j, _column_width(headings.get(column, column), table[column], column))
    ws.set_row(0, 30)
    for j, column in enumerate(columns):
        ws.write_string(0, j, str(headings.get(column, column)), styles.header)
    formats = [styles.of(c) for c in columns]
    for i, values in enumerate(table.itertuples(index=False, name=None), start=1):
        for j, value in enumerate(values):
            _write_cell(ws, i, j, _excel_cell(value), formats[j], styles)
    ws.freeze_panes(1, 0)
    if columns:
        ws.autofilter(0, 0, n, len(columns) - 1)
    if n and "churn_probability" in columns:
        letter = xl_col_to_name(columns.index("churn_probability"))
        ws.conditional_format(f"{letter}2:{letter}{n + 1}", {
            "type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#FFFFFF",
            "mid_type": "num", "mid_value": 0.5, "mid_color": "#F8D57E",
            "max_type": "num", "max_value": 1, "max_color": "#E06666"})
    if n and "risk_band" in columns:
        letter = xl_col_to_name(columns.index("risk_band"))
        high = localize.term(localize.RISK_BANDS, "high", language)
        ws.conditional_format(f"{letter}2:{letter}{n + 1}", {"type": "cell", "criteria": "==", "value": f'"{high}"',
                                                             "format": styles.high})


def _write_cell(ws, row: int, col: int, value: object, number_format, styles: _Styles) -> None:
    if value is None or value == "":  # an empty cell, as a spreadsheet has it
        if number_format is not None:
            ws.write_blank(row, col, None, number_format)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, number_format)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, styles.date)
    else:
        ws.write_string(row, col, str(value))


def _excel_cell(value: object) -> object:
    if _missing(value):
        return None
    if isinstance(value, str):
        return _ILLEGAL_CHARACTERS.sub("", value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _column_width(heading: str, values: pd.Series, column: str) -> float:
    if column == "reasons":
        return 70
    sample = [heading] + [str(v) for v in values.head(500) if not _missing(v)]
    if column in ("churn_probability", "cause_share"):
        sample = [heading, "100.0%"]
    elif column in MONEY_COLUMNS:
        sample = [heading] + [f"{v:,.0f}" for v in values.head(500) if not _missing(v)]
    widest = max(_display_width(s) for s in sample)
    return float(min(60, max(8, widest + 2)))


def _display_width(text: str) -> int:
    # CJK characters take two columns.
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)
