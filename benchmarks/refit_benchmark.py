"""Does refitting on the latest complete windows score the following horizon better? A backtest, both ways.

    .venv/bin/python benchmarks/refit_benchmark.py --workdir data/work --from 2026-01-01 --to 2026-07-01 --every 2m
    .venv/bin/python benchmarks/refit_benchmark.py --config configs/sources/online_retail.yaml \\
        --workdir data/or_work --from 2010-06-01 --to 2010-09-01 --every 1m

At each as-of date the model is fitted as `churn train --as-of DATE` would register it, twice: refit on every
complete label window (`backtest.windows: all_complete`, what `train.refit: true` registers) and fitted only on
the cutoffs before its holdout (`before_latest`, what churn registered before the refit), then judged on the
customers active at the date over the following horizon, next to the baselines. `--workdir` holds the validated
tables (`churn validate --config ... --workdir ...` first). Prints a Markdown table per date and pooled, and
writes it as JSON with `--json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from churn.config import load_config  # noqa: E402
from churn.model import backtest_dates, run_backtest  # noqa: E402
from churn.ops import io  # noqa: E402

SETTINGS = {"all_complete": "refit (every complete window)", "before_latest": "before the refit"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/params.yaml")
    ap.add_argument("--workdir", default="data/work")
    ap.add_argument("--from", dest="start", required=True)
    ap.add_argument("--to", dest="end", required=True)
    ap.add_argument("--every", default="1m")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    cfg = load_config(args.config)
    tables = io.read_tables(Path(args.workdir) / "validated")
    dates = backtest_dates(pd.Timestamp(args.start), pd.Timestamp(args.end), args.every)
    rows, pooled = [], {}
    for windows in SETTINGS:
        started = time.monotonic()
        try:
            per_date, _, pooled[windows] = run_backtest(
                tables, dates, cfg.backtest.model_copy(update={"windows": windows}), cfg.labels, cfg.features,
                cfg.train, progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        except ValueError as err:  # e.g. no window before the latest one on a short history
            print(f"{windows}: cannot be fitted: {err}", file=sys.stderr)
            pooled[windows] = {}
            continue
        print(f"{windows}: {time.monotonic() - started:.0f} s", file=sys.stderr)
        for r in per_date.to_dict(orient="records"):
            rows.append(r | {"windows": windows})
    table = pd.DataFrame(rows)
    model = table[table["model"] == "model"]
    base = table[(table["model"] != "model") & (table["windows"] == "all_complete")]
    print(f"\nHorizon {cfg.labels.horizon_days} days; source {cfg.source.location}\n")
    print("| as of | customers | churn rate | model refit | model before refit | best baseline |")
    print("|---|---|---|---|---|---|")
    for day, part in model.groupby("as_of"):
        got = part.set_index("windows")
        best = base[base["as_of"] == day].sort_values("roc_auc", ascending=False).iloc[0]
        before = _fig(got.loc["before_latest"]) if "before_latest" in got.index else "- (no earlier window)"
        print(f"| {day} | {int(got.loc['all_complete', 'customers']):,} | {got.loc['all_complete', 'churn_rate']:.3f} | "
              f"{_fig(got.loc['all_complete'])} | {before} | {best['model']} {_fig(best)} |")
    p = {w: {k.removeprefix("model_"): v for k, v in m.items() if k.startswith("model_")} for w, m in pooled.items()}
    bases = {b: pooled["all_complete"][f"{b}_roc_auc"] for b in ("recency_rule", "rfm_logistic", "bgnbd")
             if f"{b}_roc_auc" in pooled["all_complete"]}
    best = max(bases, key=bases.get)
    best_fig = {k: pooled["all_complete"][f"{best}_{k}"] for k in ("roc_auc", "pr_auc", "lift_top10")}
    before = _fig(p["before_latest"]) if p["before_latest"] else "-"
    print(f"| pooled | | | {_fig(p['all_complete'])} | {before} | {best} {_fig(best_fig)} |")
    print("\n(ROC-AUC / PR-AUC / top-decile lift)")
    if args.json:
        args.json.write_text(json.dumps({"per_date": rows, "pooled": pooled}, indent=1, default=str))


def _fig(m) -> str:
    return f"{m['roc_auc']:.4f} / {m['pr_auc']:.4f} / {m['lift_top10']:.2f}"


if __name__ == "__main__":
    main()
