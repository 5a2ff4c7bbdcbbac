"""Labels and point-in-time features: who is in the population at a cutoff, who churned within the
horizon after it, and what each customer's history looked like before it, including what the
Buy-Till-You-Die models (BG/NBD, Gamma-Gamma in `_btyd`) make of its purchase rhythm.

Imports only `churn.data`, `churn.config` and `churn.vocab`.
"""

from churn.features._btyd import (
    BGNBD,
    HOMOGENEOUS_DROPOUT,
    WEEK_DAYS,
    GammaGamma,
    daily_purchases,
    fit_bgnbd,
    fit_bgnbd_or_penalized,
    fit_gamma_gamma,
    fit_gamma_gamma_or_penalized,
    fits_per_cutoff,
    forecast_value,
    no_purchase_probability,
    rfm_summary,
    rhythm,
)
from churn.features._build import (
    CATEGORICAL,
    RHYTHM_INPUTS,
    ParquetTable,
    build_features,
    customer_features,
    purchase_rhythm_fits,
    training_examples,
    with_purchase_rhythm,
)
from churn.features._labels import POPULATION_ORDER_COLUMNS, CutoffPlan, label, plan_cutoffs, population

__all__ = [
    "BGNBD", "CATEGORICAL", "CutoffPlan", "GammaGamma", "HOMOGENEOUS_DROPOUT", "POPULATION_ORDER_COLUMNS",
    "ParquetTable", "RHYTHM_INPUTS", "WEEK_DAYS", "build_features", "customer_features", "daily_purchases",
    "fit_bgnbd", "fit_bgnbd_or_penalized", "fit_gamma_gamma", "fit_gamma_gamma_or_penalized", "fits_per_cutoff",
    "forecast_value", "label", "no_purchase_probability", "plan_cutoffs", "population", "purchase_rhythm_fits",
    "rfm_summary", "rhythm", "training_examples", "with_purchase_rhythm",
]
