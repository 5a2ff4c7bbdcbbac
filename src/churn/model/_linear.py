"""The recency rule and the RFM logistic regression as scoring models.

Both are a logistic regression on standardised log(1 + x) inputs (recency alone, or recency, orders and revenue
over 365 days). As scoring models they keep only what predicting needs (means, scales, coefficients), so they
save as plain JSON and explain exactly: in a linear model each input's log-odds contribution, measured from the
average training customer, is its coefficient times its standardised value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from churn_portable import Scorer, log_inputs, logistic_terms

RECENCY = ["recency_days"]
RFM = ["recency_days", "orders_365", "revenue_365"]
INPUTS = {"recency_rule": RECENCY, "rfm_logistic": RFM}


@dataclass
class LogisticChurnModel:
    """Scores, explains, saves and loads like `ChurnModel`: a baseline that won the holdout is registered as one."""

    kind: str  # recency_rule or rfm_logistic
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    judged: LogisticChurnModel | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)
    calibration: dict = field(default_factory=lambda: {"method": "none"})  # a logistic fit is its own calibration
    fallback = False

    @classmethod
    def fit(cls, kind: str, examples: pd.DataFrame) -> LogisticChurnModel:
        """Fit on examples with `churned` (sklearn's StandardScaler and LogisticRegression, default penalty)."""
        features = INPUTS[kind]
        X = log_inputs(examples, features)
        scaler = StandardScaler().fit(X)
        lr = LogisticRegression(max_iter=1000).fit(scaler.transform(X), examples["churned"].to_numpy())
        return cls(kind, list(features), scaler.mean_.tolist(), scaler.scale_.tolist(), lr.coef_[0].tolist(),
                   float(lr.intercept_[0]))

    def _terms(self, frame: pd.DataFrame) -> np.ndarray:
        return logistic_terms(self.to_dict(), frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return Scorer(self.to_dict()).predict_proba(frame)  # what the registered model computes (churn_portable)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Each input's log-odds contribution from the average training customer (exact for a linear model)."""
        return pd.DataFrame(self._terms(frame), columns=self.features, index=frame.index)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "features": self.features, "mean": self.mean, "scale": self.scale,
                "coef": self.coef, "intercept": self.intercept}

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = self.to_dict() | ({"judged": self.judged.to_dict()} if self.judged is not None else {})
        (folder / "meta.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> LogisticChurnModel:
        meta = json.loads((Path(folder) / "meta.json").read_text())
        judged = meta.pop("judged", None)
        return cls(**meta, judged=cls(**judged) if judged else None)
