"""All file and database I/O of the pipeline lives here.

Stage modules never open files or connections: runners call these functions to load their
inputs and save their outputs. Every write is atomic (temp file + rename) so a crashed or
re-run job never leaves a half-written or duplicated output.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import pandas as pd

from churn.config import SourceConfig, TableMapping, written_table_problem
from churn.extras import EXTRAS, missing_extra
from churn.ops._secrets import resolve_location, scrub, shown_location
from churn.vocab import TABLES

FILE_SUFFIXES = (".parquet", ".csv", ".xlsx", ".xls")
log = logging.getLogger(__name__)
# Waits between attempts double from the configured delay up to this.
MAX_RETRY_WAIT_SECONDS = 60.0


class SourceError(RuntimeError):
    """The source cannot be read as configured."""


def is_database_url(location: str) -> bool:
    return "://" in location


def normalise_location(location: str) -> str:
    """A path to a SQLite file becomes a sqlite URL; folders and URLs are returned as they are."""
    if not is_database_url(location) and Path(location).suffix in (".db", ".sqlite", ".sqlite3"):
        return f"sqlite:///{location}"
    return location


def read_source(cfg: SourceConfig) -> dict[str, pd.DataFrame]:
    """Pull every canonical table the source has, renamed to canonical columns."""
    location = normalise_location(cfg.location)
    parts = {name: cfg.parts(name) for name in cfg.tables}
    if is_database_url(location):
        tables = _read_database(location, parts, cfg.pull_retries, cfg.pull_retry_delay_seconds)
    else:
        tables = _read_folder(Path(resolve_location(location, "source.location")), parts)
    if "orders" not in tables and "customers" not in tables:
        raise SourceError(
            f"source {shown_location(location)!r} has neither an `orders` nor a `customers` table; "
            f"map one in configs/params.yaml under source.tables"
        )
    return tables


def _rename(df: pd.DataFrame, mapping: TableMapping) -> pd.DataFrame:
    """The export's columns under their canonical names, with the mapping's constants and its words for values."""
    out = df.rename(columns={src: canon for canon, src in mapping.columns.items()})
    for column, value in mapping.constants.items():
        out[column] = value
    for column, words in mapping.values.items():
        if column in out.columns:
            text = out[column].astype("string").str.strip()
            out[column] = text.map(lambda v: words.get(v, v) if isinstance(v, str) else v).astype("string")
    return out


def _appended(name: str, frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of a table mapped from several exports (Calls and Meetings), one after another; the read notes
    of each are kept."""
    if len(frames) == 1:
        return frames[0]
    out = pd.concat(frames, ignore_index=True)
    notes = [frame.attrs["note"] for frame in frames if frame.attrs.get("note")]
    out.attrs["note"] = "; ".join([f"{name}: {len(frames)} mapped exports appended "
                                   f"({' + '.join(f'{len(f):,} rows' for f in frames)})", *notes])
    return out


def _check_mapped_columns(name: str, mapping: TableMapping, present: list[str], where: str) -> None:
    """Every source column the mapping names must be in the table (the database's catalogue, a file's header
    or a query's result): a typo or a hostile name stops the pull naming it, instead of being ignored."""
    unknown = {canon: src for canon, src in mapping.columns.items() if src not in present}
    if unknown:
        shown = ", ".join(f"{canon}: {src!r}" for canon, src in unknown.items())
        listed = ", ".join(map(str, present[:30])) + (" ..." if len(present) > 30 else "")
        raise SourceError(f"source.tables.{name}.columns maps column(s) that {where} does not have ({shown}); "
                          f"it has: {listed}")


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _read_only_engine(url: str):
    """An engine that cannot change the source: SQLite opened with mode=ro (and query_only), PostgreSQL in
    read-only transactions; any other database's reads run in a transaction that is rolled back, never
    committed."""
    import sqlite3

    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or not path.exists():
            raise SourceError(f"SQLite database {path} does not exist (run `churn demo` to create the sample)")
        uri = f"{path.resolve().as_uri()}?mode=ro"

        def connect():
            connection = sqlite3.connect(uri, uri=True)
            connection.execute("PRAGMA query_only = ON")
            return connection
        return sa.create_engine("sqlite://", creator=connect)
    engine = create_engine(url)
    if parsed.get_backend_name() == "postgresql":
        engine = engine.execution_options(postgresql_readonly=True)
    return engine


def transient(err: BaseException) -> bool:
    """Whether a database error is worth another attempt: a connection that failed, dropped or timed out, or a
    SQLite database busy with another writer; not a mapping's or the data's fault."""
    import sqlalchemy as sa

    if isinstance(err, sa.exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, _adbc_errors()):  # the PostgreSQL reads (`_ArrowReader`): their driver's own errors
        from adbc_driver_manager import OperationalError

        # a lost or refused connection (no SQLSTATE, class 08), a server shutting down (57) or out of resources (53)
        return isinstance(err, OperationalError) and str(err.sqlstate or "08")[:2] in ("08", "53", "57")
    # SQLSTATE classes no retry mends: credentials (28), no such database (3D), syntax or access rule (42).
    if str(getattr(getattr(err, "orig", None), "sqlstate", None) or "")[:2] in ("28", "3D", "42"):
        return False
    text = str(getattr(err, "orig", None) or err).lower()
    if "sqlite" in type(getattr(err, "orig", None) or err).__module__:
        return "locked" in text or "busy" in text
    return isinstance(err, (sa.exc.OperationalError, sa.exc.InterfaceError))


def with_retries(call, what: str, retries: int, delay: float, fail):
    """`call()`, attempted again after a transient database error (`transient`) up to `retries` times, waiting
    `delay`, 2x, 4x ... seconds (at most MAX_RETRY_WAIT_SECONDS) and logging each wait; when every attempt
    failed, `fail(err, attempts, seconds)` gives the error to raise."""
    import time

    import tenacity

    started = time.monotonic()

    def waiting(state: tenacity.RetryCallState) -> None:
        log.warning("%s: %s; attempt %d of %d in %.1f s", what, _first_line(state.outcome.exception()),
                    state.attempt_number + 1, retries + 1, state.next_action.sleep)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=tenacity.wait_exponential(multiplier=delay, min=delay, max=max(delay, MAX_RETRY_WAIT_SECONDS)),
        retry=tenacity.retry_if_exception(transient), before_sleep=waiting, reraise=True)
    try:
        return retrying(call)
    except Exception as err:
        if transient(err):
            raise fail(err, retrying.statistics.get("attempt_number", 1), time.monotonic() - started) from err
        raise


def _read_database(location: str, mappings: dict[str, list[TableMapping]], retries: int = 0,
                   delay: float = 0.0) -> dict[str, pd.DataFrame]:
    """`location` may hold `${NAME}` references: resolved here, when connecting; messages show it masked.
    A connection that fails or drops is tried again (`with_retries`); the pull starts over, as it only reads."""
    shown = shown_location(location)
    url = resolve_location(location, "source.location")

    def fail(err, attempts, seconds):
        return SourceError(f"cannot pull from the database {shown}: {scrub(_first_line(err), url)} ({attempts} "
                           f"attempt(s) over {seconds:.0f} s; source.pull_retries sets how many)")

    return with_retries(lambda: _read_database_once(url, shown, mappings), f"pulling from {shown}", retries, delay,
                        fail)


class _ArrowReader:
    """PostgreSQL read straight into Arrow by ADBC's driver (a binary COPY of the result), in a read-only
    transaction of its own that is rolled back: 20M order lines through SQLAlchemy and pandas' read_sql built a
    Python object per cell."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        from churn.extras import require

        parsed = sa.engine.make_url(url)
        dbapi = require("adbc_driver_postgresql.dbapi", f"the database {parsed.drivername}")
        # libpq's URL: the same server, user and options without SQLAlchemy's driver name
        self.connection = dbapi.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        with self.connection.cursor() as cursor:  # this transaction and any later one of the session
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.execute("SET TRANSACTION READ ONLY")

    def read(self, sql: str) -> pd.DataFrame:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetch_arrow_table().to_pandas()

    def close(self) -> None:
        try:
            self.connection.rollback()  # a pull only reads: nothing it ran is ever committed
        finally:
            self.connection.close()


def _read_database_once(url: str, shown: str, mappings: dict[str, list[TableMapping]]) -> dict[str, pd.DataFrame]:
    import sqlalchemy as sa

    engine = _read_only_engine(url)
    arrow = None
    try:
        try:
            connection = engine.connect()
            if engine.dialect.name == "postgresql":
                arrow = _ArrowReader(url)
        except (sa.exc.DBAPIError, *_adbc_errors()) as err:
            if transient(err):
                raise  # tried again by with_retries, which reports it if it never comes back
            raise SourceError(f"cannot connect to the database {shown}: {scrub(_first_line(err), url)}") from err
        with connection as conn, conn.begin() as transaction:
            present = set(sa.inspect(conn).get_table_names())
            out: dict[str, pd.DataFrame] = {}
            for name in TABLES:
                frames = []
                for mapping in mappings.get(name, [TableMapping()]):
                    try:
                        if mapping.query:
                            df = (arrow.read(mapping.query) if arrow else
                                  pd.read_sql_query(sa.text(mapping.query), conn))
                            _check_mapped_columns(name, mapping, list(df.columns), "the SQL mapping's result")
                        else:
                            table = mapping.table or name
                            if table not in present:
                                if name in mappings:
                                    raise SourceError(f"table {table!r} mapped for {name!r} is not in {shown}")
                                break
                            # Checked against the catalogue before the table is read; the read quotes its name.
                            columns = [c["name"] for c in sa.inspect(conn).get_columns(table)]
                            _check_mapped_columns(name, mapping, columns, f"table {table!r}")
                            df = (arrow.read(f"SELECT * FROM {conn.dialect.identifier_preparer.quote(table)}")
                                  if arrow else pd.read_sql_table(table, conn))
                    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, *_adbc_errors()) as err:
                        if transient(err):
                            raise  # the connection, not the mapping: tried again
                        if err.__cause__ is not None and transient(err.__cause__):
                            raise err.__cause__ from None
                        what = "the SQL mapping" if mapping.query else f"reading table {mapping.table or name!r}"
                        raise SourceError(f"{name}: {what} failed on {shown} (sources are opened read-only): "
                                          f"{scrub(_first_line(err.__cause__ or err), url)}") from err
                    frames.append(_rename(df, mapping))
                if frames:
                    out[name] = _appended(name, frames)
            transaction.rollback()  # a pull only reads: nothing it ran is ever committed
    finally:
        try:
            if arrow is not None:
                arrow.close()
        except _adbc_errors():
            pass  # a connection already lost: nothing to roll back
        engine.dispose()
    return out


def _adbc_errors() -> tuple[type[BaseException], ...]:
    """ADBC's database error (the PostgreSQL reads), when its driver manager is installed."""
    try:
        from adbc_driver_manager import Error
    except ImportError:
        return ()
    return (Error,)


def _find_file(folder: Path, stem: str) -> Path | None:
    """The one file of a table in the folder; two files for one table (orders.csv and orders.xlsx) stop the
    pull, since either could be the current export."""
    if Path(stem).suffix in FILE_SUFFIXES:
        return folder / stem if (folder / stem).exists() else None
    found = [folder / f"{stem}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{stem}{suffix}").exists()]
    if len(found) > 1:
        raise SourceError(f"{folder} has {len(found)} files for table {stem!r}: {', '.join(p.name for p in found)}; "
                          f"keep one, or name the file under source.tables.<table>.table in the config")
    return found[0] if found else None


def _read_folder(folder: Path, mappings: dict[str, list[TableMapping]]) -> dict[str, pd.DataFrame]:
    if not folder.is_dir():
        raise SourceError(f"data folder {folder} does not exist")
    out: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        frames = [df for mapping in mappings.get(name, [TableMapping()])
                  if (df := _read_folder_part(folder, name, mapping, name in mappings)) is not None]
        if frames:
            out[name] = _appended(name, frames)
    return out


def _read_folder_part(folder: Path, name: str, mapping: TableMapping, mapped: bool) -> pd.DataFrame | None:
    """One mapping of table `name` read from the folder; None for an unmapped table the folder does not hold."""
    if mapping.query:
        df = _query_folder(folder, mapping.query, name)
        _check_mapped_columns(name, mapping, list(df.columns), "the SQL mapping's result")
        return _rename(df, mapping)
    if mapping.table and any(c in mapping.table for c in "*?["):
        df = _read_monthly_files(folder, mapping.table, name)
        _check_mapped_columns(name, mapping, [str(c) for c in df.columns], f"files {mapping.table!r}")
        return _rename(df, mapping)
    path = _find_file(folder, mapping.table or name)
    if path is None:
        if mapped:
            raise SourceError(f"file {mapping.table!r} mapped for {name!r} is not in {folder}")
        return None
    df = read_table_file(path)
    _check_mapped_columns(name, mapping, [str(c) for c in df.columns], f"file {path.name}")
    return _rename(df, mapping)


def pattern_files(folder: Path, pattern: str) -> list[Path]:
    """The table files in `folder` a file pattern of a mapping reads (`销售订单_*`), in the order they are appended."""
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix in FILE_SUFFIXES)


def _read_monthly_files(folder: Path, pattern: str, name: str) -> pd.DataFrame:
    """Every file in the folder matching `pattern` (one export per month, say), appended in name order. They
    must share one header: a file with other columns is another export, and stops the pull naming both."""
    if Path(pattern).name != pattern:
        raise SourceError(f"{name}: the file pattern {pattern!r} must be a file name in {folder}, not a path")
    paths = pattern_files(folder, pattern)
    if not paths:
        raise SourceError(f"no file in {folder} matches {pattern!r} (mapped for {name!r})")
    if len(paths) > 1 and all(p.suffix == ".parquet" for p in paths):
        appended = _read_parquet_parts(paths)
        if appended is not None:
            appended.attrs["note"] = _appended_note(name, paths, [])
            return appended
    frames = [read_table_file(path) for path in paths]
    header = [str(c) for c in frames[0].columns]
    for path, frame in zip(paths[1:], frames[1:]):
        other = [str(c) for c in frame.columns]
        if sorted(other) != sorted(header):
            raise SourceError(
                f"{name}: {path.name} has other columns than {paths[0].name} (both match {pattern!r}): "
                f"missing {[c for c in header if c not in other] or 'none'}, "
                f"extra {[c for c in other if c not in header] or 'none'}. Export every file with the same fields")
    appended = pd.concat(frames, ignore_index=True)
    how: dict[str, list[str]] = {}  # how each file was read (GBK, a separator), said once for the files alike
    for path, frame in zip(paths, frames):
        if frame.attrs.get("note"):
            how.setdefault(frame.attrs["note"].removeprefix(f"{path.name}: "), []).append(path.name)
    notes = [f"{', '.join(names) if len(names) < len(paths) else 'all ' + str(len(paths))}: {what}"
             for what, names in how.items()]
    appended.attrs["note"] = _appended_note(name, paths, notes)
    return appended


def _appended_note(name: str, paths: list[Path], notes: list[str]) -> str:
    names = [p.name for p in paths]
    # a few names say which files; a hundred parts of a large history would fill the screen
    shown = ", ".join(names) if len(names) <= 5 else f"{', '.join(names[:3])}, ... {names[-1]}"
    return "; ".join([f"{name}: {len(paths)} file(s) appended ({shown})", *notes])


def _read_parquet_parts(paths: list[Path]) -> pd.DataFrame | None:
    """Parquet parts of one schema (a large history written block by block) read as one Arrow table, then one
    pandas frame: what appending them one by one gives (the 1M history's 100 order parts: 11.1 s -> 1.9 s).
    None when their schemas differ (or a part is empty or unreadable): each is then read alone, with its error."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if any(path.stat().st_size == 0 for path in paths):
            return None
        schemas = [pq.read_schema(path) for path in paths]
        if any(not schema.equals(schemas[0], check_metadata=False) for schema in schemas[1:]):
            return None
        table = pa.concat_tables([pq.read_table(path) for path in paths]).replace_schema_metadata(schemas[0].metadata)
    except (OSError, pa.ArrowException):
        return None
    return table.to_pandas()


def _sql_identifier(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _query_folder(folder: Path, query: str, name: str) -> pd.DataFrame:
    """Run a SQL mapping over a folder with DuckDB: every file is a table named after its stem. The files
    are read as any table file is (`read_table_file`: encodings, separators, clear errors), then DuckDB's
    access to files is switched off (and locked), so the mapping can read only these tables: it cannot
    write, copy or attach files, nor read others."""
    import duckdb

    con = duckdb.connect()
    try:
        for path in sorted(p for p in folder.iterdir() if p.suffix in FILE_SUFFIXES):
            con.register("churn_file", read_table_file(path))
            con.execute(f"CREATE TABLE {_sql_identifier(path.stem)} AS SELECT * FROM churn_file")
            con.unregister("churn_file")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con.execute(query).df()
    except duckdb.Error as err:
        raise SourceError(f"{name}: the SQL mapping failed on the files in {folder}: {err}") from err
    finally:
        con.close()


# Encodings tried in turn for a CSV file: UTF-8 (with or without BOM), then GB18030, the superset of GBK
# that Chinese editions of Excel and CRMs such as Fxiaoke export.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
CSV_SEPARATORS = (",", ";", "\t", "|")


def read_table_file(path: Path) -> pd.DataFrame:
    """Read one CSV / Parquet / Excel file. CSV cells are read as text so ids keep leading zeros; a file
    that cannot be read is a SourceError naming it and what to do. `attrs["note"]` says how a CSV was
    read when it was not plain UTF-8 with commas (encoding, separator)."""
    try:
        if path.stat().st_size == 0:
            raise SourceError(f"{path} is empty (0 bytes): export the table again, with its header row")
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            return _read_csv(path)
        return _read_excel(path)
    except SourceError:
        raise
    except Exception as err:  # noqa: BLE001 - any reader's failure becomes one message naming the file
        raise SourceError(f"cannot read {path}: {_first_line(err)}") from err


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SourceError(f"{path} is neither UTF-8 nor GB18030/GBK text: save it as CSV UTF-8 and pull again")
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    separator = max(CSV_SEPARATORS, key=header.count)
    import io as stdio

    try:
        # Only an empty cell is missing here: "NA" in a text column is text (a region, a product code);
        # validation reads NA-like cells of number and time columns as missing.
        frame = pd.read_csv(stdio.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False, na_values=[""],
                            sep=separator)
    except pd.errors.ParserError as err:
        import re

        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        where = (f"line {found[2]} has {found[3]} values where the header has {found[1]}" if found
                 else _first_line(err))
        raise SourceError(f"{path}: {where}. Check that values containing {separator!r} are in double quotes, "
                          f"or that the file has one separator throughout") from err
    notes = []
    if encoding == "gb18030":
        notes.append("read as GB18030/GBK (not UTF-8)")
    if separator != ",":
        notes.append(f"separator {separator!r}")
    if notes:
        frame.attrs["note"] = f"{path.name}: " + ", ".join(notes)
    return frame


def _read_excel(path: Path) -> pd.DataFrame:
    with open(path, "rb") as file:
        if path.suffix == ".xlsx" and file.read(2) != b"PK":  # a workbook is a zip file
            raise SourceError(f"{path} is not an Excel workbook (it looks like text: a CSV saved with an .xlsx "
                              f"name?); rename it to .csv or save it from Excel as a workbook")
    # calamine (Rust) reads the cells as openpyxl does, text for text and the same strings for numbers and
    # dates, 6.6x faster on a 103,049-row export
    with pd.ExcelFile(path, engine="calamine") as book:
        sheet = book.sheet_names[0]
        frame = book.parse(sheet, dtype=str, keep_default_na=False, na_values=[""])
    # A header cell left empty next to named ones: merged cells or a header over two rows. Fully empty
    # columns at the edge are an Excel habit and are dropped.
    columns = list(frame.columns)
    unnamed = [c for c in columns if str(c).startswith("Unnamed: ")]
    still = [c for c in unnamed if frame[c].notna().any()]
    frame = frame.drop(columns=[c for c in unnamed if c not in still])
    if still:
        from openpyxl.utils import get_column_letter

        letters = [get_column_letter(columns.index(c) + 1) for c in still]
        raise SourceError(f"{path}, sheet {sheet!r}, row 1: column(s) {', '.join(letters)} have values but no "
                          f"heading (merged cells or a header over several rows?). Keep one header row with a "
                          f"name in every column")
    return frame


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A temporary file of this path left behind is a write that was killed: runs of a folder go one at a time.
    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are for other readers too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_folder(path: str | Path, write) -> Path:
    """Call `write(folder)` on a new folder next to `path`, then put it in `path`'s place (the old one removed):
    a reader finds the old folder or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        old = path.with_name(f".{path.name}.old.tmp")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file; with `columns` (names or fnmatch patterns), only the columns of the file they match (the
    others are not read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if columns is not None:
        from fnmatch import fnmatch

        names = pq.read_schema(path).names
        columns = [n for n in names if any(fnmatch(n, c) for c in columns)]
    # Each Arrow column is freed as it becomes a pandas column, and Arrow's pool hands back what it kept: read
    # whole, the 7.4M training examples of 1M customers (5.1 GB in pandas) left 11.5 GB resident, 5.6 GB this way.
    frame = pd.read_parquet(path, columns=columns, to_pandas_kwargs={"self_destruct": True, "split_blocks": True})
    pa.default_memory_pool().release_unused()
    return frame


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def write_json(obj: Any, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def write_config(sections: dict, path: str | Path, base_config: str | Path, header: str = "") -> Path:
    """A config file of `sections` that extends `base_config` (named relative to the file, as load_config reads
    it), with a comment `header` on top."""
    import yaml

    path = Path(path)
    config = {"extends": os.path.relpath(Path(base_config).resolve(), path.resolve().parent)} | sections
    with atomic_path(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100),
                       encoding="utf-8")
    return path


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_export_files(files: list, folder: str | Path) -> list[Path]:
    """Write CRM export files (`churn.data.ExportFile`: CSV in its encoding, or an Excel workbook) into
    `folder`, each atomically; a file of the same name is replaced."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file in files:
        with atomic_path(folder / file.name) as tmp:
            if file.encoding == "xlsx":
                from rustpy_xlsxwriter import write_worksheet  # 18x openpyxl on a 108,595-row export

                write_worksheet(file.frame, str(tmp), sheet_name="Sheet1")
            else:
                file.frame.to_csv(tmp, index=False, encoding=file.encoding)
        written.append(folder / file.name)
    return written


def write_tables(tables: dict[str, pd.DataFrame], folder: str | Path) -> None:
    """Write canonical tables as `<folder>/<name>.parquet` (the validated-data hand-off)."""
    for name, df in tables.items():
        write_parquet(df, Path(folder) / f"{name}.parquet")


TABLES_MANIFEST = ".churn-tables.json"


def replace_tables(tables: dict[str, pd.DataFrame], folder: str | Path) -> None:
    """Write `tables` into `folder` and remove the tables churn wrote there before that are not in `tables`
    (a table the source no longer has must not be read again). Only files churn wrote are removed: they
    are listed in the folder's manifest; anything else in the folder is left alone."""
    # all of them in memory already: two written at once (the pull's tables at 1M customers 10.7 -> 7.5 s)
    with replacing_tables(folder, writers=2) as put:
        for name, df in tables.items():
            put(name, df)


@contextmanager
def replacing_tables(folder: str | Path, writers: int = 1) -> Iterator[Callable[[str, pd.DataFrame], None]]:
    """`replace_tables`, one table at a time: the block calls `put(name, frame)` for each table (and may free the
    frame after it). The tables are written aside and replace the folder's only when the block ends without an
    error; on an error the folder is left as it was. At most `writers` tables are being written while the block
    goes on (each holds its frame until it is written)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".incoming.*.tmp"):  # a block that was killed
        shutil.rmtree(stale, ignore_errors=True)
    incoming = Path(tempfile.mkdtemp(prefix=".incoming.", suffix=".tmp", dir=folder))
    written: set[str] = set()
    # Tables are written on threads while the block goes on to the next (Parquet's writer leaves the other core
    # to the block, whose checks are mostly single-threaded pandas: at 1M customers ~11 s of validation's writing
    # overlapped).
    writer = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="replacing-tables")
    pending: list[Future] = []

    def finish_pending(keep: int = 0) -> None:
        while len(pending) > keep:
            pending.pop(0).result()  # a failed write raises here

    def put(name: str, df: pd.DataFrame) -> None:
        finish_pending(keep=writers - 1)
        if name in written:  # the same table again: its earlier write first
            finish_pending()
        pending.append(writer.submit(df.to_parquet, incoming / f"{name}.parquet", index=False))
        written.add(name)

    try:
        try:
            yield put
        except BaseException:
            wait(pending)  # (a write's own error, if any, would hide the block's)
            raise
        finish_pending()
        manifest = folder / TABLES_MANIFEST
        if manifest.exists():
            before = set(read_json(manifest)["tables"])
        else:  # a workspace from before the manifest: churn's files there are its canonical tables
            before = {n for n in TABLES if (folder / f"{n}.parquet").exists()}
        for name in sorted(written):
            os.chmod(incoming / f"{name}.parquet", 0o666 & ~_umask())
            os.replace(incoming / f"{name}.parquet", folder / f"{name}.parquet")
        write_json({"tables": sorted(written)}, manifest)
        for stale in sorted(before - written):
            (folder / f"{stale}.parquet").unlink(missing_ok=True)
    finally:
        writer.shutdown(wait=True)
        shutil.rmtree(incoming, ignore_errors=True)


def read_tables(folder: str | Path, names: tuple[str, ...] = TABLES,
                columns: Mapping[str, list[str]] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of a workspace folder (`<name>.parquet`): those of `names` it holds; of a table named in
    `columns`, only those of its columns the file has (a stage that needs three columns of 20M order lines
    does not read the other ten)."""
    folder = Path(folder)
    columns = columns or {}
    return {n: read_parquet(folder / f"{n}.parquet", columns.get(n)) for n in names
            if (folder / f"{n}.parquet").exists()}


class TableFolder(Mapping):
    """The tables of a workspace folder as a mapping that reads a table from its file each time it is asked for
    (nothing is held: a caller that takes one table at a time has one in memory)."""

    def __init__(self, folder: str | Path, names: tuple[str, ...] = TABLES):
        self.folder = Path(folder)
        self.names = tuple(n for n in names if (self.folder / f"{n}.parquet").exists())

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.names:
            raise KeyError(name)
        return read_parquet(self.folder / f"{name}.parquet")

    def __contains__(self, name) -> bool:
        return name in self.names  # (Mapping's own reads the table to find out: 4.8 s of validating 20M orders)

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def write_sqlite(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write tables into a fresh SQLite database, replacing it atomically."""
    import sqlalchemy as sa

    with atomic_path(path) as tmp:
        engine = sa.create_engine(f"sqlite:///{tmp}")
        try:
            with engine.begin() as conn:
                for name, df in tables.items():
                    df.to_sql(name, conn, index=False, if_exists="replace", chunksize=50_000)
        finally:
            engine.dispose()
    return Path(path)


# --- Publishing the retention list to a database table ---------------------------------------



class PublishError(RuntimeError):
    """The retention list cannot be published to the configured table."""


def publish_retention_list(
    listing: pd.DataFrame, url: str, run_id: str, table: str = "retention_actions", *, chunksize: int = 5_000,
    retries: int = 0, retry_delay_seconds: float = 0.0,
) -> dict:
    """Write the retention list into `table` of the SQLAlchemy database at `url`, keyed by (run_id, customer_id).

    One transaction: create the table if it does not exist (primary key (run_id, customer_id), the
    list's columns and `published_at`), delete the rows of `run_id`, insert the list in chunks.
    Re-publishing a run replaces its rows; other runs' rows stay. Any failure rolls everything back; a
    connection that fails or drops is tried again `retries` times (`with_retries`).
    `table` may be `schema.table`. An existing table gets the list's new columns (empty for earlier runs);
    one with other columns is refused (PublishError).
    """
    import datetime as dt

    import sqlalchemy as sa

    if not run_id or not str(run_id).strip():
        raise PublishError("publishing needs a non-empty run_id")
    if problem := written_table_problem(table):
        raise PublishError(f"publish.table {table!r} {problem}")
    clash = sorted({"run_id", "published_at"} & set(listing.columns))
    if clash:
        raise PublishError(f"the retention list has column(s) {clash}, which the table {table!r} reserves")
    if "customer_id" not in listing.columns:
        raise PublishError("the retention list has no `customer_id` column")
    if listing.columns.duplicated().any():
        raise PublishError(f"the retention list has duplicated column names: {sorted(set(listing.columns[listing.columns.duplicated()]))}")
    ids = listing["customer_id"]
    if ids.isna().any():
        raise PublishError(f"the retention list has {int(ids.isna().sum())} row(s) without a customer_id")
    if ids.duplicated().any():
        raise PublishError(f"the retention list has duplicated customer_id(s), e.g. {ids[ids.duplicated()].head(3).tolist()}")

    schema, _, name = table.rpartition(".")
    schema = schema or None
    types = {c: _sql_type(listing[c]) for c in listing.columns if c != "customer_id"}
    metadata = sa.MetaData()
    target = sa.Table(
        name, metadata,
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        *(sa.Column(c, t) for c, t in types.items()),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    published_at = dt.datetime.now(dt.UTC)
    values = {c: _python_values(listing[c], types.get(c, sa.Text())) for c in listing.columns}
    run_id = str(run_id)
    rows = [
        {"run_id": run_id, **dict(zip(values, record)), "published_at": published_at}
        for record in zip(*values.values())
    ] if len(listing) else []

    location = normalise_location(url)
    url = resolve_location(location, "publish.url")
    shown = shown_location(location)

    def attempt() -> int:
        engine = _transactional_engine(url)
        try:
            with engine.begin() as conn:
                if schema and schema not in sa.inspect(conn).get_schema_names():
                    raise PublishError(f"publish.table {table!r}: the database has no schema {schema!r} (churn "
                                       f"creates the table, not the schema)")
                conn.execute(sa.schema.CreateTable(target, if_not_exists=True))
                _check_columns(conn, target, table)
                if conn.dialect.name == "postgresql":
                    # Readers go on; concurrent publishers wait, so two runs never interleave delete + insert.
                    conn.execute(sa.text(f"LOCK TABLE {conn.dialect.identifier_preparer.format_table(target)} "
                                         "IN SHARE ROW EXCLUSIVE MODE"))
                conn.execute(sa.delete(target).where(target.c.run_id == run_id))
                for start in range(0, len(rows), max(1, chunksize)):
                    conn.execute(sa.insert(target), rows[start:start + chunksize])
                return conn.execute(sa.select(sa.func.count()).select_from(target)).scalar_one()
        finally:
            engine.dispose()

    def failed(exc, attempts: int | None = None, seconds: float | None = None) -> PublishError:
        # The driver's message only: SQLAlchemy's text would add the statement's parameters, the list's rows.
        tried = f" ({attempts} attempt(s) over {seconds:.0f} s; publish.retries sets how many)" if attempts else ""
        return PublishError(f"publishing run {run_id!r} to table {table!r} failed, nothing was changed ({shown}): "
                            f"{scrub(_first_line(exc), url)}{tried}")

    try:  # one transaction per attempt: a retried publish replaces the run's rows, as a re-run does
        in_table = with_retries(attempt, f"publishing to {shown}", retries, retry_delay_seconds, failed)
    except sa.exc.SQLAlchemyError as exc:
        raise failed(exc) from exc
    return {"table": table, "run_id": run_id, "rows_written": len(rows), "rows_in_table": int(in_table)}


def create_engine(url: str):
    """SQLAlchemy's engine for `url`; a database driver that is one of churn's extras (PostgreSQL's psycopg) and is
    not installed fails naming the extra."""
    import sqlalchemy as sa

    try:
        return sa.create_engine(url)
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] in EXTRAS:
            raise missing_extra(err.name, f"the database {sa.engine.make_url(url).drivername}") from err
        raise


def _transactional_engine(url: str):
    """An engine whose transactions also cover DDL (pysqlite otherwise auto-commits CREATE TABLE)."""
    import sqlalchemy as sa

    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # takes the write lock now: publishers run one after another
    return engine


def _check_columns(conn, target, table: str) -> None:
    """An existing table must have the list's columns. Columns a newer churn added to the list (such as
    `reason_codes`) are added to it, empty for the runs already published; anything else is refused."""
    import sqlalchemy as sa

    present = [c["name"] for c in sa.inspect(conn).get_columns(target.name, schema=target.schema)]
    expected = [c.name for c in target.columns]
    missing = [c for c in expected if c not in present]
    extra = [c for c in present if c not in expected]
    if missing and not extra and not any(target.c[c].primary_key or not target.c[c].nullable for c in missing):
        preparer = conn.dialect.identifier_preparer
        for c in missing:
            column = target.c[c]
            conn.execute(sa.text(f"ALTER TABLE {preparer.format_table(target)} ADD COLUMN "
                                 f"{preparer.quote(c)} {column.type.compile(dialect=conn.dialect)}"))
        return
    if missing or extra:
        raise PublishError(
            f"table {table!r} exists with other columns than the retention list: "
            f"missing {missing or 'none'}, extra {extra or 'none'}. "
            f"Publish to another table or migrate/drop {table!r}."
        )


def _sql_type(s: pd.Series):
    """SQL type for a column of the list: text, boolean, integer, double, date or timestamp."""
    import sqlalchemy as sa
    from pandas.api import types as pt

    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return sa.Text()
    if pt.is_bool_dtype(dtype):
        return sa.Boolean()
    if pt.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pt.is_float_dtype(dtype):
        return sa.Double()
    if pt.is_datetime64_any_dtype(dtype):
        return sa.DateTime(timezone=getattr(dtype, "tz", None) is not None)
    if dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        return {
            "boolean": sa.Boolean(), "integer": sa.BigInteger(), "floating": sa.Double(),
            "mixed-integer-float": sa.Double(), "decimal": sa.Double(), "date": sa.Date(),
            "datetime": sa.DateTime(timezone=False), "datetime64": sa.DateTime(timezone=False),
        }.get(kind, sa.Text())
    return sa.Text()  # strings (str / string[pyarrow]) and anything else, as text


def _python_values(s: pd.Series, sql_type) -> list:
    """The column as plain Python values for the driver: missing -> None, numpy scalars -> Python."""
    import datetime as dt

    import sqlalchemy as sa

    if isinstance(sql_type, sa.DateTime) and pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = [None if pd.isna(v) else v.to_pydatetime() for v in s]
    elif isinstance(sql_type, sa.DateTime):
        out = [None if _missing(v) else pd.Timestamp(v).to_pydatetime() for v in s]
    elif isinstance(sql_type, sa.Date):
        out = [None if _missing(v) else (v if isinstance(v, dt.date) else pd.Timestamp(v).date()) for v in s]
    elif isinstance(sql_type, sa.Boolean):
        out = [None if _missing(v) else bool(v) for v in s]
    elif isinstance(sql_type, sa.BigInteger):
        out = [None if _missing(v) else int(v) for v in s]
    elif isinstance(sql_type, sa.Double):
        out = [None if _missing(v) else float(v) for v in s]
    else:
        out = [None if _missing(v) else str(v) for v in s]
    return out


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells
        return False
