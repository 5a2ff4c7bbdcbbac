from __future__ import annotations

import numpy as np
import pandas as pd

from churn.cluster._partitions import map_parts


def _call(model, method: str, frame: pd.DataFrame):
    return getattr(model, method)(frame)


class PartitionedModel:
    """A scoring model whose risk (`predict_proba`) and contributions (TreeSHAP, what explaining costs) are
    computed on a Dask cluster, one task per part of the customers (`map_parts`); everything else is the
    model's own. Row by row, so the same numbers as the model computes here (the model is sent to every worker
    once)."""

    def __init__(self, model, client, partitions: int):
        self._model, self._client, self._partitions = model, client, partitions
        self._remote = client.scatter(model, broadcast=True)

    def __getattr__(self, name: str):
        return getattr(self._model, name)

    def _per_part(self, method: str, frame: pd.DataFrame) -> tuple[list, np.ndarray]:
        return map_parts(self._client, frame, self._partitions, method.replace("_", "-"), _call, self._remote, method)

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
