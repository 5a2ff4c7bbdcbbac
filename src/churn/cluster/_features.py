from __future__ import annotations

import pandas as pd

from churn.cluster._partitions import HistoryParts, map_parts
from churn.config import FeaturesConfig
from churn.features import (
    RHYTHM_INPUTS,
    ParquetTable,
    build_features,
    customer_features,
    purchase_rhythm_fits,
    with_purchase_rhythm,
)


def _tables(files: dict) -> dict[str, ParquetTable]:
    return {name: ParquetTable.of(path) for name, path in files.items()}


def _part_features(files: dict, cfg: FeaturesConfig, population: pd.DataFrame) -> pd.DataFrame:
    """Run on a worker: one part's customer features, its tables read by DuckDB from the part's files."""
    return customer_features(_tables(files), population, cfg)


def partitioned_features(client, parts: HistoryParts, population: pd.DataFrame, cfg: FeaturesConfig
                         ) -> pd.DataFrame:
    """`churn.features.build_features` on a Dask cluster: each part's customers (of `population`) and rows on a
    worker, the parts put back in `population`'s order, then the purchase rhythm fitted per cutoff on every
    customer: the same frame, to the bit, as the local engine's."""
    if population.empty:  # no task to run: the local engine's empty frame, every column in place
        return build_features(_tables(parts[0]), population, cfg)
    frames, order = map_parts(client, population[["customer_id", "cutoff"]], len(parts), "features", _part_features,
                              cfg, part_args=lambda i: (parts[i],))
    together = pd.concat(frames, ignore_index=True)
    del frames  # at most two copies at a time: the parts and their concatenation, then it and its reordering
    out = together.take(order).reset_index(drop=True)
    del together
    return with_purchase_rhythm(out, purchase_rhythm_fits(out[[c for c in RHYTHM_INPUTS if c in out]]), cfg)
