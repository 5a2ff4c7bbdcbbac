"""The churn model and what it is measured against: LightGBM training with temporal search and
calibration, the baselines (recency rule, RFM logistic, BG/NBD with Gamma-Gamma in `btyd`), the choice of the
candidate that scores the list (the model or a baseline, each a scoring model of its own kind), metrics,
grade and promotion rule (`evaluation`), backtests over many as-of dates, and the evaluation plots.

Imports only `churn.features`, `churn.data`, `churn.config` and `churn.vocab`.
"""

from churn.features import (  # BG/NBD also makes features; re-exported here, where it is a baseline
    BGNBD,
    HOMOGENEOUS_DROPOUT,
    GammaGamma,
    fit_bgnbd,
    fit_bgnbd_or_penalized,
    fit_gamma_gamma,
    forecast_value,
    rfm_summary,
)
from churn.model._backtest import backtest_dates, run_backtest
from churn.model._candidates import candidate_model, choose_candidate, load_scoring_model, save_scoring_model
from churn.model._causes import (
    CauseModel,
    cause_holdout,
    fit_cause_model,
    known_causes,
    learn_causes,
    learn_from_complaints,
)
from churn.model._dask import booster_fit_on
from churn.model._evaluation import (
    METRICS,
    MODELS,
    calibration_check,
    curves,
    decide_promotion,
    evaluate,
    evaluate_all,
    expected_calibration_error,
    fallback_promotion,
    fallback_report,
    grade,
    lift_at,
    training_report,
)
from churn.model._fallback import BGNBDChurnModel
from churn.model._linear import LogisticChurnModel
from churn.model._plots import save_backtest_plot, save_evaluation_plots
from churn.model._train import (
    BoosterFit,
    ChurnModel,
    NoCompleteWindow,
    bgnbd_churn_probability,
    booster_params,
    calibrate,
    customer_split,
    examples_matrix,
    feature_columns,
    fit_booster,
    fit_calibration,
    search_folds,
    train_model,
)

__all__ = [
    "BGNBD", "BGNBDChurnModel", "BoosterFit", "CauseModel", "ChurnModel", "LogisticChurnModel", "GammaGamma", "HOMOGENEOUS_DROPOUT", "METRICS", "MODELS",
    "NoCompleteWindow", "backtest_dates", "bgnbd_churn_probability", "booster_fit_on", "booster_params", "calibrate", "calibration_check", "candidate_model", "cause_holdout",
    "choose_candidate", "curves",
    "customer_split", "decide_promotion", "evaluate", "evaluate_all", "examples_matrix",
    "expected_calibration_error",
    "fallback_promotion", "fallback_report", "feature_columns", "fit_cause_model", "known_causes", "learn_causes", "learn_from_complaints", "fit_bgnbd", "fit_bgnbd_or_penalized",
    "fit_booster", "fit_calibration", "fit_gamma_gamma", "forecast_value", "grade", "lift_at", "load_scoring_model", "rfm_summary",
    "run_backtest", "save_backtest_plot", "save_scoring_model", "search_folds", "save_evaluation_plots", "train_model", "training_report",
]
