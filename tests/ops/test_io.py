import pandas as pd
import pyarrow as pa
import pytest

from churn.config import SourceConfig, TableMapping
from churn.ops import io


def test_folder_in_canonical_form_needs_no_mapping(tmp_path):
    pd.DataFrame({"customer_id": ["007"], "ts": ["2024-01-01"], "amount": ["5"]}).to_csv(tmp_path / "orders.csv", index=False)
    tables = io.read_source(SourceConfig(location=str(tmp_path)))
    assert list(tables) == ["orders"]
    assert tables["orders"]["customer_id"].tolist() == ["007"]  # ids read as text


def test_folder_mapping_renames_columns(tmp_path):
    pd.DataFrame({"Kunde": ["1"], "Datum": ["2024-01-01"], "Umsatz": [3.0]}).to_parquet(tmp_path / "sales.parquet")
    cfg = SourceConfig(location=str(tmp_path), tables={
        "orders": TableMapping(table="sales", columns={"customer_id": "Kunde", "ts": "Datum", "amount": "Umsatz"})})
    assert list(io.read_source(cfg)["orders"].columns) == ["customer_id", "ts", "amount"]


def test_database_tables_and_queries(tmp_path):
    db = tmp_path / "h.db"
    io.write_sqlite({"sales": pd.DataFrame({"cust": ["1", "2"], "day": ["2024-01-01"] * 2, "net": [1.0, -2.0]}),
                     "customers": pd.DataFrame({"customer_id": ["1", "2"]})}, db)
    cfg = SourceConfig(location=f"sqlite:///{db}", tables={
        "orders": TableMapping(query="SELECT cust AS customer_id, day AS ts, net AS amount FROM sales WHERE net > 0")})
    tables = io.read_source(cfg)
    assert set(tables) == {"orders", "customers"}
    assert tables["orders"]["customer_id"].tolist() == ["1"]
    # a bare path to a SQLite file is accepted too
    assert set(io.read_source(SourceConfig(location=str(db)))) == {"customers"}


@pytest.mark.parametrize("location, message", [
    ("/no/such/folder", "does not exist"),
    ("sqlite:////no/such.db", "does not exist"),
])
def test_missing_sources_are_clear(location, message):
    with pytest.raises(io.SourceError, match=message):
        io.read_source(SourceConfig(location=location))


def test_an_unreachable_database_is_a_source_error_without_the_password():
    # Port 9 (discard) on the loopback: nothing listens there, the connection is refused at once.
    url = "postgresql+psycopg://churn:s3cret@127.0.0.1:9/crm?connect_timeout=5"
    with pytest.raises(io.SourceError, match=r"cannot pull from the database postgresql\+psycopg://churn:\*\*\*@"
                                             r"127.0.0.1:9/crm.*Connection refused \(2 attempt\(s\) over") as refused:
        io.read_source(SourceConfig(location=url, pull_retries=1, pull_retry_delay_seconds=0.1))
    assert "s3cret" not in str(refused.value)


def test_folder_without_orders_or_customers(tmp_path):
    pd.DataFrame({"customer_id": ["1"]}).to_csv(tmp_path / "tickets.csv", index=False)
    with pytest.raises(io.SourceError, match="neither an `orders` nor a `customers` table"):
        io.read_source(SourceConfig(location=str(tmp_path)))


def test_sql_mapping_over_a_folder_of_files(tmp_path):
    pd.DataFrame({"Kunde": [7.0, None, 8.0], "Menge": [2, 1, -1], "Preis": [1.5, 2.0, 3.0],
                  "Datum": pd.to_datetime(["2024-01-01"] * 3)}).to_parquet(tmp_path / "sales.parquet")
    cfg = SourceConfig(location=str(tmp_path), tables={"orders": TableMapping(
        query="SELECT CAST(CAST(Kunde AS BIGINT) AS VARCHAR) AS customer_id, Datum AS ts, Menge * Preis AS amount FROM sales")})
    orders = io.read_source(cfg)["orders"]
    assert orders["amount"].tolist() == [3.0, 2.0, -3.0]
    assert orders["customer_id"].tolist()[0] == "7" and pd.isna(orders["customer_id"].tolist()[1])
    bad = SourceConfig(location=str(tmp_path), tables={"orders": TableMapping(query="SELECT nope FROM sales")})
    with pytest.raises(io.SourceError, match="orders: the SQL mapping failed on the files in"):
        io.read_source(bad)


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "list.csv"
    io.write_csv(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text().splitlines() == ["a", "1"]
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


def test_outputs_are_readable_by_others(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = io.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "list.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_excel_files_in_a_canonical_folder(tmp_path):
    pd.DataFrame({"customer_id": ["00042", "7"], "ts": ["2024-01-01", "2024-02-01"], "amount": [5.0, 6.5]}).to_excel(
        tmp_path / "orders.xlsx", index=False)
    orders = io.read_source(SourceConfig(location=str(tmp_path)))["orders"]
    assert orders["customer_id"].tolist() == ["00042", "7"] and orders["amount"].tolist() == ["5", "6.5"]


# --- a pull only reads: the source cannot be changed, whatever the mapping says -------------------


def sqlite_history(path):
    io.write_sqlite({"orders": pd.DataFrame({"customer_id": ["1", "2"], "ts": ["2024-01-01"] * 2, "amount": [5.0, 7.0]}),
                     "campaigns": pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"], "action": ["call"],
                                                "treated": [True]})}, path)
    return path


@pytest.mark.parametrize("query", ["DROP TABLE campaigns", "DELETE FROM campaigns RETURNING customer_id",
                                   "UPDATE orders SET amount = 0 RETURNING customer_id",
                                   "INSERT INTO orders VALUES ('9', '2024-02-01', 1.0) RETURNING customer_id"])
def test_a_pull_cannot_change_a_sqlite_source(tmp_path, query):
    db = sqlite_history(tmp_path / "crm.db")
    before = db.read_bytes()
    cfg = SourceConfig(location=str(db), tables={"campaigns": TableMapping(query=query)})
    with pytest.raises(io.SourceError, match=r"campaigns: the SQL mapping failed on sqlite:///.*crm.db "
                                             r"\(sources are opened read-only\): .*readonly"):
        io.read_source(cfg)
    assert db.read_bytes() == before  # byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]  # no journal or WAL left behind
    assert set(io.read_source(SourceConfig(location=str(db)))) == {"orders", "campaigns"}


@pytest.mark.parametrize("query", [
    "COPY (SELECT 1 AS customer_id) TO '{folder}/written.csv'",
    "SELECT * FROM read_csv('{outside}')",
    "ATTACH '{folder}/new.duckdb' AS x",
])
def test_a_sql_mapping_over_a_folder_reads_only_the_folders_tables(tmp_path, query):
    folder, outside = tmp_path / "export", tmp_path / "secret.csv"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"], "amount": ["5"]}).to_csv(folder / "sales.csv", index=False)
    outside.write_text("customer_id,ts,amount\n666,2024-01-01,1\n")
    cfg = SourceConfig(location=str(folder), tables={
        "orders": TableMapping(query=query.format(folder=folder, outside=outside))})
    with pytest.raises(io.SourceError, match="orders: the SQL mapping failed on the files in"):
        io.read_source(cfg)
    assert sorted(p.name for p in folder.iterdir()) == ["sales.csv"]


def test_file_and_folder_names_with_quotes_are_read_as_names(tmp_path):
    # The paths go into DuckDB's SQL as quoted literals: a quote in a name is a character, not SQL.
    folder = tmp_path / "it's \"ours\""
    folder.mkdir()
    pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"], "amount": ["5"]}).to_csv(folder / 'o"rders.csv', index=False)
    pd.DataFrame({"customer_id": ["2"], "ts": ["2024-01-02"], "amount": [6.0]}).to_parquet(folder / "x'); DROP.parquet")
    cfg = SourceConfig(location=str(folder), tables={"orders": TableMapping(
        query='SELECT * FROM "o""rders" UNION ALL SELECT customer_id, ts, CAST(amount AS VARCHAR) FROM "x\'); DROP"')})
    assert io.read_source(cfg)["orders"]["customer_id"].tolist() == ["1", "2"]


def test_two_files_for_one_table_stop_the_pull_naming_both(tmp_path):
    frame = pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"], "amount": ["5"]})
    frame.to_csv(tmp_path / "orders.csv", index=False)
    frame.to_excel(tmp_path / "orders.xlsx", index=False)
    with pytest.raises(io.SourceError, match=r"has 2 files for table 'orders': orders.csv, orders.xlsx; keep one"):
        io.read_source(SourceConfig(location=str(tmp_path)))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_na_in_a_text_column_is_text_and_an_empty_cell_is_missing(tmp_path, suffix):
    frame = pd.DataFrame({"customer_id": ["1", "2", "NA"], "region": ["NA", "", "North"]})
    path = tmp_path / f"customers{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_excel(path, index=False)
    got = io.read_source(SourceConfig(location=str(tmp_path)))["customers"]
    assert got["region"].tolist()[0] == "NA" and pd.isna(got["region"].iloc[1])
    assert got["customer_id"].tolist() == ["1", "2", "NA"]


def test_empty_strings_from_a_database_are_missing_values(tmp_path):
    # The same customers as a CSV would give: an empty churn_date is "no date", not an unreadable one.
    from churn.config import ValidateConfig
    from churn.data import validate_history

    db = tmp_path / "crm.db"
    io.write_sqlite({"customers": pd.DataFrame({"customer_id": ["1", "2"], "churn_date": ["", "2025-03-01"],
                                                "signup_date": ["", ""], "is_key_account": ["", "1"]}),
                     "orders": pd.DataFrame({"customer_id": ["1", "2"], "ts": ["2024-01-01"] * 2, "amount": [5.0, 7.0],
                                             "margin": ["", "2.5"]})}, db)
    tables = io.read_source(SourceConfig(location=str(db)))
    result = validate_history(tables, ValidateConfig(max_bad_share=0.0), pd.Timestamp("2026-01-01"))
    assert result.summary["quarantined_rows"] == 0
    assert result.tables["customers"]["churn_date"].isna().tolist() == [True, False]
    assert result.tables["orders"]["margin"].isna().tolist() == [True, False]


# --- files that are hard to read: each read or each clear message naming the file ---------------

ORDERS_CSV = "customer_id,ts,amount,region\n007,2024-01-01,5,华东\n008,2024-01-02,7,NA\n"


@pytest.mark.parametrize(("content", "note"), [
    (ORDERS_CSV.encode("utf-8"), None),
    (b"\xef\xbb\xbf" + ORDERS_CSV.encode("utf-8"), None),  # Excel's "CSV UTF-8" starts with a BOM
    (ORDERS_CSV.encode("gbk"), "read as GB18030/GBK (not UTF-8)"),
    (ORDERS_CSV.encode("gb18030"), "read as GB18030/GBK (not UTF-8)"),
    (ORDERS_CSV.replace(",", ";").encode("utf-8"), "separator ';'"),
    (ORDERS_CSV.replace(",", "\t").encode("gbk"), "read as GB18030/GBK (not UTF-8), separator '\\t'"),
])
def test_csv_exports_are_read_whatever_their_encoding_and_separator(tmp_path, content, note):
    (tmp_path / "orders.csv").write_bytes(content)
    orders = io.read_source(SourceConfig(location=str(tmp_path)))["orders"]
    assert list(orders.columns) == ["customer_id", "ts", "amount", "region"]
    assert orders["customer_id"].tolist() == ["007", "008"] and orders["region"].tolist() == ["华东", "NA"]
    assert orders.attrs.get("note") == (f"orders.csv: {note}" if note else None)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("orders.csv", b"", r"orders.csv is empty \(0 bytes\): export the table again, with its header row"),
    ("orders.csv", b"customer_id,ts,amount\n1,2024-01-01,5\n2,2024-01-02,7,9\n",
     r"orders.csv: line 3 has 4 values where the header has 3. Check that values containing ',' are in double "
     r"quotes"),
    ("orders.csv", "customer_id,ts,amount\n1,2024-01-01,5\n".encode("utf-16"), r"orders.csv is neither UTF-8 nor "
     r"GB18030/GBK text: save it as CSV UTF-8"),
    ("orders.xlsx", ORDERS_CSV.encode("utf-8"), r"orders.xlsx is not an Excel workbook \(it looks like text: a CSV "
     r"saved with an .xlsx name\?\)"),
    ("orders.parquet", b"PAR1 not really", r"cannot read .*orders.parquet: "),
])
def test_a_file_that_cannot_be_read_is_named_with_what_to_do(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(io.SourceError, match=message):
        io.read_source(SourceConfig(location=str(tmp_path)))


def test_an_excel_header_over_two_rows_names_the_sheet_row_and_columns(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "订单"
    ws.append(["customer_id", "order", None, None])  # "order" merged over B1:C1, its parts named in row 2
    ws.append([None, "ts", "amount", None])
    ws.append(["1", "2024-01-01", "5", None])
    ws.merge_cells("B1:C1")
    wb.save(tmp_path / "orders.xlsx")
    with pytest.raises(io.SourceError, match=r"orders.xlsx, sheet '订单', row 1: column\(s\) C have values but no "
                                             r"heading \(merged cells or a header over several rows\?\)"):
        io.read_source(SourceConfig(location=str(tmp_path)))


def test_empty_trailing_excel_columns_are_dropped(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["customer_id", "ts", "amount", None])
    wb.active.append(["1", "2024-01-01", "5", None])
    wb.active["E2"] = None
    wb.save(tmp_path / "orders.xlsx")
    assert list(io.read_source(SourceConfig(location=str(tmp_path)))["orders"].columns) == ["customer_id", "ts", "amount"]


def test_replacing_tables_removes_only_what_churn_wrote_before(tmp_path):
    one = pd.DataFrame({"customer_id": ["1"]})
    (tmp_path / "my_notes.parquet").write_bytes(b"a user's own file")
    io.replace_tables({"customers": one, "campaigns": one}, tmp_path)
    io.replace_tables({"customers": one}, tmp_path)  # the source no longer has campaigns
    assert sorted(p.name for p in tmp_path.iterdir()) == [".churn-tables.json", "customers.parquet", "my_notes.parquet"]
    assert (tmp_path / "my_notes.parquet").read_bytes() == b"a user's own file"
    assert list(io.read_tables(tmp_path)) == ["customers"]


def test_tables_replaced_one_at_a_time_replace_nothing_when_the_block_fails(tmp_path):
    io.replace_tables({"customers": pd.DataFrame({"customer_id": ["old"]}),
                       "campaigns": pd.DataFrame({"customer_id": ["old"]})}, tmp_path)
    with pytest.raises(ValueError, match="orders broke"):
        with io.replacing_tables(tmp_path) as put:
            put("customers", pd.DataFrame({"customer_id": ["new"]}))
            raise ValueError("orders broke")
    assert {n: t["customer_id"].tolist() for n, t in io.read_tables(tmp_path).items()} == {
        "customers": ["old"], "campaigns": ["old"]}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".churn-tables.json", "campaigns.parquet",
                                                          "customers.parquet"]
    with io.replacing_tables(tmp_path) as put:
        put("customers", pd.DataFrame({"customer_id": ["new"]}))
    assert {n: t["customer_id"].tolist() for n, t in io.read_tables(tmp_path).items()} == {"customers": ["new"]}


@pytest.mark.parametrize("when", ["the next table is put", "the block ends"])
def test_a_table_that_cannot_be_written_fails_the_block_and_replaces_nothing(when, tmp_path):
    # tables are written on a thread while the block goes on: a failed write still fails it, with its own error
    io.replace_tables({"customers": pd.DataFrame({"customer_id": ["old"]})}, tmp_path)
    unwritable = pd.DataFrame({"customer_id": ["1", 2.5]})  # Parquet needs one type per column
    with pytest.raises(pa.ArrowTypeError, match="Conversion failed for column customer_id"):
        with io.replacing_tables(tmp_path) as put:
            put("orders", unwritable)
            if when == "the next table is put":
                put("customers", pd.DataFrame({"customer_id": ["new"]}))
    assert {n: t["customer_id"].tolist() for n, t in io.read_tables(tmp_path).items()} == {"customers": ["old"]}
    assert not list(tmp_path.glob(".incoming.*"))


@pytest.mark.parametrize("writers", [1, 2])
def test_tables_written_side_by_side_are_each_the_last_one_put(writers, tmp_path):
    with io.replacing_tables(tmp_path, writers=writers) as put:
        for k in range(3):
            put("orders", pd.DataFrame({"customer_id": [f"o{k}"] * 50_000}))
            put("customers", pd.DataFrame({"customer_id": [f"c{k}"]}))
    assert {n: t["customer_id"].unique().tolist() for n, t in io.read_tables(tmp_path).items()} == {
        "customers": ["c2"], "orders": ["o2"]}


def test_a_table_folder_reads_each_table_when_asked(tmp_path):
    io.replace_tables({"orders": pd.DataFrame({"customer_id": ["1"]})}, tmp_path)
    folder = io.TableFolder(tmp_path)
    assert list(folder) == ["orders"] and "customers" not in folder
    io.replace_tables({"orders": pd.DataFrame({"customer_id": ["2"]})}, tmp_path)
    assert folder["orders"]["customer_id"].tolist() == ["2"]  # read now, not when the folder was opened
    with pytest.raises(KeyError):
        folder["customers"]


def test_asking_a_table_folder_whether_it_has_a_table_does_not_read_it(tmp_path):
    io.replace_tables({"orders": pd.DataFrame({"customer_id": ["1"]})}, tmp_path)
    folder = io.TableFolder(tmp_path)
    (tmp_path / "orders.parquet").write_bytes(b"not parquet")  # reading it now would fail
    assert "orders" in folder and "customers" not in folder
    with pytest.raises(Exception, match="(?i)parquet"):
        folder["orders"]


@pytest.mark.parametrize("parts", ["one schema", "a part with a column more", "a part with another type"])
def test_parquet_parts_read_together_equal_the_parts_appended(parts, tmp_path):
    frames = [pd.DataFrame({"customer_id": pd.array([f"C{i}{k}" for k in range(3)], dtype="string"),
                            "amount": [1.5 * i, None, 3.0]}) for i in range(4)]
    if parts == "a part with a column more":
        frames[2] = frames[2].assign(note="x")
    if parts == "a part with another type":
        frames[3] = frames[3].assign(amount=frames[3]["amount"].astype("string"))
    for i, frame in enumerate(frames):
        frame.to_parquet(tmp_path / f"orders_{i}.parquet", index=False)
    cfg = SourceConfig(location=str(tmp_path), tables={"orders": TableMapping(table="orders_*")})
    together = io._read_parquet_parts(io.pattern_files(tmp_path, "orders_*"))  # one read only for one schema
    assert (together is None) == (parts != "one schema")
    if parts == "a part with a column more":
        with pytest.raises(io.SourceError, match=r"orders_2.parquet has other columns than orders_0.parquet"):
            io.read_source(cfg)
        return
    read = io.read_source(cfg)["orders"]
    appended = pd.concat([pd.read_parquet(tmp_path / f"orders_{i}.parquet") for i in range(4)], ignore_index=True)
    pd.testing.assert_frame_equal(read, appended, check_exact=True)
    assert read.attrs["note"].startswith("orders: 4 file(s) appended")


def test_a_sql_mapping_reads_files_as_any_table_file_is(tmp_path):
    # One reader for both ways in: a GBK, semicolon-separated export works under a SQL mapping too.
    (tmp_path / "销售.csv").write_bytes("客户;日期;金额\n007;2024-01-01;5\n".encode("gbk"))
    cfg = SourceConfig(location=str(tmp_path), tables={"orders": TableMapping(
        query='SELECT "客户" AS customer_id, "日期" AS ts, "金额" AS amount FROM "销售"')})
    assert io.read_source(cfg)["orders"].to_dict("records") == [{"customer_id": "007", "ts": "2024-01-01", "amount": "5"}]


MONTHLY = {"orders": TableMapping(table="销售订单_*", columns={"customer_id": "客户编号", "ts": "下单时间", "amount": "金额"})}


def _monthly_export(folder, month: str, rows: int, fmt: str = "csv", **extra) -> None:
    frame = pd.DataFrame({"客户编号": [f"C{i}" for i in range(rows)],
                          "下单时间": [f"2024-{month}-0{i + 1}" for i in range(rows)],
                          "金额": ["￥1,234.50"] * rows} | extra)
    path = folder / f"销售订单_2024-{month}.{fmt}"
    if fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:  # a Chinese CRM's CSV: GBK
        path.write_bytes(frame.to_csv(index=False).encode("gbk"))


def test_monthly_exports_of_one_table_are_appended_and_said_so(tmp_path):
    _monthly_export(tmp_path, "01", 2)
    _monthly_export(tmp_path, "02", 3, fmt="xlsx")
    _monthly_export(tmp_path, "03", 1)
    (tmp_path / "销售订单_notes.txt").write_text("not an export")  # not a table file: not read
    orders = io.read_source(SourceConfig(location=str(tmp_path), tables=MONTHLY))["orders"]
    assert len(orders) == 6 and orders["ts"].str[5:7].tolist() == ["01"] * 2 + ["02"] * 3 + ["03"]
    assert list(orders.columns) == ["customer_id", "ts", "amount"]
    assert orders.attrs["note"].startswith("orders: 3 file(s) appended (销售订单_2024-01.csv, 销售订单_2024-02.xlsx, "
                                           "销售订单_2024-03.csv)")
    # how the files were read, once for those read alike (the two GBK CSV files here)
    assert "; 销售订单_2024-01.csv, 销售订单_2024-03.csv: read as GB18030/GBK (not UTF-8)" in orders.attrs["note"]


@pytest.mark.parametrize("pattern, message", [
    ("销售订单_*", r"orders: 销售订单_2024-02.csv has other columns than 销售订单_2024-01.csv .*extra \['备注'\]"),
    ("发货单_*", r"no file in .* matches '发货单_\*' \(mapped for 'orders'\)"),
    ("../销售订单_*", r"must be a file name in .*, not a path"),
])
def test_monthly_exports_that_do_not_fit_stop_the_pull_naming_the_file(tmp_path, pattern, message):
    _monthly_export(tmp_path, "01", 2)
    _monthly_export(tmp_path, "02", 2, 备注=["a", "b"])
    mapping = {"orders": MONTHLY["orders"].model_copy(update={"table": pattern})}
    with pytest.raises(io.SourceError, match=message):
        io.read_source(SourceConfig(location=str(tmp_path), tables=mapping))


# --- one canonical table from several exports, with the export's own words ---------------------------


CALLS = pd.DataFrame({"Related To": ["Acme", "Bolt"], "Call Start Time": ["2024-03-05 14:22", "2024-03-06 09:00"],
                      "Call Type": ["Outbound", "Inbound"]})
MEETINGS = pd.DataFrame({"Related To": ["Acme"], "From": ["2024-03-07 10:00"]})
INTERACTIONS = [
    TableMapping(table="Calls", columns={"customer_id": "Related To", "ts": "Call Start Time", "direction": "Call Type"},
                 constants={"channel": "call"}, values={"direction": {"Outbound": "outbound", "Inbound": "inbound"}}),
    TableMapping(table="Meetings", columns={"customer_id": "Related To", "ts": "From"}, constants={"channel": "visit"}),
]


def test_a_table_mapped_from_several_exports_appends_their_rows(tmp_path):
    CALLS.to_csv(tmp_path / "Calls.csv", index=False)
    MEETINGS.to_excel(tmp_path / "Meetings.xlsx", index=False)
    pd.DataFrame({"customer_id": ["Acme"]}).to_csv(tmp_path / "customers.csv", index=False)
    got = io.read_source(SourceConfig(location=str(tmp_path), tables={"interactions": INTERACTIONS}))["interactions"]
    assert got[["customer_id", "ts", "channel", "direction"]].astype(object).where(got.notna(), None).values.tolist() == [
        ["Acme", "2024-03-05 14:22", "call", "outbound"], ["Bolt", "2024-03-06 09:00", "call", "inbound"],
        ["Acme", "2024-03-07 10:00", "visit", None]]
    assert "interactions: 2 mapped exports appended (2 rows + 1 rows)" in got.attrs["note"]


def test_several_exports_of_one_table_from_a_database(tmp_path):
    db = io.write_sqlite({"Calls": CALLS, "Meetings": MEETINGS, "customers": pd.DataFrame({"customer_id": ["Acme"]})},
                         tmp_path / "crm.db")
    got = io.read_source(SourceConfig(location=str(db), tables={"interactions": INTERACTIONS}))["interactions"]
    assert got["channel"].tolist() == ["call", "call", "visit"]
    assert got["direction"].tolist()[:2] == ["outbound", "inbound"]


def test_picklist_words_not_in_the_mapping_are_kept_for_validation_to_name(tmp_path):
    pd.DataFrame({"客户名称": ["甲", "乙", "丙"], "跟进时间": ["2024年3月5日"] * 3, "跟进方式": [" 电话 ", "拜访", "微信"]}
                 ).to_csv(tmp_path / "跟进记录.csv", index=False, encoding="gb18030")
    pd.DataFrame({"customer_id": ["甲"]}).to_csv(tmp_path / "customers.csv", index=False)
    cfg = SourceConfig(location=str(tmp_path), tables={"interactions": TableMapping(
        table="跟进记录", columns={"customer_id": "客户名称", "ts": "跟进时间", "channel": "跟进方式"},
        values={"channel": {"电话": "call", "拜访": "visit"}})})
    assert io.read_source(cfg)["interactions"]["channel"].tolist() == ["call", "visit", "微信"]


@pytest.mark.parametrize("tables, message", [
    ({"orders": {"table": "x", "columns": {"ts": "Date"}, "constants": {"ts": "2024-01-01"}}},
     r"\['ts'\] are both mapped from the export and set as constants"),
    ({"interactions": []}, "interactions: an empty list of mappings"),
    ({"interactions": [{"table": "Calls", "customer_by": "name"}, {"table": "Meetings"}]},
     "interactions: every part must link customers the same way"),
])
def test_mappings_that_cannot_be_right_are_refused(tables, message):
    with pytest.raises(ValueError, match=message):
        SourceConfig(tables=tables)


def test_many_parts_of_one_table_are_named_in_short(tmp_path):
    """A large history comes in a hundred parts: the note names the first and the last, not all of them."""
    for i in range(12):
        pd.DataFrame({"customer_id": [f"C{i}"], "ts": ["2024-01-01"], "amount": [1.0]}).to_parquet(
            tmp_path / f"orders_{i:04d}.parquet", index=False)
    orders = io.read_source(SourceConfig(location=str(tmp_path), tables={"orders": {"table": "orders_*"}}))["orders"]
    assert len(orders) == 12
    assert orders.attrs["note"] == ("orders: 12 file(s) appended (orders_0000.parquet, orders_0001.parquet, "
                                    "orders_0002.parquet, ... orders_0011.parquet)")
