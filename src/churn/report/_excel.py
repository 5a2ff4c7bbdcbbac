"""The retention list as an Excel workbook: the full list (frozen header, autofilter, churn probability shaded
on a fixed scale, high risk filled) and one sheet per owner with the customers to contact this week, customers
without an owner last. Held-out customers (the random measurement group) are on the full list as "do not
contact", with no action, and on no owner's sheet: their owners serve them as usual, unaware, so the
measurement of the actions stays clean."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

import churn.report.localize as localize
from churn.report._changes import changes_since, runs_before
from churn.report._frame import (
    MONEY_COLUMNS,
    _missing,
    by_value,
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

    Written by rust_xlsxwriter (through rustpy-xlsxwriter) in its constant-memory mode: XlsxWriter took 80 s for
    the 381,803 customers to act on of a 1,000,000-customer business, this 8 s. Only the rows some sheet shows are
    put into words.
    """
    from rustpy_xlsxwriter import write_worksheets

    localize.check_language(language)
    t = localize.TEXT[language]
    frame = prepare_list(listing, mask_personal)
    planned = frame.attrs["planned"]
    shown = shown_customers(frame, list_all_up_to)
    lapsed = frame["lapsed"].to_numpy(bool)
    to_contact = frame["decision"].astype("string").eq(CONTACTED).fillna(False).to_numpy() if planned \
        else np.ones(len(frame), dtype=bool)
    table = _excel_values(frame[shown | lapsed | to_contact], language).drop(columns=CODE_COLUMNS)
    if not planned:
        table = table.drop(columns=[c for c in DECISION_ONLY if c in table.columns])
    book = _Book(language, excel_money_format(currency))

    book.add(t["sheet_list"], table.loc[frame.index[shown]])
    as_of = str(frame["as_of"].dropna().iloc[0]) if frame["as_of"].notna().any() else "9999-12-31"
    earlier = runs_before(earlier_runs or {}, as_of)
    previous = earlier[max(earlier)] if earlier else None  # the latest run before this one
    if previous is not None:  # second: what changed since the last run
        changes = changes_since(previous, frame)
        book.add(t["sheet_changes"], pd.DataFrame({
            "customer_id": changes["customer_id"],
            "owner": changes["owner"].map(lambda o: t["no_owner"] if o == NO_OWNER else o),
            "change": changes["change"].map(lambda c: localize.CHANGES[language][c]),
            "expected_loss": changes["expected_loss"],
        }))
    if lapsed.any():  # the win-back list, apart: customers who have already gone
        book.add(t["sheet_winback"], table.loc[frame.index[lapsed]])

    owner = frame["owner"].astype("object")
    wanted = OWNER_SHEET_COLUMNS if planned else UNPLANNED_OWNER_SHEET_COLUMNS
    owner_columns = [c for c in wanted if c in table.columns]
    # each owner's week: the retention contacts first, then the win-back ones
    week = np.argsort(lapsed, kind="stable")
    for name in sorted(owner.dropna().astype(str).unique(), key=str.casefold):
        rows = week[((owner == name).to_numpy() & to_contact)[week]]
        book.add(name, table.loc[frame.index[rows], owner_columns])
    if owner.isna().any():
        rows = week[(owner.isna().to_numpy() & to_contact)[week]]
        book.add(t["no_owner"], table.loc[frame.index[rows], owner_columns])
    if len(frame):  # the customer structure, last: the sheets before it are the week's work
        book.add(t["sheet_structure"], structure_table(frame, language, previous))
        moves = lifecycle_moves_table(lifecycle, language)
        if moves is not None:
            book.add(t["sheet_moves"], moves)
    if policy is not None:
        book.add(t["sheet_policy"], policy_table(*policy, language))
    if satisfaction is not None:
        tables = satisfaction_tables(satisfaction, language)
        for key, title in (("satisfaction", "sheet_satisfaction"), ("open_complaints", "sheet_open_complaints"),
                           ("churn_link", "sheet_complaints_churn")):
            book.add(t[title], tables[key])
    # Text stays text (rust_xlsxwriter writes a string as a string: "=1+1" never becomes a formula nor an
    # address a link); every sheet frozen under its header, with a filter on it; dates as dates.
    write_worksheets(book.sheets, target, freeze_panes={"general": {"row": 1, "col": 0}},
                     autofilter={"general": True}, datetime_format="yyyy-mm-dd", **book.options)


def _excel_values(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The list with readable (translated) values; numbers stay numbers."""
    t = localize.TEXT[language]
    out = frame.copy()

    def words(column: str, table: dict) -> list:
        return by_value(frame[column], lambda v: localize.term(table, v, language))

    out["risk_band"] = words("risk_band", localize.RISK_BANDS)
    out["value_tier"] = words("value_tier", localize.VALUE_TIERS)
    for c in ("primary_cause", "secondary_cause"):
        out[c] = words(c, localize.CAUSES)
    out["is_key_account"] = by_value(frame["is_key_account"], lambda v: t["yes"] if _flag(v) else t["no"])
    out["key_account_rule"] = by_value(frame["key_account_rule"],
                                       lambda v: localize.key_account_reason(v, language) or None)
    out["segment"] = words("segment", localize.SEGMENTS)
    out["region"] = words("region", localize.REGIONS)
    out["channel"] = words("channel", localize.CHANNELS)
    out["owner_role"] = words("owner_role", localize.OWNER_ROLES)
    out["action_label"] = localize.action_labels(frame["action"], frame["action_label"], language)
    out["reasons"] = list_reasons(frame, language)
    out["decision"] = words("decision", localize.DECISIONS)
    out["lapsed"] = by_value(frame["lapsed"], lambda v: t["section_winback"] if _flag(v) else t["section_retention"])
    out["lifecycle_stage"] = words("lifecycle_stage", localize.LIFECYCLE_STAGES)
    out["need_profile"] = words("need_profile", localize.NEED_PROFILES)
    out["need_evidence"] = render_reasons(frame["need_evidence"].fillna("[]"), language)
    out["contact_channel"] = words("contact_channel", localize.CHANNELS)
    out["contact_label"] = localize.action_labels(frame["contact"], frame["contact_label"], language, empty=None)
    return out


def _flag(value: object) -> bool:
    return not _missing(value) and bool(value)


_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # not allowed in the file's XML
FORMATS = {"churn_probability": "0.0%", "cause_share": "0%", "customer_share": "0.0%", "value_share": "0.0%",
           "churn_rate": "0.0%", "customers_change": "+#,##0;-#,##0;0"}
# The churn probability shaded in steps on a fixed scale, the same in every sheet and run (a colour scale over
# each sheet's own range would paint a sheet of low risks red): from the probability up, the fill.
PROBABILITY_FILLS = ((0.75, "#E6826C"), (0.5, "#F2B978"), (0.25, "#F9E09E"))


class _Book:
    """The workbook's sheets and their layout, gathered for one `write_worksheets` call: localized headings,
    column widths, number formats and conditional formats, sheet by sheet."""

    def __init__(self, language: str, money: str) -> None:
        from rustpy_xlsxwriter import Format

        self.language, self.money, self.taken = language, money, set()
        self.sheets: list[tuple[str, pd.DataFrame]] = []
        self.options: dict[str, dict] = {k: {} for k in ("column_widths", "column_formats", "header_format",
                                                         "row_heights", "conditional_formats")}
        self.header = (Format().set_bold().set_font_color("#FFFFFF").set_background_color("#1F3A5F")
                       .set_align("vcenter").set_text_wrap().set_border_bottom("thin")
                       .set_border_bottom_color("#B0B7C3"))
        self.high = Format().set_background_color("#F4CCCC").set_bold().set_font_color("#990000")
        self.fills = [(at, Format().set_background_color(colour)) for at, colour in PROBABILITY_FILLS]
        self.by_number: dict[str, object] = {}

    def number_format(self, column: str):
        """The number format of `column`'s cells, or None."""
        from rustpy_xlsxwriter import Format

        number = FORMATS.get(column) or (self.money if column in MONEY_COLUMNS or column == "value_change" else None)
        if number is not None and number not in self.by_number:
            self.by_number[number] = Format().set_num_format(number)
        return None if number is None else self.by_number[number]

    def add(self, title: str, table: pd.DataFrame) -> None:
        """A sheet titled `title` (made a valid, unique sheet name) holding `table`, headed in the language."""
        headings = localize.COLUMNS[self.language]
        name = sheet_name(title, self.taken)
        shown = {c: str(headings.get(c, c)) for c in table.columns}
        if len(set(shown.values())) < len(shown):  # two columns under one heading: the column names instead
            shown = {c: str(c) for c in table.columns}
        # a fresh index: the writer would add any other index as a column of its own
        cells = pd.DataFrame({shown[c]: _cells(table[c]).to_numpy() for c in table.columns})
        self.sheets.append((name, cells))
        self.options["column_widths"][name] = [_column_width(shown[c], table[c], c) for c in table.columns]
        self.options["column_formats"][name] = {shown[c]: f for c in table.columns
                                                if (f := self.number_format(c)) is not None}
        self.options["header_format"][name] = self.header
        self.options["row_heights"][name] = {0: 30}
        rules = {}
        if "churn_probability" in shown:
            rules[shown["churn_probability"]] = [{"type": "cell", "criteria": ">=", "value": at, "format": fill}
                                                 for at, fill in self.fills]
        if "risk_band" in shown:
            rules[shown["risk_band"]] = {"type": "text", "criteria": "contains", "format": self.high,
                                         "value": localize.term(localize.RISK_BANDS, "high", self.language)}
        self.options["conditional_formats"][name] = rules


def _cells(values: pd.Series) -> pd.Series:
    """A column as the writer takes it: numbers as float, booleans and dates kept, the rest text without the
    characters the file's XML forbids, missing and empty text as empty cells. The writer leaves a type it
    does not know (a category, a Decimal) silently empty, so none reaches it."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return values
    if pd.api.types.is_numeric_dtype(dtype):
        return values.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return values.dt.tz_localize(None) if getattr(dtype, "tz", None) is not None else values
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        text = values.astype("string")
        if text.str.contains(_ILLEGAL_CHARACTERS.pattern, regex=True).any():
            text = text.str.replace(_ILLEGAL_CHARACTERS.pattern, "", regex=True)
        return text.mask(text.eq("").fillna(False))
    return values.astype("object").map(_cell)


def _cell(value: object) -> object:
    if _missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating | Decimal):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tz is not None else value.to_pydatetime()
    if isinstance(value, dt.date):
        return value
    text = _ILLEGAL_CHARACTERS.sub("", str(value))
    return text or None


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
