"""Records that name their customer by account name, linked to the customer's id (issue 22)."""

import pandas as pd
import pytest

from churn.data import ContractError, link_customers_by_name, mask_history


def _tables():
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"],
                              "name": ["瑞金医院", "Renji  Hospital", "Huashan Pharmacy", "Huashan Pharmacy"]},
                             dtype="string")
    orders = pd.DataFrame({"customer_id": ["瑞金医院", " renji hospital", "瑞金医院", "仁济药房", "Huashan Pharmacy", None],
                           "amount": ["1", "2", "3", "4", "5", "6"]}, dtype="string")
    return {"customers": customers, "orders": orders}


def test_account_names_become_ids_and_the_rest_is_counted_by_reason():
    tables = _tables()
    linked, notes = link_customers_by_name(tables, ["orders", "tickets"])  # no tickets table: nothing to link
    assert linked["orders"]["customer_id"].tolist()[:5] == ["C1", "C2", "C1", "仁济药房", "Huashan Pharmacy"]
    assert linked["orders"]["customer_id"].isna().iat[5]  # missing stays missing: validation names it
    assert linked["customers"] is tables["customers"]
    assert notes == ["orders: 3 row(s) linked to their customer by account name; 1 row(s) name an account that "
                     "matches no customer (1 name(s): '仁济药房'); set aside by validation as unknown customer_id; "
                     "1 row(s) name an account that two or more customers share (1 name(s): 'Huashan Pharmacy'); "
                     "set aside by validation as unknown customer_id"]
    assert tables["orders"]["customer_id"].iat[0] == "瑞金医院"  # the input is not changed


def test_unlinked_names_are_masked_with_personal_details():
    linked, notes = link_customers_by_name(_tables(), ["orders"], shown=lambda v: v[0] + "***")
    assert "'仁***'" in notes[0] and "仁济药房" not in notes[0]
    masked, what = mask_history(linked, linked_by_name=["orders"])
    assert masked["orders"]["customer_id"].tolist()[:5] == ["C1", "C2", "C1", "仁***", "H*** P***"]
    assert "customer_id (account names that matched no customer)" in what["orders"]


def test_linking_by_name_needs_the_customers_names():
    tables = _tables()
    with pytest.raises(ContractError, match=r"orders name customers by account name .* map customers.name"):
        link_customers_by_name({"customers": tables["customers"][["customer_id"]], "orders": tables["orders"]},
                               ["orders"])


def test_the_customers_table_cannot_link_to_itself():
    from churn.config import SourceConfig, TableMapping

    with pytest.raises(ValueError, match="customer_by: name is for the tables that refer to customers"):
        SourceConfig(tables={"customers": TableMapping(customer_by="name")})


def test_churn_map_knows_words_for_every_closed_vocabulary_of_the_contract():
    from churn.data import TABLES
    from churn.data._mapping import WORDS

    closed = {c.name for spec in TABLES.values() for c in spec.columns if c.allowed is not None}
    assert closed <= set(WORDS)
    for column in closed:  # and each word maps to a value the contract allows
        allowed = next(c.allowed for spec in TABLES.values() for c in spec.columns if c.name == column)
        assert set(WORDS[column]) <= set(allowed), column
