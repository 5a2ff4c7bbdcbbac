"""How often the loss cause is right, on the demo and on a second world built independently of it.

    .venv/bin/python benchmarks/causes_benchmark.py [--world demo second] [--customers 5000] [--keep DIR]

For each world: generate the history, run the pipeline's own stages (pull, validate, training features,
train) with configs/params.yaml, then name the cause of every holdout churner whose true cause is known
(price, service, quality, engagement) with the method the training run chose (`churn.score.cause_check`, as
`make demo` does: the cause model learnt from the recorded loss reasons when the holdout's recorded reasons
favour it, else the evidence method), the other method beside it, and the symptom rule, and print accuracy on all of them and on those the model flags (risk >= 0.5), each
cause's recall and precision, the confusion matrix, the share left "unclear", and what explaining costs
per customer. Run it under ../shared/tools/capped (about 3 GB, 5-10 minutes for both worlds).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cause_world import generate_world  # noqa: E402

from churn import runners  # noqa: E402
from churn.config import load_config  # noqa: E402
from churn.data import generate_history  # noqa: E402
from churn.model import feature_columns, learn_causes  # noqa: E402
from churn.ops import Workspace, io, tracking  # noqa: E402
from churn.score import cause_check  # noqa: E402

WORLDS = {"demo": "the demo (churn demo)", "second": "the second world (benchmarks/cause_world.py)"}


def run_world(world: str, customers: int, root: Path, from_complaints: bool | None = None) -> dict:
    """Generate, train and check causes on one world; returns cause_check's figures and timings."""
    root.mkdir(parents=True, exist_ok=True)
    db = root / "history.db"
    cfg = load_config("configs/params.yaml", **{"demo.n_customers": customers, "source.location": f"sqlite:///{db}",
                                                "tracking.uri": f"sqlite:///{root / 'mlflow.db'}",
                                                **({} if from_complaints is None else
                                                   {"explain.from_complaints.enabled": from_complaints})})
    if world == "demo":
        history = generate_history(cfg.demo)
        tables, truth, as_of = history.tables, history.truth, cfg.demo.end
    else:
        w = generate_world(n_customers=customers)
        tables, truth, as_of = w.tables, w.truth, "2024-11-01"
    io.write_sqlite(tables, db)
    ws = Workspace(root=root / "work", models=root / "models", metrics=root / "metrics")
    as_of = runners.resolve_as_of(cfg, str(as_of))
    t = time.perf_counter()
    runners.run_pull(cfg, ws)
    runners.run_validate(cfg, ws)
    runners.run_training_features(cfg, ws, as_of)
    runners.run_train(cfg, ws, as_of)
    trained = time.perf_counter() - t
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    examples = io.read_parquet(ws.examples)
    holdout = examples[examples["role"] == "test"].reset_index(drop=True)
    judged = model.judged or model
    result = cause_check(judged, holdout, truth, cfg.explain, cfg.features.trend_window)
    train_report = io.read_json(ws.train_metrics)
    result["verdict"] = train_report["causes"]["holdout"]  # judged on the recorded reasons, as `churn train` does
    if result["method"] != "known_causes" and train_report["causes"]["judged"]["used"]:
        # the holdout chose the evidence method; the cause model's figures on the truth, for the record
        reasons = io.read_parquet(ws.validated / "loss_reasons.parquet")
        _, learnt, _ = learn_causes(examples, feature_columns(examples), reasons, as_of, cfg.labels.horizon_days,
                                    cfg.explain.known_causes, cfg.train.seed)
        judged.cause_model = learnt
        result["not_chosen"] = cause_check(judged, holdout, truth, cfg.explain, cfg.features.trend_window)
    result["supervised_ceiling"] = supervised_ceiling(examples, truth)
    result["world"] = world
    result["from_complaints"] = judged.complaint_model is not None  # (on, and not set aside by the holdout)
    result["pipeline_seconds"] = round(trained, 1)
    return result


def supervised_ceiling(examples, truth) -> float:
    """What a cause model could reach where causes are known: LightGBM trained on the true causes of the
    churners of the training cutoffs, judged on the holdout's. A yardstick for the world's difficulty (how much
    the history says about causes), not something the product can do without known causes."""
    from lightgbm import LGBMClassifier

    from churn.model import feature_columns
    from churn.vocab import CAUSES

    churners = examples[examples["churned"] == 1]
    cause = churners["customer_id"].map(truth.set_index("customer_id")["cause"]).astype("string")
    churners, cause = churners[cause.isin(CAUSES)], cause[cause.isin(CAUSES)]
    x = churners[feature_columns(churners)].select_dtypes("number").astype("float64")
    test = (churners["role"] == "test").to_numpy()
    fit = LGBMClassifier(n_estimators=300, learning_rate=0.03, num_leaves=7, random_state=0, verbose=-1)
    fit.fit(x[~test], cause[~test].astype(str))
    return float((fit.predict(x[test]) == cause[test].astype(str).to_numpy()).mean())


def markdown(results: list[dict]) -> str:
    lines = ["| world | method | right, all caused churners | right, flagged (risk >= 0.5) | unclear | "
             "recall price/service/quality/engagement | precision p/s/q/e |", "|---|---|---|---|---|---|---|"]
    for r in results:
        learnt = "cause model x evidence" if r["verdict"].get("with_evidence") else "cause model"
        evidence = "evidence"
        if r.get("from_complaints"):  # (explain.from_complaints: the complaints' cause model weighs both)
            learnt, evidence = f"{learnt} x complaints", "evidence x complaints"
        rows = [(f"churn: {learnt} (chosen)" if r["method"] == "known_causes" else f"churn: {evidence} (chosen)", r)]
        if "evidence" in r:
            rows.append((f"churn: {evidence}", r["evidence"]))
        if "not_chosen" in r:
            rows.append((f"churn: {learnt} (not chosen)", r["not_chosen"]))
        for name, m in [*rows, ("symptom rule", r["symptom_rule"])]:
            rec = "/".join(f"{m['per_cause'].get(c, float('nan')):.2f}" for c in ("price", "service", "quality",
                                                                                  "engagement"))
            pre = "/".join(f"{m['precision_per_cause'].get(c, float('nan')):.2f}"
                           for c in ("price", "service", "quality", "engagement"))
            lines.append(f"| {r['world']} ({m['judged']}) | {name} | {m['accuracy']:.3f} | "
                         f"{m['flagged']['accuracy']:.3f} ({m['flagged']['judged']}) | {m.get('unclear', 0):.3f} | "
                         f"{rec} | {pre} |")
    lines.append("")
    for r in results:
        lines.append(f"{r['world']}: explaining {r['cost']['customers']} customers took "
                     f"{r['cost']['seconds']:.2f} s ({r['cost']['ms_per_customer']:.3f} ms a customer: contributions "
                     f"{r['cost']['contributions_seconds']:.2f} s, causes {r['cost']['causes_seconds']:.2f} s); "
                     f"supervised ceiling {r['supervised_ceiling']:.3f}; judged on recorded reasons: "
                     f"{json.dumps(r['verdict'])}; cause model: "
                     f"{json.dumps(r['cause_model'])}; confusion (true -> named) {json.dumps(r['confusion'])}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", nargs="+", choices=sorted(WORLDS), default=["demo", "second"])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--keep", type=Path, help="keep the generated histories and models in this folder")
    complaints = ap.add_mutually_exclusive_group()  # (configs/params.yaml decides when neither is given: on)
    complaints.add_argument("--from-complaints", action="store_const", const=True, dest="from_complaints",
                            help="with explain.from_complaints.enabled (a cause model learnt from lost customers' "
                                 "complaints; the default since 2026-12-07)")
    complaints.add_argument("--without-complaints", action="store_const", const=False, dest="from_complaints",
                            help="with explain.from_complaints.enabled false (the figures before 2026-12-07)")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="causes_benchmark_"))
    results = []
    for world in args.world:
        print(f"{WORLDS[world]}: generating {args.customers} customers, training ...", flush=True)
        results.append(run_world(world, args.customers, base / world, args.from_complaints))
    print(markdown(results))


if __name__ == "__main__":
    main()
