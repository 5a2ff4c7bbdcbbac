"""All file and database I/O of the pipeline lives here.

Stage modules never open files or connections: runners call these functions to load their
inputs and save their outputs. Every write is atomic (temp file + rename) so a crashed or
re-run job never leaves a half-written or duplicated output.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from churn.config import CANONICAL_TABLES, SourceConfig, TableMapping

FILE_SUFFIXES = (".parquet", ".csv", ".xlsx", ".xls")


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
    if is_database_url(location):
        tables = _read_database(location, cfg.tables)
    else:
        tables = _read_folder(Path(location), cfg.tables)
    if "orders" not in tables and "customers" not in tables:
        raise SourceError(
            f"source {location!r} has neither an `orders` nor a `customers` table; "
            f"map one in configs/params.yaml under source.tables"
        )
    return tables


def _rename(df: pd.DataFrame, mapping: TableMapping) -> pd.DataFrame:
    return df.rename(columns={src: canon for canon, src in mapping.columns.items()})


def _read_database(url: str, mappings: dict[str, TableMapping]) -> dict[str, pd.DataFrame]:
    import sqlalchemy as sa

    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            raise SourceError(f"SQLite database {path} does not exist (run `churn demo` to create the sample)")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            out: dict[str, pd.DataFrame] = {}
            for name in CANONICAL_TABLES:
                mapping = mappings.get(name, TableMapping())
                if mapping.query:
                    df = pd.read_sql_query(sa.text(mapping.query), conn)
                else:
                    table = mapping.table or name
                    if table not in present:
                        if name in mappings:
                            raise SourceError(f"table {table!r} mapped for {name!r} is not in {url}")
                        continue
                    df = pd.read_sql_table(table, conn)
                out[name] = _rename(df, mapping)
    finally:
        engine.dispose()
    return out


def _find_file(folder: Path, stem: str) -> Path | None:
    if Path(stem).suffix in FILE_SUFFIXES:
        return folder / stem if (folder / stem).exists() else None
    for suffix in FILE_SUFFIXES:
        if (folder / f"{stem}{suffix}").exists():
            return folder / f"{stem}{suffix}"
    return None


def _read_folder(folder: Path, mappings: dict[str, TableMapping]) -> dict[str, pd.DataFrame]:
    if not folder.is_dir():
        raise SourceError(f"data folder {folder} does not exist")
    out: dict[str, pd.DataFrame] = {}
    for name in CANONICAL_TABLES:
        mapping = mappings.get(name, TableMapping())
        if mapping.query:
            raise SourceError(f"{name}: a SQL `query` mapping needs a database source, not the folder {folder}")
        path = _find_file(folder, mapping.table or name)
        if path is None:
            if name in mappings:
                raise SourceError(f"file {mapping.table!r} mapped for {name!r} is not in {folder}")
            continue
        out[name] = _rename(read_table_file(path), mapping)
    return out


def read_table_file(path: Path) -> pd.DataFrame:
    """Read one CSV / Parquet / Excel file. CSV cells are read as text so ids keep leading zeros."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    return pd.read_excel(path, dtype=str)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are for other readers too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def read_parquet(path: str | Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def write_json(obj: Any, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return Path(path)


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_tables(tables: dict[str, pd.DataFrame], folder: str | Path) -> None:
    """Write canonical tables as `<folder>/<name>.parquet` (the validated-data hand-off)."""
    for name, df in tables.items():
        write_parquet(df, Path(folder) / f"{name}.parquet")


def read_tables(folder: str | Path) -> dict[str, pd.DataFrame]:
    folder = Path(folder)
    return {n: pd.read_parquet(folder / f"{n}.parquet") for n in CANONICAL_TABLES if (folder / f"{n}.parquet").exists()}


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
