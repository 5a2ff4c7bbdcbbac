"""The feature matrix a LightGBM booster reads: the features in their training order, categoricals with the
levels seen in training (shared by the churn model and the cause model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.features import CATEGORICAL
from churn_portable import feature_matrix

# feature_matrix: the arithmetic a registered model carries
__all__ = ["category_levels", "feature_matrix", "rows_where"]


def category_levels(examples: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """The levels of each categorical feature among `features`, as the training `examples` have them."""
    return {c: sorted(examples[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL if c in features}


def rows_where(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """`frame`'s rows where `mask`: a view of them when they are one run of rows (training examples come in cutoff
    order, so each role's are; at 1M customers a copy of the train rows was 3.6 GB), else a copy."""
    at = np.flatnonzero(mask.to_numpy())
    if len(at) and at[-1] - at[0] + 1 == len(at):
        return frame.iloc[at[0]:at[-1] + 1]
    return frame[mask]
