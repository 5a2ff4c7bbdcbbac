"""Pull a large history from PostgreSQL, next to the floor: COPY of the same tables into Arrow (issue 24).

Run by hand (not a test), under ../shared/tools/capped, on a history written by `benchmarks/large_history.py`:

    ../shared/tools/capped -m 20 -t 3600 .venv/bin/python benchmarks/pg_pull.py --history data/large_1m/history

1. Starts a throwaway PostgreSQL server (the test suite's `tests/pg.py`: the Debian server binaries, a temp folder;
   or `--url` for a database of your own, whose tables it replaces) and loads the history's canonical tables into
   it (ADBC's bulk ingest: binary COPY).
2. The floor, in a fresh process: every table read whole into Arrow by ADBC's PostgreSQL driver (`SELECT *`,
   which the driver runs as a binary COPY), nothing else.
3. `churn stage pull` from that database, in a fresh process: what a scheduled run does (read, rename, link and
   write the raw tables as Parquet).
Prints each one's wall time and peak RSS (the process and its children; GB = 10^9 bytes), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway server of the test suite

import scale  # noqa: E402  (benchmarks/scale.py, beside this script: how a command is measured)

TABLES = ("customers", "orders", "interactions", "tickets", "surveys", "campaigns", "loss_reasons")
FLOOR = """
import sys, time
import adbc_driver_postgresql.dbapi as pg
rows = {}
with pg.connect(sys.argv[1]) as conn, conn.cursor() as cur:
    for name in sys.argv[2:]:
        cur.execute(f'SELECT * FROM "{name}"')
        rows[name] = cur.fetch_arrow_table().num_rows
print(rows)
"""


def measured(command: list[str], env: dict, cwd: Path = ROOT) -> dict:
    """`scale.measured` (the command's own peak RSS, from a fresh process), stopping on a failed command."""
    result = scale.measured(command, cwd, env)
    if result["returncode"]:
        sys.exit(f"{' '.join(command[:3])} ... failed:\n{result['stderr'][-3000:]}")
    return result


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it (postgresql://...)."""
    import sqlalchemy as sa

    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(history: Path, url: str) -> dict[str, int]:
    """The history's canonical tables (each from its Parquet parts) into the database, replacing them."""
    import adbc_driver_postgresql.dbapi as pg
    import pyarrow.dataset as ds

    rows = {}
    with pg.connect(libpq_url(url)) as conn:
        for name in TABLES:
            parts = sorted(history.glob(f"{name}_*.parquet"))
            if not parts:
                continue
            table = ds.dataset(parts, format="parquet").to_table()
            with conn.cursor() as cur:
                cur.execute(f'DROP TABLE IF EXISTS "{name}"')
                rows[name] = cur.adbc_ingest(name, table, mode="create")
            conn.commit()
            del table
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
        conn.commit()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", type=Path, required=True, help="the Parquet parts of benchmarks/large_history.py")
    parser.add_argument("--url", help="a PostgreSQL database (SQLAlchemy URL) to load into; default: a new server")
    parser.add_argument("--runs", type=int, default=1, help="floor and pull, each this many times (the median shown)")
    args = parser.parse_args()
    server = None
    if args.url is None:
        from pg import PostgresServer, find_pg_bin

        bin_dir = find_pg_bin()
        if bin_dir is None:
            sys.exit("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: apt-get install postgresql")
        server = PostgresServer(bin_dir)
        server.start()
        url = server.create_database("churn_bench")
    else:
        url = args.url
    try:
        started = time.perf_counter()
        rows = load(args.history.resolve(), url)
        print(f"loaded {sum(rows.values()):,} rows in {time.perf_counter() - started:.0f} s: "
              + ", ".join(f"{name} {n:,}" for name, n in rows.items()))
        env = os.environ | {"PREFECT_HOME": os.environ.get("PREFECT_HOME") or tempfile.mkdtemp(prefix="prefect-"),
                            "COLUMNS": "120"}
        work = Path(tempfile.mkdtemp(prefix="churn-pg-pull-"))
        config = work / "pg.yaml"
        config.write_text(f"extends: {ROOT / 'configs' / 'params.yaml'}\nsource:\n  location: {url}\n")
        env["CHURN_ALLOWED_ROOTS"] = str(work)
        floors, pulls = [], []
        for _ in range(args.runs):
            floors.append(measured([sys.executable, "-c", FLOOR, libpq_url(url), *rows], env))
            pulls.append(measured([str(Path(sys.executable).parent / "churn"), "stage", "pull", "--config", str(config),
                                   "--workdir", str(work / "work")], env, cwd=work))
        floor = sorted(floors, key=lambda r: r["seconds"])[len(floors) // 2]
        pull = sorted(pulls, key=lambda r: r["seconds"])[len(pulls) // 2]
        print(f"\n| step ({sum(rows.values()):,} rows, {len(rows)} tables) | wall time | peak RSS |\n|---|---|---|")
        print(f"| floor: ADBC `SELECT *` of every table into Arrow (binary COPY) | {floor['seconds']:.1f} s | "
              f"{floor['peak_gb']:.2f} GB |")
        print(f"| `churn stage pull` (read, rename, write the raw tables) | {pull['seconds']:.1f} s | "
              f"{pull['peak_gb']:.2f} GB |")
        print(f"\npull / floor: {pull['seconds'] / floor['seconds']:.2f}x (target: at most 2x); "
              f"runs: floor {[round(r['seconds'], 1) for r in floors]}, pull {[round(r['seconds'], 1) for r in pulls]}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
