"""Amounts as CRM and ERP exports write them: currency symbols and codes, thousands separators, decimal commas.

"¥1,234.50", "RMB 1,234.50", "1.234,50 €", "1 234,50", "-$1,200", "(1,234.50)" and "1234.5元" are read as
numbers; a text that is not an amount ("2024-03-05", "12,34,5") stays unreadable, so validation sets it aside
with its reason rather than guessing. (price-parser, the usual library for this, drops minus signs, which
would turn every return into a sale, and reads "2024-03-05" as 2024.) A column that mixes currencies
cannot be summed: values in another currency than the column's usual one are refused, named.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Currency marks and the currency each names; "¥" and "元" are taken as yuan (Chinese exports).
_CURRENCIES = (("HK$", "HKD"), ("US$", "USD"), ("RMB", "CNY"), ("CNY", "CNY"), ("USD", "USD"), ("EUR", "EUR"),
               ("GBP", "GBP"), ("JPY", "JPY"), ("HKD", "HKD"), ("¥", "CNY"), ("￥", "CNY"), ("元", "CNY"),
               ("$", "USD"), ("€", "EUR"), ("£", "GBP"))
_MARK = re.compile("|".join(re.escape(mark) for mark, _ in _CURRENCIES), re.IGNORECASE)
_NAMES = {mark.upper(): code for mark, code in _CURRENCIES}
_SPACES = re.compile(r"[\s\u00a0\u202f'’]")  # thousands may be grouped with spaces or apostrophes (1'234.50)
_BODY = re.compile(r"\d[\d.,]*|[.,]\d+")

NOT_AN_AMOUNT = "not a number"
OTHER_CURRENCY = "another currency"


def parse_amounts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The amounts as float64 (NaN where missing or unreadable) and, per row, why a value could not be read
    (NA where it was read or is missing): "not a number", or "another currency (EUR) than the column's (CNY)"."""
    plain = pd.to_numeric(values, errors="coerce").astype("float64")
    todo = values.notna() & plain.isna()
    out, reasons = plain.copy(), pd.Series(pd.NA, index=values.index, dtype="string")
    if not todo.any():
        return out, reasons
    parsed = [_amount(str(v)) for v in values[todo]]
    amounts = pd.Series([a for a, _ in parsed], index=values[todo].index, dtype="float64")
    currencies = pd.Series([c for _, c in parsed], index=values[todo].index, dtype="string")
    out[todo] = amounts
    reasons[todo & out.isna()] = NOT_AN_AMOUNT
    named = currencies.dropna()
    if named.nunique() > 1:
        usual = named.value_counts(sort=False).idxmax()  # the most frequent; on a tie, the first seen
        other = named[named != usual]
        out[other.index] = np.nan
        reasons[other.index] = [f"{OTHER_CURRENCY} ({c}) than the column's ({usual})" for c in other]
    return out, reasons


def _amount(text: str) -> tuple[float, str | None]:
    """One formatted amount and its currency (None when it names none); NaN when it is not an amount."""
    text = text.strip().replace("−", "-")  # the minus sign some spreadsheets write
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    marks = {_NAMES[m.group().upper()] for m in _MARK.finditer(text)}
    if len(marks) > 1:
        return np.nan, None
    text = _SPACES.sub("", _MARK.sub("", text))
    if text.startswith("-") and not negative:
        negative, text = True, text[1:]
    elif text.startswith("+"):
        text = text[1:]
    if not _BODY.fullmatch(text):
        return np.nan, None
    number = _number(text)
    if number is None:
        return np.nan, None
    return (-number if negative else number), next(iter(marks), None)


def _number(text: str) -> float | None:
    """Digits with "," and "." in them: the decimal mark is the last of two kinds, a single "." or a single ","
    not followed by exactly three digits; every other mark groups thousands and must do so in threes."""
    kinds = {c for c in text if c in ",."}
    if not kinds:
        return float(text)
    if len(kinds) == 2:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
    else:
        mark = kinds.pop()
        single = text.count(mark) == 1
        decimal = mark if single and (mark == "." or not re.search(r",\d{3}$", text)) else None
    whole, _, fraction = text.rpartition(decimal) if decimal else (text, "", "")
    if decimal and not whole:
        whole = "0"
    thousands = "." if decimal == "," else "," if decimal == "." else mark  # the other mark groups thousands
    groups = whole.split(thousands)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    if not all(g.isdigit() for g in groups) or (decimal and not fraction.isdigit()):
        return None
    return float("".join(groups) + (f".{fraction}" if decimal else ""))
