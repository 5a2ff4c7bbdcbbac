"""Personal details masked as the history is pulled: customers' names and contact details, columns whose
header says they hold them, and free text that may quote them (a ticket's note, a visit report).

Masking happens before the pulled copy is written, so no later file, artifact, log line or message can
carry the originals (`report.mask_personal`). Owners are staff and stay; ids stay (they are the CRM's keys,
not a person's details). A mask keeps a hint for the reader ("R*** H***", "j***@***.cn", "***21") and is
idempotent: masking a masked value changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from churn.data._contract import TABLES
from churn.vocab import PERSONAL_COLUMNS


def mask_names(series: pd.Series) -> pd.Series:
    """Each word reduced to its first character: "Renji Hospital 42" -> "R*** H*** 4***"."""
    return series.map(lambda v: v if _missing(v) else mask_name(str(v))).astype("string")


def mask_emails(series: pd.Series) -> pd.Series:
    """"jane.doe@renji.example.cn" -> "j***@***.cn"."""
    return series.map(lambda v: v if _missing(v) else _mask_email(str(v))).astype("string")


def mask_phones(series: pd.Series) -> pd.Series:
    """Only the last two digits kept: "+86 21 6438 5521" -> "***21"."""
    return series.map(lambda v: v if _missing(v) else _mask_phone(str(v))).astype("string")


MASKS = {"name": mask_names, "email": mask_emails, "phone": mask_phones}

# Headers of columns outside the contract that hold a person's details, in English and Chinese exports.
_HEADER_KINDS = (
    ("email", re.compile(r"e-?mail|邮箱|邮件", re.IGNORECASE)),
    ("phone", re.compile(r"phone|mobile|\btel\b|fax|电话|手机|传真|座机", re.IGNORECASE)),
    ("name", re.compile(r"name|contact|person|姓名|名称|联系人|客户名", re.IGNORECASE)),
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly with a leading + and spaces, dashes, dots or brackets between them.
_PHONE = re.compile(r"\+?\(?\d(?:[\s\-.()]{0,2}\d){6,}")
_DATE = re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}(?:\s+\d{1,2})?")


def mask_personal_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with the customer's personal columns (`PERSONAL_COLUMNS`) masked."""
    out = frame.copy()
    for column, kind in PERSONAL_COLUMNS.items():
        if column in out.columns:
            out[column] = MASKS[kind](out[column])
    return out


def mask_history(tables: dict[str, pd.DataFrame], linked_by_name: Iterable[str] = ()
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """The history with personal details masked, and what was masked (table -> columns, free text marked).

    Contract columns other than the customer's personal ones are left alone (they are ids, dates, amounts
    and categories). A column outside the contract is masked whole when its header names a person's details
    (name, contact, e-mail, phone, 联系人, 电话, ...) and otherwise scrubbed as free text: e-mail addresses,
    phone numbers and every customer's name or contact name found in it are masked. In the tables
    `linked_by_name` (records that named their customer by account name), a customer_id that is not a
    customer's id is an account name that matched no customer, and is masked as a name."""
    known = _known_names(tables.get("customers"))
    customers = tables.get("customers")
    ids = set(customers["customer_id"].dropna().astype(str)) if customers is not None else set()
    out: dict[str, pd.DataFrame] = {}
    masked: dict[str, list[str]] = {}
    for name, df in tables.items():
        contract = set(TABLES[name].names) if name in TABLES else set()
        frame = df.copy()
        if name in linked_by_name and "customer_id" in df.columns:
            unlinked = df["customer_id"].notna() & ~df["customer_id"].astype(str).isin(ids)
            if unlinked.any():
                frame["customer_id"] = df["customer_id"].astype("string").mask(
                    unlinked, mask_names(df["customer_id"].astype("string")))
                masked.setdefault(name, []).append("customer_id (account names that matched no customer)")
        for column in df.columns:
            label = str(column)
            if name == "customers" and label in PERSONAL_COLUMNS:
                kind = PERSONAL_COLUMNS[label]
            elif label in contract:
                continue
            else:
                kind = next((k for k, header in _HEADER_KINDS if header.search(label)), None)
            if kind is not None:
                frame[column] = MASKS[kind](df[column])
                masked.setdefault(name, []).append(label)
            elif _is_text(df[column]):
                frame[column] = _mask_free_text(df[column], known)
                masked.setdefault(name, []).append(f"{label} (free text)")
        out[name] = frame
    return out, masked


def _known_names(customers: pd.DataFrame | None) -> re.Pattern | None:
    """One pattern matching any customer's name or contact name, longest first."""
    if customers is None:
        return None
    values = {str(v).strip() for column in ("name", "contact_name") if column in customers.columns
              for v in customers[column].dropna()}
    values = sorted((v for v in values if len(v) >= 2 and "***" not in v), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, values))) if values else None


def _mask_free_text(series: pd.Series, names: re.Pattern | None) -> pd.Series:
    def one(value: object) -> object:
        if _missing(value):
            return value
        text = _EMAIL.sub(lambda m: _mask_email(m.group()), str(value))
        text = _PHONE.sub(lambda m: m.group() if _DATE.fullmatch(m.group().strip()) else _mask_phone(m.group()), text)
        return names.sub(lambda m: mask_name(m.group()), text) if names is not None else text
    return series.map(one).astype("string")


def mask_name(text: str) -> str:
    """One name masked: "Renji Hospital" -> "R*** H***" (words already masked stay)."""
    return " ".join(word if word.endswith("***") else word[0] + "***" for word in text.split()) or "***"


def _mask_email(text: str) -> str:
    local, _, domain = text.partition("@")
    tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@***" + (f".{tld}" if tld else "")


def _mask_phone(text: str) -> str:
    return "***" + re.sub(r"\D", "", text)[-2:]


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
