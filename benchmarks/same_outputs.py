"""Does a change alter what churn computes? Run the demo with two versions of the code and compare.

    .venv/bin/python benchmarks/same_outputs.py                 # HEAD's committed code vs the working tree
    .venv/bin/python benchmarks/same_outputs.py --before b4a7f83 --customers 2000 --language en zh

Each side runs `churn demo` (pull, validate, features, training with the whole grid search,
registration, scoring, report) in a fresh temporary folder with its own MLflow store, once per
report language, and reads back what users and later stages read:

- the retention list (CSV and Parquet: columns, dtypes, every cell),
- run_summary.json, metrics/train_metrics.json, validation_summary.json, cause_check.json,
- the report's data payload (the JSON the page draws its list, filters and charts from), its
  headings and key figures as text,
- every cell of every sheet of the Excel workbook.

Fields that legitimately differ between two runs are removed before comparing: MLflow run ids,
the pull timestamp, the solver's seconds, the temporary folders' paths. The search budget is raised so that both
sides try the whole grid (a time-budgeted search on a busy machine would stop at different points).
The "before" side runs from a `git worktree` of the given commit; its fingerprint is cached by
commit id in benchmarks/.cache/. Exit status 0 when identical, 1 with the first differences listed.
This is a check to run by hand after moving code, not a timed benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
# Keys whose values differ between two identical runs (ids, clocks, solver time, temporary paths).
VOLATILE = {"seconds", "mlflow_run_id", "run_id", "pulled_at", "published_at", "tracking_uri", "artifact_uri", "model_uri"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="HEAD", help="commit to compare against (default: HEAD)")
    ap.add_argument("--after", default=None, help="commit for the other side (default: the working tree)")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--language", nargs="+", default=["en", "zh"])
    ap.add_argument("--no-cache", action="store_true", help="re-run the 'before' side even if cached")
    ap.add_argument("--new-column", action="append", default=[], metavar="NAME",
                    help="a list column the 'after' side adds on purpose: reported, then left out of the comparison")
    args = ap.parse_args()

    before = fingerprint_commit(args.before, args.customers, args.language, use_cache=not args.no_cache)
    if args.after:
        after = fingerprint_commit(args.after, args.customers, args.language, use_cache=not args.no_cache)
    else:
        after = fingerprint_tree(ROOT, args.customers, args.language, "working tree")
    for name in args.new_column:
        after = _without_column(after, name)
    differences = list(compare(_strip(before, "<run>"), _strip(after, "<run>")))  # caches may predate a key
    if not differences:
        print(f"identical: {len(list(_leaves(before))):,} values compared "
              f"({args.customers:,} customers, report in {', '.join(args.language)})")
        return 0
    print(f"{len(differences):,} differences; the first 30:")
    for line in differences[:30]:
        print("  " + line)
    return 1


def fingerprint_commit(ref: str, customers: int, languages: list[str], use_cache: bool = True) -> dict:
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    cached = CACHE / f"{sha[:12]}-{customers}-{'-'.join(languages)}.json"
    if use_cache and cached.exists():
        print(f"{ref} ({sha[:12]}): outputs from {cached.relative_to(ROOT)}")
        return json.loads(cached.read_text())
    with tempfile.TemporaryDirectory(prefix="churn-before-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), sha], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            result = fingerprint_tree(tree, customers, languages, f"{ref} ({sha[:12]})")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result))
    return result


def fingerprint_tree(tree: Path, customers: int, languages: list[str], label: str) -> dict:
    """Run the demo with the code in `tree` once per language; return its normalised outputs."""
    out = {}
    for language in languages:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="churn-demo-") as tmp:
            run = Path(tmp)
            _write_config(tree, run, customers, language)
            env = {k: v for k, v in os.environ.items()
                   if k not in ("MLFLOW_TRACKING_URI", "CHURN_PUBLISH_URL", "PREFECT_API_URL")}
            # The tree's own code comes first on the path (ahead of the venv's editable install).
            env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(tree)])
            proc = subprocess.run([sys.executable, "-c", "from churn.cli import main; main()", "demo", "-c",
                                   "configs/params.yaml"], cwd=run, env=env, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"`churn demo` failed for {label}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            out[language] = _strip(_read_outputs(run), str(run))
        print(f"{label}, report in {language}: demo ran in {time.monotonic() - started:.0f} s")
    return out


def _write_config(tree: Path, run: Path, customers: int, language: str) -> None:
    shutil.copytree(tree / "configs", run / "configs")
    path = run / "configs" / "params.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg["demo"]["n_customers"] = customers
    cfg["train"]["search"]["budget_seconds"] = 10**6  # the whole grid on both sides
    cfg["report"]["language"] = language
    cfg["report"]["excel"] = True
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))


def _read_outputs(run: Path) -> dict:
    out_dir, work, metrics = run / "data" / "retention", run / "data" / "work", run / "metrics"
    html = (out_dir / "report.html").read_text(encoding="utf-8")
    payloads = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, flags=re.S)
    return {
        "retention_list.csv": _frame(pd.read_csv(out_dir / "retention_list.csv", keep_default_na=False, dtype=str)),
        "retention_list.parquet": _frame(pd.read_parquet(out_dir / "retention_list.parquet")),
        "run_summary.json": _json(out_dir / "run_summary.json"),
        "train_metrics.json": _json(metrics / "train_metrics.json"),
        "cause_check.json": _json(metrics / "cause_check.json"),
        "validation_summary.json": _json(work / "validation_summary.json"),
        "report payload": [json.loads(p) for p in payloads],
        "report text": _visible_text(html),
        "workbook": _workbook(out_dir / "retention_list.xlsx"),
    }


def _without_column(fingerprint: dict, name: str) -> dict:
    """The fingerprint without list column `name` (an intended addition); says how many rows fill it."""
    out = json.loads(json.dumps(fingerprint))
    for language, outputs in out.items():
        for key in ("retention_list.csv", "retention_list.parquet"):
            frame = outputs[key]
            if name not in frame["columns"]:
                sys.exit(f"--new-column {name}: not a column of {key} ({language})")
            i = frame["columns"].index(name)
            filled = sum(row[i] not in (None, "") for row in frame["rows"])
            print(f"new column {name!r} in {language}/{key}: {filled:,} of {len(frame['rows']):,} rows filled; "
                  f"left out of the comparison")
            for part in ("columns", "dtypes"):
                del frame[part][i]
            for row in frame["rows"]:
                del row[i]
    return out


def _frame(df: pd.DataFrame) -> dict:
    return {"columns": list(df.columns), "dtypes": [str(t) for t in df.dtypes],
            "rows": [[_cell(v) for v in row] for row in df.itertuples(index=False)]}


def _cell(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        return [_cell(v) for v in list(value)]
    return value if isinstance(value, (int, str, bool)) else str(value)


def _json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def _visible_text(html: str) -> list[str]:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return [t for t in (s.strip() for s in re.split(r"<[^>]+>", body)) if t]


def _workbook(path: Path) -> dict:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return {sheet.title: [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


def _strip(value, tmp: str):
    """Drop the volatile keys; replace the temporary folder's path in text."""
    if isinstance(value, dict):
        return {k: _strip(v, tmp) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v, tmp) for v in value]
    if isinstance(value, str):
        return value.replace(tmp, "<run>")
    return value


def _leaves(value, path="") :
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def compare(before, after, path=""):
    """Every place where the two fingerprints differ, as readable lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        for k in before.keys() | after.keys():
            if k not in after:
                yield f"{path}/{k}: only before"
            elif k not in before:
                yield f"{path}/{k}: only after"
            else:
                yield from compare(before[k], after[k], f"{path}/{k}")
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            yield f"{path}: {len(before)} items before, {len(after)} after"
        for i, (b, a) in enumerate(zip(before, after)):
            yield from compare(b, a, f"{path}[{i}]")
    elif before != after and not (_is_nan(before) and _is_nan(after)):
        yield f"{path}: {before!r} before, {after!r} after"


def _is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


if __name__ == "__main__":
    sys.exit(main())
