from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from churn.cluster._partitions import partition_of


def _call(model, method: str, frame: pd.DataFrame):
    return getattr(model, method)(frame)


class PartitionedModel:
    """A scoring model whose risk (`predict_proba`) and contributions (TreeSHAP, what explaining costs) are
    computed on a Dask cluster, one task per part of the customers (`partition_of`); everything else is the
    model's own. Row by row, so the same numbers as the model computes here (the model is sent to every worker
    once)."""

    def __init__(self, model, client, partitions: int):
        self._model, self._client, self._partitions = model, client, partitions
        self._remote = client.scatter(model, broadcast=True)

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def _per_part(self, method: str, frame: pd.DataFrame) -> tuple[list, np.ndarray]:
        which = partition_of(frame["customer_id"], self._partitions)
        futures, positions, run = [], [], uuid.uuid4().hex
        for i in np.unique(which):
            rows = np.flatnonzero(which == i)
            part = self._client.scatter(frame.iloc[rows])  # sent as data, not inside the task graph
            futures.append(self._client.submit(_call, self._remote, method, part,
                                               key=f"{method.replace('_', '-')}-part-{i}-{run}"))
            positions.append(rows)
        return self._client.gather(futures), np.argsort(np.concatenate(positions), kind="stable")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if frame.empty:
            return self._model.predict_proba(frame)
        parts, order = self._per_part("predict_proba", frame)
        return np.concatenate(parts)[order]

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return self._model.contributions(frame)
        parts, order = self._per_part("contributions", frame)
        return pd.concat(parts).iloc[order]
