from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from churn.data import customer_hash

# part number -> table name -> its Parquet file in that part
HistoryParts = dict[int, dict[str, Path]]


def partition_of(customer_ids: pd.Series | np.ndarray, partitions: int) -> np.ndarray:
    """Each customer id's part (0 .. partitions - 1): `churn.data.customer_hash` (the same in every process and on
    every machine) modulo `partitions`."""
    return (customer_hash(customer_ids) % np.uint64(partitions)).astype(np.int64)


def map_parts(client, frame: pd.DataFrame, partitions: int, name: str, task: Callable, *args,
              part_args: Callable[[int], tuple] = lambda i: ()) -> tuple[list, np.ndarray]:
    """`task(*part_args(i), *args, rows)` on the cluster for each part i holding rows of `frame` (its customers by
    `partition_of`; the rows sent as data, not inside the task graph), one task each: their results in part
    order, and the positions that put the rows of their concatenation back in `frame`'s order."""
    which = partition_of(frame["customer_id"], partitions)
    futures, positions, run = [], [], uuid.uuid4().hex  # keys of this call's own: a key names one result in Dask
    for i in np.unique(which):
        rows = np.flatnonzero(which == i)
        futures.append(client.submit(task, *part_args(int(i)), *args, client.scatter(frame.iloc[rows]),
                                     key=f"{name}-part-{i}-{run}"))
        positions.append(rows)
    results = client.gather(futures)
    return results, np.argsort(np.concatenate(positions or [np.empty(0, dtype=np.int64)]), kind="stable")


def write_partitions(files: dict[str, Path], out: Path, partitions: int, batch_rows: int = 1_000_000
                     ) -> HistoryParts:
    """Write each table of `files` (Parquet, with a customer_id column) in `partitions` parts by `partition_of`:
    `out/part-NNNN/<table>.parquet`, every part holding every table (empty where none of its customers has
    rows), each customer's rows in their order in the table. Read in batches of `batch_rows` (memory: a batch),
    written to a folder beside `out` and moved in place at the end, so `out` is whole or the previous one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out)
    building = out.with_name(out.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    paths = {i: {name: building / f"part-{i:04d}" / f"{name}.parquet" for name in files} for i in range(partitions)}
    for folder in {p.parent for part in paths.values() for p in part.values()}:
        folder.mkdir(parents=True)
    for name, path in files.items():
        source = pq.ParquetFile(path)
        schema = source.schema_arrow
        writers: dict[int, pq.ParquetWriter] = {}
        try:
            for batch in source.iter_batches(batch_size=batch_rows):
                table = pa.Table.from_batches([batch], schema=schema)
                part = partition_of(table.column("customer_id").to_pandas(), partitions)
                for i in np.unique(part):
                    rows = table.take(pa.array(np.flatnonzero(part == i)))
                    if i not in writers:
                        writers[i] = pq.ParquetWriter(paths[i][name], schema)
                    writers[i].write_table(rows)
        finally:
            for writer in writers.values():
                writer.close()
        for i in range(partitions):
            if i not in writers:
                pq.write_table(schema.empty_table(), paths[i][name])
    shutil.rmtree(out, ignore_errors=True)
    building.rename(out)
    return {i: {name: out / p.relative_to(building) for name, p in part.items()} for i, part in paths.items()}
