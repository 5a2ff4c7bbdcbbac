"""Customer ids looked up among others by Arrow's hash table in C++: pandas' lookups turn Arrow-backed text into
Python objects first, seconds for each 20M order lines."""

from __future__ import annotations

import numpy as np
import pandas as pd


def id_positions(values: pd.Series, among: pd.Index | pd.Series) -> np.ndarray:
    """The position of each of `values` in `among` (distinct ids), -1 where it is not there or missing: what
    `pd.Index(among).get_indexer(values)` gives for text ids."""
    import pyarrow
    import pyarrow.compute as pc

    def text(ids) -> pyarrow.Array:
        return pyarrow.array(pd.Series(ids).astype("string"), type=pyarrow.large_string(), from_pandas=True)

    found = pc.index_in(text(values), value_set=text(among), skip_nulls=True)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def customer_hash(customer_ids: pd.Series) -> np.ndarray:
    """A fixed number per customer id (pandas' SipHash of its text with a fixed key: the same in every process, run
    and machine, whatever the rows' order). The model's customer splits and folds take it modulo their count; the
    Dask engine's history parts too."""
    return pd.util.hash_pandas_object(pd.Series(customer_ids).astype(str), index=False).to_numpy()
