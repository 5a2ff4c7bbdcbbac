"""The feature matrix a LightGBM booster reads: the features in their training order, categoricals with the
levels seen in training (shared by the churn model and the cause model)."""

from __future__ import annotations

import pandas as pd

from churn.features import CATEGORICAL


def category_levels(examples: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The levels of each categorical feature among `features`, as the training `examples` have them."""
    return {c: sorted(examples[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL if c in features}


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
