"""The churn model's booster trained with lightgbm.dask on a Dask cluster (the Dask engine, `churn[dask]`)."""

from __future__ import annotations

import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd

from churn.config import TrainConfig
from churn.extras import require
from churn.model._train import BoosterFit, booster_params, examples_matrix

# LightGBM's own names -> the scikit-learn names DaskLGBMClassifier takes them by (so no alias is set twice)
_SKLEARN_NAMES = {"min_data_in_leaf": "min_child_samples", "bagging_fraction": "subsample",
                  "bagging_freq": "subsample_freq", "feature_fraction": "colsample_bytree", "lambda_l2": "reg_lambda",
                  "seed": "random_state"}


def booster_fit_on(client) -> BoosterFit:
    """A `fit_booster` that trains with `lightgbm.dask` on `client`'s workers: the examples' matrix in
    one block per worker, LightGBM's data-parallel training across them, the booster brought back. The same
    parameters and seed as the local fit; data-parallel histograms give another model, not the same bits."""
    da = require("dask.array", "engine: dask")
    lgb_dask = require("lightgbm.dask", "engine: dask")

    def fit(frame: pd.DataFrame, features: list[str], categories: dict[str, list[str]], params: dict,
            cfg: TrainConfig, rows: np.ndarray | None = None) -> lgb.Booster:
        X, y = examples_matrix(frame, features, categories, rows)
        workers = max(len(client.scheduler_info()["workers"]), 1)
        block = max(-(-len(y) // workers), 1)
        # each block sent to a worker once, rather than embedded in the task graph
        futures = client.scatter([X[i:i + block] for i in range(0, len(y), block)], broadcast=False)
        labels = client.scatter([y[i:i + block] for i in range(0, len(y), block)], broadcast=False)
        dX = da.concatenate([da.from_delayed(f, shape=(min(block, len(y) - i), X.shape[1]), dtype=X.dtype)
                             for f, i in zip(futures, range(0, len(y), block), strict=True)])
        dy = da.concatenate([da.from_delayed(f, shape=(min(block, len(y) - i),), dtype=y.dtype)
                             for f, i in zip(labels, range(0, len(y), block), strict=True)])
        native = booster_params(params, cfg, y)
        native.pop("objective"), native.pop("num_threads")  # one process a worker: its threads are its own
        model = lgb_dask.DaskLGBMClassifier(client=client, objective="binary", n_estimators=params["n_estimators"],
                                            **{_SKLEARN_NAMES.get(k, k): v for k, v in native.items()})
        with warnings.catch_warnings():  # its own default n_jobs, which it then drops for the workers' threads
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
            model.fit(dX, dy, feature_name=features,
                      categorical_feature=[i for i, f in enumerate(features) if f in categories])
        booster = model.to_local().booster_
        booster.pandas_categorical = [categories[f] for f in features if f in categories]
        return booster

    return fit
