"""Check pulled tables against the interaction-history contract.

Types are coerced first (a cell that cannot be read is a bad row, not a crash); then a
pandera schema per table checks the contract's rules with lazy validation, so every
failing row is found in one pass. Bad rows are set aside with their reason, never dropped
silently; the run stops when a table's share of bad rows passes the configured limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from churn.config import ValidateConfig
from churn.data._amounts import NOT_AN_AMOUNT, parse_amounts
from churn.data._contract import TABLES, TableSpec
from churn.data._ids import id_positions
from churn.vocab import CUSTOMER_TABLES

# Chinese exports write yes/no fields as 是/否 (Excel as TRUE/FALSE, read in lower case here).
TRUE = {"true", "1", "yes", "y", "t", "1.0", "是"}
FALSE = {"false", "0", "no", "n", "f", "0.0", "否"}
# Cells that mean "no value" in a number, time or yes/no column, whatever the source wrote. Text columns
# keep them as text (a region called "NA" is a region); an empty or blank cell is missing everywhere.
MISSING_TOKENS = {"", "na", "n/a", "#n/a", "null", "none", "nan", "nat", "-"}
LONGEST_TOKEN = max(len(token) for token in MISSING_TOKENS)
FRAME_CHECK_COLUMN = {"orders": "quantity"}
QUARANTINE_COLUMNS = ["table", "row", "rule", "column", "value", "record"]


class ContractError(ValueError):
    """A table cannot be mapped onto the contract at all (e.g. a required column is missing)."""


class DataQualityError(ValueError):
    """Too many rows of a table break the contract's rules."""


@dataclass
class ValidationResult:
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    summary: dict = field(default_factory=dict)


def validate_history(
    raw: Mapping[str, pd.DataFrame], cfg: ValidateConfig, pulled_at: pd.Timestamp,
    keep: Callable[[str, pd.DataFrame], None] | None = None,
) -> ValidationResult:
    """Validate all tables; returns clean typed tables, the quarantine and a summary.

    Tables are taken from `raw` one at a time, customers first. With `keep`, each clean table is handed to it
    as soon as it is checked and not held in the result (`tables` stays empty): with a `raw` that reads each
    table when asked, one table of the history is in memory at a time, not all of them."""
    if "orders" not in raw and "customers" not in raw:
        raise ContractError("the history needs an `orders` table (or `customers` with churn_date)")
    pulled_at = to_utc_naive(pd.Series([pulled_at])).iloc[0]
    clean: dict[str, pd.DataFrame] = {}
    problems: list[pd.DataFrame] = []
    summary: dict = {"pulled_at": str(pulled_at), "tables": {}}
    known_ids: pd.Series | None = None
    without_orders = False  # no orders and no customer with a churn_date: nothing to learn who left from
    # customers first: child tables are checked against its ids
    order = ["customers"] + [t for t in raw if t != "customers"]
    for name in [t for t in order if t in raw]:
        spec = TABLES[name]
        frame, ignored = _select_columns(raw[name], spec)
        if frame.empty and name == "orders":
            raise ContractError("table `orders` has no rows (only a header?): churn learns from orders. "
                                "Export the table again with its rows")
        typed, type_problems = _coerce(frame, spec)
        if name == "customers":
            # Children of a duplicated customer are not "unknown": the customer exists, its row is ambiguous
            # (they are set aside as "customer_id duplicated in customers").
            known_ids = typed["customer_id"]
        rule_problems = _concat([
            _check_rules(typed, spec, cfg, pulled_at, known_ids if name in CUSTOMER_TABLES else None),
            _duplicates(typed, spec, known_ids if name in CUSTOMER_TABLES else None),
        ])
        if len(type_problems):
            # A cell that could not be read is reported once, not again as a missing value.
            seen = pd.MultiIndex.from_frame(type_problems[["row", "column"]])
            again = pd.MultiIndex.from_frame(rule_problems[["row", "column"]]).isin(seen)
            rule_problems = rule_problems[~(again & (rule_problems["rule"] == "required value missing").to_numpy())]
        table_problems = pd.concat([type_problems, rule_problems], ignore_index=True)
        bad_rows = table_problems["row"].unique() if len(table_problems) else np.array([], dtype=int)
        n = len(frame)
        share = len(bad_rows) / n if n else 0.0
        by_rule = table_problems.drop_duplicates(["row", "rule"])["rule"].value_counts().to_dict()
        summary["tables"][name] = {
            "rows": n,
            "bad_rows": int(len(bad_rows)),
            "bad_share": round(share, 6),
            "kept_rows": n - int(len(bad_rows)),
            "bad_rows_by_rule": {k: int(v) for k, v in by_rule.items()},
            "ignored_columns": ignored,
        }
        if n == 0:
            # An optional table with no rows is allowed (the features it feeds are zero), but said.
            summary["tables"][name]["warning"] = "no rows (only a header?): its features are zero for everyone"
        if share > cfg.max_bad_share:
            raise DataQualityError(_too_many_message(name, n, bad_rows, table_problems, frame, cfg))
        if len(table_problems):
            problems.append(_with_records(table_problems, frame, name))
        del frame  # the rows as pulled are no longer needed (20M order lines: 2.3 GB freed before the copy below)
        kept = np.ones(n, dtype=bool)  # rows are numbered 0..n-1: a mask, not a drop by label (8 s at 20M)
        kept[np.asarray(bad_rows, dtype=np.int64)] = False
        table = _apply_defaults(typed[kept] if len(bad_rows) else typed, spec).reset_index(drop=True)
        del typed  # before the next table is read
        if len(table) + len(bad_rows) != n:  # rows pulled = kept + set aside: a lost row is a defect
            raise RuntimeError(f"row accounting broken for table `{name}`: {n} pulled, {len(table)} kept, "
                               f"{len(bad_rows)} set aside")
        if name == "customers" and "orders" not in raw:
            churn_dates = table.get("churn_date", pd.Series(dtype="float64"))
            without_orders = churn_dates.isna().all()
        if keep is None:
            clean[name] = table
        else:
            keep(name, table)
        del table
    if without_orders:
        raise ContractError("the history has a `customers` table but no `orders` table, and no customer has a "
                            "churn_date: churn learns who left from orders (or from churn_date). Add the orders "
                            "export to the source, or map it under source.tables.orders in the config")
    quarantine = (
        pd.concat(problems, ignore_index=True) if problems else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    ).astype({"row": "int64"})
    summary["quarantined_rows"] = int(sum(t["bad_rows"] for t in summary["tables"].values()))
    return ValidationResult(clean, quarantine, summary)


def to_utc_naive(values: pd.Series) -> pd.Series:
    """Parse timestamps; aware times are converted to UTC, naive ones are taken as UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[us]")
    return _parse_times(values.astype("string").str.strip())


def _parse_times(text: pd.Series) -> pd.Series:
    """`to_utc_naive` of stripped text."""
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    # Chinese CRM exports write dates as 2024年3月5日 (14:22); year-month-day order, so nothing is guessed.
    # Day/month orders such as 05/03/2024 stay unparseable: which one is meant cannot be told from the text.
    chinese = parsed.isna() & text.str.contains("年", regex=False).fillna(False).astype(bool)
    if chinese.any():
        iso = text[chinese].str.replace(r"\s*[年月]\s*", "-", regex=True).str.replace(r"\s*日\s*", " ", regex=True)
        parsed = parsed.mask(chinese, pd.to_datetime(iso.str.strip(), errors="coerce", utc=True, format="ISO8601"))
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


def _missing_token(text: pd.Series) -> pd.Series:
    """Which cells of stripped text are a `MISSING_TOKENS` word, in any case. Only a cell as short as the longest
    word can be one: lower-casing and looking up every cell of 20M order times cost 2.6 s."""
    short = (text.str.len() <= LONGEST_TOKEN).fillna(False).to_numpy(dtype=bool)
    found = np.zeros(len(text), dtype=bool)
    found[short] = text[short].str.lower().isin(MISSING_TOKENS).fillna(False).to_numpy(dtype=bool)
    return pd.Series(found, index=text.index)


def _select_columns(df: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, list[str]]:
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ContractError(
            f"table `{spec.name}` is missing required column(s) {missing}; it has {list(df.columns)}. "
            f"Map them under source.tables.{spec.name}.columns in the config"
        )
    ignored = [str(c) for c in df.columns if c not in spec.names]
    return df[[c for c in spec.names if c in df.columns]].reset_index(drop=True), ignored


def _coerce_ids(s: pd.Series) -> pd.Series:
    # Ids exported as numbers (12345.0) are read back as the text "12345", not "12345.0".
    if pd.api.types.is_float_dtype(s) and s.dropna().mod(1).eq(0).all():
        s = s.astype("Int64")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _coerce(df: pd.DataFrame, spec: TableSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    typed: dict[str, pd.Series] = {}
    problems = []
    for col in df.columns:
        cspec = spec.column(col)
        s = df[col]
        if cspec.type == "str":
            typed[col] = _coerce_ids(s)
            continue
        text, missing = None, None
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            text = s.astype("string").str.strip()
            missing = _missing_token(text)
            # A missing-value word reads as missing in every type (no time, number or yes/no), so its cells are
            # only kept out of the failures below; amounts are masked (their parser names reasons of its own).
            # Masking 20M order times cost 2.1 s a column.
            if cspec.type == "money" and missing.any():
                s, text = s.mask(missing), text.mask(missing)
        if cspec.type == "timestamp":
            # text cells: parsed from the stripped text already made (stripping 20M cells again cost ~2 s)
            out, rule = (to_utc_naive(s) if text is None else _parse_times(text)), "unparseable time"
        elif cspec.type == "bool":
            text = (s.astype("string").str.strip() if text is None else text).str.lower()
            out = pd.Series(pd.NA, index=s.index, dtype="boolean")
            out[text.isin(TRUE)] = True
            out[text.isin(FALSE)] = False
            rule = "not a boolean"
        else:
            if cspec.type == "money":  # "¥1,234.50", "1.234,50 €": read; a mixed currency is refused, named
                out, reasons = parse_amounts(s)
                for reason in reasons.dropna().unique():
                    if reason != NOT_AN_AMOUNT:
                        rows = reasons.index[reasons.eq(reason).fillna(False).to_numpy()]
                        problems.append(_problem_rows(rows, reason, col, s))
                        s = s.mask(reasons.eq(reason).fillna(False))  # reported once, with its reason
            else:
                out = pd.to_numeric(s, errors="coerce").astype("float64")
            rule = "not a number"
            infinite = np.isinf(out)
            if infinite.any():
                problems.append(_problem_rows(infinite[infinite].index, "not a finite number", col, s))
                out = out.mask(infinite)
                s = s.mask(infinite)  # reported once, as not finite
        failed = s.notna() & out.isna()
        if missing is not None:
            failed &= ~missing
        if failed.any():
            problems.append(_problem_rows(failed[failed].index, rule, col, s))
        typed[col] = out
    return pd.DataFrame(typed, index=df.index), _concat(problems)


def _schema(spec: TableSpec, cfg: ValidateConfig, pulled_at: pd.Timestamp,
            known_ids: pd.Series | None) -> pa.DataFrameSchema:
    columns = {}
    floor = pd.Timestamp(cfg.min_time)
    for c in spec.columns:
        checks = []
        if c.allowed:
            checks.append(pa.Check(lambda s, a=c.allowed: s.str.lower().isin(a), name=f"value not in {list(c.allowed)}"))
        if c.bounds:
            lo, hi = c.bounds
            checks.append(pa.Check(lambda s, lo=lo, hi=hi: s.between(lo, hi), name=f"outside [{lo:g}, {hi:g}]"))
        if c.type == "timestamp":
            checks.append(pa.Check(lambda s: s <= pulled_at, name="time after the data was pulled"))
            checks.append(pa.Check(lambda s: s >= floor, name=f"time before {cfg.min_time} (validate.min_time)"))
        if c.type == "money":
            checks.append(pa.Check(lambda s: s.abs() <= cfg.max_amount,
                                   name=f"beyond +-{cfg.max_amount:g} (validate.max_amount)"))
        if c.name == "customer_id" and known_ids is not None:
            ids = known_ids.dropna().unique()
            checks.append(pa.Check(lambda s, ids=ids: pd.Series(_known(s, ids), index=s.index),
                                   name="unknown customer_id"))
        if c.name == "customer_id" and spec.name == "customers":
            checks.append(pa.Check(lambda s: ~s.duplicated(keep=False), name="duplicate customer_id"))
        nullable = not c.required
        columns[c.name] = pa.Column(nullable=nullable, checks=checks, required=False, name=c.name)
    frame_checks = []
    if spec.name == "orders":
        frame_checks.append(
            pa.Check(
                lambda d: ~((d.get("quantity", 0) < 0) & (d["amount"] > 0)),
                name="negative quantity with positive amount",
            )
        )
        frame_checks.append(
            pa.Check(
                lambda d: ~((d.get("quantity", 0) > 0) & (d["amount"] < 0)),
                name="negative amount with positive quantity",
            )
        )
    return pa.DataFrameSchema(columns, checks=frame_checks, coerce=False)


def _known(values: pd.Series, ids) -> np.ndarray:
    """Which `values` are among `ids` (`id_positions`: Arrow's hash table; a pandas lookup turned 56M Arrow strings
    into Python objects first, 12 s at 1M customers)."""
    return id_positions(values, ids) >= 0


def _duplicates(df: pd.DataFrame, spec: TableSpec, known_ids: pd.Series | None) -> pd.DataFrame:
    """Rows that repeat what the table already says: an order row equal in every column to an earlier one
    with the same order_id (an export that doubled its lines), and rows of a customer whose id appears
    twice in customers (which of the two is meant cannot be told). Tables without an id (interactions,
    tickets, surveys, campaigns) are left alone: two equal calls on one day are two calls."""
    problems = []
    if spec.name == "orders" and "order_id" in df:
        # Only rows that share their time and amount, then their order_id, can repeat a row: hashing every column
        # of those alone is the same test (at 20M order lines 16 s -> 2 s; every order_id was hashed before).
        candidates = (pd.Series(_time_and_amount(df)).duplicated(keep=False).to_numpy()
                      & df["order_id"].notna().to_numpy())
        candidates[candidates] = df.loc[candidates, "order_id"].duplicated(keep=False).to_numpy()
        repeated = pd.Series(False, index=df.index)
        repeated[candidates] = df[candidates].duplicated(keep="first").to_numpy()
        if repeated.any():
            problems.append(_problem_rows(repeated[repeated].index, "duplicate row (same order_id and values as an "
                                          "earlier row)", "order_id", df["order_id"]))
    if known_ids is not None and "customer_id" in df:
        twice = set(known_ids[known_ids.duplicated()].dropna())
        of_twice = df["customer_id"].isin(twice)
        if of_twice.any():
            problems.append(_problem_rows(of_twice[of_twice].index, "customer_id duplicated in customers",
                                          "customer_id", df["customer_id"]))
    return _concat(problems)


def _time_and_amount(df: pd.DataFrame) -> np.ndarray:
    """One integer per row from its time and amount: equal rows get equal keys (different rows may too)."""
    ts = df["ts"].to_numpy("datetime64[us]").view(np.int64)
    amount = df["amount"].to_numpy(dtype="float64", na_value=np.nan) + 0.0  # -0.0 as 0.0, as pandas compares them
    bits = np.where(np.isnan(amount), 0x7FF8000000000000, amount.view(np.int64))  # every NaN alike
    return ts * np.int64(1_000_003) + bits  # wraps around on overflow: still equal for equal rows


def _check_rules(
    df: pd.DataFrame, spec: TableSpec, cfg: ValidateConfig, pulled_at: pd.Timestamp, known_ids: pd.Series | None
) -> pd.DataFrame:
    try:
        _schema(spec, cfg, pulled_at, known_ids).validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        problems = []
        # A frame-wide check is reported by pandera once per column; it is one rule on one row.
        frame_level = fc["schema_context"] == "DataFrameSchema"
        fc = fc.assign(column=fc["column"].where(~frame_level, FRAME_CHECK_COLUMN.get(spec.name)))
        for (check, column), group in fc.groupby(["check", "column"], dropna=False, sort=False):
            rule = "required value missing" if str(check) == "not_nullable" else str(check)
            col = column if isinstance(column, str) else None
            rows = pd.Index(group["index"].astype("int64").unique())
            problems.append(_problem_rows(rows, rule, col, df[col] if col in df else None))
        return _concat(problems)
    return _concat([])


def _problem_rows(rows: pd.Index, rule: str, column: str | None, values: pd.Series | None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype="int64"),
            "rule": rule,
            "column": column,
            "value": values.loc[rows].astype("string").to_numpy() if values is not None else None,
        }
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({"row": pd.Series(dtype="int64"), "rule": [], "column": [], "value": []})
    return pd.concat(frames, ignore_index=True)


def _with_records(problems: pd.DataFrame, frame: pd.DataFrame, table: str) -> pd.DataFrame:
    records = frame.loc[problems["row"]].astype("string").to_dict(orient="records")
    return problems.assign(
        table=table,
        value=problems["value"].astype("string"),
        record=[json.dumps({k: v for k, v in r.items() if v is not pd.NA}, ensure_ascii=False) for r in records],
    )[QUARANTINE_COLUMNS]


def _too_many_message(
    name: str, n: int, bad_rows: np.ndarray, problems: pd.DataFrame, frame: pd.DataFrame, cfg: ValidateConfig
) -> str:
    lines = [
        f"table `{name}`: {len(bad_rows):,} of {n:,} rows ({len(bad_rows) / n:.1%}) break the contract, "
        f"more than validate.max_bad_share={cfg.max_bad_share:.1%}. Run stopped."
    ]
    for (rule, column), group in problems.groupby(["rule", "column"], dropna=False, sort=False):
        examples = frame.loc[group["row"].unique()[: cfg.example_rows]]
        where = f"column `{column}`" if isinstance(column, str) else "row"
        lines.append(f"- {where}, rule '{rule}': {group['row'].nunique():,} rows, e.g.\n{examples.to_string()}")
    return "\n".join(lines)


def _apply_defaults(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    out = df.copy(deep=False)  # copy-on-write: the columns set below never write into `df`'s (a deep copy: 1.5 GB)
    if spec.name == "customers" and "is_key_account" in out:
        out["is_key_account"] = out["is_key_account"].fillna(False).astype(bool)
    if spec.name == "tickets":
        out["is_complaint"] = out["is_complaint"].fillna(True).astype(bool) if "is_complaint" in out else True
        out["category"] = out["category"].str.lower()
    if spec.name == "interactions":
        out["channel"] = out["channel"].str.lower()
        if "direction" in out:
            out["direction"] = out["direction"].str.lower()
    if spec.name == "campaigns":
        out["treated"] = out["treated"].astype(bool)
    if spec.name == "loss_reasons":
        out["cause"] = out["cause"].str.lower()
    return out
