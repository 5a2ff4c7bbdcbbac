"""The BG/NBD baseline as a scoring model: for a history with no complete label window yet (the fallback), and
when it wins the holdout (then its probability is calibrated on the fit examples' labels).

BG/NBD needs no churn labels: it is fitted on each customer's purchase rhythm (repeat purchases x, time of
the last purchase t_x and age T), so it can score a history too short for the LightGBM model to learn from.
Its churn probability is P(no purchase within the horizon), as for the baseline in every evaluation.

Its risk is explained like the model's: per-input log-odds contributions, here exact Shapley values over its
three inputs measured from a reference customer (the median inputs of the customers it was fitted on).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from churn.features import BGNBD, fit_bgnbd_or_penalized, rhythm
from churn_portable import Scorer

INPUTS = ["btyd_x", "btyd_tx", "btyd_T"]  # repeat purchases, days from first to last purchase, days since first
KIND = "bgnbd"


@dataclass
class BGNBDChurnModel:
    """Scores, explains, saves and loads like `ChurnModel`; what `churn train` registers when no window has
    labels yet (`fallback`, said as such in the CLI, MLflow and the list) or when BG/NBD beat the other
    candidates on the holdout."""

    bgnbd: BGNBD
    horizon_days: int
    reference: dict[str, float]
    features: list[str] = field(default_factory=lambda: list(INPUTS))
    categories: dict[str, list[str]] = field(default_factory=dict)
    calibration: dict = field(default_factory=lambda: {"method": "none"})
    judged: None = None
    kind: str = KIND

    @property
    def fallback(self) -> bool:
        """Fitted where no window had labels to calibrate it on: the fallback, not a measured candidate."""
        return self.calibration["method"] == "none"

    @classmethod
    def fit(cls, frame: pd.DataFrame, horizon_days: int, calibration: dict | None = None) -> BGNBDChurnModel:
        """Fit on the purchase rhythm of the customers in `frame` (their btyd_* columns); no labels needed. With a
        `calibration` (Platt, fitted where labels exist) it is the measured candidate, else the fallback."""
        missing = [c for c in INPUTS if c not in frame]
        if missing or frame.empty:
            raise ValueError(f"the BG/NBD fallback needs customers with the columns {INPUTS}; missing {missing}"
                             if missing else "the BG/NBD fallback needs at least one customer with orders")
        model, _ = fit_bgnbd_or_penalized(*rhythm(frame))
        reference = {c: float(frame[c].fillna(0).median()) for c in INPUTS}
        return cls(model, horizon_days, reference, calibration=calibration or {"method": "none"})

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return Scorer(self.to_dict()).predict_proba(frame)  # what the registered model computes (churn_portable)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Exact Shapley values of the log-odds of churn over the three inputs, from the reference customer:
        they sum, per customer, to its log-odds minus the reference's."""
        n = len(INPUTS)
        value = {}
        for size in range(n + 1):
            for subset in itertools.combinations(range(n), size):
                mixed = pd.DataFrame({c: frame[c].to_numpy(dtype=float) if i in subset
                                      else np.full(len(frame), self.reference[c]) for i, c in enumerate(INPUTS)})
                p = np.clip(self.predict_proba(mixed), 1e-9, 1 - 1e-9)
                value[subset] = special.logit(p)
        out = {}
        for i, column in enumerate(INPUTS):
            total = np.zeros(len(frame))
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for subset in itertools.combinations([j for j in range(n) if j != i], size):
                    total += weight * (value[tuple(sorted((*subset, i)))] - value[subset])
            out[column] = total
        return pd.DataFrame(out, index=frame.index)

    def to_dict(self) -> dict:
        return {"kind": KIND, "features": self.features, "horizon_days": self.horizon_days,
                "reference": self.reference, "bgnbd": {k: getattr(self.bgnbd, k) for k in ("r", "alpha", "a", "b")},
                "calibration": self.calibration}

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> BGNBDChurnModel:
        meta = json.loads((Path(folder) / "meta.json").read_text())
        return cls(BGNBD(**meta["bgnbd"]), meta["horizon_days"], meta["reference"],
                   calibration=meta.get("calibration", {"method": "none"}))
