"""Risk bands from churn probability, value tiers from customer value (Pareto cuts)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def value_tiers(value: pd.Series, cuts: dict[str, float]) -> pd.Series:
    """Pareto tiers: the largest customers making up the first `cuts['high']` of total value
    are high, up to `cuts['medium']` medium, the rest (and customers with no value) low."""
    v = value.clip(lower=0).fillna(0)
    order = v.sort_values(ascending=False, kind="stable")
    total = order.sum()
    before = (order.cumsum() - order) / total if total > 0 else order * 0
    tier = np.where(before < cuts["high"], "high", np.where(before < cuts["medium"], "medium", "low"))
    tier = pd.Series(tier, index=order.index).where(order > 0, "low")
    return tier.reindex(value.index)


def risk_bands(probability: pd.Series, bands: dict[str, float]) -> pd.Series:
    return pd.Series(
        np.where(probability >= bands["high"], "high", np.where(probability >= bands["medium"], "medium", "low")),
        index=probability.index,
    )
