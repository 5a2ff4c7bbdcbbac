"""Satisfaction and complaints: scores and complaints by quarter, segment and owner as of the run's date, the
open complaints of customers at risk, churn by complaints in the history; the section and sheets (en, zh)."""

import io

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from test_report import make_listing, summary_for

from churn.data import point_in_time
from churn.report import localize, render_html, satisfaction_analysis, write_excel
from churn.vocab import at_risk_flags

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture(scope="module")
def listing():
    return make_listing(n=120)


def crafted(listing: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """Surveys and tickets of one customer at risk (a) and one not at risk (b), as known before AS_OF (the view the
    report stage passes: `churn.data.point_in_time`)."""
    risky = at_risk_flags(listing)
    a = str(listing.loc[risky, "customer_id"].iloc[0])
    b = str(listing.loc[~risky & ~listing["lapsed"], "customer_id"].iloc[0])
    tickets = pd.DataFrame({
        "customer_id": [a, a, a, b, b],
        "ts": pd.to_datetime(["2026-09-01", "2026-06-01", "2026-06-02", "2026-09-20", "2026-10-01"]),
        "category": ["billing", "delivery", "other", "quality", "price"],
        "is_complaint": [True, True, False, True, True],  # a's "other" ticket is a question, not a complaint
        # b's quality complaint is resolved only after the as-of date: still open then; b's last is not seen yet
        "resolved_ts": pd.to_datetime([None, "2026-06-11", "2026-06-03", "2026-10-05", None]),
    })
    surveys = pd.DataFrame({
        "customer_id": [a, b, b], "ts": pd.to_datetime(["2026-08-01", "2026-08-15", "2026-10-02"]),
        "score": [6.0, 8.0, 1.0], "price_score": [4.0, 8.0, 1.0], "service_score": [7.0, 9.0, 1.0],
        "quality_score": [7.0, 7.0, 1.0],
    })
    view, _ = point_in_time({"surveys": surveys, "tickets": tickets}, AS_OF)
    return view["surveys"], view["tickets"], a, b


def test_scores_and_complaints_by_quarter_as_of_the_run(listing):
    surveys, tickets, a, b = crafted(listing)
    table = satisfaction_analysis(surveys, tickets, listing, None, AS_OF)["satisfaction"]
    quarters = table[table["dimension"] == "quarter"].set_index("group")
    assert list(quarters.index) == ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    q3, q2 = quarters.loc["2026Q3"], quarters.loc["2026Q2"]
    # the survey and the complaint on or after the as-of date are not seen
    assert (q3["surveys"], q3["score"], q3["price_score"], q3["quality_score"]) == (2, 7.0, 6.0, 7.0)
    assert (q3["complaints"], q3["complaints_price"], q3["complaints_quality"], q3["complaints_service"]) == (2, 1, 1, 0)
    assert q3["open_complaints"] == 2 and np.isnan(q3["resolution_days"])  # resolved after the as-of: still open
    assert (q2["complaints"], q2["complaints_service"], q2["resolution_days"], q2["open_complaints"]) == (1, 1, 10.0, 0)
    assert quarters.loc["2025Q3", "complaints"] == 0 and np.isnan(quarters.loc["2025Q3", "score"])


def test_by_segment_and_owner_over_the_scored_customers(listing):
    surveys, tickets, a, b = crafted(listing)
    table = satisfaction_analysis(surveys, tickets, listing, None, AS_OF)["satisfaction"]
    risky = at_risk_flags(listing)
    segments = table[table["dimension"] == "segment"].set_index("group")
    assert segments["customers"].sum() == len(listing) and segments["at_risk"].sum() == risky.sum()
    seg_a = listing.set_index("customer_id").loc[a, "segment"]
    assert segments.loc[seg_a, "complaints"] >= 2  # a's two complaints of the year (b's too if it shares the segment)
    owners = table[table["dimension"] == "owner"]
    assert owners["customers"].sum() == len(listing) and owners["complaints"].sum() == 3
    assert "(no owner)" in set(owners["group"])  # customers without an owner are a group of their own


def test_open_complaints_are_those_of_customers_at_risk(listing):
    surveys, tickets, a, b = crafted(listing)
    still = satisfaction_analysis(surveys, tickets, listing, None, AS_OF)["open_complaints"]
    assert still[["customer_id", "category", "opened", "days_open"]].values.tolist() == [[a, "billing", "2026-09-01",
                                                                                          30.0]]


def test_churn_by_complaints_and_time_to_resolve_from_the_history():
    examples = pd.DataFrame({
        "churned": [0, 0, 1, 0, 1, 1, 0, 1],
        "complaints_price_365": [0, 0, 1, 1, 2, 3, 0, 4],
        "complaints_service_365": [0, 0, 0, 0, 1, 1, 0, 1],
        "resolution_days_365": [None, None, 1.0, 1.5, 8.0, 20.0, None, 30.0],
    })
    link = satisfaction_analysis(None, None, make_listing(n=10), examples, AS_OF)["churn_link"]
    by = link.set_index(["measure", "group"])
    assert by.loc[("complaints_365", "0"), ["customers", "churned"]].tolist() == [3, 0]
    assert by.loc[("complaints_365", "1"), ["customers", "churned"]].tolist() == [2, 1]
    assert by.loc[("complaints_365", "2-3"), ["customers", "churned"]].tolist() == [1, 1]  # categories summed: 2 + 1
    assert by.loc[("complaints_365", "4+"), ["customers", "churned", "churn_rate"]].tolist() == [2, 2, 1.0]
    assert by.loc[("resolution_days_365", "2-7"), "customers"] == 0
    assert by.loc[("resolution_days_365", "< 2"), ["customers", "churned"]].tolist() == [2, 1]
    assert by.loc[("resolution_days_365", "14+"), ["customers", "churned"]].tolist() == [2, 2]
    assert by.loc[("resolution_days_365", "none resolved"), ["customers", "churned"]].tolist() == [3, 0]
    assert satisfaction_analysis(None, None, make_listing(n=10), None, AS_OF)["churn_link"].empty


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_report_and_workbook_show_satisfaction(listing, language):
    surveys, tickets, a, b = crafted(listing)
    analysis = satisfaction_analysis(surveys, tickets, listing, None, AS_OF)
    t = localize.TEXT[language]
    html = render_html(listing, summary_for(listing), language, satisfaction=analysis)
    section = html.split('<section id="satisfaction">')[1].split("</section>")[0]
    for key in ("satisfaction_title", "satisfaction_table", "sheet_open_complaints", "sheet_complaints_churn"):
        assert t[key] in section
    assert 'id="satisfaction-table"' in section and 'id="open-complaints-table"' in section
    assert localize.SATISFACTION_TERMS[language]["quarter"] in section and "2026Q3" in section
    assert '<section id="satisfaction">' not in render_html(listing, summary_for(listing), language)

    buffer = io.BytesIO()
    write_excel(listing, buffer, language, satisfaction=analysis)
    wb = load_workbook(buffer)
    assert wb.sheetnames[-4:] == [t["sheet_structure"], t["sheet_satisfaction"], t["sheet_open_complaints"],
                                  t["sheet_complaints_churn"]]
    still = wb[t["sheet_open_complaints"]]
    assert still.max_row == 2 and still["A2"].value == a
    assert still["A1"].value == localize.COLUMNS[language]["customer_id"]


def test_the_page_shows_the_largest_open_complaints_and_the_workbook_all(listing):
    risky = at_risk_flags(listing)
    ids = listing.loc[risky, "customer_id"].astype(str).tolist()
    n = 130
    tickets = pd.DataFrame({"customer_id": [ids[i % len(ids)] for i in range(n)],
                            "ts": pd.Timestamp("2026-09-01") + pd.to_timedelta(range(n), unit="h"),
                            "category": "service", "is_complaint": True, "resolved_ts": pd.NaT})
    analysis = satisfaction_analysis(None, tickets, listing, None, AS_OF)
    assert len(analysis["open_complaints"]) == n
    html = render_html(listing, summary_for(listing), "en", satisfaction=analysis)
    table = html.split('id="open-complaints-table"')[1].split("</table>")[0]
    assert table.count("<tr") == 101 and "The 100 of the largest expected loss of 130" in html
    buffer = io.BytesIO()
    write_excel(listing, buffer, "en", satisfaction=analysis)
    assert load_workbook(buffer)["Open complaints"].max_row == n + 1
