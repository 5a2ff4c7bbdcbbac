"""A trial for issue 18 (loss causes), kept with its result: a cause's evidence as its change against the customer's
own past instead of its level against the population.

    .venv/bin/python benchmarks/causes_benchmark.py --keep /tmp/causes    # the worlds, trained (5-10 min)
    .venv/bin/python benchmarks/causes_own_past.py --kept /tmp/causes [--lag 180]

For each world kept by causes_benchmark.py: each holdout customer's evidence per cause (`cause_evidence`: the
judged model's contributions summed over the cause's features) at the holdout cutoff, the same at the latest
training cutoff at least `--lag` days earlier, and the cause named by the highest z-score of the change (and of
level + change), beside the highest z-score of the level alone; accuracy on all churners with a known cause.
Result on 375fbd3 (docs/loss_causes.md): the change is worse than the level on both worlds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cause_world import generate_world  # noqa: E402

from churn.config import load_config  # noqa: E402
from churn.data import generate_history  # noqa: E402
from churn.ops import Workspace, io, tracking  # noqa: E402
from churn.score import cause_agreement, cause_evidence, cause_population  # noqa: E402
from churn.vocab import CAUSES  # noqa: E402


def _z(evidence: pd.DataFrame) -> pd.DataFrame:
    """Each cause's evidence against the same evidence across these customers, as the evidence method compares it."""
    population = cause_population(evidence)
    return (evidence - pd.Series(population["mean"])) / pd.Series(population["spread"])


def _accuracy(z: pd.DataFrame, ids: pd.Series, truth: pd.DataFrame) -> float:
    named = pd.Series(np.array(CAUSES, dtype=object)[z[list(CAUSES)].to_numpy().argmax(axis=1)], index=ids.index)
    return cause_agreement(ids, named, truth)["accuracy"]


def trial(world: str, root: Path, lag: int) -> dict:
    cfg = load_config("configs/params.yaml", **{"tracking.uri": f"sqlite:///{root / 'mlflow.db'}"})
    truth = generate_history(cfg.demo).truth if world == "demo" else generate_world(n_customers=5000).truth
    ws = Workspace(root=root / "work", models=root / "models", metrics=root / "metrics")
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    judged = model.judged or model
    examples = io.read_parquet(ws.examples)
    holdout = examples[examples["role"] == "test"].reset_index(drop=True)
    cutoff = holdout["cutoff"].iloc[0]
    earlier = [c for c in examples["cutoff"].unique() if c <= cutoff - pd.Timedelta(days=lag)]
    past_cutoff = max(earlier)
    past = examples[examples["cutoff"] == past_cutoff].drop_duplicates("customer_id").set_index("customer_id")
    now = cause_evidence(judged.contributions(holdout), cfg.explain, holdout)
    has_past = holdout["customer_id"].isin(past.index).to_numpy()
    rows = past.loc[holdout.loc[has_past, "customer_id"]].reset_index()
    before = pd.DataFrame(0.0, index=now.index, columns=now.columns)
    before.loc[has_past] = cause_evidence(judged.contributions(rows), cfg.explain, rows).to_numpy()
    churned = holdout["churned"].to_numpy() == 1
    ids = holdout.loc[churned, "customer_id"]
    level, change = _z(now).loc[churned], _z(now - before).loc[churned]
    return {"world": world, "holdout_cutoff": str(pd.Timestamp(cutoff).date()),
            "past_cutoff": str(pd.Timestamp(past_cutoff).date()), "with_a_past": round(float(has_past.mean()), 3),
            "level": round(_accuracy(level, ids, truth), 3), "change": round(_accuracy(change, ids, truth), 3),
            "level_plus_change": round(_accuracy(level + change, ids, truth), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kept", type=Path, required=True, help="the folder causes_benchmark.py --keep wrote")
    ap.add_argument("--lag", type=int, default=180, help="days between the holdout cutoff and the past one")
    args = ap.parse_args()
    print("| world | holdout cutoff | past cutoff | with a past | level | change | level + change |")
    print("|---|---|---|---|---|---|---|")
    for world in ("demo", "second"):
        r = trial(world, args.kept / world, args.lag)
        print(f"| {r['world']} | {r['holdout_cutoff']} | {r['past_cutoff']} | {r['with_a_past']:.0%} | {r['level']:.3f} "
              f"| {r['change']:.3f} | {r['level_plus_change']:.3f} |")


if __name__ == "__main__":
    main()
