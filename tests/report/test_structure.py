"""The customer structure: customers, value and risk per value tier, key-account status, lifecycle stage, need
profile, segment and region, the Pareto curve of value, and its sheet in the workbook (en, zh)."""

import io

import pandas as pd
import pytest
from openpyxl import load_workbook
from test_report import make_listing

from churn.report import customer_structure, pareto_curve, write_excel
from churn.vocab import at_risk_flags


@pytest.fixture(scope="module")
def listing():
    return make_listing(n=400)


def test_each_dimension_accounts_for_every_customer_and_all_value(listing):
    structure = customer_structure(listing)
    assert list(structure["dimension"].unique()) == ["value_tier", "is_key_account", "lifecycle_stage",
                                                     "need_profile", "segment", "region"]
    value = listing["value_12m"].clip(lower=0).sum()
    for dimension, rows in structure.groupby("dimension", sort=False):
        assert rows["customers"].sum() == len(listing), dimension
        assert rows["customer_share"].sum() == pytest.approx(1.0)
        assert rows["value_12m"].sum() == pytest.approx(value, rel=1e-6)
        assert rows["at_risk"].sum() == at_risk_flags(listing).sum()
    tiers = structure[structure["dimension"] == "value_tier"].set_index("group")
    assert list(tiers.index) == ["high", "medium", "low"]  # in the vocabulary's order, not by size
    high = listing[listing["value_tier"] == "high"]
    assert tiers.loc["high", "customers"] == len(high)
    assert tiers.loc["high", "expected_loss"] == pytest.approx(high["expected_loss"].sum(), abs=0.01)


def test_the_pareto_curve_is_the_share_of_value_the_largest_customers_hold():
    small = pd.DataFrame({"value_12m": [50.0, 30.0, 10.0, 5.0, 5.0, 0.0, 0.0, 0.0, 0.0, -3.0]})
    curve = pareto_curve(small, (0.1, 0.2, 0.5))
    assert curve["customers"].tolist() == [1, 2, 5]
    assert curve["value_share"].tolist() == pytest.approx([0.5, 0.8, 1.0])


@pytest.mark.parametrize("language, sheet, heading, tier", [
    ("en", "Customer structure", "Share of value", "High value"),
    ("zh", "客户结构", "价值占比", "高价值"),
])
def test_the_workbook_has_a_customer_structure_sheet(listing, language, sheet, heading, tier):
    buffer = io.BytesIO()
    write_excel(listing, buffer, language)
    ws = load_workbook(buffer)[sheet]
    rows = list(ws.values)
    assert heading in rows[0]
    assert any(tier in row for row in rows[1:])
    share = rows[0].index(heading)
    tiers = [row for row in rows[1:] if row[1] in (tier,)]
    assert len(tiers) == 1 and 0 < tiers[0][share] <= 1
    assert sum(1 for row in rows[1:] if row[0] == rows[-1][0]) == 5  # the Pareto rows last: top 1%, 5%, ... 50%


@pytest.mark.parametrize("language, title, tier, key", [("en", "Customer structure", "High value", "yes"),
                                                        ("zh", "客户结构", "高价值", "是")])
def test_the_report_has_a_customer_structure_section(listing, language, title, tier, key):
    from test_report import summary_for

    from churn.report import render_html

    html = render_html(listing, summary_for(listing), language)
    section = html[html.index('<section id="structure">'):]
    section = section[:section.index("</section>")]
    assert f"<h2>{title}</h2>" in section and 'id="structure-table"' in section
    assert f"<td>{tier}</td>" in section and f"<td>{key}</td>" in section
    # one row per group of every dimension and the five Pareto rows
    rows = section.count("<tr") - 1
    assert rows == len(customer_structure(listing)) + 5


def test_the_structure_moves_since_the_previous_run(listing):
    previous = listing.iloc[:300].copy()
    previous["value_tier"] = "low"  # every customer was low value then
    previous = previous.drop(columns="need_profile")  # a run from before need profiles
    moved = customer_structure(listing, previous).set_index(["dimension", "group"])
    now = customer_structure(listing).set_index(["dimension", "group"])
    tiers = moved.loc["value_tier"]
    assert tiers.loc["high", "customers_change"] == now.loc[("value_tier", "high"), "customers"]  # from 0
    assert tiers.loc["low", "customers_change"] == now.loc[("value_tier", "low"), "customers"] - 300
    assert tiers["customers_change"].sum() == len(listing) - 300 == moved.loc["segment", "customers_change"].sum()
    assert moved.loc["segment", "value_change"].sum() == pytest.approx(
        now.loc["segment", "value_12m"].sum() - previous["value_12m"].clip(lower=0).sum(), abs=0.1)
    assert moved.loc["need_profile", "customers_change"].isna().all()  # the previous run did not have it
    assert "customers_change" not in customer_structure(listing).columns


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_report_and_sheet_show_the_moves_after_a_run(listing, language):
    from test_report import summary_for

    from churn.report import localize, render_html

    earlier = {"2000-01-01": listing.iloc[:300]}
    heading = localize.COLUMNS[language]["customers_change"]
    html = render_html(listing, summary_for(listing), language, earlier_runs=earlier)
    section = html.split('<section id="structure">')[1].split("</section>")[0]
    high = customer_structure(listing, listing.iloc[:300]).set_index(["dimension", "group"]).loc[("value_tier", "high")]
    assert heading in section and f"<td class=\"num\">{int(high['customers_change']):+,}</td>" in section
    buffer = io.BytesIO()
    write_excel(listing, buffer, language, earlier_runs=earlier)
    sheet = load_workbook(buffer)[localize.TEXT[language]["sheet_structure"]]
    assert heading in [c.value for c in sheet[1]]
    assert heading not in render_html(listing, summary_for(listing), language)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_lifecycle_moves_since_the_previous_run(listing, language):
    from test_report import summary_for

    from churn.report import lifecycle_flows, localize, render_html
    from churn.report._structure import lifecycle_moves_table

    previous = listing.iloc[50:].copy()  # the first 50 are new to the list; none has left it
    previous["lifecycle_stage"] = "mature"
    lifecycle = lifecycle_flows(previous, listing, "2000-01-01")  # what the decide stage's summary holds
    table = lifecycle_moves_table(lifecycle, language).set_index(localize.TEXT[language]["moves_from"])
    words = localize.LIFECYCLE_STAGES[language]
    now = listing["lifecycle_stage"]
    assert table.loc[words["mature"], words["declining"]] == (now.iloc[50:] == "declining").sum() > 0
    assert table.loc[words["mature"], words["mature"]] == 0  # staying is not a move
    not_listed = localize.TEXT[language]["not_listed"]
    assert table.loc[not_listed].sum() == 50 and table[not_listed].sum() == 0
    assert table.loc[words["mature"]].sum() == (now.iloc[50:] != "mature").sum()
    html = render_html(listing, summary_for(listing, lifecycle=lifecycle), language)
    section = html.split('<section id="lifecycle-moves">')[1].split("</section>")[0]
    assert localize.TEXT[language]["moves_title"].format(date="2000-01-01") in section
    assert '<section id="lifecycle-moves">' not in render_html(listing, summary_for(listing), language)
    # a previous run from before stages: nothing to compare, no section
    stageless = lifecycle_flows(previous.drop(columns="lifecycle_stage"), listing, "2000-01-01")
    assert stageless["since"] is None and lifecycle_moves_table(stageless, language) is None
    buffer = io.BytesIO()
    write_excel(listing, buffer, language, lifecycle=lifecycle)
    assert load_workbook(buffer).sheetnames[-1] == localize.TEXT[language]["sheet_moves"]
