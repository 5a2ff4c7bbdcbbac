"""Train the LightGBM churn model, calibrate it, and evaluate it against two baselines.

Examples carry a `role`: `train` cutoffs fit the models, the `calibration` cutoff fits the
probability calibration, the `test` cutoff (the latest complete one) is the holdout on which
the model and the baselines are compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from churn.config import TrainConfig
from churn.features import CATEGORICAL

NON_FEATURES = ("customer_id", "cutoff", "role", "churned")
NEVER = 9999.0  # days: "never happened" for baselines that cannot take missing values


@dataclass
class ChurnModel:
    """A trained booster plus what scoring needs: feature order, category levels, calibration."""

    booster: lgb.Booster
    features: list[str]
    categories: dict[str, list[str]]
    calibration: dict

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [f for f in self.features if f not in frame]
        if missing:
            raise ValueError(f"the data lacks features the model was trained on: {missing[:10]}")
        X = frame[self.features].copy()
        for col, levels in self.categories.items():
            X[col] = pd.Categorical(X[col].astype("object"), categories=levels)
        return X

    def raw_score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self.matrix(frame), raw_score=True)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return calibrate(self.calibration, self.raw_score(frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions (TreeSHAP), one column per feature."""
        contrib = self.booster.predict(self.matrix(frame), pred_contrib=True)
        return pd.DataFrame(contrib[:, :-1], columns=self.features, index=frame.index)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "booster.txt"))
        meta = {"features": self.features, "categories": self.categories, "calibration": self.calibration}
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> ChurnModel:
        folder = Path(folder)
        meta = json.loads((folder / "meta.json").read_text())
        booster = lgb.Booster(model_file=str(folder / "booster.txt"))
        return cls(booster, meta["features"], meta["categories"], meta["calibration"])


@dataclass
class TrainResult:
    model: ChurnModel
    metrics: dict[str, float]
    holdout: pd.DataFrame  # customer_id, cutoff, churned and each model's probability
    importance: pd.DataFrame
    data_summary: dict = field(default_factory=dict)


def calibrate(calibration: dict, raw: np.ndarray) -> np.ndarray:
    if calibration["method"] == "isotonic":
        return np.interp(raw, calibration["x"], calibration["y"])
    return 1.0 / (1.0 + np.exp(-(calibration["a"] * raw + calibration["b"])))


def feature_columns(examples: pd.DataFrame) -> list[str]:
    return [c for c in examples.columns if c not in NON_FEATURES]


def train_model(examples: pd.DataFrame, cfg: TrainConfig) -> TrainResult:
    """Fit on `train`, calibrate on `calibration`, evaluate model and baselines on `test`."""
    parts = {role: examples[examples["role"] == role] for role in ("train", "calibration", "test")}
    for role, part in parts.items():
        if part.empty or part["churned"].nunique() < 2:
            raise ValueError(
                f"the {role} cutoff has {len(part)} examples and {part['churned'].sum() if len(part) else 0} churners: "
                f"both classes are needed. Use an earlier --as-of, a shorter --horizon-days or more history"
            )
    features = feature_columns(examples)
    categories = {
        c: sorted(examples[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL if c in features
    }
    untrained = ChurnModel(None, features, categories, {})  # type: ignore[arg-type]
    X_train = untrained.matrix(parts["train"])
    booster = lgb.train(
        {
            "objective": "binary",
            "learning_rate": cfg.learning_rate,
            "num_leaves": cfg.num_leaves,
            "min_data_in_leaf": cfg.min_child_samples,
            "bagging_fraction": cfg.subsample,
            "bagging_freq": 1,
            "feature_fraction": cfg.colsample_bytree,
            "lambda_l2": cfg.reg_lambda,
            "seed": cfg.seed,
            "deterministic": True,
            "num_threads": 2,
            "verbosity": -1,
        },
        lgb.Dataset(X_train, parts["train"]["churned"].to_numpy()),
        num_boost_round=cfg.n_estimators,
    )
    model = ChurnModel(booster, features, categories, {})
    raw_cal = model.raw_score(parts["calibration"])
    model.calibration = fit_calibration(raw_cal, parts["calibration"]["churned"].to_numpy(), cfg.calibration)

    test = parts["test"]
    y = test["churned"].to_numpy()
    holdout = test[["customer_id", "cutoff", "churned"]].assign(
        model=model.predict_proba(test),
        recency_rule=_fit_baseline(parts["train"], ["recency_days"]).predict_proba(_rfm(test, ["recency_days"]))[:, 1],
        rfm_logistic=_fit_baseline(parts["train"], RFM).predict_proba(_rfm(test, RFM))[:, 1],
    )
    metrics = {}
    for name in ("model", "recency_rule", "rfm_logistic"):
        for metric, value in evaluate(y, holdout[name].to_numpy()).items():
            metrics[f"{name}_{metric}"] = value
    importance = pd.DataFrame(
        {"feature": features, "gain": booster.feature_importance("gain")}
    ).sort_values("gain", ascending=False, ignore_index=True)
    summary = {
        role: {"examples": len(p), "churners": int(p["churned"].sum()), "cutoffs": sorted(p["cutoff"].astype(str).unique())}
        for role, p in parts.items()
    }
    return TrainResult(model, metrics, holdout.reset_index(drop=True), importance, summary)


RFM = ["recency_days", "orders_365", "revenue_365"]


def _rfm(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    X = frame[cols].astype("float64").fillna({"recency_days": NEVER}).fillna(0.0)
    return np.log1p(X.clip(lower=0)).to_numpy()


def _fit_baseline(train: pd.DataFrame, cols: list[str]):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        _rfm(train, cols), train["churned"].to_numpy()
    )


def fit_calibration(raw: np.ndarray, y: np.ndarray, method: str) -> dict:
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-4, y_max=1 - 1e-4).fit(raw, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return {"method": "platt", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def lift_at(y: np.ndarray, p: np.ndarray, top: float = 0.1) -> float:
    n = max(1, int(round(len(y) * top)))
    order = np.argsort(-p, kind="stable")
    return float(y[order[:n]].mean() / y.mean()) if y.mean() > 0 else float("nan")


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "lift_top10": lift_at(y, p, 0.1),
        "mean_predicted": float(p.mean()),
        "observed_rate": float(y.mean()),
    }


def curves(holdout: pd.DataFrame, models: tuple[str, ...] = ("model", "recency_rule", "rfm_logistic")) -> dict[str, pd.DataFrame]:
    """ROC, calibration (10 bins) and cumulative lift points for plotting, in long format."""
    y = holdout["churned"].to_numpy()
    roc, cal, lift = [], [], []
    for name in models:
        p = holdout[name].to_numpy()
        fpr, tpr, _ = roc_curve(y, p)
        idx = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        roc.append(pd.DataFrame({"model": name, "fpr": fpr[idx], "tpr": tpr[idx]}))
        bins = pd.qcut(pd.Series(p).rank(method="first"), 10, labels=False)
        g = pd.DataFrame({"p": p, "y": y, "bin": bins}).groupby("bin")
        cal.append(pd.DataFrame({"model": name, "predicted": g["p"].mean(), "observed": g["y"].mean()}))
        order = np.argsort(-p, kind="stable")
        share = np.arange(1, len(y) + 1) / len(y)
        captured = np.cumsum(y[order]) / max(y.sum(), 1)
        pts = np.unique(np.linspace(0, len(y) - 1, min(len(y), 100)).astype(int))
        lift.append(pd.DataFrame({"model": name, "customers_share": share[pts], "churners_captured": captured[pts]}))
    return {
        "roc": pd.concat(roc, ignore_index=True),
        "calibration": pd.concat(cal, ignore_index=True),
        "lift": pd.concat(lift, ignore_index=True),
    }
