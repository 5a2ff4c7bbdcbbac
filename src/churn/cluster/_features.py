from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from churn.cluster._partitions import HistoryParts, partition_of
from churn.config import FeaturesConfig
from churn.features import (
    RHYTHM_INPUTS,
    ParquetTable,
    customer_features,
    purchase_rhythm_fits,
    with_purchase_rhythm,
)

KEYS = ["customer_id", "cutoff"]


def _part_features(files: dict, population: pd.DataFrame, cfg: FeaturesConfig) -> pd.DataFrame:
    """Run on a worker: one part's customer features, its tables read by DuckDB from the part's files."""
    return customer_features({name: ParquetTable.of(path) for name, path in files.items()}, population, cfg)


def partitioned_features(client, parts: HistoryParts, population: pd.DataFrame, cfg: FeaturesConfig
                         ) -> pd.DataFrame:
    """`churn.features.build_features` on a Dask cluster: each part's customers (of `population`) and rows on a
    worker, the parts put back in `population`'s order, then the purchase rhythm fitted per cutoff on every
    customer: the same frame, to the bit, as the local engine's."""
    which = partition_of(population["customer_id"], len(parts))
    futures, positions, run = [], [], uuid.uuid4().hex  # keys of this call's own: a key names one result in Dask
    for i, files in parts.items():
        rows = np.flatnonzero(which == i)
        if len(rows):
            customers = client.scatter(population[KEYS].iloc[rows])  # sent as data, not inside the task graph
            futures.append(client.submit(_part_features, files, customers, cfg, key=f"features-part-{i}-{run}"))
            positions.append(rows)
    if not futures:  # no customer at all: the local engine's empty frame
        return customer_features({}, population, cfg)
    frames = client.gather(futures)
    del futures  # the workers let go of their parts
    together = pd.concat(frames, ignore_index=True)
    del frames  # at most two copies at a time: the parts and their concatenation, then it and its reordering
    out = together.take(np.argsort(np.concatenate(positions), kind="stable")).reset_index(drop=True)
    del together
    fits = purchase_rhythm_fits(out[[c for c in RHYTHM_INPUTS if c in out]])
    return with_purchase_rhythm(out, fits, cfg)
