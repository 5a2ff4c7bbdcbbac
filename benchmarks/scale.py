"""churn end to end on a large sample business: write it, validate, train and score, each step timed (issue 24).

Run by hand (not a test), under ../shared/tools/capped (`make bench` at 100,000 customers, `make bench-1m` at
1,000,000):

    ../shared/tools/capped -m 16 -t 7200 .venv/bin/python benchmarks/scale.py --customers 100000 --out data/scale_100k

1. Writes the demo's causal world at the issue's scale (`benchmarks/large_history.py --activity 0.13`: ~20 order
   lines a customer) as Parquet parts in `<out>/history`, with a config reading them (`<out>/history.yaml`).
2. Runs the real commands on it, each in a fresh process, from `<out>` (so its MLflow store, models and work
   folder are `<out>`'s own): `churn validate`, `churn train`, `churn score`, as of the sample's end.
3. Runs each command `--runs` times (default 3, each a fresh process) and prints a Markdown table: each command's
   median wall time (and every run's), its largest peak RSS (the process and its children: GB = 10^9 bytes), and
   each stage's median time as the command printed it.

`--skip-write` reuses a history already written in `<out>`; `--steps` picks the commands (default: all three).
Each run's output is kept as `<out>/<step>_run<N>.log`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-10-01"  # the sample business's end (demo.end)
STEPS = {
    "validate": ["validate"],
    "train": ["train", "--as-of", AS_OF],
    "score": ["score", "--as-of", AS_OF],
}
MEASURE = """
import json, resource, subprocess, sys, threading, time
import psutil
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
total = [0]
def watch():  # the command and every process it started (a Dask cluster's workers), summed, twice a second
    while proc.poll() is None:
        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        except psutil.Error:
            break
        rss = 0
        for p in tree:
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        total[0] = max(total[0], rss)
        time.sleep(0.5)
watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
stdout, stderr = proc.communicate()
print(json.dumps({"seconds": time.perf_counter() - t0, "returncode": proc.returncode,
                  "peak_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9,
                  "peak_total_gb": total[0] / 1e9, "stdout": stdout, "stderr": stderr}))
"""


def measured(command: list[str], cwd: Path, env: dict) -> dict:
    """Run `command` as the only child of a fresh Python process, whose RUSAGE_CHILDREN is then that command's
    own peak (this process's children would carry the largest of all)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], cwd=cwd, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def stages(stdout: str) -> dict[str, float]:
    """The '✓ stage 12.3 s' lines the CLI prints, in seconds."""
    return {stage: float(took) * (60 if unit == "min" else 1)
            for stage, took, unit in re.findall(r"✓ (\S+) ([\d.]+) (s|min)\b", stdout)}


def summary(name: str, results: list[dict]) -> str:
    """One table row: the median wall time of the runs (each run's beside it), the largest peak, median stages."""
    seconds = [r["seconds"] for r in results]
    failed = [r["returncode"] for r in results if r["returncode"]]
    status = f" (**failed**, exit {failed[0]})" if failed else ""
    per_stage = [stages(r["stdout"]) for r in results]
    shown = ", ".join(f"{stage} {statistics.median(p[stage] for p in per_stage if stage in p):.0f} s"
                      for stage in per_stage[0])
    runs = f" ({', '.join(f'{t:.0f}' for t in seconds)} s)" if len(results) > 1 else ""
    return (f"| {name}{status} | {statistics.median(seconds):.1f} s{runs} | "
            f"{max(r['peak_gb'] for r in results):.2f} GB | {max(r.get('peak_total_gb', 0) for r in results):.2f} GB"
            f" | {shown} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--activity", type=float, default=0.13)
    parser.add_argument("--skip-write", action="store_true", help="reuse the history already in --out")
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS))
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per command; the table shows medians")
    parser.add_argument("--engine", choices=["local", "dask"], default="local",
                        help="dask: the commands on a LocalCluster of --workers workers (engine.kind: dask)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-memory", default="8GiB", help="each LocalCluster worker's memory limit")
    parser.add_argument("--partitions", type=int, default=16, help="the history's parts (engine.partitions)")
    args = parser.parse_args()
    out = args.out.resolve()
    env = os.environ | {"PREFECT_HOME": os.environ.get("PREFECT_HOME") or tempfile.mkdtemp(prefix="prefect-"),
                        "COLUMNS": "120"}
    churn = str(Path(sys.executable).parent / "churn")
    rows = []
    if not args.skip_write:
        result = measured([sys.executable, str(ROOT / "benchmarks" / "large_history.py"), "--customers",
                           str(args.customers), "--activity", str(args.activity), "--out", str(out),
                           "--config", str(ROOT / "configs" / "params.yaml")], ROOT, env)
        if result["returncode"]:
            sys.exit(f"writing the history failed:\n{result['stderr'][-3000:]}")
        print(result["stdout"].split("\n\n", 1)[-1])
        rows.append(("write the history", [result]))
    config = out / "history.yaml"
    if args.engine == "dask":
        config = out / "history_dask.yaml"
        config.write_text(f"extends: history.yaml\nengine:\n  kind: dask\n  partitions: {args.partitions}\n"
                          f"  local_workers: {args.workers}\n  memory_per_worker: {args.worker_memory}\n",
                          encoding="utf-8")
    for step in args.steps:
        results = []
        for run in range(args.runs):
            result = measured([churn, *STEPS[step], "--config", str(config), "--workdir",
                               str(out / "work")], out, env)
            results.append(result)
            (out / f"{step}_run{run + 1}.log").write_text(result["stdout"] + result["stderr"], encoding="utf-8")
            print(f"{step} run {run + 1}: {result['seconds']:.1f} s, peak {result['peak_gb']:.2f} GB "
                  f"(all processes {result['peak_total_gb']:.2f} GB), "
                  f"exit {result['returncode']}", file=sys.stderr, flush=True)
            if result["returncode"]:
                print(result["stdout"][-3000:], result["stderr"][-3000:], file=sys.stderr)
                break
        rows.append((f"churn {step}", results))
        if results[-1]["returncode"]:  # a later command would fail on what this one did not write
            break
    engine = f", Dask LocalCluster of {args.workers} workers" if args.engine == "dask" else ""
    print(f"\n### churn at {args.customers:,} customers ({os.cpu_count()} cores{engine}, medians of {args.runs} runs)\n")
    print("| step | wall time | peak RSS (largest process) | peak RSS (all processes) | stages |\n|---|---|---|---|---|")
    for name, results in rows:
        print(summary(name, results))


if __name__ == "__main__":
    main()
