"""Explaining only where it matters, measured on a scored workspace (issue 24).

Run by hand (not a test) from a folder where `churn score` has run, e.g. `benchmarks/scale.py`'s `--out`:

    cd /tmp/large100k && ../shared/tools/capped -m 8 -t 1800 /work/main/.venv/bin/python \\
        /work/main/benchmarks/explain_where_needed.py --config history.yaml --workdir work --as-of 2026-10-01

The scoring model is used without its cause model (a history with no recorded loss reasons), so every cause comes
from the evidence method and TreeSHAP. It scores the active customers three ways:

1. everyone explained against everyone (what `explain.all_up_to` above the list's size gives);
2. past `explain.all_up_to`, those at risk, lapsed and a seeded sample explained against the sample (whatever
   share of the list they are, unless `--part-at-most` says otherwise: churn itself explains everyone past half);
3. then `churn stage decide`'s loop on (2) in a copy of the workspace: the customers its plan needs explained;

and compares: the time of each, how many customers each explained, whether the plan of (3) equals the plan of the
same list with every customer explained against the same sample (it should, customer by customer), and how many
explained customers the sample names differently from everyone (the price of a sampled population).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from churn import runners
from churn.config import load_config
from churn.data import point_in_time
from churn.model import save_scoring_model
from churn.ops import Workspace, io, tracking
from churn.score import _causes, name_causes, score_customers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--workdir", default="data/work")
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--model", default="models:/churn@champion")
    parser.add_argument("--part-at-most", type=float, default=1.0,
                        help="explain a part of at most this share of the list (churn's own rule: 0.5); the default "
                             "explains the part whatever its size, to measure it")
    args = parser.parse_args()
    _causes.PART_AT_MOST = args.part_at_most
    cfg = load_config(args.config)
    ws = Workspace(Path(args.workdir), Path("models"), Path("metrics"))
    as_of = pd.Timestamp(args.as_of)
    model, label = tracking.load_model(args.model, cfg.tracking)
    model.cause_model = None  # the evidence method: a history without recorded loss reasons
    features = io.read_parquet(ws.scoring_features)
    customers = point_in_time(io.read_tables(ws.validated, ("customers",)), as_of)[0].get("customers")
    value = io.read_parquet(ws.customer_value)

    def score(**explain) -> tuple[pd.DataFrame, float]:
        t0 = time.perf_counter()
        out = score_customers(features, customers, model, cfg=cfg.score, explain=cfg.explain.model_copy(update=explain),
                              trend_window=cfg.features.trend_window, model_version=label, as_of=as_of, value=value,
                              value_cfg=cfg.value)
        return out, time.perf_counter() - t0

    everyone, everyone_s = score(all_up_to=len(features))
    part, part_s = score()
    info = part.attrs["causes"]
    print(f"scored {len(part):,}: everyone explained {everyone_s:.1f} s; at risk, lapsed and a sample of "
          f"{info['population']['customers']:,}: {info['explained']:,} explained in {part_s:.1f} s", flush=True)
    named = part["primary_cause"].notna().to_numpy()
    same = everyone.set_index("customer_id").loc[part.loc[named, "customer_id"], "primary_cause"].to_numpy()
    differ = int((part.loc[named, "primary_cause"].to_numpy() != same).sum())
    print(f"explained customers the sample names differently from everyone: {differ:,} of {named.sum():,}", flush=True)

    with tempfile.TemporaryDirectory(dir=Path(args.workdir).parent) as tmp:
        copy = Workspace(Path(tmp) / "work", Path("models"), Path("metrics"))
        shutil.copytree(ws.root, copy.root)
        summary = io.read_json(copy.score_summary) | {"causes": info}
        io.write_json(summary, copy.score_summary)
        io.write_parquet(part, copy.scored_list)
        shutil.rmtree(copy.score_model, ignore_errors=True)
        save_scoring_model(model, copy.score_model)
        t0 = time.perf_counter()
        decided = runners.run_decide(cfg, copy, as_of, Path(tmp) / "partial")
        decide_s = time.perf_counter() - t0
        print(f"decide with causes on demand: {decide_s:.1f} s, {decided['causes_explained_for_the_plan']}", flush=True)
        rest = part.loc[~named, "customer_id"].tolist()
        t0 = time.perf_counter()
        full = name_causes(part, features, model, cfg.explain, cfg.features.trend_window, info["population"], rest)
        print(f"explaining the other {len(rest):,} against the sample: {time.perf_counter() - t0:.1f} s", flush=True)
        io.write_parquet(full, copy.scored_list)
        t0 = time.perf_counter()
        runners.run_decide(cfg, copy, as_of, Path(tmp) / "full")
        print(f"decide with every cause known: {time.perf_counter() - t0:.1f} s", flush=True)
        a = io.read_parquet(Path(tmp) / "partial" / "retention_list.parquet").set_index("customer_id")
        b = io.read_parquet(Path(tmp) / "full" / "retention_list.parquet").set_index("customer_id").loc[a.index]
        listed = a["primary_cause"].notna()
        print(f"plan identical: decision {a['decision'].equals(b['decision'])}, contact {a['contact'].equals(b['contact'])}, "
              f"value {a['expected_retained_value'].equals(b['expected_retained_value'])}; "
              f"causes of the {listed.sum():,} named identical: "
              f"{a.loc[listed, 'primary_cause'].equals(b.loc[listed, 'primary_cause'])}; "
              f"chosen or held out {int(a['decision'].isin(['chosen', 'holdout']).sum()):,}", flush=True)


if __name__ == "__main__":
    main()
