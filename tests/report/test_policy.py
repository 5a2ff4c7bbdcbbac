"""The differentiated service policy: the playbook's action per segment, need profile and cause, and the win-back
action, as a section of the report and a sheet of the workbook (en, zh)."""

import io

import pytest
from openpyxl import load_workbook
from test_report import make_listing, summary_for

from churn.action import load_playbook, service_policy
from churn.report import localize, policy_table, render_html, write_excel


@pytest.fixture(scope="module")
def policy():
    playbook = load_playbook("configs/playbook.yaml")
    return service_policy(playbook), {name: a.label for name, a in playbook.actions.items()}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_policy_reads_in_the_report_language(policy, language):
    table = policy_table(*policy, language)
    columns = localize.COLUMNS[language]
    assert list(table.columns[:3]) == [columns["segment"], columns["lifecycle_stage"], columns["need_profile"]]
    assert len(table) == 32 and table.columns[-1] == localize.TEXT[language]["policy_winback"]
    price, none = localize.NEED_PROFILES[language]["price"], localize.NEED_PROFILES[language]["none"]
    high = table.iloc[:, 0] == localize.VALUE_TIERS[language]["high"]
    other, new = localize.TEXT[language]["policy_other_stages"], localize.LIFECYCLE_STAGES[language]["new"]
    engagement = localize.CAUSES[language]["engagement"]
    # a price-sensitive high-value customer drifting away gets the pricing offer, a new one without a need the
    # onboarding visit, in the page's words
    row = table[high & (table.iloc[:, 1] == other) & (table.iloc[:, 2] == price)].iloc[0]
    assert row[engagement] == localize.action_label("pricing_offer", policy[1]["pricing_offer"], language)
    row = table[high & (table.iloc[:, 1] == new) & (table.iloc[:, 2] == none)].iloc[0]
    assert row[engagement] == localize.action_label("onboarding_visit", policy[1]["onboarding_visit"], language)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_report_and_workbook_show_the_policy(policy, language):
    listing = make_listing(n=60)
    t = localize.TEXT[language]
    html = render_html(listing, summary_for(listing), language, policy=policy)
    section = html.split('<section id="policy">')[1].split("</section>")[0]
    assert f"<h2>{t['sheet_policy']}</h2>" in section and section.count("<tr") == 33  # heading row and 32 rows
    assert '<section id="policy">' not in render_html(listing, summary_for(listing), language)
    buffer = io.BytesIO()
    write_excel(listing, buffer, language, policy=policy)
    wb = load_workbook(buffer)
    assert wb.sheetnames[-2:] == [t["sheet_structure"], t["sheet_policy"]]
    assert wb[t["sheet_policy"]].max_row == 33
