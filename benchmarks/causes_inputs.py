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

Round 2 (`--round 2`): other labels for the cause model (recorded reasons and stated causes, a cause model learnt
from the complaints of lost customers alone for a company without recorded reasons); round 3: the cause model's
own settings; round 4: self-training (the weighed method's sure causes of the other fit churners as labels too);
round 5: the need profile as inputs; round 6: the weights of the two cause models against the evidence (the
exponents of recorded-reason model^a x complaints' model^b x softmax(z)). Results in docs/loss_causes.md.

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


def _kept(world: str, root: Path, customers: int):
    """What causes_benchmark.py --keep left for one world: the config, the true causes, the judged risk model (with
    its cause model), the training examples and the validated loss reasons."""
    cfg = load_config("configs/params.yaml", **{"tracking.uri": f"sqlite:///{root / 'mlflow.db'}",
                                                "demo.n_customers": customers})
    truth = generate_history(cfg.demo).truth if world == "demo" else generate_world(n_customers=customers).truth
    ws = Workspace(root=root / "work", models=root / "models", metrics=root / "metrics")
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    return (cfg, truth, model.judged or model, io.read_parquet(ws.examples),
            io.read_parquet(ws.validated / "loss_reasons.parquet"))


def trial(world: str, root: Path, customers: int = 5000) -> dict:
    cfg, truth, judged, examples, reasons = _kept(world, root, customers)
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


def trial_two(world: str, root: Path, grid: bool | str = False, customers: int = 5000) -> dict:
    """Round two, all named as the weighed method names them (the cause model's probabilities times softmax(z),
    the stated cause first, argmax): other inputs and other labels for the cause model."""
    from churn.score import feature_groups

    cfg, truth, judged, examples, reasons = _kept(world, root, customers)
    fit = examples[(examples["role"] == "train").to_numpy()].reset_index(drop=True)
    holdout = examples[(examples["role"] == "test").to_numpy()].reset_index(drop=True)
    kc, window = cfg.explain.known_causes, cfg.features.trend_window
    recorded = known_causes(fit, reasons, pd.to_datetime(holdout["cutoff"]).min(), cfg.labels.horizon_days,
                            kc.recorded_within_days)
    stated_fit = stated_causes(fit, cfg.explain, window).where(fit["churned"].to_numpy() == 1)
    features = feature_columns(examples)
    categories = category_levels(fit, features)
    groups = feature_groups(features, cfg.explain)
    no_symptoms = [f for f in features if groups.get(f) != "symptom"]
    no_complaints = [f for f in features if not f.startswith("complaints_")]
    names = np.array(CAUSES, dtype=object)
    churned = holdout["churned"].to_numpy() == 1
    ids = holdout.loc[churned, "customer_id"]
    z = cause_evidence(judged.contributions(holdout), cfg.explain, holdout)
    z = ((z - pd.Series(cause_population(z)["mean"])) / pd.Series(cause_population(z)["spread"])).to_numpy(dtype=float)
    soft = np.exp(z - z.max(axis=1, keepdims=True))
    soft /= soft.sum(axis=1, keepdims=True)
    stated = stated_causes(holdout, cfg.explain, window).to_numpy()

    def accuracy(p: np.ndarray | None, unclear: bool = False) -> float:
        weighed = soft if p is None else p * soft
        top = names[weighed.argmax(axis=1)]
        if unclear:  # the cause model's rule: the most probable when at least 0.4 and 0.1 ahead
            ordered = np.sort(weighed / weighed.sum(axis=1, keepdims=True), axis=1)
            top = np.where((ordered[:, -1] >= kc.min_probability) & (ordered[:, -1] - ordered[:, -2] >= kc.min_margin),
                           top, "other")
        top = np.where(pd.notna(stated), stated, top)
        return cause_agreement(ids, pd.Series(top[churned], index=ids.index), truth)["accuracy"]

    def fitted(labels: pd.Series, columns: list[str], classes=CAUSES, rounds: int | None = None,
               leaves: int | None = None, min_leaf: int | None = None) -> np.ndarray:
        known = labels.notna().to_numpy()
        y = labels[known].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=int)
        cats = {c: v for c, v in categories.items() if c in columns}
        booster = lgb.train(
            {"objective": "multiclass", "num_class": len(classes), "learning_rate": kc.learning_rate,
             "num_leaves": leaves or kc.num_leaves, "min_data_in_leaf": min_leaf or kc.min_child_samples,
             "seed": cfg.train.seed, "deterministic": True, "force_row_wise": True, "num_threads": 2,
             "verbosity": -1},
            lgb.Dataset(feature_matrix(fit[known], columns, cats), y), num_boost_round=rounds or kc.n_estimators)
        p = np.asarray(booster.predict(feature_matrix(holdout, columns, cats))).reshape(len(holdout), len(classes))
        return pd.DataFrame(p, columns=list(classes)).reindex(columns=list(CAUSES), fill_value=0.25).to_numpy()

    out = {"world": world, "recorded": int(recorded.notna().sum()), "stated": int(stated_fit.notna().sum())}
    if grid == "needs":  # the need profile (a standing need, issue 23) as inputs of the cause model
        from churn.score import need_profiles

        def with_need(frame: pd.DataFrame) -> pd.DataFrame:
            need = need_profiles(frame, cfg.score.needs)["need_profile"]
            return frame.assign(**{f"need_is_{n}": (need == n).astype(float).to_numpy()
                                   for n in ("price", "service", "quality")})

        out["recorded only"] = accuracy(fitted(recorded, features))
        fit, holdout = with_need(fit), with_need(holdout)  # (`fitted` reads these)
        out["+ need profile"] = accuracy(fitted(recorded, features + [f"need_is_{n}" for n in
                                                                      ("price", "service", "quality")]))
        return out
    if grid == "self":  # self-training: the weighed method's sure causes of the other fit churners as labels too
        fit_z = cause_evidence(judged.contributions(fit), cfg.explain, fit)
        fit_z = _z_by_cutoff(fit_z, fit["cutoff"]).to_numpy(dtype=float)
        fit_soft = np.exp(fit_z - fit_z.max(axis=1, keepdims=True))
        cats = dict(categories)
        known = recorded.notna().to_numpy()
        booster = lgb.train(
            {"objective": "multiclass", "num_class": len(CAUSES), "learning_rate": kc.learning_rate,
             "num_leaves": kc.num_leaves, "min_data_in_leaf": kc.min_child_samples, "seed": cfg.train.seed,
             "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbosity": -1},
            lgb.Dataset(feature_matrix(fit[known], features, cats),
                        recorded[known].map({c: i for i, c in enumerate(CAUSES)}).to_numpy(dtype=int)),
            num_boost_round=kc.n_estimators)
        p = np.asarray(booster.predict(feature_matrix(fit, features, cats))) * fit_soft
        p /= p.sum(axis=1, keepdims=True)
        said = stated_causes(fit, cfg.explain, window).to_numpy()
        guess = np.where(pd.notna(said), said, names[p.argmax(axis=1)])
        sure = np.where(pd.notna(said), 1.0, p.max(axis=1))
        unlabelled = (fit["churned"].to_numpy() == 1) & ~known
        out["recorded only"] = accuracy(fitted(recorded, features))
        for at_least in (0.5, 0.7, 0.9):
            pseudo = recorded.copy()
            take = unlabelled & (sure >= at_least)
            pseudo[take] = guess[take]
            out[f"taken at {at_least}"] = int(take.sum())
            out[f"+ sure >= {at_least}"] = accuracy(fitted(pseudo, features))
        return out
    if grid == "weights":  # how much each factor weighs: recorded-reason model^a x complaints' model^b x softmax(z)
        learnt = fitted(recorded, features)
        said = fitted(stated_fit.astype("string"), no_complaints, [c for c in CAUSES if c != "engagement"])
        said[:, CAUSES.index("engagement")] = 0.0
        neutral = said * 0.75 + np.where(np.array(CAUSES) == "engagement", 0.25, 0.0)
        for a in (0.5, 1.0, 1.5):
            for b in (0.5, 1.0, 1.5):
                out[f"a {a}, b {b}"] = accuracy(learnt ** a * neutral ** b, unclear=True)
        for b in (2.0, 3.0):  # (past the grid's edge, the recorded reasons at 1)
            out[f"a 1.0, b {b}"] = accuracy(learnt * neutral ** b, unclear=True)
        return out
    if grid:  # the cause model's own settings (learning rate 0.03), weighed with the evidence
        for rounds, leaves, min_leaf in ((100, 7, 20), (300, 7, 20), (600, 7, 20), (300, 3, 20), (300, 15, 20),
                                         (300, 7, 40), (300, 7, 10)):
            out[f"{rounds} trees, {leaves} leaves, {min_leaf} a leaf"] = accuracy(
                fitted(recorded, features, rounds=rounds, leaves=leaves, min_leaf=min_leaf))
        return out
    out["evidence (z, stated first)"] = accuracy(None)
    out["recorded, all features"] = accuracy(fitted(recorded, features))
    out["recorded, no symptoms"] = accuracy(fitted(recorded, no_symptoms))
    out["recorded + stated"] = accuracy(fitted(recorded.fillna(stated_fit.astype("string")), features))
    named = [c for c in CAUSES if c != "engagement"]
    said = fitted(stated_fit.astype("string"), no_complaints, named)
    said[:, CAUSES.index("engagement")] = 0.0
    for share in (0.2, 0.25, 1 / 3):  # engagement (no complaint names it): its share before the evidence
        out[f"stated model, engagement {share:.2f} (no reasons)"] = accuracy(said * (1 - share) + np.where(
            np.array(CAUSES) == "engagement", share, 0.0))
    neutral = said * 0.75 + np.where(np.array(CAUSES) == "engagement", 0.25, 0.0)
    out["stated model 0.25, unclear rule"] = accuracy(neutral, unclear=True)
    out["recorded x stated model, unclear rule"] = accuracy(fitted(recorded, features) * neutral, unclear=True)
    out["recorded x stated model (0.25)"] = accuracy(fitted(recorded, features) * (said * 0.75 + np.where(
        np.array(CAUSES) == "engagement", 0.25, 0.0)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kept", type=Path, required=True, help="the folder causes_benchmark.py --keep wrote")
    ap.add_argument("--world", nargs="+", default=["demo", "second"])
    ap.add_argument("--customers", type=int, default=5000, help="as causes_benchmark.py was run with")
    ap.add_argument("--round", type=int, choices=(1, 2, 3, 4, 5, 6), default=1,
                    help="1: the inputs; 2: other labels; 3: the cause model's settings; 4: self-training; 5: needs; "
                         "6: the weights of the recorded-reason and complaints' models against the evidence")
    args = ap.parse_args()
    rows = [trial(world, args.kept / world, args.customers) if args.round == 1 else
            trial_two(world, args.kept / world, {2: False, 3: True, 4: "self", 5: "needs", 6: "weights"}[args.round],
                      args.customers)
            for world in args.world]
    counts = [k for k in rows[0] if isinstance(rows[0][k], int)]
    keys = [k for k in rows[0] if k != "world" and k not in counts]
    print("| world | " + " | ".join(counts + keys) + " |")
    print("|---|" + "---|" * len(counts + keys))
    for r in rows:
        print(f"| {r['world']} | " + " | ".join(str(r[k]) for k in counts) + " | "
              + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
