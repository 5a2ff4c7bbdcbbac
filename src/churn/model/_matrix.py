"""The feature matrix a LightGBM booster reads: the features in their training order, categoricals with the
levels seen in training (shared by the churn model and the cause model)."""

from __future__ import annotations

import pandas as pd

from churn.features import CATEGORICAL
from churn_portable import feature_matrix

__all__ = ["category_levels", "feature_matrix"]  # feature_matrix: the arithmetic a registered model carries


def category_levels(examples: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The levels of each categorical feature among `features`, as the training `examples` have them."""
    return {c: sorted(examples[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL if c in features}
