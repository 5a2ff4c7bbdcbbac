"""The large sample business, written block by block: its 1k-customer output reads back through churn's own
pull and validation with nothing set aside but the bad rows it planted."""

import pandas as pd
import pytest
from helpers import CONFIG

from churn.config import load_config
from churn.data import history_blocks
from churn.ops import Workspace
from churn.runners import run_large_history, run_pull, run_validate


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("large")
    return out, run_large_history(load_config(CONFIG), 1000, out, block_size=400, base_config=CONFIG,
                                  progress=lambda _: None)


def test_blocks_number_customers_and_orders_across_the_whole_business(written):
    out, result = written
    assert sorted(p.name for p in (out / "history").glob("customers_*")) == [
        "customers_0000.parquet", "customers_0001.parquet", "customers_0002.parquet"]  # 400 + 400 + 200
    customers = pd.concat(pd.read_parquet(p) for p in sorted((out / "history").glob("customers_*")))
    assert customers["customer_id"].is_unique and len(customers) == 1000
    assert customers["customer_id"].iloc[[0, -1]].tolist() == ["C00001", "C01000"]
    assert customers["owner"].nunique() <= 40  # one roster of account managers for the whole business
    orders = [set(pd.read_parquet(p, columns=["order_id"])["order_id"]) for p in sorted((out / "history").glob("orders_*"))]
    assert all(a.isdisjoint(b) for i, a in enumerate(orders) for b in orders[i + 1:])  # an order is in one block
    truth = pd.concat(pd.read_parquet(p) for p in sorted((out / "truth").glob("truth_*")))
    assert set(truth["customer_id"]) == set(customers["customer_id"])


def test_the_written_history_validates_with_nothing_set_aside_but_the_planted_bad_rows(written, tmp_path):
    out, result = written
    cfg = load_config(result["config"])
    ws = Workspace(tmp_path / "work")
    pulled = run_pull(cfg, ws)
    assert pulled == result["rows"]
    tables = run_validate(cfg, ws)["tables"]
    injected = result["injected"]
    assert tables["orders"]["bad_rows"] == sum(v for k, v in injected.items() if k.startswith("orders."))
    assert tables["tickets"]["bad_rows"] == injected["tickets.unknown_customer"]
    assert all(t["bad_rows"] == 0 for name, t in tables.items() if name not in ("orders", "tickets"))


def test_blocks_are_seeded_by_their_number():
    cfg = load_config(CONFIG).demo
    first = [b.tables["orders"] for b in history_blocks(cfg, 200, 100)]
    again = [b.tables["orders"] for b in history_blocks(cfg, 200, 100)]
    for a, b in zip(first, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert not first[0]["amount"].head(50).equals(first[1]["amount"].head(50))  # not the same block twice


@pytest.mark.parametrize("customers, block_size, message", [(1000, 40, "blocks of at least 50"),
                                                           (1020, 100, "the last block would hold 20 customers")])
def test_blocks_too_small_are_refused(customers, block_size, message):
    with pytest.raises(ValueError, match=message):
        list(history_blocks(load_config(CONFIG).demo, customers, block_size))


def test_activity_scales_orders_contacts_and_tickets_and_leaves_the_customers_alone():
    """demo.activity writes a large history at the issue's scale (~20 order lines, ~2 tickets a customer) from the
    same causal world: the same customers, who leave and why; orders and rep contacts in proportion, tickets but for
    the causes' own complaints, which stay as they were."""
    from churn.data import generate_history

    cfg = load_config(CONFIG).demo.model_copy(update={"n_customers": 400})
    busy, quiet = generate_history(cfg), generate_history(cfg.model_copy(update={"activity": 0.13}))
    pd.testing.assert_frame_equal(busy.tables["customers"], quiet.tables["customers"])
    pd.testing.assert_frame_equal(busy.truth[["customer_id", "churned", "cause"]],
                                  quiet.truth[["customer_id", "churned", "cause"]])
    for table in ("orders", "interactions"):
        ratio = len(quiet.tables[table]) / len(busy.tables[table])
        assert 0.09 < ratio < 0.18, (table, ratio)
    tickets = len(quiet.tables["tickets"]) / len(busy.tables["tickets"])
    assert 0.13 < tickets < 0.3, tickets
    complaints = {which: h.tables["tickets"].merge(h.truth[["customer_id", "cause"]], on="customer_id")
                  .query("cause == 'price' and category in ('price', 'billing')").shape[0]
                  for which, h in (("busy", busy), ("quiet", quiet))}
    assert complaints["quiet"] > 0.3 * complaints["busy"], complaints
