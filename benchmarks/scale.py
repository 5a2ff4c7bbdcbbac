"""churn end to end on a large sample business: write it, validate, train and score, each step timed (issue 24).

Run by hand (not a test), under ../shared/tools/capped (`make bench` at 100,000 customers, `make bench-1m` at
1,000,000):

    ../shared/tools/capped -m 16 -t 7200 .venv/bin/python benchmarks/scale.py --customers 100000 --out data/scale_100k

1. Writes the demo's causal world at the issue's scale (`benchmarks/large_history.py --activity 0.13`: ~20 order
   lines a customer) as Parquet parts in `<out>/history`, with a config reading them (`<out>/history.yaml`).
2. Runs the real commands on it, each in a fresh process, from `<out>` (so its MLflow store, models and work
   folder are `<out>`'s own): `churn validate`, `churn train`, `churn score`, as of the sample's end.
3. Prints a Markdown table: each command's wall time and peak RSS (the process and its children: GB = 10^9
   bytes), then each stage's time as the command printed it.

`--skip-write` reuses a history already written in `<out>`; `--steps` picks the commands (default: all three).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"seconds": time.perf_counter() - t0, "returncode": done.returncode,
                  "peak_gb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9,
                  "stdout": done.stdout, "stderr": done.stderr}))
"""


def measured(command: list[str], cwd: Path, env: dict) -> dict:
    """Run `command` as the only child of a fresh Python process, whose RUSAGE_CHILDREN is then that command's
    own peak (this process's children would carry the largest of all)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], cwd=cwd, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def stages(stdout: str) -> list[tuple[str, str]]:
    """The '✓ stage 12.3 s' lines the CLI prints."""
    return re.findall(r"✓ (\S+) ([\d.]+ (?:s|min))", stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--activity", type=float, default=0.13)
    parser.add_argument("--skip-write", action="store_true", help="reuse the history already in --out")
    parser.add_argument("--steps", nargs="+", choices=list(STEPS), default=list(STEPS))
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
        rows.append(("write the history", result, []))
    for step in args.steps:
        result = measured([churn, *STEPS[step], "--config", str(out / "history.yaml"), "--workdir",
                           str(out / "work")], out, env)
        rows.append((f"churn {step}", result, stages(result["stdout"])))
        print(f"{step}: {result['seconds']:.1f} s, peak {result['peak_gb']:.2f} GB, exit {result['returncode']}",
              file=sys.stderr, flush=True)
        if result["returncode"]:
            print(result["stdout"][-3000:], result["stderr"][-3000:], file=sys.stderr)
            break
    print(f"\n### churn at {args.customers:,} customers ({os.cpu_count()} cores)\n")
    print("| step | wall time | peak RSS | stages |\n|---|---|---|---|")
    for name, result, parts in rows:
        shown = ", ".join(f"{stage} {took}" for stage, took in parts)
        status = "" if result["returncode"] == 0 else f" (**failed**, exit {result['returncode']})"
        print(f"| {name}{status} | {result['seconds']:.1f} s | {result['peak_gb']:.2f} GB | {shown} |")


if __name__ == "__main__":
    main()
