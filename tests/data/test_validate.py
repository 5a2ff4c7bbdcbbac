import pandas as pd
import pytest

from churn.config import ValidateConfig
from churn.data import ContractError, DataQualityError, point_in_time, to_utc_naive, validate_history
from churn.data._validate import MISSING_TOKENS

PULLED = pd.Timestamp("2026-01-01")
LOOSE = ValidateConfig(max_bad_share=1.0)


def orders(**cols):
    base = {"customer_id": ["1", "2"], "ts": ["2024-01-01", "2024-02-01"], "amount": ["10", "20"]}
    return pd.DataFrame(base | cols)


def test_missing_required_column_names_table_and_column():
    with pytest.raises(ContractError, match=r"table `orders` is missing required column\(s\) \['amount'\]"):
        validate_history({"orders": orders().drop(columns="amount")}, LOOSE, PULLED)


def test_needs_orders_or_customers():
    with pytest.raises(ContractError, match="needs an `orders` table"):
        validate_history({"tickets": pd.DataFrame({"customer_id": ["1"]})}, LOOSE, PULLED)


@pytest.mark.parametrize("churn_date", [None, [None, ""]])
def test_customers_without_orders_need_a_churn_date(churn_date):
    customers = pd.DataFrame({"customer_id": ["1", "2"]} | ({"churn_date": churn_date} if churn_date else {}))
    with pytest.raises(ContractError, match="has a `customers` table but no `orders` table, and no customer has a "
                                            "churn_date"):
        validate_history({"customers": customers}, LOOSE, PULLED)
    contractual = customers.assign(churn_date=["2025-03-01", None])  # churn_date alone labels who left
    assert len(validate_history({"customers": contractual}, LOOSE, PULLED).tables["customers"]) == 2


def test_unknown_columns_are_ignored_and_reported():
    result = validate_history({"orders": orders(colour=["red", "blue"])}, LOOSE, PULLED)
    assert "colour" not in result.tables["orders"]
    assert result.summary["tables"]["orders"]["ignored_columns"] == ["colour"]


@pytest.mark.parametrize(
    "table, frame, rule, column",
    [
        ("orders", orders(ts=["2024-01-01", "2024-13-45"]), "unparseable time", "ts"),
        ("orders", orders(amount=["10", "ten"]), "not a number", "amount"),
        ("orders", orders(ts=["2024-01-01", "2031-01-01"]), "time after the data was pulled", "ts"),
        ("orders", orders(quantity=["1", "-3"]), "negative quantity with positive amount", "quantity"),
        ("orders", orders(discount=["0.1", "1.5"]), "outside [0, 1]", "discount"),
        ("orders", orders(amount=["10", "inf"]), "not a finite number", "amount"),
        ("orders", orders(amount=["10", "-inf"]), "not a finite number", "amount"),
        ("orders", orders(amount=["10", "1e308"]), "beyond +-1e+09 (validate.max_amount)", "amount"),
        ("orders", orders(margin=["1", "-2e9"]), "beyond +-1e+09 (validate.max_amount)", "margin"),
        ("orders", orders(ts=["2024-01-01", "1800-01-01"]), "time before 1990-01-01 (validate.min_time)", "ts"),
        ("orders", orders(ts=["2024-01-01", "1677-09-22"]), "time before 1990-01-01 (validate.min_time)", "ts"),
        ("orders", orders(ts=["2024-01-01", "0001-01-01"]), "time before 1990-01-01 (validate.min_time)", "ts"),
        ("orders", orders(quantity=["1", "5"], amount=["10", "-500"]), "negative amount with positive quantity",
         "quantity"),
        ("orders", orders(customer_id=["1", None]), "required value missing", "customer_id"),
        ("tickets", pd.DataFrame({"customer_id": ["1", "2"], "ts": ["2024-01-01"] * 2, "category": ["price", "weather"]}),
         "value not in", "category"),
        ("surveys", pd.DataFrame({"customer_id": ["1", "2"], "ts": ["2024-01-01"] * 2, "score": ["7", "11"]}),
         "outside [0, 10]", "score"),
    ],
)
def test_bad_rows_are_set_aside_with_their_reason(table, frame, rule, column):
    raw = {"orders": orders(), table: frame} if table != "orders" else {"orders": frame}
    result = validate_history(raw, LOOSE, PULLED)
    q = result.quarantine
    assert len(q) == 1, q
    assert q.loc[0, "table"] == table and q.loc[0, "row"] == 1 and q.loc[0, "column"] == column
    assert q.loc[0, "rule"].startswith(rule)
    assert len(result.tables[table]) == 1  # the good row is kept
    assert result.summary["tables"][table]["bad_rows"] == 1


def test_child_rows_of_unknown_customers_and_duplicate_customers():
    customers = pd.DataFrame({"customer_id": ["1", "2", "2"], "segment": ["a", "b", "c"]})
    raw = {"customers": customers, "orders": orders(customer_id=["2", "9"])}
    result = validate_history(raw, LOOSE, PULLED)
    rules = result.quarantine.groupby("table")["rule"].apply(set).to_dict()
    assert rules == {"customers": {"duplicate customer_id"},
                     "orders": {"unknown customer_id", "customer_id duplicated in customers"}}
    assert result.tables["customers"]["customer_id"].tolist() == ["1"]
    # customer 2 exists twice: which one its order belongs to cannot be told, so the order goes aside with them
    assert result.tables["orders"].empty
    assert result.quarantine.set_index("rule").loc["customer_id duplicated in customers", "value"] == "2"


def test_an_order_table_repeated_ten_times_keeps_each_order_once():
    once = orders(order_id=["A1", "A2"], product=["x", "y"])
    result = validate_history({"orders": pd.concat([once] * 10, ignore_index=True)}, LOOSE, PULLED)
    kept = result.tables["orders"]
    assert kept["order_id"].tolist() == ["A1", "A2"] and kept["amount"].sum() == 30.0
    summary = result.summary["tables"]["orders"]
    assert (summary["rows"], summary["kept_rows"], summary["bad_rows"]) == (20, 2, 18)
    assert summary["bad_rows_by_rule"] == {"duplicate row (same order_id and values as an earlier row)": 18}


def test_repeated_lines_are_kept_when_they_differ_or_have_no_order_id():
    # Two lines of one order (other product) and two equal orders without an id (two orders that day) are real.
    lines = orders(order_id=["A1", "A1"], product=["x", "y"])
    no_id = orders(customer_id=["1", "1"], ts=["2024-01-01"] * 2)
    for frame in (lines, no_id):
        assert validate_history({"orders": frame}, LOOSE, PULLED).summary["tables"]["orders"]["bad_rows"] == 0


def test_repeated_rows_are_those_equal_in_every_column_and_order_id():
    # Rows sharing time and amount (-0.0 and 0.0, missing amounts alike) are looked at, and only the rows equal
    # in every column are set aside: the same set pandas finds hashing every row whose order_id repeats.
    frame = pd.DataFrame({
        "order_id": ["A", "A", "A", "B", "B", "C", "C", "A", None, None],
        "customer_id": ["1", "1", "1", "1", "1", "2", "2", "1", "1", "1"],
        "ts": ["2024-01-01"] * 5 + ["2024-02-01", "2024-02-01", "2024-01-02", "2024-01-01", "2024-01-01"],
        "amount": ["10", "10", "10", "-0.0", "0", "", "", "10", "5", "5"],
        "product": ["x", "x", "y", "z", "z", "w", "w", "x", "v", "v"],
    })
    result = validate_history({"orders": frame}, LOOSE, PULLED)
    set_aside = result.quarantine.loc[result.quarantine["rule"].str.startswith("duplicate row"), "row"]
    assert sorted(set_aside) == [1, 4, 6]  # a repeat of row 0, of row 3 (-0.0 = 0) and of row 5 (no amount)


def test_missing_value_words_are_missing_in_numbers_and_times_and_text_in_text():
    customers = pd.DataFrame({"customer_id": ["1", "2", "3"], "region": ["NA", "", "North"],
                              "churn_date": ["", "NULL", "2025-01-01"], "is_key_account": ["N/A", "yes", ""]})
    raw = {"customers": customers, "orders": orders(margin=["NULL", " "], quantity=["-", "#N/A"])}
    result = validate_history(raw, ValidateConfig(max_bad_share=0.0), PULLED)  # nothing may be set aside
    assert result.summary["quarantined_rows"] == 0
    kept = result.tables["customers"]
    assert kept["region"].tolist()[0] == "NA" and pd.isna(kept["region"].iloc[1])  # "NA" is a region here
    assert kept["churn_date"].isna().tolist() == [True, True, False]
    assert result.tables["orders"][["margin", "quantity"]].isna().all().all()


@pytest.mark.parametrize("word", sorted(MISSING_TOKENS - {""}))
def test_every_missing_value_word_is_missing_and_no_failure_in_times_numbers_and_yes_no(word):
    # (these cells are kept out of the failures rather than masked: no such word reads as a time, number or yes/no)
    for cell in (word, word.upper(), f"  {word.title()} "):
        customers = pd.DataFrame({"customer_id": ["1", "2"], "churn_date": [cell, "2025-01-01"],
                                  "is_key_account": [cell, "yes"]})
        raw = {"customers": customers, "orders": orders(margin=[cell, "0.3"])}
        result = validate_history(raw, ValidateConfig(max_bad_share=0.0), PULLED)
        assert result.summary["quarantined_rows"] == 0, cell
        kept = result.tables["customers"]
        # (a missing is_key_account takes its default, no)
        assert kept["churn_date"].isna().tolist() == [True, False] and kept["is_key_account"].tolist() == [False, True]
        assert result.tables["orders"]["margin"].isna().tolist() == [True, False]


def test_every_row_is_accounted_for_per_table():
    customers = pd.DataFrame({"customer_id": ["1", "2", "2", "3"]})
    raw = {"customers": customers,
           "orders": pd.concat([orders(order_id=["A", "B"]), orders(order_id=["A", "C"], ts=["2024-01-01", "bad"])]),
           "surveys": pd.DataFrame({"customer_id": ["1", "9"], "ts": ["2024-01-01"] * 2, "score": ["7", "70"]})}
    result = validate_history(raw, LOOSE, PULLED)
    counts = {name: (t["rows"], t["kept_rows"], t["bad_rows"]) for name, t in result.summary["tables"].items()}
    assert counts == {
        "customers": (4, 2, 2),  # customer 2 twice
        "orders": (4, 1, 3),  # a repeated row, a bad time, customer 2's order
        "surveys": (2, 1, 1),  # unknown customer with a score out of range: 1 row
    }
    for name, (_, kept, set_aside) in counts.items():  # counted from the frames themselves
        assert len(result.tables[name]) == kept
        assert result.quarantine.loc[result.quarantine["table"] == name, "row"].nunique() == set_aside


class Reads(dict):
    """Raw tables that record which were read, in order (a workspace folder reads each from its file)."""

    def __init__(self, tables):
        super().__init__(tables)
        self.taken: list[str] = []

    def __getitem__(self, name):
        self.taken.append(name)
        return super().__getitem__(name).copy()


def test_tables_handed_on_one_at_a_time_equal_those_held_together(history):
    # The memory this saves is measured at 1M customers (README Benchmarks); here: the same tables, quarantine
    # and summary, each table read once, customers first, and none held in the result.
    held = validate_history(history, LOOSE, PULLED)
    raw, handed = Reads(history), {}
    result = validate_history(raw, LOOSE, PULLED, keep=handed.__setitem__)
    assert raw.taken[0] == "customers" and sorted(raw.taken) == sorted(history)
    assert result.tables == {}
    assert list(handed) == list(held.tables)
    for name, table in handed.items():
        pd.testing.assert_frame_equal(table, held.tables[name])
    pd.testing.assert_frame_equal(result.quarantine, held.quarantine)
    assert result.summary == held.summary


def test_run_stops_past_the_bad_share_with_examples():
    frame = orders(ts=["garbage", "2024-02-01"])
    with pytest.raises(DataQualityError, match=r"(?s)table `orders`: 1 of 2 rows \(50.0%\).*column `ts`, rule 'unparseable time'.*garbage"):
        validate_history({"orders": frame}, ValidateConfig(max_bad_share=0.2), PULLED)


def test_ids_keep_leading_zeros_and_numeric_ids_lose_the_float_tail():
    result = validate_history({"orders": orders(customer_id=["00042", "7"])}, LOOSE, PULLED)
    assert result.tables["orders"]["customer_id"].tolist() == ["00042", "7"]
    numeric = orders().assign(customer_id=[12345.0, 678.0])
    assert validate_history({"orders": numeric}, LOOSE, PULLED).tables["orders"]["customer_id"].tolist() == ["12345", "678"]


def test_booleans_and_defaults():
    customers = pd.DataFrame({"customer_id": ["1", "2", "3", "4", "5", "6"],
                              "is_key_account": ["yes", "0", None, "TRUE", "是", "否"]})  # 是/否: Chinese exports
    result = validate_history({"customers": customers, "orders": orders()}, LOOSE, PULLED)
    assert result.tables["customers"]["is_key_account"].tolist() == [True, False, False, True, True, False]


def test_timestamps_are_utc_naive():
    out = to_utc_naive(pd.Series(["2024-01-01T10:00:00+02:00", "2024-01-01", "2024-01-01 08:00"]))
    assert out.tolist() == [pd.Timestamp("2024-01-01 08:00"), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 08:00")]


@pytest.mark.parametrize("text, expected", [
    ("2024/03/05 14:22", "2024-03-05 14:22"),  # slashes, as spreadsheets and CRMs export
    ("2024-3-5", "2024-03-05"),
    ("2024年3月5日", "2024-03-05"),  # Chinese CRM exports
    ("2024年03月05日 14:22", "2024-03-05 14:22"),
    ("2024-03-05T10:00:00+08:00", "2024-03-05 02:00"),  # another time zone
    ("2024-03-05 10:00:00Z", "2024-03-05 10:00"),
    ("05/03/2024", None),  # day/month order cannot be told: unparseable, not guessed
    ("1709640000", None),  # seconds or milliseconds? not guessed either
])
def test_timestamps_in_mixed_formats_in_one_column(text, expected):
    out = to_utc_naive(pd.Series(["2024-01-01", text]))
    assert out.iloc[0] == pd.Timestamp("2024-01-01")
    assert (pd.isna(out.iloc[1]) if expected is None else out.iloc[1] == pd.Timestamp(expected)), out


def test_input_frames_are_not_mutated():
    frame = orders()
    before = frame.copy()
    validate_history({"orders": frame}, LOOSE, PULLED)
    pd.testing.assert_frame_equal(frame, before)


def test_point_in_time_counts_rows_left_out(history):
    as_of = pd.Timestamp("2024-06-01")
    view, later = point_in_time(history, as_of)
    assert later["orders"] == int((history["orders"]["ts"] >= as_of).sum()) > 0
    assert (view["orders"]["ts"] < as_of).all()


def test_a_header_only_orders_table_stops_and_an_empty_optional_table_is_a_warning():
    header_only = orders().iloc[0:0]
    with pytest.raises(ContractError, match=r"table `orders` has no rows \(only a header\?\)"):
        validate_history({"orders": header_only}, LOOSE, PULLED)
    surveys = pd.DataFrame(columns=["customer_id", "ts", "score"])
    result = validate_history({"orders": orders(), "surveys": surveys}, LOOSE, PULLED)
    assert result.summary["tables"]["surveys"]["warning"].startswith("no rows (only a header?)")
    assert "warning" not in result.summary["tables"]["orders"]
