"""What a registered churn model needs to predict anywhere.

The scoring arithmetic of the three kinds of scoring model churn registers (LightGBM with its calibration, the
recency rule and RFM logistic baselines, BG/NBD), reading the model's plain files (booster.txt, meta.json), and the
MLflow python model that serves them. It imports only numpy, pandas, scipy, lightgbm and mlflow: a logged model
carries this package as its code (MLflow `code_paths`) and records those five as its requirements, so
`mlflow.pyfunc.load_model` works in any environment built from the model's requirements.txt, without churn.

churn's own model classes (`churn.model`) compute with these same functions; `tests/model/test_portable.py`
checks both give the same probabilities for every kind.
"""

from churn_portable._scoring import (
    DRIFT_REFERENCE,
    MODEL_ARTIFACT,
    NEVER,
    WEEK_DAYS,
    ChurnPyfunc,
    Scorer,
    bgnbd_log_odds_dead,
    calibrate,
    feature_matrix,
    load_scorer,
    log_inputs,
    logistic_terms,
    no_purchase_probability,
    rhythm,
)

__all__ = ["DRIFT_REFERENCE", "MODEL_ARTIFACT", "NEVER", "WEEK_DAYS", "ChurnPyfunc", "Scorer", "bgnbd_log_odds_dead", "calibrate", "feature_matrix",
           "load_scorer", "log_inputs", "logistic_terms", "no_purchase_probability", "rhythm"]
