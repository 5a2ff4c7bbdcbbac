"""Write a large sample business to Parquet, block by block, never whole in memory (issue 24).

Run by hand (not a test), always under ../shared/tools/capped:

    ../shared/tools/capped -m 4 -t 3600 .venv/bin/python benchmarks/large_history.py --customers 100000 --out data/large_100k
    ../shared/tools/capped -m 4 -t 7200 .venv/bin/python benchmarks/large_history.py --customers 1000000 --out data/large_1m
    # the issue's scale, ~20 order lines a customer (orders and rep contacts at 0.13 of the demo's rates):
    ../shared/tools/capped -m 4 -t 3600 .venv/bin/python benchmarks/large_history.py --customers 1000000 --activity 0.13 --out data/large_1m

Writes `<out>/history/<table>_<block>.parquet` (the canonical tables, one part per block of --block-size
customers), `<out>/truth/truth_<block>.parquet` (who leaves and why, for checking causes) and `<out>/history.yaml`
(a config that reads the parts: `churn validate --config <out>/history.yaml`). It is the demo's causal world
(`churn.data.history_blocks`), with the demo's planted bad rows, each block seeded by its number. Prints the rows
per table, the time, the peak RSS of the process (it stays that of one block: about 1 GB at 10,000 customers a
block) and the size on disk.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from churn.config import load_config
from churn.runners import run_large_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--block-size", type=int, default=10_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=Path("configs/params.yaml"))
    parser.add_argument("--activity", type=float, default=None,
                        help="demo.activity: a multiplier on order, contact and ticket rates (0.13: ~20 order lines a customer)")
    args = parser.parse_args()
    start = time.perf_counter()
    cfg = load_config(args.config)
    if args.activity is not None:
        cfg = cfg.model_copy(update={"demo": cfg.demo.model_copy(update={"activity": args.activity})})
    result = run_large_history(cfg, args.customers, args.out, args.block_size, args.config,
                               progress=lambda line: print(f"  {time.perf_counter() - start:7.1f} s  {line}", flush=True))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB
    disk = sum(p.stat().st_size for p in args.out.rglob("*.parquet")) / 1e9
    print(f"\n{args.customers:,} customers in blocks of {args.block_size:,}: {seconds:.0f} s, peak RSS {peak:.2f} GB, "
          f"{disk:.2f} GB of Parquet in {args.out}")
    print("| table | rows |\n|---|---|")
    for name, rows in result["rows"].items():
        print(f"| {name} | {rows:,} |")
    print(f"planted bad rows: {result['injected']}\nconfig: {result['config']}")


if __name__ == "__main__":
    main()
