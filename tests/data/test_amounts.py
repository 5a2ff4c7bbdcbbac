"""Amounts as exports write them (issue 22): currency marks, thousands separators, decimal commas."""

import math

import pandas as pd
import pytest

from churn.config import ValidateConfig
from churn.data import validate_history
from churn.data._amounts import parse_amounts


@pytest.mark.parametrize("text, amount", [
    ("¥1,234.50", 1234.5), ("￥88.00", 88.0), ("RMB 1,234.50", 1234.5), ("1234.5元", 1234.5), ("1,234", 1234.0),
    ("1.234,50 €", 1234.5), ("1 234,50", 1234.5), ("1\u00a0234,50 €", 1234.5), ("12,5", 12.5), ("$1,234", 1234.0),
    ("HK$1,200.00", 1200.0), ("1,234,567.89", 1234567.89), ("1.234.567", 1234567.0), ("1'234.50", 1234.5),
    ("-¥1,234.50", -1234.5), ("¥-1,234.50", -1234.5), ("(1,234.50)", -1234.5), ("-1.234,50 €", -1234.5),
    ("−300", -300.0), ("-12.5", -12.5), ("1e3", 1000.0), (".5", 0.5), ("0", 0.0),
])
def test_formatted_amounts_are_read(text, amount):
    values, reasons = parse_amounts(pd.Series([text], dtype="string"))
    assert values.iat[0] == pytest.approx(amount) and reasons.isna().iat[0]


@pytest.mark.parametrize("text", ["2024-03-05", "12,34,5", "1,234.5.6", "abc", "¥", "1,23,456", "12.5 €$", "1..2"])
def test_text_that_is_not_an_amount_is_not_guessed(text):
    values, reasons = parse_amounts(pd.Series([text], dtype="string"))
    assert math.isnan(values.iat[0]) and reasons.iat[0] == "not a number"


def test_a_column_mixing_currencies_refuses_the_unusual_one():
    values, reasons = parse_amounts(pd.Series(["¥10.00", "RMB 20", "30", "€5,00", None], dtype="string"))
    assert values.tolist()[:3] == [10.0, 20.0, 30.0] and math.isnan(values.iat[3]) and math.isnan(values.iat[4])
    assert reasons.iat[3] == "another currency (EUR) than the column's (CNY)" and reasons.iloc[[0, 1, 2, 4]].isna().all()


def test_validation_reads_export_amounts_and_sets_aside_what_it_cannot():
    orders = pd.DataFrame({"customer_id": ["C1", "C1", "C2", "C2"],
                           "ts": ["2024/03/05 14:22", "2024年3月6日", "2024-03-07", "2024-03-08"],
                           "amount": ["¥1,234.50", "-¥100.00", "1.234,50 €", "twelve"],
                           "margin": ["¥300", None, "€ 30", "5"]}, dtype="string")
    customers = pd.DataFrame({"customer_id": ["C1", "C2"]}, dtype="string")
    result = validate_history({"customers": customers, "orders": orders}, ValidateConfig(max_bad_share=1.0),
                              pd.Timestamp("2025-01-01", tz="UTC"))
    clean = result.tables["orders"]
    assert clean["amount"].tolist() == [1234.5, -100.0]
    quarantine = result.quarantine[result.quarantine["table"] == "orders"]
    rules = set(zip(quarantine["rule"], quarantine["column"], quarantine["value"]))
    assert ("another currency (EUR) than the column's (CNY)", "amount", "1.234,50 €") in rules
    assert ("not a number", "amount", "twelve") in rules
