"""The scoring arithmetic of churn's scoring models and the MLflow python model (see the package docstring)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
from scipy import special

WEEK_DAYS = 7.0  # BG/NBD works in weeks
NEVER = 9999.0  # days: "never happened", for the logistic baselines' inputs that cannot be missing
MODEL_ARTIFACT = "churn_model"  # the MLflow artifact holding the model's files
DRIFT_REFERENCE = "drift_reference.json"  # beside them: the training population's histograms (churn.monitor)
BGNBD_KIND = "bgnbd"
LOGISTIC_KINDS = ("recency_rule", "rfm_logistic")


def feature_matrix(frame: pd.DataFrame, features: list[str], categories: dict[str, list[str]],
                   what: str = "model") -> pd.DataFrame:
    """`frame`'s `features` in order, categoricals on the training levels; a clear error naming `what` was
    trained on features the frame lacks."""
    missing = [f for f in features if f not in frame]
    if missing:
        raise ValueError(f"the data lacks features the {what} was trained on: {missing[:10]}")
    X = frame[features].copy()
    for col, levels in categories.items():
        X[col] = pd.Categorical(X[col].astype("object"), categories=levels)
    return X


def calibrate(calibration: dict, raw: np.ndarray) -> np.ndarray:
    """Probabilities from raw scores: isotonic (interpolated between its knots) or Platt (a logistic of a*raw + b)."""
    if calibration["method"] == "isotonic":
        return np.interp(raw, calibration["x"], calibration["y"])
    return 1.0 / (1.0 + np.exp(-(calibration["a"] * raw + calibration["b"])))


def log_inputs(frame: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """The logistic baselines' inputs, log(1 + x); a customer who never ordered has recency NEVER, counts and sums 0."""
    X = frame[cols].astype("float64").fillna({"recency_days": NEVER}).fillna(0.0)
    return np.log1p(X.clip(lower=0)).to_numpy()


def rhythm(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x and T (weeks) from the btyd_* feature columns; T never below t_x."""
    x = frame["btyd_x"].fillna(0).to_numpy(dtype=float)
    t_x = frame["btyd_tx"].fillna(0).to_numpy(dtype=float) / WEEK_DAYS
    T = np.maximum(frame["btyd_T"].fillna(1).to_numpy(dtype=float) / WEEK_DAYS, t_x + 1e-9)
    return x, t_x, T


def bgnbd_log_odds_dead(r: float, alpha: float, a: float, b: float, x, t_x, T) -> np.ndarray:
    """BG/NBD's log odds of having dropped out after the last purchase: log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))
    ^(r+x); -inf for x = 0 (no purchase after which to drop out)."""
    repeat = x > 0
    safe_b = np.where(repeat, b + x - 1.0, 1.0)
    odds = np.log(a) - np.log(safe_b) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, odds, -np.inf)


def no_purchase_probability(r: float, alpha: float, a: float, b: float, x, t_x, T,
                            horizon_weeks: float) -> np.ndarray:
    """P(no purchase in (T, T + horizon]) under BG/NBD, from x repeat purchases, t_x and T in weeks."""
    alive = special.expit(-bgnbd_log_odds_dead(r, alpha, a, b, x, t_x, T))
    no_purchase_if_alive = ((alpha + T) / (alpha + T + horizon_weeks)) ** (r + x)
    return (1 - alive) + alive * no_purchase_if_alive


def logistic_terms(meta: dict, frame: pd.DataFrame) -> np.ndarray:
    """Each input's log-odds term in a logistic baseline (coefficient times standardised input), from its meta."""
    z = (log_inputs(frame, meta["features"]) - np.asarray(meta["mean"])) / np.asarray(meta["scale"])
    return z * np.asarray(meta["coef"])


@dataclass
class Scorer:
    """A saved scoring model, read from its files: `predict_proba` gives calibrated churn probabilities."""

    meta: dict
    booster: object = None  # a lightgbm.Booster for the LightGBM kind

    @property
    def kind(self) -> str:
        return self.meta.get("kind", "lightgbm")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        meta = self.meta
        if self.kind in LOGISTIC_KINDS:
            return 1.0 / (1.0 + np.exp(-(logistic_terms(meta, frame).sum(axis=1) + meta["intercept"])))
        if self.kind == BGNBD_KIND:
            p = no_purchase_probability(*(meta["bgnbd"][k] for k in ("r", "alpha", "a", "b")), *rhythm(frame),
                                        meta["horizon_days"] / WEEK_DAYS)
            calibration = meta.get("calibration", {"method": "none"})
            if calibration["method"] == "none":
                return p
            return calibrate(calibration, special.logit(np.clip(p, 1e-6, 1 - 1e-6)))
        X = feature_matrix(frame, meta["features"], meta["categories"])
        return calibrate(meta["calibration"], self.booster.predict(X, raw_score=True))


def load_scorer(folder: str | Path) -> Scorer:
    """The scoring model saved in `folder` (meta.json, and booster.txt for LightGBM), whichever kind."""
    folder = Path(folder)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("kind", "lightgbm") in (BGNBD_KIND, *LOGISTIC_KINDS):
        return Scorer(meta)
    import lightgbm as lgb

    return Scorer(meta, lgb.Booster(model_file=str(folder / "booster.txt")))


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """The MLflow model: `predict` returns a frame with one column, `churn_probability` (calibrated)."""

    def load_context(self, context) -> None:
        raw = Path(context.artifacts[MODEL_ARTIFACT])
        self.scorer = load_scorer(raw)
        reference = raw / DRIFT_REFERENCE
        self.drift_reference = json.loads(reference.read_text(encoding="utf-8")) if reference.exists() else None

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.scorer.predict_proba(model_input)})
