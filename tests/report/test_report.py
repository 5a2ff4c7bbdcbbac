"""The managers' report: self-contained HTML in English and Chinese, masking, and the Excel workbook."""

from __future__ import annotations

import io
import re
import string

import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG
from openpyxl import load_workbook

from churn.action import apply_plan, decide, load_playbook, playbook_actions
from churn.config import DecideConfig, load_config
from churn.report import (
    PROBABILITY_FILLS,
    localize,
    render_html,
    render_reasons,
    sheet_name,
    write_excel,
)
from churn.score import (
    REASON_KEYS,
    lapsed_customers,
    lifecycle_stages,
    need_profiles,
    reason_codes,
    risk_bands,
    value_tiers,
)
from churn.vocab import DECISION_COLUMNS, DECISIONS, LIST_CAUSES, LIST_COLUMNS, PERSONAL_COLUMNS

LANGUAGES = ["en", "zh"]
AS_OF = "2026-10-01"
# Owners that Excel cannot take as sheet names as they are: forbidden characters, too long, equal
# once cut to 31 characters, equal ignoring case, Excel's reserved "History".
OWNERS = [
    "AM-01 Wang Ming", "AM-02 Li Na", "KAM [North]: Zhang/Wei*?", "AM-04 Alexandra Konstantinopoulou-North",
    "AM-04 Alexandra Konstantinopoulou-South", "am-01 wang ming", "History",
]
DECIDE = load_config(CONFIG).decide  # the configured priors, read not copied
SECRET_NAMES = ["Renji Hospital Pharmacy", "St. Mary's Clinic", "=HYPERLINK(\"http://evil\")", "</script><b>x</b>"]


def make_listing(n: int = 300, seed: int = 3, owners: list[str | None] | None = None,
                 planned: bool = True) -> pd.DataFrame:
    """A retention list built like the score and decide stages build it (same columns and dtypes), from the real
    risk bands, value tiers, playbook, reasons and contact plan (budget cut, 10% holdout), without training a
    model. `planned=False`: a list from before contact plans (no plan columns)."""
    rng = np.random.default_rng(seed)
    owners = OWNERS + [None] if owners is None else owners
    out = pd.DataFrame({"customer_id": pd.array([f"C{i:05d}" for i in range(n)], dtype="string")})
    for column in PERSONAL_COLUMNS:  # a customers table without them: empty, as the score stage leaves them
        out[column] = pd.array([None] * n, dtype="string")
    out["churn_probability"] = np.round(rng.beta(0.6, 2.5, n), 4)
    out["risk_band"] = risk_bands(out["churn_probability"], {"high": 0.5, "medium": 0.25})
    out["value_12m"] = np.round(rng.lognormal(9, 1.5, n), 2)
    out["value_tier"] = value_tiers(out["value_12m"], {"high": 0.6, "medium": 0.9})
    out["is_key_account"] = rng.random(n) < 0.1
    out["key_account_rule"] = pd.array(np.where(out["is_key_account"], "flag", None), dtype="string")
    out["forecast_value_12m"] = np.round(out["value_12m"] * rng.uniform(0.5, 1.2, n), 2)
    out["value_if_retained_12m"] = np.round(out["forecast_value_12m"] * 1.1, 2)
    out["owner"] = pd.array([owners[i % len(owners)] for i in rng.permutation(n)], dtype="string")
    out["segment"] = pd.array(rng.choice(["hospital", "pharmacy", "clinic", "distributor"], n), dtype="string")
    out["region"] = pd.array(rng.choice(["East", "North", "Northeast", "Atlantis"], n), dtype="string")
    out["primary_cause"] = [LIST_CAUSES[i % len(LIST_CAUSES)] for i in range(n)]
    out["cause_share"] = np.round(rng.uniform(0.35, 1, n), 3)
    out["secondary_cause"] = [LIST_CAUSES[(i + 2) % len(LIST_CAUSES)] if i % 3 else None for i in range(n)]
    out = out.join(playbook_actions(out, load_playbook("configs/playbook.yaml"), ["high", "medium"]))
    out["expected_loss"] = (out["churn_probability"] * out["value_12m"]).round(2)
    features = pd.DataFrame({
        "orders_90": rng.integers(0, 10, n), "orders_prev_90": rng.integers(0, 12, n),
        "recency_days": rng.uniform(0, 200, n), "ipt_mean_days": rng.uniform(5, 40, n),
        "discount_trend": rng.choice([0.0, -0.05], n), "discount_prev_90": 0.12, "discount_90": 0.07,
        "complaints_billing_90": rng.integers(0, 3, n), "complaints_quality_90": rng.integers(0, 3, n),
        "open_tickets": rng.integers(0, 3, n), "open_ticket_age_max": rng.uniform(1, 60, n),
        "resolution_days_365": rng.uniform(0, 20, n), "returns_share_365": rng.uniform(0, 0.1, n),
        "service_score_mean_180": rng.uniform(2, 10, n), "days_since_visit": rng.choice([np.nan, 30.0, 90.0], n),
        "outbound_prev_90": rng.integers(0, 20, n), "outbound_90": rng.integers(0, 5, n),
        "tenure_days": rng.uniform(30, 900, n), "revenue_trend": rng.uniform(-0.6, 0.6, n),
    })
    out = out.join(lapsed_customers(features, load_config(CONFIG).score.lapsed))
    out["lifecycle_stage"] = lifecycle_stages(features, out["lapsed"], load_config(CONFIG).score.lifecycle)
    out = out.join(need_profiles(features, load_config(CONFIG).score.needs))
    out["reason_codes"] = reason_codes(features, out["primary_cause"], 90)
    out["reasons"] = render_reasons(out["reason_codes"], "en")
    out["model_version"] = "churn v3"
    out["as_of"] = AS_OF
    out = out.sort_values(["expected_loss", "customer_id"], ascending=[False, True])
    out = out[LIST_COLUMNS].reset_index(drop=True)
    if not planned:
        return out
    playbook = load_playbook("configs/playbook.yaml")
    cfg = DecideConfig(budget=n * 8.0, winback_budget=n * 1.0, effects=DECIDE.effects, holdout_share=0.1, seed=seed)
    return apply_plan(out, decide(out, playbook, cfg), playbook)


def with_contacts(listing: pd.DataFrame) -> pd.DataFrame:
    out = listing.copy()
    k = len(out)
    out["name"] = pd.array([SECRET_NAMES[i % len(SECRET_NAMES)] + f" {i}" for i in range(k)], dtype="string")
    out["email"] = pd.array([f"buyer{i}@renji-hospital.example.cn" for i in range(k)], dtype="string")
    out["phone"] = pd.array([f"+86 21 6438 {5500 + i:04d}" for i in range(k)], dtype="string")
    out.loc[3, ["name", "email", "phone"]] = pd.NA
    return out


@pytest.fixture(scope="module")
def listing() -> pd.DataFrame:
    return make_listing()


def summary_for(listing: pd.DataFrame, **extra) -> dict:
    return {"as_of": AS_OF, "model": "churn v3", "customers_scored": len(listing),
            "rows_set_aside": {"orders": 168, "tickets": 0}} | extra


# ------------------------------------------------------------------------------------------- HTML

@pytest.mark.parametrize("language", LANGUAGES)
def test_html_is_self_contained_and_has_every_customer(listing, language):
    html = render_html(listing, summary_for(listing, model_grade="B"), language)
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#|data:)""", html, re.I)  # no linked resource at all
    assert not re.search(r"@import|url\(", html)
    assert "<style>" in html and "<script>" in html
    for cid in listing["customer_id"]:
        assert f'"{cid}"' in html
    assert re.search(r'class="grade-value">\s*B\s*<', html)
    assert re.search(rf'id="as-of">{AS_OF}<', html)
    assert 'id="shown-count"' in html and 'id="model-name">churn v3<' in html
    assert 'id="model-refit"' not in html  # a model that was not refit says nothing


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_refit_model_says_so_beside_its_name(listing, language):
    html = render_html(listing, summary_for(listing, model_refit={"windows": 11, "until": "2026-07-03"}), language)
    said = localize.TEXT[language]["model_refit"].format(windows=11, until="2026-07-03")
    assert f'<span id="model-refit">({said})</span>' in html and "11" in said and "2026-07-03" in said
    assert 'id="grade-note"' not in html
    split = render_html(listing, summary_for(listing, model_grade="B", model_holdout="customer_split"), language)
    note = localize.TEXT[language]["grade_customer_split"]
    assert f'<span class="grade-label" id="grade-note">{note}</span>' in split


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("kind", "english"), [
    ("rfm_logistic", "baseline rfm_logistic: best on the holdout"),
    ("bgnbd", "baseline bgnbd: best on the holdout"),
    ("bgnbd_fallback", "BG/NBD: no complete window yet"),
    ("lightgbm", None),
])
def test_the_kind_of_model_that_ranked_the_list_is_said_in_the_readers_language(listing, language, kind, english):
    html = render_html(listing, summary_for(listing, model_kind=kind), language)
    said = re.search(r'<span id="model-kind">\((.*?)\)</span>', html)
    if english is None:  # the LightGBM model is the default: nothing to add
        assert said is None
        return
    assert said is not None
    if language == "en":
        assert said.group(1) == english
    else:
        assert said.group(1) != english and re.search(r"[\u4e00-\u9fff]", said.group(1))
        assert kind == "bgnbd_fallback" or kind in said.group(1)


@pytest.mark.parametrize("language", LANGUAGES)
def test_headline_figures(language):
    # a list from before contact plans: the plan's figures come from the run's summary
    listing = make_listing(planned=False)
    at_risk = listing["risk_band"].isin(["high", "medium"]) & ~listing["lapsed"]  # lapsed: the win-back list
    assert listing["lapsed"].any()
    html = render_html(listing, summary_for(listing), language)
    value_at_risk = f"{listing.loc[at_risk, 'expected_loss'].sum():,.0f}"
    assert re.search(rf'id="kpi-value-at-risk">.*?kpi-value">{value_at_risk}<', html, re.S)
    assert re.search(rf'id="kpi-at-risk">.*?kpi-value">{at_risk.sum():,}<', html, re.S)
    assert re.search(rf'id="kpi-scored">.*?kpi-value">{len(listing):,}<', html, re.S)
    missing = localize.TEXT[language]["not_available"]
    assert re.search(rf'id="kpi-budget">.*?kpi-value">{missing}<', html, re.S)
    assert re.search(rf'class="grade-value">\s*{missing}\s*<', html)
    with_budget = render_html(listing, summary_for(listing, budget=50000, budget_used=12345.6,
                                                   expected_value_retained=2345678.9), language)
    assert re.search(r'id="kpi-budget">.*?kpi-value">12,346 \S+ 50,000<', with_budget, re.S)
    assert re.search(r'id="kpi-retained">.*?kpi-value">2,345,679<', with_budget, re.S)
    t = localize.TEXT[language]
    assert t["prior_note"] not in with_budget  # no plan details given: no note
    sources = {"rep_visit": {"source": "campaigns table"}, "check_in_call": {"source": "prior (config)"}}
    planned = render_html(listing, summary_for(listing, budget=50000, budget_used=100.0, expected_value_retained=1.0,
                                               decisions={"n_holdout": 37}, action_effects=sources), language)
    assert t["holdout_note"].format(n="37") in planned
    # named in words, never by code
    label = localize.action_label("rep_visit", "Rep visit with product update", language)
    assert t["measured_note"].format(actions=label) in planned and "rep_visit" not in re.sub(
        r'<script type="application/json".*?</script>', "", planned, flags=re.S)
    assumed = render_html(listing, summary_for(listing, action_effects={"rep_visit": {"source": "prior (config)"}}),
                          language)
    assert t["prior_note"] in assumed


def amount(text: str) -> float:
    """An amount as the report writes it ("¥12,345", "12,345 CHF", "-¥3") back to a number."""
    number = re.sub(r"[^0-9.\-]", "", text.replace(",", ""))
    return float(number) if number not in ("", "-") else 0.0


def owner_table(html: str) -> dict[str, list[str]]:
    """The owner table's rows by owner key, plus "TOTAL": the cells as text."""
    table = re.search(r'id="by-owner">(.*?)</table>', html, re.S).group(1)
    rows = {key: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for key, row in re.findall(r'<tr class="pick" data-owner="([^"]*)">(.*?)</tr>', table, re.S)}
    rows["TOTAL"] = re.findall(r"<td[^>]*>(.*?)</td>", re.search(r"<tfoot>(.*?)</tfoot>", table, re.S).group(1))
    return rows


def owner_sheets(wb, language: str) -> list:
    """The owners' sheets: every sheet but the full list, the win-back list and the analyses after the owners."""
    apart = {localize.TEXT[language][s] for s in ("sheet_list", "sheet_winback", "sheet_structure", "sheet_moves",
                                                  "sheet_policy", "sheet_satisfaction", "sheet_open_complaints",
                                                  "sheet_complaints_churn")}
    return [ws for ws in wb.worksheets if ws.title not in apart]


@pytest.mark.parametrize("language", LANGUAGES)
def test_totals_agree_across_headline_owner_table_list_and_workbook(listing, language):
    # the run's summary says something else on purpose: the figures must come from the list itself
    html = render_html(listing, summary_for(listing, budget=2400.0, budget_used=1.0, expected_value_retained=2.0,
                                            winback={"budget": 300.0}), language, currency="CNY")
    contacted = listing["decision"] == "chosen"
    cost, retained = listing.loc[contacted, "contact_cost"].sum(), listing.loc[contacted, "expected_retained_value"].sum()
    kept = contacted & ~listing["lapsed"]
    assert cost > listing.loc[kept, "contact_cost"].sum() > 0 and retained > 0
    # the retention budget line and the win-back line: together, the owner table's cost of contacts
    headline = re.search(r'id="kpi-budget">.*?kpi-value">(.*?)<', html, re.S).group(1)
    assert headline == f"¥{listing.loc[kept, 'contact_cost'].sum():,.0f} {localize.TEXT[language]['budget_of']} ¥2,400"
    kpi_retained = re.search(r'id="kpi-retained">.*?kpi-value">(.*?)<', html, re.S).group(1)
    assert kpi_retained == f"¥{listing.loc[kept, 'expected_retained_value'].sum():,.0f}"
    back = contacted & listing["lapsed"]
    winback = re.search(r'id="kpi-winback">.*?kpi-value">(.*?)<.*?kpi-note">(.*?)<', html, re.S)
    assert winback.group(1) == f"{listing['lapsed'].sum():,}"
    assert f"¥{listing.loc[back, 'contact_cost'].sum():,.0f} {localize.TEXT[language]['budget_of']} ¥300" in winback.group(2)
    rows = owner_table(html)
    # columns: owner, customers, at risk, high risk, % at risk, value at risk, to contact, cost, retained
    assert amount(rows["TOTAL"][6]) == contacted.sum()
    assert rows["TOTAL"][7] == f"¥{cost:,.0f}" and rows["TOTAL"][8] == f"¥{retained:,.0f}"
    by_owner = listing[contacted].groupby(listing["owner"].fillna("(no owner)"))["contact_cost"].sum()
    for owner, cells in rows.items():
        if owner != "TOTAL":
            assert amount(cells[7]) == pytest.approx(round(by_owner.get(owner, 0.0)), abs=0.5), owner
    assert sum(amount(cells[7]) for owner, cells in rows.items() if owner != "TOTAL") == pytest.approx(cost, abs=len(rows))
    # the workbook's owners' sheets hold exactly the contacts, and their costs add up to the same total
    wb = excel(listing, language, currency="CNY")
    heading = localize.COLUMNS[language]["contact_cost"]
    sheet_cost = 0.0
    for ws in owner_sheets(wb, language):
        if ws.max_row > 1:
            col = column_of(ws, heading)
            sheet_cost += sum(c.value for c in ws[col][1:])
            assert ws[f"{col}2"].number_format == '"¥"#,##0'
    assert sheet_cost == pytest.approx(cost)


@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_customers_carry_no_action_anywhere_a_manager_reads(listing, language):
    import json

    held = listing[listing["holdout"]]
    assert len(held) and held["holdout_action"].notna().all() and held["action"].notna().all()
    html = render_html(listing, summary_for(listing), language)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    col = {name: i for i, name in enumerate(data["cols"])}
    rows = {r[col["id"]]: r for r in data["rows"]}
    for cid in held["customer_id"]:
        r = rows[cid]
        assert r[col["decision"]] == "holdout" and r[col["action"]] == "" and r[col["todo"]] == ""
        assert r[col["cost"]] == 0 and r[col["todo_cost"]] == 0 and r[col["retained"]] == 0
    wb = excel(listing, language)
    ws = wb.worksheets[0]
    headings = localize.COLUMNS[language]
    cells = {h: column_of(ws, headings[h]) for h in ("action_label", "contact_label", "decision", "action_cost")}
    ids = [c.value for c in ws["A"][1:]]
    for cid in held["customer_id"]:
        r = ids.index(cid) + 2
        assert ws[f"{cells['decision']}{r}"].value == localize.DECISIONS[language]["holdout"]
        assert ws[f"{cells['action_label']}{r}"].value is None and ws[f"{cells['contact_label']}{r}"].value is None
        assert ws[f"{cells['action_cost']}{r}"].value == 0
    on_owner_sheets = {c.value for s in owner_sheets(wb, language) for c in s["A"][1:]}
    assert not on_owner_sheets & set(held["customer_id"])
    assert all(headings["holdout_action"] != c.value for c in ws[1])  # the held-back action is data, not for managers


@pytest.mark.parametrize("language", LANGUAGES)
def test_win_back_and_retention_lists_are_disjoint(listing, language):
    import json

    lapsed = listing["lapsed"]
    assert 0 < lapsed.sum() < len(listing)
    html = render_html(listing, summary_for(listing), language)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    col = {name: i for i, name in enumerate(data["cols"])}
    ranks = {flag: [r[col["rank"]] for r in data["rows"] if r[col["lapsed"]] is flag] for flag in (True, False)}
    assert ranks[True] == list(range(1, lapsed.sum() + 1)) and ranks[False] == list(range(1, (~lapsed).sum() + 1))
    # the headline's "at risk" counts only customers who can still be kept
    at_risk = listing["risk_band"].isin(["high", "medium"]) & ~lapsed
    assert re.search(rf'id="kpi-at-risk">.*?kpi-value">{at_risk.sum():,}<', html, re.S)
    wb = excel(listing, language)
    t = localize.TEXT[language]
    assert [c.value for c in wb[t["sheet_winback"]]["A"][1:]] == listing.loc[lapsed, "customer_id"].tolist()
    for ws in owner_sheets(wb, language):
        if ws.max_row == 1:
            continue
        section = [c.value for c in ws[column_of(ws, localize.COLUMNS[language]["lapsed"])][1:]]
        ids = [c.value for c in ws["A"][1:]]
        gone = dict(zip(listing["customer_id"], lapsed, strict=True))
        assert section == [t["section_winback"] if gone[i] else t["section_retention"] for i in ids]
        assert section == sorted(section, key=lambda v: v == t["section_winback"])  # retention first


@pytest.mark.parametrize(("currency", "text", "excel_format"), [
    ("CNY", "¥1,235", '"¥"#,##0'), ("USD", "$1,235", '"$"#,##0'), ("CHF", "1,235 CHF", '#,##0" CHF"'),
    (None, "1,235", "#,##0"),
])
def test_every_amount_says_its_currency(currency, text, excel_format):
    from churn.report._frame import excel_money_format, money_format

    assert money_format(currency)(1234.6) == text
    assert money_format(currency)(-1234.6) == "-" + text
    assert excel_money_format(currency) == excel_format


@pytest.mark.parametrize("language", LANGUAGES)
def test_decisions_and_contacts_are_translated(listing, language):
    wb = excel(listing, language)
    ws = wb.worksheets[0]
    headings = localize.COLUMNS[language]
    decisions = {c.value for c in ws[column_of(ws, headings["decision"])][1:]}
    assert decisions == {localize.DECISIONS[language][d] for d in listing["decision"].unique()}
    contacts = {c.value for c in ws[column_of(ws, headings["contact_label"])][1:]} - {None}
    if language == "zh":
        assert contacts <= set(localize.ACTION_LABELS_ZH.values())
    else:
        assert contacts == set(listing["contact_label"].dropna())
    assert set(localize.DECISIONS["en"]) == set(localize.DECISIONS["zh"]) == set(DECISIONS)


@pytest.mark.parametrize(("rule", "en", "zh"), [
    ("flag", "marked a key account in the CRM", "CRM中标记为大客户"),
    ("top 20% of 12-month revenue", "top 20% of 12-month revenue", "近12个月收入前20%"),
    ("segment hospital", "segment hospital", "客户类型：医院"),
    (None, "", ""),
])
def test_a_key_account_says_why_it_is_one(rule, en, zh):
    assert localize.key_account_reason(rule, "en") == en and localize.key_account_reason(rule, "zh") == zh


def test_a_key_account_in_a_low_tier_shows_why_beside_its_tier(listing):
    import json

    ka_low = listing[listing["is_key_account"] & (listing["value_tier"] == "low")]
    assert len(ka_low)
    html = render_html(listing, summary_for(listing), "zh")
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    col = {name: i for i, name in enumerate(data["cols"])}
    rows = {r[col["id"]]: r for r in data["rows"]}
    assert {rows[c][col["ka"]] for c in ka_low["customer_id"]} == {"CRM中标记为大客户"}
    wb = excel(listing, "zh")
    ws = wb.worksheets[0]
    why = column_of(ws, localize.COLUMNS["zh"]["key_account_rule"])
    ids = [c.value for c in ws["A"][1:]]
    assert {ws[f"{why}{ids.index(c) + 2}"].value for c in ka_low["customer_id"]} == {"CRM中标记为大客户"}


def test_breakdowns_and_charts(listing):
    html = render_html(listing, summary_for(listing), "en")
    for table in ("by-segment", "by-region", "by-owner"):
        assert f'id="{table}"' in html
    for chart in ("chart-risk-bands", "chart-value-by-cause", "chart-customers-by-cause"):
        assert re.search(rf'id="{chart}">.*?<svg', html, re.S)
    # the owner table has every owner, and the one row for customers without one
    owners = re.search(r'id="by-owner">(.*?)</table>', html, re.S).group(1)
    assert owners.count('data-owner="') == listing["owner"].nunique() + 1
    assert "(no owner)" in owners
    assert "Rows set aside by data validation: orders 168" in html and "tickets 0" not in html


@pytest.mark.parametrize(("language", "line"), [
    ("en", "Rows pulled = used + set aside: orders 1,000 = 832 + 168; tickets 40 = 40 + 0"),
    ("zh", "读取行数 = 使用 + 剔除: 订单 1,000 = 832 + 168；工单 40 = 40 + 0"),
])
def test_the_footer_accounts_for_every_row(listing, language, line):
    accounting = {"orders": {"pulled": 1000, "kept": 832, "set_aside": 168},
                  "tickets": {"pulled": 40, "kept": 40, "set_aside": 0}}
    html = render_html(listing, summary_for(listing, row_accounting=accounting), language)
    assert re.search(r'id="row-accounting">(.*?)</p>', html).group(1) == line
    assert localize.TEXT[language]["set_aside"] not in html  # the accounting line says it once


def test_chinese_report_translates_causes_bands_tiers_actions_and_reasons(listing):
    html = render_html(listing, summary_for(listing), "zh")
    assert '<html lang="zh-CN">' in html
    for word in ("客户挽留报告", "价格", "服务", "质量", "客户关系", "原因不明", "高风险", "中风险", "低风险",
                 "高价值", "中价值", "低价值", "负责人", "风险价值", "（无负责人）"):
        assert word in html, word
    for action, label in listing[["action", "action_label"]].drop_duplicates().itertuples(index=False):
        assert localize.ACTION_LABELS_ZH[action] in html
        assert label not in html  # the English label is not shown
    assert "orders down" not in html and "complaint" not in html and "天内" in html


def test_html_escapes_data(listing):
    html = render_html(with_contacts(listing), summary_for(listing), "en")
    assert "</script><b>" not in html and "<b>x</b>" not in html
    assert "\\u003c/script\\u003e\\u003cb\\u003ex" in html  # in the JSON data, inert


@pytest.mark.parametrize("language", LANGUAGES)
def test_masking_removes_names_and_contacts_from_html(listing, language):
    frame = with_contacts(listing)
    plain = render_html(frame, summary_for(listing), language)
    masked = render_html(frame, summary_for(listing), language, mask_personal=True)
    assert "Renji Hospital Pharmacy 0" in plain and "buyer0@" in plain
    for column in ("name", "email", "phone"):
        for value in frame[column].dropna():
            assert str(value) not in masked
    assert "Renji" not in masked and "renji-hospital" not in masked and "+86" not in masked
    assert "R*** H*** P*** 0***" in masked
    assert "AM-01 Wang Ming" in masked  # owners are staff: not masked
    assert localize.TEXT[language]["masked"] in masked


def test_unknown_language_is_refused(listing):
    with pytest.raises(ValueError, match="unknown report language 'fr'"):
        render_html(listing, summary_for(listing), "fr")
    with pytest.raises(ValueError, match="unknown report language"):
        write_excel(listing, io.BytesIO(), "de")


def test_list_without_customer_details():
    bare = make_listing(40, owners=[None])
    bare["segment"] = pd.array([None] * len(bare), dtype="string")
    html = render_html(bare, {"as_of": AS_OF, "model": "v"}, "en")
    assert "(no owner)" in html and "(unknown)" in html
    buffer = io.BytesIO()
    write_excel(bare, buffer)
    wb = load_workbook(buffer)
    contacted = int((bare["decision"] == "chosen").sum())
    assert wb.sheetnames == ["Retention list", "Win-back", "(no owner)", "Customer structure"]
    assert wb["(no owner)"].max_row == contacted + 1 > 1
    assert wb["Win-back"].max_row == bare["lapsed"].sum() + 1 > 1


def test_empty_list():
    empty = make_listing(20).iloc[0:0]
    html = render_html(empty, {"as_of": AS_OF, "model": "v"}, "zh")
    assert re.search(r'id="kpi-value-at-risk">.*?kpi-value">0<', html, re.S)
    wb = excel(empty)
    assert wb.sheetnames == ["Retention list"] and wb.active.max_row == 1 and wb.active.freeze_panes == "A2"


# ----------------------------------------------------------------------------------- translations

def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_key_has_a_phrase_with_its_values(language):
    phrases = localize.REASON_PHRASES[language]
    assert set(phrases) == set(REASON_KEYS) | {"none"}
    for key, values in REASON_KEYS.items():
        # "{s}" is English's plural ending, derived from "n"; Chinese has no plural.
        assert placeholders(phrases[key]) - {"s"} == set(values), key


REASONS = [
    [{"key": "complaints", "n": 3, "category": "service", "t": 90}, {"key": "open_tickets", "n": 2, "days": 35},
     {"key": "orders_down", "pct": 50, "t": 90}],
    [{"key": "complaints", "n": 1, "category": "billing", "t": 90},
     {"key": "low_score", "dimension": "price", "score": 4.7}, {"key": "discount_down", "before": 12, "after": 7}],
    [{"key": "never_visited"}, {"key": "returns", "pct": 6}, {"key": "contacts_down", "before": 24, "after": 6, "t": 90}],
    [],
]


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["3 service complaints in 90 days; 2 open tickets (oldest 35 days); orders down 50% vs the previous 90 days",
            "1 billing complaint in 90 days; price satisfaction 4.7/10; discount down from 12% to 7%",
            "no rep visit on record; returns 6% of purchases; rep contacts down from 24 to 6 per 90 days",
            "no warning signs in the data", "", "", "brand_new days=3"]),
    ("zh", ["90天内3次服务投诉；2个未关闭工单（最久35天）；订单量较前90天下降50%",
            "90天内1次账单投诉；价格满意度4.7/10；折扣从12%降至7%",
            "无销售代表拜访记录；退货占采购额的6%；销售代表联系次数从每90天24次降至6次",
            "数据中无预警信号", "", "", "brand_new days=3"]),
])
def test_reasons_are_rendered_from_their_codes(language, expected):
    import json

    codes = pd.Series([json.dumps(r) for r in REASONS] + [None, "", '[{"key": "brand_new", "days": 3}]'],
                      dtype="string")
    assert render_reasons(codes, language).tolist() == expected


@pytest.mark.parametrize("language", ["en", "zh"])
def test_reasons_read_piece_by_piece_equal_the_whole_list_parsed(language):
    # the list's compact JSON is worded reason by reason (each distinct one once); a text value holding "},{" or
    # braces is no boundary between two reasons
    import json

    from churn.report.localize import reason_text

    tricky = [[{"key": "brand_new", "note": 'a"},{"key":"silent","days":3'}, {"key": "silent", "days": 3}],
              [{"key": "brand_new", "note": "},{"}], [{"key": "brand_new", "note": "{}"}, {"key": "never_visited"}]]
    lists = [*REASONS, *tricky, *REASONS]  # (each list twice: the second time from the words already made)
    codes = pd.Series([json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in lists], dtype="string")
    assert render_reasons(codes, language).tolist() == [reason_text(r, language) for r in lists]
    assert "note=},{" in render_reasons(codes, language)[len(REASONS) + 1]


def test_a_list_without_reason_codes_shows_its_own_reasons():
    # A list written before reasons were data (no codes, or rows without them) keeps its text.
    old = pd.DataFrame({"reasons": ["no order in 40 days", None]})
    assert localize.list_reasons(old, "zh").tolist() == ["no order in 40 days", ""]
    mixed = pd.DataFrame({"reasons": ["old words", "no order in 9 days"],
                          "reason_codes": [None, '[{"key": "silent", "days": 9}]']})
    assert localize.list_reasons(mixed, "zh").tolist() == ["old words", "已9天未下单"]


def test_every_playbook_action_is_translated():
    playbook = load_playbook("configs/playbook.yaml")
    assert set(playbook.actions) <= set(localize.ACTION_LABELS_ZH)
    assert set(localize.CAUSES["zh"]) == set(LIST_CAUSES)
    assert {a.channel for a in playbook.actions.values()} <= set(localize.CHANNELS["zh"])
    assert {a.owner_role for a in playbook.actions.values()} <= set(localize.OWNER_ROLES["zh"])
    assert set(localize.TEXT["en"]) == set(localize.TEXT["zh"]) and set(localize.COLUMNS["en"]) == set(localize.COLUMNS["zh"])


# ------------------------------------------------------------------------------------------ Excel

def excel(listing: pd.DataFrame, language: str = "en", **kwargs):
    buffer = io.BytesIO()
    write_excel(listing, buffer, language, **kwargs)
    buffer.seek(0)
    return load_workbook(buffer)


def column_of(ws, heading: str) -> str:
    return next(c.column_letter for c in ws[1] if c.value == heading)


@pytest.mark.parametrize("language", LANGUAGES)
def test_excel_list_sheet(listing, language):
    wb = excel(listing, language)
    ws = wb.worksheets[0]
    n, headings = len(listing), localize.COLUMNS[language]
    assert ws.title == localize.TEXT[language]["sheet_list"]
    assert ws.freeze_panes == "A2"
    codes = ("reason_codes", "action", "contact", "holdout", "holdout_action")  # the sheet says them in words
    shown = [c for c in LIST_COLUMNS + DECISION_COLUMNS if c not in codes]
    assert ws.max_row == n + 1 and ws.max_column == len(shown)
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{n + 1}"
    assert [c.value for c in ws[1]] == [headings[c] for c in shown]
    assert [ws.cell(r, 1).value for r in range(2, n + 2)] == listing["customer_id"].tolist()

    prob, band = column_of(ws, headings["churn_probability"]), column_of(ws, headings["risk_band"])
    rules = {str(cf.sqref): sorted(cf.rules, key=lambda r: r.priority) for cf in ws.conditional_formatting}
    # the probability shaded on a fixed scale, the highest step first (Excel applies the first rule that holds)
    steps = [(r.type, r.operator, r.formula, r.dxf.fill.bgColor.rgb[-6:])
             for r in rules[f"{prob}2:{prob}{n + 1}"]]
    assert steps == [("cellIs", "greaterThanOrEqual", [str(at)], colour.lstrip("#"))
                     for at, colour in PROBABILITY_FILLS]
    high = localize.RISK_BANDS[language]["high"]
    assert [(r.type, r.text) for r in rules[f"{band}2:{band}{n + 1}"]] == [("containsText", high)]

    loss = column_of(ws, headings["expected_loss"])
    assert ws[f"{loss}2"].number_format == "#,##0" and ws[f"{loss}2"].value == listing["expected_loss"].iat[0]
    assert ws[f"{prob}2"].number_format == "0.0%"
    assert 8 <= ws.column_dimensions[column_of(ws, headings["customer_id"])].width <= 20
    assert ws.column_dimensions[column_of(ws, headings["reasons"])].width >= 60
    if language == "zh":
        assert {c.value for c in ws[band][1:]} <= {"高风险", "中风险", "低风险"}
        action = column_of(ws, headings["action_label"])
        assert {c.value for c in ws[action][1:]} - {None} <= set(localize.ACTION_LABELS_ZH.values())
        decision = column_of(ws, headings["decision"])
        assert {c.value for c in ws[decision][1:]} <= set(localize.DECISIONS["zh"].values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_excel_sheet_per_owner(listing, language):
    wb = excel(listing, language)
    owner_sheets = wb.worksheets[2:-1]
    assert wb.worksheets[1].title == localize.TEXT[language]["sheet_winback"]
    assert wb.worksheets[-1].title == localize.TEXT[language]["sheet_structure"]
    assert len(owner_sheets) == listing["owner"].nunique() + 1  # plus customers without an owner
    assert owner_sheets[-1].title == sheet_name(localize.TEXT[language]["no_owner"], set())
    assert len({s.title.casefold() for s in wb.worksheets}) == len(wb.worksheets)
    owner = listing["owner"].fillna("(none)")
    contacted = listing["decision"] == "chosen"
    owner_of, counts = dict(zip(listing["customer_id"], owner, strict=True)), owner[contacted].value_counts()
    seen = 0
    for ws in owner_sheets:
        assert len(ws.title) <= 31 and not re.search(r"[\[\]:*?/\\]", ws.title)
        assert ws.title.casefold() != "history"
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.endswith(str(ws.max_row))
        headers = [c.value for c in ws[1]]  # the list's columns in words, nothing else (no row index)
        assert headers and set(headers) <= set(localize.COLUMNS[language].values())
        ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
        owners = {owner_of[i] for i in ids}
        assert len(owners) == 1, ws.title  # one owner per sheet ...
        assert len(ids) == counts[owners.pop()]  # ... with all their customers to contact this week
        seen += len(ids)
    assert seen == contacted.sum() > 0
    titles = [s.title for s in owner_sheets]
    assert "KAM _North__ Zhang_Wei__" in titles and "History _" in titles
    assert "AM-04 Alexandra Konstantinopoul" in titles and "AM-04 Alexandra Konstantino (2)" in titles


def test_excel_masking_and_text_stays_text(listing, tmp_path):
    frame = with_contacts(listing)
    path = tmp_path / "list.xlsx"
    write_excel(frame, path, mask_personal=True)
    wb = load_workbook(path)
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    text = "\n".join(cells)
    assert "Renji" not in text and "renji-hospital" not in text and "+86" not in text and "Mary" not in text
    assert "AM-01 Wang Ming" in text
    plain = excel(frame)
    ws = plain.worksheets[0]
    names = {c.value: c for c in ws["B"][1:]}
    assert "Renji Hospital Pharmacy 0" in names
    formula_like = next(c for v, c in names.items() if v and v.startswith("=HYPERLINK"))
    assert formula_like.data_type == "s"  # a name from the data never becomes a formula


@pytest.mark.parametrize("column", ["email", "days_since_last_order", "value_12m"])
def test_excel_cells_of_any_type_are_written(listing, column):
    # The writer leaves a category or a Decimal silently empty: the workbook converts them before it.
    from decimal import Decimal

    frame = with_contacts(listing).head(30)
    words = frame[column].astype("object")
    frame[column] = (words.astype("category") if column == "email"
                     else words.map(lambda v: None if pd.isna(v) else Decimal(str(v))))
    frame.loc[frame.index[0], "name"] = "bell\x07 and\x1b escape"  # characters the file's XML forbids
    ws = excel(frame).worksheets[0]
    heading = localize.COLUMNS["en"][column]
    written = [c.value for c in ws[column_of(ws, heading)][1:]]
    expected = [None if pd.isna(v) else (v if column == "email" else float(v)) for v in words]
    assert written == expected and sum(v is not None for v in written) > 20
    assert ws[f"{column_of(ws, localize.COLUMNS['en']['name'])}2"].value == "bell and escape"


def test_sheet_names():
    taken: set[str] = set()
    assert sheet_name("A" * 40, taken) == "A" * 31
    assert sheet_name("a" * 40, taken) == "a" * 27 + " (2)"
    assert sheet_name("'Q3: North/South [KA]?'", taken) == "Q3_ North_South _KA__"
    assert sheet_name("history", taken) == "history _"
    assert sheet_name("", taken) == "_"
    assert sheet_name("_", taken) == "_ (2)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_drift_alarm_names_the_columns_at_the_top_and_a_quiet_run_says_so_below(listing, language):
    t = localize.TEXT[language]
    alarm = {"alarms": ["revenue_90", "segment"], "n_columns": 40, "max_psi": 0.41,
             "psi": {"revenue_90": 0.41, "segment": 0.27, "orders_90": 0.01}, "js": {}}
    html = render_html(listing, summary_for(listing, drift=alarm), language)
    from html import unescape

    shown = unescape(re.search(r'<p class="alarm" id="drift-alarm" role="alert">(.*?)</p>', html).group(1))
    columns = t["list_separator"].join(["revenue_90 (PSI 0.41)", "segment (PSI 0.27)"])
    assert shown == t["drift_alarm"].format(columns=columns) and "orders_90" not in shown
    quiet = dict(alarm, alarms=[], max_psi=0.031)
    html = render_html(listing, summary_for(listing, drift=quiet), language)
    assert 'id="drift-alarm"' not in html
    assert unescape(re.search(r'<p id="drift-quiet">(.*?)</p>', html).group(1)) == t["drift_quiet"].format(
        n=40, psi="0.031")
    none = render_html(listing, summary_for(listing), language)  # a model saved without a reference
    assert 'id="drift-alarm"' not in none and 'id="drift-quiet"' not in none


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_list_shows_the_customers_to_act_on_and_counts_everyone(listing, language):
    """Past `report.list_all_up_to` customers the page and the workbook's list hold those a manager acts on (at
    risk, lapsed, contacted or held out), not every scored customer; the page says how many of how many."""
    import json

    from churn.report._frame import shown_customers
    from churn.vocab import AT_RISK_BANDS, CONTACTED, HELD_OUT, lapsed_flags

    act_on = (listing["risk_band"].isin(AT_RISK_BANDS) | lapsed_flags(listing)
              | listing["decision"].isin([CONTACTED, HELD_OUT])).to_numpy()
    assert 0 < act_on.sum() < len(listing)  # the fixture has customers of both kinds
    limit = len(listing) - 1
    assert shown_customers(listing, limit).tolist() == act_on.tolist()
    assert shown_customers(listing, len(listing)).all() and shown_customers(listing, None).all()

    html = render_html(listing, summary_for(listing), language, list_all_up_to=limit)
    data = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    col = data["cols"].index("id")
    assert sorted(r[col] for r in data["rows"]) == sorted(listing.loc[act_on, "customer_id"])
    assert re.search(rf'id="list-partial">[^<]*{act_on.sum():,}[^<]*{len(listing):,}', html)
    assert 'id="list-partial"' not in render_html(listing, summary_for(listing), language, list_all_up_to=len(listing))

    ws = excel(listing, language, list_all_up_to=limit).worksheets[0]
    ids = [c.value for c in ws["A"][1:]]
    assert sorted(ids) == sorted(listing.loc[act_on, "customer_id"])
    assert [c.value for c in ws[1]] == [c.value for c in excel(listing, language).worksheets[0][1]]  # no more columns
    assert excel(listing, language, list_all_up_to=len(listing)).worksheets[0].max_row == len(listing) + 1
