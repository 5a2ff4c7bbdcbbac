"""The Dask engine's features: the history in parts by customer hash, each part's features on a worker, the
same frame to the bit as the local engine's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn.cluster import partition_of, partitioned_features, write_partitions
from churn.config import DemoConfig, FeaturesConfig, LabelsConfig
from churn.data import generate_history
from churn.features import ParquetTable, build_features, population
from churn.ops import io


@pytest.fixture(scope="module")
def history_files(tmp_path_factory) -> dict:
    """A 600-customer demo business as the validated Parquet files the feature stages read."""
    tables = generate_history(DemoConfig(n_customers=600, seed=11, inject_errors=False)).tables
    dates = ("ts", "signup_date", "churn_date", "resolved_ts")  # typed as validation leaves them
    tables = {name: frame.assign(**{c: pd.to_datetime(frame[c]) for c in dates if c in frame})
              for name, frame in tables.items()}
    folder = tmp_path_factory.mktemp("validated")
    for name, frame in tables.items():
        io.write_parquet(frame, folder / f"{name}.parquet")
    return {name: folder / f"{name}.parquet" for name in tables}


@pytest.mark.parametrize("partitions", [1, 3])
def test_every_customers_rows_land_in_one_part_in_their_order(history_files, tmp_path, partitions):
    parts = write_partitions(history_files, tmp_path / "parts", partitions, batch_rows=5_000)
    assert sorted(parts) == list(range(partitions)) and not (tmp_path / "parts.partial").exists()
    for name, path in history_files.items():
        whole = pd.read_parquet(path)
        pieces = [pd.read_parquet(parts[i][name]).assign(part=i) for i in range(partitions)]
        assert all(pq.read_schema(parts[i][name]) == pq.read_schema(path) for i in range(partitions))
        together = pd.concat(pieces, ignore_index=True)
        assert len(together) == len(whole)
        assert (together.groupby("customer_id")["part"].nunique() == 1).all()
        assert (together["part"].to_numpy() == partition_of(together["customer_id"], partitions)).all()
        # each customer's rows in the order the table had them (what keeps float sums the same)
        key = [c for c in whole.columns if c != "customer_id"][:3]
        for customer in whole["customer_id"].drop_duplicates().head(20):
            mine = together[together["customer_id"] == customer].drop(columns="part").reset_index(drop=True)
            pd.testing.assert_frame_equal(mine[key], whole[whole["customer_id"] == customer][key]
                                          .reset_index(drop=True))


def test_partition_of_is_the_same_in_every_process():
    # SipHash with a fixed key: fixed numbers, not Python's per-process salted hash()
    assert partition_of(pd.Series(["C00001", "C00002", "客户-3"]), 16).tolist() == [
        int(v) for v in pd.util.hash_array(np.array(["C00001", "C00002", "客户-3"], dtype=object)) % 16]


def test_features_on_the_cluster_equal_the_local_engines_to_the_bit(history_files, tmp_path, dask_client):
    customers = pd.read_parquet(history_files["customers"])
    orders = pd.read_parquet(history_files["orders"], columns=["customer_id", "ts", "amount"])
    cutoffs = pd.to_datetime(["2025-10-01", "2026-01-01", "2026-04-01"])
    pop = population({"customers": customers, "orders": orders}, list(cutoffs), LabelsConfig())
    cfg = FeaturesConfig(partition_rows=20_000)  # the local engine reads in customer ranges too
    local = build_features({n: ParquetTable.of(p) for n, p in history_files.items()}, pop, cfg)
    parts = write_partitions(history_files, tmp_path / "parts", 5)
    on_cluster = partitioned_features(dask_client, parts, pop, cfg)
    assert len(local) == len(pop) > 1000 and local["promo_lift_365"].notna().sum() > 100
    pd.testing.assert_frame_equal(on_cluster, local, check_exact=True)
    # no customer at all: the same empty frame, every column in place
    pd.testing.assert_frame_equal(partitioned_features(dask_client, parts, pop.iloc[:0], cfg),
                                  build_features({n: ParquetTable.of(p) for n, p in history_files.items()},
                                                 pop.iloc[:0], cfg))
