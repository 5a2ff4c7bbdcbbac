"""Labels and point-in-time features: who is in the population at a cutoff, who churned within the
horizon after it, and what each customer's history looked like before it.

Imports only `churn.data`, `churn.config` and `churn.vocab`.
"""

from churn.features._build import CATEGORICAL, build_features, training_examples
from churn.features._labels import CutoffPlan, label, plan_cutoffs, population

__all__ = ["CATEGORICAL", "CutoffPlan", "build_features", "label", "plan_cutoffs", "population", "training_examples"]
