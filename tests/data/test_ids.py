"""Ids looked up by Arrow's hash table give what pandas' Index.get_indexer gives."""

import numpy as np
import pandas as pd
import pytest

from churn.data import id_positions


@pytest.mark.parametrize("dtype", ["string", "object", "str"])
def test_id_positions_equal_get_indexer(dtype):
    among = pd.Index(["C3", "C1", "客户7", "C10"], dtype="string")
    values = pd.Series(["C1", "C10", "C2", "客户7", "C3", "C1", "c1", ""], dtype=dtype)
    expected = among.get_indexer(values.astype("string"))
    np.testing.assert_array_equal(id_positions(values, among), expected)
    assert id_positions(values, among).tolist() == [1, 3, -1, 2, 0, 1, -1, -1]


def test_a_missing_id_is_nowhere():
    assert id_positions(pd.Series(["C1", None], dtype="string"), pd.Series(["C1"])).tolist() == [0, -1]
    assert id_positions(pd.Series([], dtype="string"), pd.Index(["C1"])).tolist() == []
