"""The bad-input corpus: broken, careless and hostile histories, and what churn must do with each.

Every case changes one thing in a small valid history (60 customers, all six canonical tables, exported as
text) and says what `churn validate` must decide: stop (one `error:` line naming the table, column, rule and
example rows), set the bad rows aside with their reason while the run goes on, or read the history (with a
note when it had to guess, e.g. the encoding). tests/data/test_bad_input_corpus.py runs each case through
the real command line, on a folder of files and on a SQLite database where both apply.

`python tests/data/bad_input_corpus.py` rewrites the README's table of cases from this list.
"""

from __future__ import annotations

import io as _io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/helpers.py, also when run as a script
from helpers import ROOT, make_history  # noqa: E402

Tables = dict[str, "pd.DataFrame | bytes"]  # a table by name, or a raw file (bytes) by file name

STOP, SET_ASIDE, READ, NOTE = "stop", "set aside", "read", "read with note"
FOLDER, DATABASE = "folder", "database"
README_START, README_END = "<!-- bad-input-corpus:start -->", "<!-- bad-input-corpus:end -->"
ROW = 5  # the row a case breaks, when it breaks one


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    decision: str  # STOP, SET_ASIDE, READ or NOTE
    expect: str  # STOP and NOTE: text of the message; SET_ASIDE: the rule the rows are set aside under
    change: Callable[[dict[str, pd.DataFrame]], Tables]
    column: str | None = None  # SET_ASIDE: the column the rule names
    sources: tuple[str, ...] = (FOLDER, DATABASE)
    mapping: dict | None = None  # source.tables, for cases about SQL mappings
    check: Callable[[dict[str, pd.DataFrame]], None] | None = None  # READ: what the kept tables must show


def base_history() -> dict[str, pd.DataFrame]:
    """A small valid history as a CRM exports it: every value text, missing values None."""
    typed = make_history(n_customers=60, seed=5)
    rng = np.random.default_rng(5)
    n = 90
    typed["campaigns"] = pd.DataFrame({
        "customer_id": rng.choice(typed["customers"]["customer_id"].to_numpy(), n),
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "action": rng.choice(["call", "visit", "discount"], n),
        "treated": rng.random(n) < 0.8,
        "cost": np.round(rng.uniform(5, 50, n), 2),
    })
    return {name: frame.apply(_as_text) for name, frame in typed.items()}


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_bool_dtype(values) or values.dtype == object and values.dropna().map(type).eq(bool).all():
        text = values.map(lambda v: None if pd.isna(v) else ("true" if v else "false"))
    else:
        text = values.astype("string")
    return text.astype(object).where(values.notna(), None)


# --- small edits ----------------------------------------------------------------------------------------------

def put(table: str, column: str, value, rows=(ROW,)) -> Callable[[dict], Tables]:
    """Set one column of some rows of a table (a whole column when rows is None)."""
    def change(tables: dict) -> Tables:
        frame = tables[table].copy()
        index = frame.index if rows is None else list(rows)
        frame.loc[index, column] = value if not isinstance(value, list) else pd.Series(value, index=index)
        return tables | {table: frame}
    return change


def drop_column(table: str, column: str) -> Callable[[dict], Tables]:
    return lambda t: t | {table: t[table].drop(columns=column)}


def header_only(table: str) -> Callable[[dict], Tables]:
    return lambda t: t | {table: t[table].iloc[:0]}


def repeat_orders(times: int, rows=None) -> Callable[[dict], Tables]:
    def change(t: dict) -> Tables:
        orders = t["orders"]
        # a line with an order_id, exported `times` times
        picked = orders if rows is None else orders[orders["order_id"].notna()].iloc[list(rows)]
        return t | {"orders": pd.concat([orders] + [picked] * (times - 1), ignore_index=True)}
    return change


def as_file(table: str, name: str, encode: Callable[[pd.DataFrame], bytes]) -> Callable[[dict], Tables]:
    """The table written as a raw file of its own (an export with a quirk)."""
    def change(t: dict) -> Tables:
        rest = {k: v for k, v in t.items() if k != table}
        return rest | {name: encode(t[table])}
    return change


def csv_text(frame: pd.DataFrame, sep: str = ",") -> str:
    return frame.to_csv(index=False, sep=sep)


def with_chinese_products(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(product=np.where(np.arange(len(frame)) % 2 == 0, "阿莫西林胶囊", "布洛芬缓释片"))


def ragged(frame: pd.DataFrame) -> bytes:
    lines = csv_text(frame).splitlines()
    lines[ROW + 1] += ",surplus"  # the header is line 1
    return "\n".join(lines).encode()


def merged_header_workbook(frame: pd.DataFrame) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "订单"
    ws.append(["customer_id", "order", None])  # "order" merged over two columns, its parts named in row 2
    ws.append([None, "ts", "amount"])
    for row in frame[["customer_id", "ts", "amount"]].itertuples(index=False):
        ws.append(list(row))
    ws.merge_cells("B1:C1")
    buffer = _io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def excel_bytes(frame: pd.DataFrame) -> bytes:
    buffer = _io.BytesIO()
    frame.to_excel(buffer, index=False)
    return buffer.getvalue()


def orders_twice(t: dict) -> Tables:
    return t | {"orders.xlsx": excel_bytes(t["orders"])}  # orders.csv is written from the table as well


def duplicate_customer(t: dict) -> Tables:
    customers = t["customers"]
    return t | {"customers": pd.concat([customers, customers.iloc[[ROW]].assign(segment="clinic")], ignore_index=True)}


def mixed_times(t: dict) -> Tables:
    return put("orders", "ts", ["2024/03/05 14:22", "2024-03-05T10:00:00+08:00", "2024年3月5日", "2024-3-5",
                                "2024-03-05 10:00:00Z"], rows=range(1, 6))(t)


def export_amounts(t: dict) -> Tables:
    return put("orders", "amount", ["¥1,234.50", "RMB 88", "1 234,50", "1.234,50", "¥2,000"], rows=range(1, 6))(t)


def _kept_export_amounts(kept: dict[str, pd.DataFrame]) -> None:
    assert kept["orders"]["amount"].iloc[1:6].tolist() == [1234.5, 88.0, 1234.5, 1234.5, 2000.0], kept["orders"].head(7)


def _kept_region_na(kept: dict[str, pd.DataFrame]) -> None:
    assert (kept["customers"]["region"] == "NA").sum() == 1, kept["customers"]["region"].value_counts()


def _kept_mixed_times(kept: dict[str, pd.DataFrame]) -> None:
    expected = ["2024-03-05 14:22", "2024-03-05 02:00", "2024-03-05", "2024-03-05", "2024-03-05 10:00"]  # UTC
    assert kept["orders"]["ts"].iloc[1:6].tolist() == [pd.Timestamp(t) for t in expected], kept["orders"].head(7)


def _kept_no_churn_dates(kept: dict[str, pd.DataFrame]) -> None:
    assert kept["customers"]["churn_date"].isna().all()


def _kept_chinese_products(kept: dict[str, pd.DataFrame]) -> None:
    assert set(kept["orders"]["product"]) == {"阿莫西林胶囊", "布洛芬缓释片"}


CASES: list[Case] = [
    # orders
    Case("orders without an amount column", "orders", STOP,
         "table `orders` is missing required column(s) ['amount']", drop_column("orders", "amount")),
    Case("every order line exported 10 times", "orders", STOP,
         "column `order_id`, rule 'duplicate row (same order_id and values as an earlier row)'", repeat_orders(10)),
    Case("one order line exported twice", "orders", SET_ASIDE,
         "duplicate row (same order_id and values as an earlier row)", repeat_orders(2, rows=[ROW]), "order_id"),
    Case("amount inf", "orders", SET_ASIDE, "not a finite number", put("orders", "amount", "inf"), "amount"),
    Case("amount -inf", "orders", SET_ASIDE, "not a finite number", put("orders", "amount", "-inf"), "amount"),
    Case("amount 1e308", "orders", SET_ASIDE, "beyond +-1e+09 (validate.max_amount)",
         put("orders", "amount", "1e308"), "amount"),
    Case("amount as text (ten)", "orders", SET_ASIDE, "not a number", put("orders", "amount", "ten"), "amount"),
    Case("amounts as exports write them (¥1,234.50, 1 234,50)", "orders", READ, "", export_amounts,
         check=_kept_export_amounts),
    Case("an amount in euros among yuan", "orders", SET_ASIDE, "another currency (EUR) than the column's (CNY)",
         put("orders", "amount", ["¥10.00", "¥20.00", "€5,00"], rows=range(1, 4)), "amount"),
    Case("order in 1800", "orders", SET_ASIDE, "time before 1990-01-01 (validate.min_time)",
         put("orders", "ts", "1800-01-01"), "ts"),
    Case("order in year 1", "orders", SET_ASIDE, "time before 1990-01-01 (validate.min_time)",
         put("orders", "ts", "0001-01-01"), "ts"),
    Case("order in 2031 (after the pull)", "orders", SET_ASIDE, "time after the data was pulled",
         put("orders", "ts", "2031-01-01"), "ts"),
    Case("amount -500 with quantity +5", "orders", SET_ASIDE, "negative amount with positive quantity",
         lambda t: put("orders", "quantity", "5")(put("orders", "amount", "-500")(t)), "quantity"),
    Case("quantity -3 with amount +10", "orders", SET_ASIDE, "negative quantity with positive amount",
         lambda t: put("orders", "quantity", "-3")(put("orders", "amount", "10")(t)), "quantity"),
    Case("discount 1.5", "orders", SET_ASIDE, "outside [0, 1]", put("orders", "discount", "1.5"), "discount"),
    Case("order without a customer_id", "orders", SET_ASIDE, "required value missing",
         put("orders", "customer_id", None), "customer_id"),
    Case("order of an unknown customer", "orders", SET_ASIDE, "unknown customer_id",
         put("orders", "customer_id", "X999"), "customer_id"),
    Case("times in mixed formats and zones", "orders", READ, "", mixed_times, check=_kept_mixed_times),
    Case("day/month date (05/03/2024)", "orders", SET_ASIDE, "unparseable time", put("orders", "ts", "05/03/2024"),
         "ts"),
    Case("orders header only", "orders", STOP, "table `orders` has no rows (only a header?)", header_only("orders")),
    Case("only bad rows", "orders", STOP, "column `amount`, rule 'not a number'",
         put("orders", "amount", "ten", rows=None)),
    Case("extra column colour (shown as ignored)", "orders", NOTE, "colour", put("orders", "colour", "red", rows=None)),
    Case("orders.csv beside orders.xlsx", "orders", STOP,
         "has 2 files for table 'orders': orders.csv, orders.xlsx; keep one", orders_twice, sources=(FOLDER,)),
    Case("Chinese export in GBK", "orders", NOTE, "orders.csv: read as GB18030/GBK (not UTF-8)",
         as_file("orders", "orders.csv", lambda f: csv_text(with_chinese_products(f)).encode("gbk")),
         sources=(FOLDER,), check=_kept_chinese_products),
    Case("semicolons and a BOM (Excel CSV UTF-8)", "orders", NOTE, "orders.csv: separator ';'",
         as_file("orders", "orders.csv", lambda f: b"\xef\xbb\xbf" + csv_text(f, ";").encode()), sources=(FOLDER,)),
    Case("a row with one value too many", "orders", STOP, f"orders.csv: line {ROW + 2} has 9 values where the "
         "header has 8", as_file("orders", "orders.csv", ragged), sources=(FOLDER,)),
    Case("empty file (0 bytes)", "orders", STOP, "orders.csv is empty (0 bytes)",
         as_file("orders", "orders.csv", lambda f: b""), sources=(FOLDER,)),
    Case("CSV saved as .xlsx", "orders", STOP, "orders.xlsx is not an Excel workbook",
         as_file("orders", "orders.xlsx", lambda f: csv_text(f).encode()), sources=(FOLDER,)),
    Case("Excel header merged over two rows", "orders", STOP,
         "orders.xlsx, sheet '订单', row 1: column(s) C have values but no heading",
         as_file("orders", "orders.xlsx", merged_header_workbook), sources=(FOLDER,)),
    Case("SQL mapping that writes a file", "orders", STOP, "orders: the SQL mapping failed on the files in",
         lambda t: t, sources=(FOLDER,),
         mapping={"orders": {"query": "COPY (SELECT * FROM orders) TO 'stolen.csv'"}}),
    # customers
    Case("customers without a customer_id column", "customers", STOP,
         "table `customers` is missing required column(s) ['customer_id']", drop_column("customers", "customer_id")),
    Case("customer id twice", "customers", SET_ASIDE, "duplicate customer_id", duplicate_customer, "customer_id"),
    Case("orders of a customer listed twice", "orders", SET_ASIDE, "customer_id duplicated in customers",
         duplicate_customer, "customer_id"),
    Case("region NA (a region, not a missing value)", "customers", READ, "", put("customers", "region", "NA"),
         check=_kept_region_na),
    Case("empty churn_date strings", "customers", READ, "", put("customers", "churn_date", "", rows=None),
         check=_kept_no_churn_dates),
    Case("key account 'maybe'", "customers", SET_ASIDE, "not a boolean", put("customers", "is_key_account", "maybe"),
         "is_key_account"),
    Case("signup date 'yesterday'", "customers", SET_ASIDE, "unparseable time",
         put("customers", "signup_date", "yesterday"), "signup_date"),
    Case("customers and no orders at all", "customers", STOP,
         "has a `customers` table but no `orders` table, and no customer has a churn_date",
         lambda t: {k: v for k, v in t.items() if k != "orders"}),
    # interactions
    Case("interactions without a channel column", "interactions", STOP,
         "table `interactions` is missing required column(s) ['channel']", drop_column("interactions", "channel")),
    Case("channel 'fax'", "interactions", SET_ASIDE, "value not in ['visit', 'call', 'email', 'meeting', 'event', "
         "'other']", put("interactions", "channel", "fax"), "channel"),
    Case("interaction of an unknown customer", "interactions", SET_ASIDE, "unknown customer_id",
         put("interactions", "customer_id", "X999"), "customer_id"),
    Case("interaction time 'never'", "interactions", SET_ASIDE, "unparseable time",
         put("interactions", "ts", "never"), "ts"),
    # tickets
    Case("ticket category 'weather'", "tickets", SET_ASIDE, "value not in ['quality', 'service', 'delivery', "
         "'price', 'billing', 'other']", put("tickets", "category", "weather"), "category"),
    Case("complaint flag 'maybe'", "tickets", SET_ASIDE, "not a boolean", put("tickets", "is_complaint", "maybe"),
         "is_complaint"),
    Case("ticket without a customer_id", "tickets", SET_ASIDE, "required value missing",
         put("tickets", "customer_id", None), "customer_id"),
    # surveys
    Case("survey score 11 (0-10 scale)", "surveys", SET_ASIDE, "outside [0, 10]", put("surveys", "score", "11"),
         "score"),
    Case("survey score 'good'", "surveys", SET_ASIDE, "not a number", put("surveys", "score", "good"), "score"),
    Case("survey without a score", "surveys", SET_ASIDE, "required value missing", put("surveys", "score", None),
         "score"),
    # campaigns
    Case("campaign without treated", "campaigns", SET_ASIDE, "required value missing",
         put("campaigns", "treated", None), "treated"),
    Case("campaign cost inf", "campaigns", SET_ASIDE, "not a finite number", put("campaigns", "cost", "inf"), "cost"),
    Case("campaigns header only", "campaigns", NOTE,
         "Warning: table campaigns: no rows (only a header?): its features are zero for everyone",
         header_only("campaigns")),
    Case("SQL mapping DROP TABLE campaigns", "campaigns", STOP,
         "campaigns: the SQL mapping failed on sqlite:///", lambda t: t, sources=(DATABASE,),
         mapping={"campaigns": {"query": "DROP TABLE campaigns"}}),
]


def readme_table(cases: list[Case] = CASES) -> str:
    """The README's table of cases: what churn decides and the message (or the rule rows are set aside under)."""
    rows = ["| case | table | sources | decision | message, or the rule the rows are set aside under |",
            "|---|---|---|---|---|"]
    for case in cases:
        said = case.expect if case.decision != READ else "-"
        said = f"`{case.column}`: {said}" if case.decision == SET_ASIDE else said
        rows.append(f"| {case.name} | {case.table} | {', '.join(case.sources)} | {case.decision} | "
                    f"{said.replace('|', '&#124;')} |")
    return "\n".join(rows)


def write_readme(readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text(encoding="utf-8")
    block = f"{README_START}\n{readme_table()}\n{README_END}"
    new, found = re.subn(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _: block, text, flags=re.S)
    if not found:
        raise SystemExit(f"{readme} has no {README_START} ... {README_END} block")
    readme.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    write_readme()
