"""What changed since the last run: two crafted runs counted by hand, the report's section and sheet."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from openpyxl import load_workbook
from test_report import make_listing, summary_for

from churn.report import change_counts, changes_since, localize, render_html, run_figures, write_excel
from churn.vocab import NO_OWNER


def run(rows: list[tuple]) -> pd.DataFrame:
    """(customer, risk band, lapsed, owner, expected loss) rows as a run's archived list."""
    return pd.DataFrame(rows, columns=["customer_id", "risk_band", "lapsed", "owner", "expected_loss"]).astype(
        {"customer_id": "string", "owner": "string"})


BEFORE = run([
    ("A", "high", False, "AM-1", 100.0),    # at risk -> still at risk
    ("B", "high", False, "AM-1", 90.0),     # at risk -> safe: no longer at risk
    ("C", "medium", False, "AM-2", 80.0),   # at risk -> lapsed: lost
    ("D", "low", False, "AM-2", 10.0),      # safe -> at risk: new at risk
    ("E", "high", True, "AM-1", 70.0),      # lapsed -> safe: recovered
    ("F", "high", True, None, 60.0),        # lapsed -> at risk: recovered
    ("G", "low", False, "AM-2", 5.0),       # safe -> gone (not scored any more): lost
    ("H", "low", False, "AM-1", 4.0),       # safe -> safe: no change
    ("I", "high", True, "AM-2", 50.0),      # lapsed -> lapsed: no change
])
NOW = run([
    ("A", "high", False, "AM-1", 110.0),
    ("B", "low", False, "AM-1", 20.0),
    ("C", "high", True, "AM-2", 85.0),
    ("D", "medium", False, "AM-1", 30.0),   # changed owner: counted for the current one
    ("E", "low", False, "AM-1", 3.0),
    ("F", "medium", False, None, 40.0),
    ("H", "low", False, "AM-1", 4.0),
    ("I", "high", True, "AM-2", 55.0),
    ("J", "high", False, "AM-2", 66.0),     # new customer, at risk: new at risk
])


def test_changes_between_two_crafted_runs_equal_a_hand_count():
    changes = changes_since(BEFORE, NOW).set_index("customer_id")
    assert changes["change"].to_dict() == {
        "A": "still_at_risk", "B": "no_longer_at_risk", "C": "lost", "D": "new_at_risk", "E": "recovered",
        "F": "recovered", "G": "lost", "J": "new_at_risk"}
    assert changes.loc["G", "now"] == "gone" and changes.loc["G", "owner"] == "AM-2"  # gone: the previous owner
    assert changes.loc["D", "owner"] == "AM-1"
    counts = change_counts(changes)
    # by hand: AM-1 A still, B no longer, D new, E recovered; AM-2 C lost, G lost, J new; no owner F recovered
    assert counts.to_dict(orient="index") == {
        "AM-1": {"new_at_risk": 1, "no_longer_at_risk": 1, "recovered": 1, "lost": 0, "still_at_risk": 1},
        "AM-2": {"new_at_risk": 1, "no_longer_at_risk": 0, "recovered": 0, "lost": 2, "still_at_risk": 0},
        NO_OWNER: {"new_at_risk": 0, "no_longer_at_risk": 0, "recovered": 1, "lost": 0, "still_at_risk": 0},
        "total": {"new_at_risk": 2, "no_longer_at_risk": 1, "recovered": 2, "lost": 2, "still_at_risk": 1},
    }


def test_a_run_from_before_lapsed_customers_counts_nobody_as_lapsed():
    old = BEFORE.drop(columns="lapsed")
    changes = changes_since(old, NOW).set_index("customer_id")
    assert "recovered" not in set(changes["change"])  # nobody was lapsed before
    assert changes.loc["E", "change"] == "no_longer_at_risk" and changes.loc["I", "change"] == "lost"


def test_run_figures_for_the_trend():
    figures = run_figures({"2026-09-24": BEFORE, "2026-10-01": NOW})
    assert figures["as_of"].tolist() == ["2026-09-24", "2026-10-01"]
    assert figures["at_risk"].tolist() == [3, 4] and figures["lapsed"].tolist() == [3, 2]
    assert figures["value_at_risk"].tolist() == [270.0, 110.0 + 30.0 + 40.0 + 66.0]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_report_shows_the_changes_per_owner_and_the_trend(language):
    current = make_listing(120, seed=11)
    earlier = make_listing(120, seed=12)  # the same customers, other scores: a previous week
    older = make_listing(100, seed=13)
    runs = {"2026-09-17": older, "2026-09-24": earlier}
    html = render_html(current, summary_for(current), language, earlier_runs=runs)
    t = localize.TEXT[language]
    assert t["since_title"].format(date="2026-09-24") in html
    table = re.search(r'id="since-last-run">(.*?)</table>', html, re.S).group(1)
    counts = change_counts(changes_since(earlier, current))
    total = re.findall(r'<td class="num">(\d[\d,]*)</td>', re.search(r"<tfoot>(.*?)</tfoot>", table, re.S).group(1))
    assert [int(x.replace(",", "")) for x in total] == counts.loc["total"].tolist()
    for owner, row in counts.drop(index="total").iterrows():
        cells = re.search(rf'<tr data-owner="{re.escape(owner)}">(.*?)</tr>', table, re.S).group(1)
        assert [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', cells)] == row.tolist()
    trend = re.search(r'id="trend-at-risk">(.*?)</figure>', html, re.S).group(1)
    assert all(d in trend for d in ("2026-09-17", "2026-09-24", "2026-10-01"))
    # the workbook has the changed customers, next to the full list
    buffer = io.BytesIO()
    write_excel(current, buffer, language, earlier_runs=runs)
    wb = load_workbook(buffer)
    ws = wb.worksheets[1]
    assert ws.title == t["sheet_changes"]
    words = [c.value for c in ws["C"][1:]]
    expected = changes_since(earlier, current)["change"].map(localize.CHANGES[language]).tolist()
    assert words == expected and len(words) > 0


def test_no_earlier_run_says_so():
    current = make_listing(50, seed=1)
    html = render_html(current, summary_for(current), "en", earlier_runs={})
    assert 'id="since-none"' in html and 'id="since-last-run"' not in html
    later = render_html(current, summary_for(current), "en", earlier_runs={"2027-01-01": current})
    assert 'id="since-none"' in later  # a run from after this one is not "the last run"


def _stages(**by_customer: str) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": list(by_customer), "lifecycle_stage": list(by_customer.values())})


def test_lifecycle_flows_count_each_move_since_the_previous_run():
    from churn.report import NOT_LISTED, lifecycle_flows

    before = _stages(a="new", b="growing", c="mature", d="mature", e="declining")
    now = _stages(a="growing", b="growing", c="declining", d="declining", f="new")  # e gone, f new to the list
    got = lifecycle_flows(before, now, "2026-09-01")
    assert got["stages"] == {"new": 1, "growing": 2, "mature": 0, "declining": 2, "lapsed": 0}
    assert got["flows"] == {"new": {"growing": 1}, "mature": {"declining": 2}, "declining": {NOT_LISTED: 1},
                            NOT_LISTED: {"new": 1}}  # b stayed growing: not a move
    assert got["since"] == "2026-09-01"
    # the first run, or a previous list from before stages: stages only, nothing to compare with
    assert lifecycle_flows(None, now)["flows"] == {} and lifecycle_flows(None, now)["since"] is None
    stageless = lifecycle_flows(before.drop(columns="lifecycle_stage"), now, "2026-09-01")
    assert stageless["flows"] == {} and stageless["since"] is None
