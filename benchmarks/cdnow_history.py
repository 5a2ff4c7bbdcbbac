"""Write the CDNOW master history (23,570 customers' CD purchases, 1997-01 to 1998-06) as a churn orders folder.

    .venv/bin/pip download --no-deps lifetimes==0.11.3 -d /tmp/lifetimes
    .venv/bin/python benchmarks/cdnow_history.py /tmp/lifetimes/Lifetimes-0.11.3-py3-none-any.whl data/cdnow
    churn train --config configs/sources/cdnow.yaml --as-of 1997-10-01

The data set is Fader & Hardie's CDNOW master file as the `lifetimes` package ships it
(`lifetimes/datasets/CDNOW_master.txt`, MIT licence; see tests/fixtures/README.md): every customer who first
bought at CDNOW in the first quarter of 1997, with all their purchases to the end of June 1998. Each line
(customer, YYYYMMDD, number of CDs, dollars) becomes an order; the data is not committed.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pandas as pd

MEMBER = "lifetimes/datasets/CDNOW_master.txt"


def main(source: str, out: str) -> None:
    raw = zipfile.ZipFile(source).read(MEMBER) if source.endswith(".whl") else Path(source).read_bytes()
    frame = pd.read_csv(io.BytesIO(raw), sep=r"\s+", dtype={"customer_id": str, "date": str})
    orders = pd.DataFrame({
        "customer_id": frame["customer_id"],
        "ts": pd.to_datetime(frame["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
        "quantity": frame["number_of_cds"],
        "amount": frame["dollar_value"],
    })
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    orders.to_csv(folder / "orders.csv", index=False)
    print(f"{len(orders):,} orders of {orders['customer_id'].nunique():,} customers, {orders['ts'].min()} to "
          f"{orders['ts'].max()} -> {folder / 'orders.csv'}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
