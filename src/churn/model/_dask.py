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
        at = np.arange(len(frame)) if rows is None else rows
        workers = sorted(client.scheduler_info()["workers"]) or [None]
        # One block of examples a worker, each made here and sent to its worker before the next is made: the
        # driver holds one block's matrix at a time, not the whole (at 1M customers the whole and its sending
        # took the driver past 20 GB).
        blocks, y = [], frame["churned"].to_numpy()[at]
        for worker, part in zip(workers, np.array_split(at, len(workers)), strict=True):
            if len(part):
                X_part, y_part = examples_matrix(frame, features, categories, part)
                where = {"workers": [worker]} if worker else {}
                blocks.append((client.scatter(X_part, **where), client.scatter(y_part, **where), len(part)))
                del X_part
        dX = da.concatenate([da.from_delayed(x, shape=(n, len(features)), dtype="float64") for x, _, n in blocks])
        dy = da.concatenate([da.from_delayed(t, shape=(n,), dtype=y.dtype) for _, t, n in blocks])
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
