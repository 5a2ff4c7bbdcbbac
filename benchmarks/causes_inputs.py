"""A trial for issue 18 (loss causes): what the cause model learnt from recorded reasons gains from other inputs.

    .venv/bin/python benchmarks/causes_benchmark.py --keep /tmp/causes    # the worlds, trained (5-10 min)
    .venv/bin/python benchmarks/causes_inputs.py --kept /tmp/causes

For each world kept by causes_benchmark.py, the judged cause model is fitted again as `learn_causes` fits it (the
fit cutoffs' churned examples labelled with the reasons known at the holdout's cutoff) with other inputs, and
each variant names the cause of every holdout churner with a known true cause (argmax, no "unclear" rule):

- features: the features alone (today's cause model);
- + evidence z: the features and each cause's evidence z-score (the evidence method's, against the customers of
  the same cutoff, from the judged risk model's contributions);
- evidence z: the four z-scores and the complaints per cause of the trend window, nothing else;
- contributions: the risk model's per-feature contributions instead of the features;
- product: today's cause model's probabilities times a softmax of the evidence z-scores (a naive-Bayes-like
  combination of the two methods).

The method is chosen on the demo only; the second world is reported, never tuned on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cause_world import generate_world  # noqa: E402

from churn.config import load_config  # noqa: E402
from churn.data import generate_history  # noqa: E402
from churn.model import feature_columns, known_causes  # noqa: E402
from churn.model._matrix import category_levels, feature_matrix  # noqa: E402
from churn.ops import Workspace, io, tracking  # noqa: E402
from churn.score import cause_agreement, cause_evidence, cause_population, stated_causes  # noqa: E402
from churn.vocab import CAUSES  # noqa: E402


def _z_by_cutoff(evidence: pd.DataFrame, cutoffs: pd.Series) -> pd.DataFrame:
    """Each cause's evidence against the same evidence across the customers of the same cutoff."""
    out = pd.DataFrame(index=evidence.index, columns=evidence.columns, dtype="float64")
    for _, rows in evidence.groupby(cutoffs.to_numpy()).groups.items():
        part = evidence.loc[rows]
        population = cause_population(part)
        out.loc[rows] = ((part - pd.Series(population["mean"])) / pd.Series(population["spread"])).to_numpy()
    return out.add_prefix("z_")


def _fit_predict(x_fit: pd.DataFrame, y: np.ndarray, x_test: pd.DataFrame, cfg, seed: int) -> np.ndarray:
    booster = lgb.train(
        {"objective": "multiclass", "num_class": len(CAUSES), "learning_rate": cfg.learning_rate,
         "num_leaves": cfg.num_leaves, "min_data_in_leaf": cfg.min_child_samples, "seed": seed,
         "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbosity": -1},
        lgb.Dataset(x_fit, y), num_boost_round=cfg.n_estimators)
    return np.asarray(booster.predict(x_test)).reshape(len(x_test), len(CAUSES))


def trial(world: str, root: Path) -> dict:
    cfg = load_config("configs/params.yaml", **{"tracking.uri": f"sqlite:///{root / 'mlflow.db'}"})
    truth = generate_history(cfg.demo).truth if world == "demo" else generate_world(n_customers=5000).truth
    ws = Workspace(root=root / "work", models=root / "models", metrics=root / "metrics")
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    judged = model.judged or model
    examples = io.read_parquet(ws.examples)
    reasons = io.read_parquet(ws.validated / "loss_reasons.parquet")
    test = (examples["role"] == "test").to_numpy()
    fit = examples[(examples["role"] == "train").to_numpy()].reset_index(drop=True)
    holdout = examples[test].reset_index(drop=True)
    known_at = pd.to_datetime(holdout["cutoff"]).min()
    kc = cfg.explain.known_causes
    labels = known_causes(fit, reasons, known_at, cfg.labels.horizon_days, kc.recorded_within_days)
    known = labels.notna().to_numpy()
    y = labels[known].map({c: i for i, c in enumerate(CAUSES)}).to_numpy(dtype=int)
    features = feature_columns(examples)
    categories = category_levels(fit, features)

    def inputs(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        contributions = judged.contributions(frame)
        z = _z_by_cutoff(cause_evidence(contributions, cfg.explain, frame), frame["cutoff"]).astype("float64")
        stated = pd.DataFrame({f"said_{c}": (stated_causes(frame, cfg.explain, cfg.features.trend_window) == c)
                               .astype(float) for c in CAUSES if c != "engagement"}, index=frame.index)
        raw = feature_matrix(frame, features, categories, "cause model")
        return {"features": raw, "+ evidence z": pd.concat([raw, z], axis=1),
                "evidence z": pd.concat([z, stated], axis=1),
                "contributions": contributions.drop(columns=[c for c in contributions.columns
                                                             if c not in features]).add_prefix("c_"),
                "_z": z}

    fit_in, test_in = inputs(fit[known].reset_index(drop=True)), inputs(holdout)
    churned = holdout["churned"].to_numpy() == 1
    ids = holdout.loc[churned, "customer_id"]
    names = np.array(CAUSES, dtype=object)
    out = {"world": world, "labelled": int(known.sum())}
    probabilities = {}
    for variant in ("features", "+ evidence z", "evidence z", "contributions"):
        p = _fit_predict(fit_in[variant], y, test_in[variant], kc, cfg.train.seed)
        probabilities[variant] = p
        named = pd.Series(names[p.argmax(axis=1)][churned], index=ids.index)
        out[variant] = cause_agreement(ids, named, truth)["accuracy"]
    z = test_in["_z"].to_numpy(dtype=float)
    for temperature in (0.5, 1.0, 2.0):
        soft = np.exp(z / temperature - (z / temperature).max(axis=1, keepdims=True))
        p = probabilities["features"] * soft / soft.sum(axis=1, keepdims=True)
        named = pd.Series(names[p.argmax(axis=1)][churned], index=ids.index)
        out[f"product T={temperature}"] = cause_agreement(ids, named, truth)["accuracy"]
    soft = np.exp(z - z.max(axis=1, keepdims=True))
    p = probabilities["features"] * soft / soft.sum(axis=1, keepdims=True)
    p = p / p.sum(axis=1, keepdims=True)
    stated = stated_causes(holdout, cfg.explain, cfg.features.trend_window).to_numpy()
    top = np.where(pd.notna(stated), stated, names[p.argmax(axis=1)])
    out["product + stated"] = cause_agreement(ids, pd.Series(top[churned], index=ids.index), truth)["accuracy"]
    ordered = np.sort(p, axis=1)
    clear = (ordered[:, -1] >= kc.min_probability) & (ordered[:, -1] - ordered[:, -2] >= kc.min_margin)
    unclear = np.where(clear, names[p.argmax(axis=1)], "other")
    out["product, unclear rule"] = cause_agreement(ids, pd.Series(unclear[churned], index=ids.index),
                                                   truth)["accuracy"]
    out["unclear share"] = float((unclear[churned] == "other").mean())
    named = pd.Series(names[z.argmax(axis=1)][churned], index=ids.index)
    out["evidence argmax"] = cause_agreement(ids, named, truth)["accuracy"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kept", type=Path, required=True, help="the folder causes_benchmark.py --keep wrote")
    ap.add_argument("--world", nargs="+", default=["demo", "second"])
    args = ap.parse_args()
    rows = [trial(world, args.kept / world) for world in args.world]
    keys = [k for k in rows[0] if k not in ("world", "labelled")]
    print("| world | labelled examples | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for r in rows:
        print(f"| {r['world']} | {r['labelled']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
