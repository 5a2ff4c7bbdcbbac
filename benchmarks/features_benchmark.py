"""Benchmark of `churn.features.build_features` against a hand-written DuckDB RFM reference.

Run by hand (not a test):

    .venv/bin/python benchmarks/features_benchmark.py [--customers 100000 --orders 2000000 --seed 0]

1. Generates a synthetic typed history with vectorised numpy (dtypes as validation returns them,
   see tests/conftest.py): customers, orders (~1.5 rows per order_id, ~5% negative returns),
   interactions, tickets and surveys in proportion to --orders, and writes it once to Parquet
   in a temporary folder, with the population (customers with a positive order in the
   `active_days` before the cutoff, via churn.features.population) for one cutoff (the end date).
2. Runs every measurement in its own fresh subprocess (so peak RSS is per measurement), --repeats
   times each, interleaved (a, b, a, b, ...):
     a.  build_features(all tables, population, FeaturesConfig())
     a'. build_features on orders + customers only (only if (a) misses the wall-time target)
     b.  one hand-written DuckDB query: recency_days, orders_w, revenue_w (w in the windows)
   and checks that (b) equals build_features' columns for the same pairs.
3. Prints a Markdown table and the target check (features within 1.5x of the reference wall time,
   peak RSS under 1.5 GB). If the wall-time target is missed, also profiles build_features:
   wall time of each per-table query, of the merge/fill, and DuckDB's per-operator timings of the
   orders query.

Memory: "peak RSS" is the child's `ru_maxrss` at the end of the measured step (whole process:
interpreter, imports, loaded tables and the step). "RSS after load" is `ru_maxrss` right after
the Parquet tables were read, so "increment" = peak - after load is what the step itself adds.
GB here means 10^9 bytes. The parent never holds the data (it is generated in a child too): on
Linux a process inherits its parent's peak RSS into its own ru_maxrss across fork/exec.

Wall times on a 2-core machine are only meaningful when nothing else runs: before each run the
parent waits (up to --quiet-wait seconds) for other processes to go idle, and it reports the CPU
other processes used during the runs ("background load"). CPU time (user + sys) of the step is
reported next to wall time; their ratio shows how much of the step runs in parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2023-01-01")
DAYS = 730  # two years of history; the cutoff is START + DAYS
TARGET_RATIO = 1.5
TARGET_RATIO_PARQUET = 1.25  # issue 24: features from Parquet within 1.25x of one DuckDB query over the same files
TARGET_PEAK_GB = 1.5
CHILD_TABLES = {
    "generate": [],
    "features": ["customers", "orders", "interactions", "tickets", "surveys"],
    "features_orders": ["customers", "orders"],
    "reference": ["orders"],
    # --source parquet: the same two steps reading the Parquet files in DuckDB (churn.features.ParquetTable),
    # nothing of the history loaded into pandas (issue 24)
    "features_parquet": ["customers", "orders", "interactions", "tickets", "surveys"],
    "reference_parquet": ["orders"],
    "profile": ["customers", "orders", "interactions", "tickets", "surveys"],
}
LABELS = {
    "features": "a. build_features (all tables)",
    "features_orders": "a'. build_features (orders + customers)",
    "reference": "b. reference DuckDB RFM query",
}


# --------------------------------------------------------------------------- data generation


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def _string(values) -> pd.arrays.ArrowStringArray:
    return pd.array(values, dtype="string")


def _ts(days: np.ndarray) -> pd.Series:
    """Days since START (float) -> datetime64[us]."""
    return pd.Series((START + pd.to_timedelta(days * 86400e6, unit="us")).astype("datetime64[us]"))


def generate(n_customers: int, n_orders: int, seed: int) -> dict[str, pd.DataFrame]:
    """A typed history like validation returns it; sizes of the other tables scale with n_orders."""
    rng = np.random.default_rng(seed)
    scale = n_orders / 2_000_000
    n_interactions, n_tickets, n_surveys = (int(round(k * scale)) for k in (1_000_000, 200_000, 300_000))

    ids = _ids("C", n_customers, 6)
    customers = pd.DataFrame({
        "customer_id": _string(ids),
        "segment": _string(rng.choice(np.array(["hospital", "pharmacy", "clinic", "lab"], dtype=object), n_customers)),
        "region": _string(rng.choice(np.array(["North", "South", "East", "West"], dtype=object), n_customers)),
        "owner": _string(rng.choice(_ids("AM-", 200, 3), n_customers)),
        "signup_date": _ts(-rng.integers(0, 1500, n_customers).astype(float)),
        "is_key_account": rng.random(n_customers) < 0.1,
    })
    # Buying intensity per customer (skewed), and ~35% churners who stop at a random day.
    weight = rng.gamma(0.8, 1.0, n_customers)
    stop = np.where(rng.random(n_customers) < 0.35, rng.uniform(90, DAYS, n_customers), DAYS)

    def events(n: int, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        p = (w if w is not None else np.ones(n_customers)) * stop
        cust = rng.choice(n_customers, size=n, p=p / p.sum())
        return cust, rng.random(n) * stop[cust]

    # orders: an order has 1 + Poisson(0.5) rows (~1.5); its rows share customer and time.
    rows_per = 1 + rng.poisson(0.5, int(n_orders / 1.4) + 100)
    rows_per = rows_per[: np.searchsorted(np.cumsum(rows_per), n_orders) + 1]
    order_of_row = np.repeat(np.arange(len(rows_per)), rows_per)[:n_orders]
    o_cust, o_day = events(len(rows_per), weight)
    cust, day = o_cust[order_of_row], o_day[order_of_row]
    sign = np.where(rng.random(n_orders) < 0.05, -1.0, 1.0)  # returns
    amount = np.round(rng.lognormal(5, 1, n_orders), 2) * sign
    order_id = _ids("O", len(rows_per), 8)[order_of_row]
    order_id[rng.random(n_orders) < 0.02] = None  # a few rows without an order id
    orders = pd.DataFrame({
        "customer_id": _string(ids[cust]),
        "ts": _ts(day),
        "amount": amount,
        "order_id": _string(order_id),
        "quantity": sign * rng.integers(1, 20, n_orders),
        "discount": np.where(rng.random(n_orders) < 0.9, np.round(rng.uniform(0, 0.2, n_orders), 3), np.nan),
        "product": _string(rng.choice(_ids("P", 500, 4), n_orders)),
        "margin": np.where(rng.random(n_orders) < 0.8, np.round(amount * rng.uniform(0.1, 0.4, n_orders), 2), np.nan),
    })

    cust, day = events(n_interactions)
    interactions = pd.DataFrame({
        "customer_id": _string(ids[cust]),
        "ts": _ts(day),
        "channel": _string(rng.choice(np.array(["visit", "call", "email", "meeting", "event", "other"], dtype=object),
                                      n_interactions, p=[0.25, 0.3, 0.3, 0.08, 0.04, 0.03])),
        "direction": _string(rng.choice(np.array(["outbound", "inbound"], dtype=object), n_interactions, p=[0.8, 0.2])),
    })

    cust, day = events(n_tickets)
    resolve = np.where(rng.random(n_tickets) < 0.9, rng.exponential(10, n_tickets), np.nan)  # ~10% open
    resolved = _ts(day + np.nan_to_num(resolve)).where(~np.isnan(resolve))
    tickets = pd.DataFrame({
        "customer_id": _string(ids[cust]),
        "ts": _ts(day),
        "category": _string(rng.choice(np.array(["quality", "service", "delivery", "price", "billing", "other"],
                                                dtype=object), n_tickets)),
        "is_complaint": rng.random(n_tickets) < 0.7,
        "resolved_ts": resolved.astype("datetime64[us]"),
    })

    cust, day = events(n_surveys)
    scores = np.round(rng.uniform(0, 10, (n_surveys, 4)), 1)
    surveys = pd.DataFrame({
        "customer_id": _string(ids[cust]),
        "ts": _ts(day),
        "score": scores[:, 0],
        "quality_score": np.where(rng.random(n_surveys) < 0.8, scores[:, 1], np.nan),
        "service_score": scores[:, 2],
        "price_score": scores[:, 3],
    })
    tables = {"customers": customers, "orders": orders, "interactions": interactions,
              "tickets": tickets, "surveys": surveys}
    return {n: (df if n == "customers" else df.sort_values("ts", ignore_index=True)) for n, df in tables.items()}


def write_data(args: argparse.Namespace, folder: Path) -> dict:
    from churn.config import LabelsConfig
    from churn.features import population

    t0 = time.perf_counter()
    tables = generate(args.customers, args.orders, args.seed)
    t_gen = time.perf_counter() - t0
    cutoff = START + pd.Timedelta(days=DAYS)
    pop = population(tables, [cutoff], LabelsConfig())
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet", index=False)
    pop.to_parquet(folder / "population.parquet", index=False)
    return {
        "generate_s": t_gen,
        "write_s": time.perf_counter() - t0 - t_gen,
        "rows": {n: len(df) for n, df in tables.items()},
        "orders_per_id": len(tables["orders"]) / tables["orders"]["order_id"].nunique(),
        "cutoff": str(cutoff),
        "population": len(pop),
        "mb": sum(f.stat().st_size for f in folder.iterdir()) / 1e6,
    }


# --------------------------------------------------------------------------- child side


def _maxrss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # Linux: KiB


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_now_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e9


def reference_rfm(orders: pd.DataFrame, population: pd.DataFrame, windows: list[int]) -> pd.DataFrame:
    """recency_days, orders_w, revenue_w in one query, as features.py defines them.

    An order is an order_id, or a row when there is no order_id: rows without one are each
    counted once, so orders_w = distinct order_ids + id-less rows (positive, in window).
    """
    import duckdb

    pop = population[["customer_id", "cutoff"]]
    sel = ["min(age) FILTER (WHERE amount > 0) AS recency_days"]
    for w in windows:
        sel.append(f"count(DISTINCT order_id) FILTER (WHERE amount > 0 AND age <= {w})"
                   f" + count(*) FILTER (WHERE order_id IS NULL AND amount > 0 AND age <= {w}) AS orders_{w}")
        sel.append(f"coalesce(sum(amount) FILTER (WHERE age <= {w}), 0) AS revenue_{w}")
    sql = f"""
    SELECT p.customer_id, p.cutoff, {", ".join(sel)}
    FROM (SELECT p.customer_id, p.cutoff, o.amount, o.order_id,
                 (epoch_us(p.cutoff) - epoch_us(o.ts)) / 86400e6 AS age
          FROM pop p JOIN orders o ON o.customer_id = p.customer_id AND o.ts < p.cutoff) p
    GROUP BY p.customer_id, p.cutoff
    """
    from churn.features import ParquetTable

    con = duckdb.connect()
    try:
        con.register("pop", pop)
        if isinstance(orders, ParquetTable):
            con.execute(f"CREATE VIEW orders AS {orders.sql()}")
        else:
            con.register("orders", orders)
        return con.execute(sql).df()
    finally:
        con.close()


def _load(folder: Path, names: list[str], parquet: bool = False) -> tuple[dict, pd.DataFrame]:
    from churn.features import ParquetTable

    read = (lambda path: ParquetTable.of(path)) if parquet else pd.read_parquet
    tables = {n: read(folder / f"{n}.parquet") for n in names}
    return tables, pd.read_parquet(folder / "population.parquet")


def child(mode: str, folder: Path, out: str | None, args: argparse.Namespace) -> None:
    if mode == "generate":
        print(json.dumps(write_data(args, folder)))
        return
    from churn.config import FeaturesConfig
    from churn.features import build_features

    cfg = FeaturesConfig()
    t0 = time.perf_counter()
    tables, pop = _load(folder, CHILD_TABLES[mode], parquet=mode.endswith("_parquet"))
    res = {"load_s": time.perf_counter() - t0, "rss_load_gb": _maxrss_gb(), "rss_now_load_gb": _rss_now_gb()}
    if mode == "profile":
        res.update(profile(tables, pop, cfg))
        print(json.dumps(res))
        return
    t0, cpu0 = time.perf_counter(), _cpu_s()
    if mode.startswith("reference"):
        result = reference_rfm(tables["orders"], pop, list(cfg.windows))
    else:
        result = build_features(tables, pop, cfg)
    res["wall_s"], res["cpu_s"] = time.perf_counter() - t0, _cpu_s() - cpu0
    res["peak_gb"] = _maxrss_gb()  # before writing the output, which is not part of the step
    res["rows"], res["columns"] = result.shape
    if out:
        result.to_parquet(out, index=False)
    print(json.dumps(res))


class _Recorder:
    """Stands in for a DuckDB connection to record the SQL each builder runs."""

    def __init__(self, con):
        self.con, self.sql = con, []

    def execute(self, sql, *args):
        self.sql.append(sql)
        return self.con.execute(sql, *args)


def _operators(node: dict, out: dict[str, float]) -> None:
    for child in node.get("children", []):
        _operators(child, out)
    name = node.get("operator_name", node.get("name"))
    timing = node.get("operator_timing", node.get("timing", 0.0)) or 0.0
    if name:
        out[name] = out.get(name, 0.0) + timing


def profile(tables: dict[str, pd.DataFrame], population: pd.DataFrame, cfg) -> dict:
    """build_features step by step (same calls, same order), then DuckDB's operator profile of orders."""
    import duckdb

    from churn.features import _build as F  # profiles the private steps of build_features

    steps, sqls = {}, {}  # part -> (wall s, cpu s)
    t_all, c_all = time.perf_counter(), _cpu_s()
    pop = population[F.KEYS].astype({"customer_id": "string", "cutoff": "datetime64[us]"})
    con = duckdb.connect()
    con.register("pop", pop)
    parts = []
    for name, builder in F._BUILDERS.items():
        if name in tables:
            rec = _Recorder(con)
            t0, c0 = time.perf_counter(), _cpu_s()
            con.register(name, tables[name])
            parts.append(builder(rec, tables[name].columns, cfg))
            steps[f"query {name}"] = (time.perf_counter() - t0, _cpu_s() - c0)
            sqls[name] = rec.sql[-1]
    t0, c0 = time.perf_counter(), _cpu_s()
    out = pop.reset_index(drop=True)
    for part in parts:
        out = out.merge(part, on=F.KEYS, how="left", validate="one_to_one")
    out = F._fill(out, tables)
    steps["merge + fill (pandas)"] = (time.perf_counter() - t0, _cpu_s() - c0)
    steps["total"] = (time.perf_counter() - t_all, _cpu_s() - c_all)

    # Per-operator timings of the orders query (DuckDB's profiler; operator times are summed over threads).
    prof = Path(tempfile.mkstemp(suffix=".json")[1])
    con.execute("PRAGMA enable_profiling='json'")
    con.execute(f"PRAGMA profiling_output='{prof}'")
    t0 = time.perf_counter()
    con.execute(sqls["orders"]).fetchall()
    t_prof = time.perf_counter() - t0
    con.execute("PRAGMA disable_profiling")
    ops: dict[str, float] = {}
    for node in json.loads(prof.read_text()).get("operator", []) or []:
        _operators(node, ops)
    prof.unlink()
    con.close()
    return {"steps": steps, "orders_query_profiled_s": t_prof, "orders_operators": ops}


# --------------------------------------------------------------------------- parent side


def _busy_s() -> float:
    """Non-idle CPU seconds of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_child(mode: str, folder: Path, out: Path | None = None, extra: list[str] = ()) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--data", str(folder), *extra]
    if out:
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"child {mode} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def wait_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Wait (up to max_wait s) until other processes use under `threshold` cores over 1 s; returns that load."""
    deadline = time.monotonic() + max_wait
    while True:
        b0, t0 = _busy_s(), time.perf_counter()
        time.sleep(1.0)
        load = (_busy_s() - b0) / (time.perf_counter() - t0)
        if load < threshold or time.monotonic() >= deadline:
            return load
        print(f"  waiting for a quiet machine (other processes use {load:.1f} cores)", file=sys.stderr)


def measure(modes: list[str], folder: Path, repeats: int, quiet_wait: float) -> dict[str, dict]:
    """`repeats` fresh children per mode, interleaved (a, b, a, b, ...) so background load hits both alike."""
    runs: dict[str, list[dict]] = {m: [] for m in modes}
    for i in range(repeats):
        for mode in modes:
            out = folder / f"out_{mode}.parquet" if i == 0 else None
            if quiet_wait > 0:
                wait_quiet(quiet_wait)
            busy0, kids0, t0 = _busy_s(), _children_cpu_s(), time.perf_counter()
            r = run_child(mode, folder, out)
            # CPU used by other processes while this child ran, in cores (0 on a quiet machine).
            r["background"] = max(0.0, (_busy_s() - busy0) - (_children_cpu_s() - kids0)) / (time.perf_counter() - t0)
            runs[mode].append(r)
            print(f"  {mode} run {i + 1}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s cpu, peak {r['peak_gb']:.2f} GB, "
                  f"background load {r['background']:.2f} cores", file=sys.stderr)
    res = {}
    for mode, rs in runs.items():
        walls = [r["wall_s"] for r in rs]
        res[mode] = {
            "min": min(walls), "median": statistics.median(walls),
            "cpu_median": statistics.median(r["cpu_s"] for r in rs),
            "peak_gb": max(r["peak_gb"] for r in rs), "rss_load_gb": statistics.median(r["rss_load_gb"] for r in rs),
            "load_s": statistics.median(r["load_s"] for r in rs), "rows": rs[0]["rows"], "columns": rs[0]["columns"],
            "background": max(r["background"] for r in rs),
        }
    return res


def compare(features_path: Path, reference_path: Path, windows: list[int]) -> tuple[int, int, dict[str, int]]:
    """Mismatching cells (and rows) between the reference and build_features, per RFM column."""
    keys = ["customer_id", "cutoff"]
    cols = ["recency_days"] + [f"{k}_{w}" for w in windows for k in ("orders", "revenue")]
    feats = pd.read_parquet(features_path, columns=keys + cols)
    ref = pd.read_parquet(reference_path, columns=keys + cols)
    m = feats.merge(ref, on=keys, how="outer", suffixes=("_f", "_r"), indicator=True)
    unmatched = int((m["_merge"] != "both").sum())
    per_col, bad_rows = {}, np.zeros(len(m), dtype=bool)
    for c in cols:
        f = m[f"{c}_f"].to_numpy(dtype="float64", na_value=np.nan)
        r = m[f"{c}_r"].to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isclose(f, r, rtol=1e-9, atol=1e-6) | (np.isnan(f) & np.isnan(r))
        per_col[c] = int((~ok).sum())
        bad_rows |= ~ok
    return int(sum(per_col.values())) + unmatched * len(cols), int(bad_rows.sum()), per_col


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="before each run, wait up to this many seconds for other processes to go idle (0: don't)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary Parquet folder")
    ap.add_argument("--source", choices=["memory", "parquet"], default="memory",
                    help="memory: the tables loaded into pandas first; parquet: DuckDB reads the files (issue 24)")
    ap.add_argument("--child", choices=sorted(CHILD_TABLES), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.data, args.out, args)
        return

    from churn.config import FeaturesConfig

    windows = list(FeaturesConfig().windows)
    folder = Path(tempfile.mkdtemp(prefix="churn-features-bench-"))
    try:
        # Generated in a child too: Linux carries a parent's peak RSS into its children's ru_maxrss
        # (exec records the old mm's high-water mark), so the parent must stay small.
        info = run_child("generate", folder, extra=["--customers", str(args.customers), "--orders",
                                                    str(args.orders), "--seed", str(args.seed)])
        print(f"data: {info['rows']} rows ({info['orders_per_id']:.2f} order rows per order_id), "
              f"generated in {info['generate_s']:.1f} s, written in {info['write_s']:.1f} s "
              f"({info['mb']:.0f} MB Parquet); cutoff {info['cutoff']}, population {info['population']:,}",
              file=sys.stderr)
        suffix = "_parquet" if args.source == "parquet" else ""
        results = measure([f"features{suffix}", f"reference{suffix}"], folder, args.repeats, args.quiet_wait)
        if suffix:  # reported under the usual names
            results = {"features": results["features_parquet"], "reference": results["reference_parquet"]}
            for name in ("features", "reference"):
                (folder / f"out_{name}_parquet.parquet").rename(folder / f"out_{name}.parquet")
        ref = results["reference"]["median"]
        missed = results["features"]["median"] > TARGET_RATIO * ref and not suffix
        if missed:
            results.update(measure(["features_orders"], folder, args.repeats, args.quiet_wait))
            if args.quiet_wait > 0:
                wait_quiet(args.quiet_wait)
            prof = run_child("profile", folder)
        # Only now does the parent read anything sizeable (see above).
        print(f"parent peak RSS while the children ran: {_maxrss_gb():.2f} GB", file=sys.stderr)
        mismatches, bad_rows, per_col = compare(folder / "out_features.parquet", folder / "out_reference.parquet",
                                                windows)
        report(args, info, results, mismatches, bad_rows, per_col, prof if missed else None)
    finally:
        if args.keep:
            print(f"data kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def report(args, info, results, mismatches, bad_rows, per_col, prof) -> None:
    ref = results["reference"]
    source = "read from Parquet by DuckDB" if args.source == "parquet" else "loaded into pandas first"
    target = TARGET_RATIO_PARQUET if args.source == "parquet" else TARGET_RATIO
    print(f"\n### build_features benchmark: {args.customers:,} customers, {info['rows']['orders']:,} order rows "
          f"({source}), seed {args.seed}, {args.repeats} runs each, {os.cpu_count()} cores\n")
    print(f"Tables: {', '.join(f'{n} {r:,}' for n, r in info['rows'].items())} rows "
          f"({info['orders_per_id']:.2f} order rows per order_id); "
          f"cutoff {info['cutoff'][:10]}, population {info['population']:,} customers.\n")
    print("| step | wall time (s) min / median | CPU time (s) median | peak RSS (GB) | RSS after load (GB) "
          "| increment (GB) | ratio to b (median wall) |")
    print("|---|---|---|---|---|---|---|")
    for mode in ("features", "features_orders", "reference"):
        if mode not in results:
            continue
        r = results[mode]
        print(f"| {LABELS[mode]} ({r['rows']:,} x {r['columns']}) | {r['min']:.2f} / {r['median']:.2f} | "
              f"{r['cpu_median']:.2f} | {r['peak_gb']:.2f} | {r['rss_load_gb']:.2f} | {r['peak_gb'] - r['rss_load_gb']:.2f} | "
              f"{r['median'] / ref['median']:.2f}x |")
    busy = max(r["background"] for r in results.values())
    print(f"\nBackground CPU load from other processes during the runs: up to {busy:.2f} of {os.cpu_count()} cores"
          + (" -- **the machine was busy: wall times are inflated and noisy**." if busy > 0.2 else " (quiet)."))
    print(f"\nRFM check (b vs a, recency_days + orders_w + revenue_w): {mismatches} mismatching cells "
          f"in {bad_rows} rows" + ("" if not mismatches else f" {per_col}"))
    a = results["features"]
    ratio = a["median"] / ref["median"]
    print("\nTargets:")
    print(f"- wall time within {target}x of the reference: {ratio:.2f}x -> "
          f"{'PASS' if ratio <= target else 'FAIL'}")
    if "features_orders" in results:
        r2 = results["features_orders"]["median"] / ref["median"]
        print(f"  - orders + customers only: {r2:.2f}x -> {'PASS' if r2 <= TARGET_RATIO else 'FAIL'}")
    print(f"- peak RSS under {TARGET_PEAK_GB} GB: {a['peak_gb']:.2f} GB -> "
          f"{'PASS' if a['peak_gb'] < TARGET_PEAK_GB else 'FAIL'}")
    if prof:
        total = prof["steps"]["total"][0]
        print("\nProfile of build_features (one run, same calls as build_features; CPU/wall near 1 = serial):\n")
        print("| part | wall time (s) | share | CPU time (s) | CPU / wall |")
        print("|---|---|---|---|---|")
        for part, (w, c) in prof["steps"].items():
            print(f"| {part} | {w:.2f} | {w / total:.0%} | {c:.2f} | {c / w:.2f} |")
        ops = sorted(prof["orders_operators"].items(), key=lambda kv: -kv[1])
        op_total = sum(prof["orders_operators"].values())
        print(f"\nOrders query, DuckDB operator time (summed over threads; query wall "
              f"{prof['orders_query_profiled_s']:.2f} s with profiling):\n")
        print("| operator | time (s) | share |")
        print("|---|---|---|")
        for name, s in ops[:8]:
            print(f"| {name} | {s:.2f} | {s / op_total:.0%} |")


if __name__ == "__main__":
    main()
