"""The retention list as one self-contained HTML page: inline CSS, JS and SVG charts, no external resource,
so it opens from a mail attachment with no internet. Its list, filters and charts are drawn from one
JSON payload in the page."""

from __future__ import annotations

import json
from html import escape

import numpy as np
import pandas as pd
from markupsafe import Markup

import churn.report.localize as localize
from churn.report._changes import CHANGES, TREND_RUNS, change_counts, changes_since, run_figures, runs_before
from churn.report._frame import (
    _count,
    _first,
    _key,
    _pct,
    _text,
    by_value,
    money_format,
    plan_totals,
    prepare_list,
    shown_customers,
)
from churn.report._policy import policy_table
from churn.report._satisfaction import satisfaction_tables
from churn.report._structure import lifecycle_moves_table, structure_table
from churn.report.localize import list_reasons
from churn.vocab import CONTACTED, LIST_CAUSES, NO_OWNER, RISK_BANDS, VALUE_TIERS, alarm_text, at_risk_flags

BAND_COLOURS = {"high": "#c0392b", "medium": "#e6a23c", "low": "#7fb77e"}
CAUSE_COLOURS = {"price": "#d35400", "service": "#2e6fbf", "quality": "#8e44ad", "engagement": "#16a085",
                 "other": "#7f8c8d"}
PAGE_SIZES = (50, 100, 250, 0)  # 0: all rows
OPEN_COMPLAINTS_SHOWN = 100


def render_html(listing: pd.DataFrame, summary: dict, language: str = "en", mask_personal: bool = False,
                currency: str | None = None, earlier_runs: dict[str, pd.DataFrame] | None = None,
                realised: dict | None = None, satisfaction: dict | None = None,
                policy: tuple[pd.DataFrame, dict[str, str]] | None = None, list_all_up_to: int | None = None) -> str:
    """The whole report as one self-contained HTML document; amounts in `currency` (a code: CNY, USD, ...).
    `earlier_runs`: the archived lists of earlier runs by as-of date (what changed since the latest of them,
    and the trend over the last `TREND_RUNS`). `realised`: what `churn monitor` measured on earlier runs whose
    horizon has passed (its summary with "rows"), shown as a section; None: no section. A list longer than
    `list_all_up_to` embeds only the customers to act on (`shown_customers`); the summaries count everyone."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    localize.check_language(language)
    t = localize.TEXT[language]
    frame = prepare_list(listing, mask_personal)
    money = money_format(currency)
    at_risk = at_risk_flags(frame)
    shown = shown_customers(frame, list_all_up_to)
    as_of = summary.get("as_of") or _first(frame, "as_of")
    model = summary.get("model") or _first(frame, "model_version")

    env = Environment(loader=PackageLoader("churn.report", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        t=t,
        lang="zh-CN" if language == "zh" else "en",
        as_of=as_of,
        model=model,
        model_kind=localize.model_kind_note(summary.get("model_kind"), language),
        grade=summary.get("model_grade") or t["not_available"],
        grade_note=t["grade_customer_split"] if summary.get("model_holdout") == "customer_split" else None,
        refit=t["model_refit"].format(**summary["model_refit"]) if summary.get("model_refit") else None,
        masked=mask_personal,
        kpis=_kpis(frame, at_risk, summary, t, language, money),
        charts=_charts(frame, at_risk, language, money),
        breakdowns=[_breakdown(frame, at_risk, col, language, money) for col in ("segment", "region")],
        structure=_structure(frame, language, money, _last_run(earlier_runs or {}, as_of)),
        moves=_moves(summary.get("lifecycle"), language),
        satisfaction=_satisfaction(satisfaction, language, money),
        policy=_policy(policy, language),
        owners=_breakdown(frame, at_risk, "owner", language, money),
        planned=frame.attrs["planned"],
        currency_note=t["currency_note"].format(currency=currency) if currency else "",
        views=_views(frame, language),
        since=_since(frame, earlier_runs or {}, as_of, language),
        drift=_drift(summary.get("drift"), language),
        realised=_realised(realised, language),
        filters=_filters(frame, language),
        page_sizes=PAGE_SIZES,
        set_aside=_set_aside(summary, language),
        row_accounting=_row_accounting(summary, language),
        headers=_list_headers(language),
        data=Markup(_script_json(_list_payload(frame[shown], language, currency))),
        partial=t["list_partial"].format(shown=int(shown.sum()), total=len(frame)) if not shown.all() else None,
    )


def _kpis(frame: pd.DataFrame, at_risk: pd.Series, summary: dict, t: dict, language: str, money) -> list[dict]:
    n, n_risk = len(frame), int(at_risk.sum())
    budget, used, retained = (summary.get(k) for k in ("budget", "budget_used", "expected_value_retained"))
    n_holdout = summary.get("decisions", {}).get("n_holdout")
    if frame.attrs["planned"]:  # the plan's figures from the list itself, as the owner table sums them
        totals = plan_totals(frame, lapsed=False)
        used, retained, n_holdout = totals["contact_cost"], totals["retained"], totals["n_holdout"]
    budget_text = money(used) if used is not None else t["not_available"]
    if used is not None and budget is not None:
        budget_text = f"{money(used)} {t['budget_of']} {money(budget)}"
    return [
        {"id": "kpi-scored", "label": t["customers_scored"], "value": _count(n), "note": ""},
        {"id": "kpi-at-risk", "label": t["customers_at_risk"], "value": _count(n_risk),
         "note": t["at_risk_note"].format(share=_pct(n_risk / n if n else 0))},
        {"id": "kpi-value-at-risk", "label": t["value_at_risk"],
         "value": money(frame.loc[at_risk, "expected_loss"].sum()), "note": t["value_at_risk_note"]},
        {"id": "kpi-budget", "label": t["budget_used"], "value": budget_text,
         "note": t["holdout_note"].format(n=_count(n_holdout)) if n_holdout else ""},
        {"id": "kpi-retained", "label": t["value_retained"],
         "value": money(retained) if retained is not None else t["not_available"],
         "note": _effects_note(frame, summary, t, language)},
        *_winback_kpi(frame, summary, t, money),
    ]


def _winback_kpi(frame: pd.DataFrame, summary: dict, t: dict, money) -> list[dict]:
    """Lapsed customers, listed apart for win-back, with the win-back budget line."""
    back = plan_totals(frame, lapsed=True)
    if not back["n"]:
        return []
    budget = (summary.get("winback") or {}).get("budget")
    used = money(back["contact_cost"]) + (f" {t['budget_of']} {money(budget)}" if budget is not None else "")
    return [{"id": "kpi-winback", "label": t["winback_kpi"], "value": _count(back["n"]),
             "note": t["winback_note"].format(loss=money(back["expected_loss"]), n=_count(back["n_contact"]),
                                              used=used)}]


def _effects_note(frame: pd.DataFrame, summary: dict, t: dict, language: str) -> str:
    """Which actions' effects were measured, named in words (the playbook's labels the list carries)."""
    sources = summary.get("action_effects")
    if not sources:
        return ""
    measured = sorted(a for a, v in sources.items() if not v["source"].startswith("prior"))
    labels = {}
    for code, label in ((frame["action"], frame["action_label"]), (frame["contact"], frame["contact_label"])):
        labels |= {str(a): str(b) for a, b in zip(code, label, strict=True) if _text(a) and _text(b)}
    names = localize.TEXT[language]["list_separator"].join(
        localize.action_label(a, labels.get(a, a.replace("_", " ")), language) for a in measured)
    return t["measured_note"].format(actions=names) if measured else t["prior_note"]


def _charts(frame: pd.DataFrame, at_risk: pd.Series, language: str, money) -> list[dict]:
    t = localize.TEXT[language]
    bands = frame["risk_band"].value_counts()
    risky = frame[at_risk]
    value_by_cause = risky.groupby("primary_cause")["expected_loss"].sum()
    count_by_cause = risky["primary_cause"].value_counts()
    causes = [c for c in LIST_CAUSES if c in set(frame["primary_cause"])] + sorted(
        set(frame["primary_cause"].dropna()) - set(LIST_CAUSES))
    def by_cause(values: pd.Series) -> list[tuple[str, float, str]]:
        items = [(localize.term(localize.CAUSES, c, language), float(values.get(c, 0)), CAUSE_COLOURS.get(c, "#999"))
                 for c in causes]
        return sorted([i for i in items if i[1] > 0], key=lambda i: -i[1])

    return [
        {"id": "chart-risk-bands", "title": t["chart_risk_bands"],
         "svg": _bar_chart([(localize.term(localize.RISK_BANDS, b, language), float(bands.get(b, 0)), BAND_COLOURS[b])
                            for b in RISK_BANDS], _count)},
        {"id": "chart-value-by-cause", "title": t["chart_value_by_cause"],
         "svg": _bar_chart(by_cause(value_by_cause), money)},
        {"id": "chart-customers-by-cause", "title": t["chart_customers_by_cause"],
         "svg": _bar_chart(by_cause(count_by_cause), _count)},
    ]


def _bar_chart(items: list[tuple[str, float, str]], fmt) -> Markup:
    """A horizontal bar chart as inline SVG (text is real text: it takes the page's fonts)."""
    label_w, bar_w, value_w, row_h, gap = 96, 180, 84, 22, 8
    width, height = label_w + bar_w + value_w, max(1, len(items)) * (row_h + gap) - gap + 4
    top = max((v for _, v, _ in items), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'preserveAspectRatio="xMinYMin meet">']  # inline SVG in HTML needs no xmlns
    for i, (label, value, colour) in enumerate(items):
        y = 2 + i * (row_h + gap)
        w = max(0.0, bar_w * value / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row_h / 2}" text-anchor="end" dominant-baseline="central">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h}" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + row_h / 2}" dominant-baseline="central" class="value">'
            f"{escape(fmt(value))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _breakdown(frame: pd.DataFrame, at_risk: pd.Series, column: str, language: str, money) -> dict:
    """Customers, at risk, high risk and value at risk per group; for owners also the customers to contact this
    week, the cost of their contacts and the value they are expected to retain (the plan's own figures)."""
    t = localize.TEXT[language]
    table = {"segment": localize.SEGMENTS, "region": localize.REGIONS}.get(column)
    key = frame[column].astype("object").where(frame[column].notna(), None)
    work = pd.DataFrame({
        "key": key.fillna(NO_OWNER if column == "owner" else ""),
        "n": 1, "risk": at_risk.astype(int), "high": (frame["risk_band"] == "high").astype(int),
        "var": frame["expected_loss"].where(at_risk, 0.0),
        "contact": frame["decision"].astype("string").eq(CONTACTED).fillna(False).astype(int),
        "cost": frame["contact_cost"], "retained": frame["expected_retained_value"],
    })
    grouped = work.groupby("key", sort=False)[["n", "risk", "high", "var", "contact", "cost", "retained"]].sum()
    grouped = grouped.sort_values(["var", "risk", "n"], ascending=False)
    rows = []
    for value, r in grouped.iterrows():
        if value == NO_OWNER:
            label = t["no_owner"]
        elif value == "":
            label = t["unknown"]
        else:
            label = localize.term(table, value, language) if table else value
        rows.append({"key": value, "label": label, **_breakdown_cells(r, money)})
    total = _breakdown_cells(grouped.sum(), money)
    title = {"segment": t["by_segment"], "region": t["by_region"], "owner": t["by_owner"]}[column]
    return {"id": f"by-{column}", "title": title, "group": t[f"group_{column}"], "rows": rows, "total": total,
            "show_plan": column == "owner" and frame.attrs["planned"]}


def _structure(frame: pd.DataFrame, language: str, money, previous: pd.DataFrame | None = None) -> dict:
    """The customer structure section: the workbook's sheet (`structure_table`, with the change since the
    `previous` run when there is one) as a table, a dimension's name on its first row only."""
    table = structure_table(frame, language, previous)
    headings = localize.COLUMNS[language]
    cells = []
    for r in table.itertuples(index=False):
        row = [r.dimension, r.group, _count(r.customers), _pct(r.customer_share),
               "" if pd.isna(r.value_12m) else money(r.value_12m), _pct(r.value_share),
               "" if pd.isna(r.at_risk) else _count(r.at_risk), "" if pd.isna(r.expected_loss) else money(r.expected_loss)]
        if "customers_change" in table.columns:
            row += ["" if pd.isna(r.customers_change) else f"{int(r.customers_change):+,}",
                    "" if pd.isna(r.value_change) else ("+" if r.value_change > 0 else "") + money(r.value_change)]
        cells.append(row)
    return {"headers": [headings[c] for c in table.columns], "rows": _grouped(cells)}


def _grouped(cells: list[list[str]], keys: int = 1) -> list[dict]:
    """Table rows grouped by their first `keys` cells: each group's name on its first row only; `first` marks the
    rows where the outermost group starts (the template draws a line above them)."""
    rows, previous = [], [None] * keys
    for row in cells:
        shown = [("" if row[:k + 1] == previous[:k + 1] else v) if k < keys else v for k, v in enumerate(row)]
        rows.append({"first": keys > 0 and row[0] != previous[0], "cells": shown})
        previous = row[:keys]
    return rows


def _moves(lifecycle: dict | None, language: str) -> dict | None:
    """The lifecycle moves since the previous run (the run summary's `lifecycle`, `lifecycle_moves_table`); None
    without one."""
    table = lifecycle_moves_table(lifecycle, language)
    if table is None:
        return None
    rows = [{"cells": [r[0], *(_count(v) if v else "" for v in r[1:])]} for r in table.itertuples(index=False)]
    return {"title": localize.TEXT[language]["moves_title"].format(date=lifecycle["since"]),
            "headers": list(table.columns), "rows": rows}


def _last_run(earlier_runs: dict[str, pd.DataFrame], as_of: str) -> pd.DataFrame | None:
    """The latest archived run before `as_of`, or None."""
    earlier = runs_before(earlier_runs, as_of)
    return earlier[max(earlier)] if earlier else None


def _policy(policy: tuple[pd.DataFrame, dict[str, str]] | None, language: str) -> dict | None:
    """The service policy section (`churn.action.service_policy` and the playbook's labels): a segment's and, within
    it, a lifecycle stage's name on their first row; None: no section."""
    if policy is None:
        return None
    table = policy_table(*policy, language)
    return {"headers": list(table.columns), "rows": _grouped([list(r) for r in table.itertuples(index=False)], 2)}


def _satisfaction(analysis: dict | None, language: str, money) -> dict | None:
    """The satisfaction and complaints section (`churn.report.satisfaction_analysis`'s tables, as the workbook's
    sheets show them); None: no section (the run had no tickets or surveys to read)."""
    if analysis is None:
        return None
    t, headings = localize.TEXT[language], localize.COLUMNS[language]
    tables = satisfaction_tables(analysis, language)

    def cell(column: str, value: object) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if column in ("expected_loss",):
            return money(value)
        if column in ("churn_rate", "churn_probability"):
            return _pct(value)
        if column in ("score", "price_score", "service_score", "quality_score", "resolution_days"):
            return f"{value:.1f}"
        if column == "complaints_per_customer":
            return f"{value:.2f}"
        if isinstance(value, float | int) and not isinstance(value, bool):
            return _count(value)
        return str(value)

    out = []
    # the satisfaction table grouped by its dimension, the link to churn by its measure; open complaints are a list
    for key, note, groups in (("satisfaction", "satisfaction_note", 1), ("open_complaints", "open_complaints_note", 0),
                              ("churn_link", "churn_link_note", 1)):
        table = tables[key]
        rows = _grouped([[cell(c, r[c]) for c in table.columns] for r in table.to_dict("records")],
                        groups)
        title = {"satisfaction": "satisfaction_table", "open_complaints": "sheet_open_complaints",
                 "churn_link": "sheet_complaints_churn"}[key]
        text = t[note]
        if key == "open_complaints" and len(rows) > OPEN_COMPLAINTS_SHOWN:  # a page, not a database: the sheet has all
            text += " " + t["open_complaints_more"].format(shown=OPEN_COMPLAINTS_SHOWN, n=_count(len(rows)))
            rows = rows[:OPEN_COMPLAINTS_SHOWN]
        out.append({"id": key.replace("_", "-"), "title": t[title], "note": text,
                    "headers": [headings.get(c, c) for c in table.columns], "rows": rows,
                    "none": t["open_complaints_none"] if key == "open_complaints" and not rows else None})
    return {"tables": out}


def _breakdown_cells(r: pd.Series, money) -> dict:
    return {"n": _count(r["n"]), "risk": _count(r["risk"]), "high": _count(r["high"]),
            "share": _pct(r["risk"] / r["n"] if r["n"] else 0), "var": money(r["var"]),
            "contact": _count(r["contact"]), "cost": money(r["cost"]), "retained": money(r["retained"])}


def _drift(drift: dict | None, language: str) -> dict | None:
    """The run's drift against the training data: an alarm naming the columns, or one quiet line."""
    if not drift:
        return None
    t = localize.TEXT[language]
    if drift["alarms"]:
        columns = alarm_text(drift, t["list_separator"])
        return {"alarm": True, "text": t["drift_alarm"].format(columns=columns)}
    return {"alarm": False, "text": t["drift_quiet"].format(n=drift["n_columns"], psi=f"{drift['max_psi']:.3f}")}


def _since(frame: pd.DataFrame, earlier_runs: dict[str, pd.DataFrame], as_of: str, language: str) -> dict:
    """The "since the last run" section: changes per owner against the latest earlier run, and the trend."""
    t = localize.TEXT[language]
    earlier = runs_before(earlier_runs, as_of)
    if not earlier:
        return {"title": t["since_title"].format(date="-"), "none": t["since_none"], "rows": [], "charts": []}
    last = max(earlier)
    counts = change_counts(changes_since(earlier[last], frame))
    rows = [{"key": owner, "total": owner == "total",
             "label": t["total"] if owner == "total" else t["no_owner"] if owner == NO_OWNER else owner,
             "cells": [_count(r[c]) for c in CHANGES]} for owner, r in counts.iterrows()]
    recent = dict(sorted({**earlier, str(as_of): frame}.items())[-TREND_RUNS:])
    figures = run_figures(recent)
    charts = [
        {"id": "trend-at-risk", "title": t["trend_at_risk"],
         "svg": _bar_chart([(r.as_of, float(r.at_risk), BAND_COLOURS["high"]) for r in figures.itertuples()], _count)},
        {"id": "trend-lapsed", "title": t["trend_lapsed"],
         "svg": _bar_chart([(r.as_of, float(r.lapsed), CAUSE_COLOURS["other"]) for r in figures.itertuples()], _count)},
    ]
    return {"title": t["since_title"].format(date=last), "none": None, "rows": rows, "charts": charts,
            "headers": [localize.CHANGES[language][c] for c in CHANGES]}


def _realised(realised: dict | None, language: str) -> dict | None:
    """The "how earlier scores came true" section: one row per measured run (the latest `TREND_RUNS`), the alert."""
    if not realised:
        return None
    t = localize.TEXT[language]
    days = realised.get("horizon_days", "")
    if not realised["runs"]:
        return {"title": t["realised_title"], "none": t["realised_none"].format(
            days=days, n=realised["archived"], due=realised.get("next_due") or "-"), "rows": [], "alert": None}

    def num(v, fmt="{:.3f}"):
        return fmt.format(v) if v is not None else "-"

    rows = [{"alert": bool(r["alert"]),
             "cells": [r["as_of"], _count(r["customers"]), _count(r["churners"]), _pct(r["mean_predicted"]),
                       _pct(r["churn_rate"]), num(r["roc_auc"]), num(r["promised_roc_auc"]),
                       num(r["lift_top10"], "{:.2f}x"),
                       f"{_pct(r['contacted_churn']) if r['contacted_churn'] is not None else '-'} / "
                       f"{_pct(r['held_out_churn']) if r['held_out_churn'] is not None else '-'}"]}
            for r in realised["rows"][-TREND_RUNS:]]
    alert = (t["realised_alert"].format(margin=f"{realised['auc_margin']:.2f}",
                                        runs=", ".join(a["as_of"] for a in realised["alerts"]))
             if realised["alerts"] else None)
    return {"title": t["realised_title"], "none": None, "note": t["realised_note"].format(days=days),
            "headers": t["realised_headers"], "rows": rows, "alert": alert}


def _views(frame: pd.DataFrame, language: str) -> list[tuple[str, str]]:
    """What the list shows: the customers to contact this week first (when the list has a plan)."""
    t = localize.TEXT[language]
    views = [("at_risk", t["view_at_risk"])] + ([("winback", t["view_winback"])] if frame["lapsed"].any() else [])
    return ([("contact", t["view_contact"])] if frame.attrs["planned"] else []) + views + [("all", t["view_all"])]


def _filters(frame: pd.DataFrame, language: str) -> list[dict]:
    t = localize.TEXT[language]
    owners = sorted(frame["owner"].dropna().astype(str).unique(), key=str.casefold)
    owner_options = [(o, o) for o in owners] + ([(NO_OWNER, t["no_owner"])] if frame["owner"].isna().any() else [])
    present = set(frame["primary_cause"].dropna())
    causes = [c for c in LIST_CAUSES if c in present] + sorted(present - set(LIST_CAUSES))
    return [
        {"id": "filter-owner", "field": "owner", "label": t["filter_owner"], "options": owner_options},
        {"id": "filter-tier", "field": "value_tier", "label": t["filter_tier"],
         "options": [(v, localize.term(localize.VALUE_TIERS, v, language)) for v in VALUE_TIERS]},
        {"id": "filter-cause", "field": "primary_cause", "label": t["filter_cause"],
         "options": [(c, localize.term(localize.CAUSES, c, language)) for c in causes]},
        {"id": "filter-risk", "field": "risk_band", "label": t["filter_risk"],
         "options": [("__at_risk__", t["at_risk_option"])]
         + [(b, localize.term(localize.RISK_BANDS, b, language)) for b in RISK_BANDS]},
    ]


def _list_headers(language: str) -> list[dict]:
    """The list's headings; `sort` names the payload field a click on the heading sorts by."""
    c = localize.COLUMNS[language]
    return [
        {"label": c["rank"], "cls": "num", "sort": "rank"},
        {"label": c["customer_id"], "cls": "", "sort": "id"},
        {"label": f"{c['risk_band']} / {c['churn_probability']}", "cls": "", "sort": "p"},
        {"label": c["value_tier"], "cls": "", "sort": "value"},
        {"label": c["owner"], "cls": "", "sort": "owner"},
        {"label": f"{c['segment']} / {c['region']}", "cls": "", "sort": "segment"},
        {"label": c["primary_cause"], "cls": "", "sort": "cause"},
        {"label": f"{c['contact_label']} / {c['contact_cost']}", "cls": "", "sort": "retained"},
        {"label": f"{c['expected_loss']} / {c['value_12m']}", "cls": "num", "sort": "loss"},
        {"label": c["reasons"], "cls": "why", "sort": None},
    ]


def _list_payload(frame: pd.DataFrame, language: str, currency: str | None) -> dict:
    """The ranked list as compact JSON rows (translated text, raw keys for the filters). Held-out customers
    carry no action (`prepare_list` has removed it)."""
    t = localize.TEXT[language]
    contact = [c for c in ("contact_name", "email", "phone") if c in frame.columns]
    contact_text = [" · ".join(_text(v) for v in values if _text(v))
                    for values in zip(*(frame[c].to_numpy(dtype=object) for c in contact))] \
        if contact else [""] * len(frame)
    band_label = {b: localize.term(localize.RISK_BANDS, b, language) for b in frame["risk_band"].dropna().unique()}
    tier_label = {v: localize.term(localize.VALUE_TIERS, v, language) for v in frame["value_tier"].dropna().unique()}
    cause_names = set(frame["primary_cause"].dropna()) | set(frame["secondary_cause"].dropna())
    cause_label = {c: localize.term(localize.CAUSES, c, language) for c in cause_names}
    decision_label = {d: localize.term(localize.DECISIONS, d, language) for d in frame["decision"].dropna().unique()}
    reasons = list_reasons(frame, language).tolist()
    cols = ["rank", "id", "name", "contact", "p", "band", "tier", "ka", "owner", "segment", "region", "cause",
            "secondary", "decision", "action", "channel", "role", "cost", "value", "loss", "why",
            "todo", "todo_channel", "todo_cost", "retained", "lapsed", "order"]

    def words(column: str, table: dict) -> list:
        return by_value(frame[column], lambda v: localize.term(table, v, language))

    def keys(column: str) -> list:
        return by_value(frame[column], _key)

    def numbers(column: str) -> list:
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64").to_numpy()
        return np.where(np.isnan(values), None, values).tolist()

    names = by_value(frame["name"], _text) if "name" in frame.columns else [""] * len(frame)
    rules = frame["key_account_rule"] if "key_account_rule" in frame.columns else pd.Series(None, index=frame.index)
    key_account = [(localize.key_account_reason(rule, language) or True) if bool(flag) else False
                   for flag, rule in zip(frame["is_key_account"].to_numpy(dtype=object),
                                         rules.to_numpy(dtype=object), strict=True)]
    # column by column, each distinct value put into words once, then zipped into rows
    columns = [
        frame["rank"].astype(int).tolist(), by_value(frame["customer_id"], str), names, contact_text,
        numbers("churn_probability"), keys("risk_band"), keys("value_tier"), key_account,
        keys("owner"), words("segment", localize.SEGMENTS), words("region", localize.REGIONS),
        keys("primary_cause"), keys("secondary_cause"), keys("decision"),
        localize.action_labels(frame["action"], frame["action_label"], language),
        words("channel", localize.CHANNELS), words("owner_role", localize.OWNER_ROLES),
        numbers("action_cost"), numbers("value_12m"), numbers("expected_loss"), reasons,
        localize.action_labels(frame["contact"], frame["contact_label"], language),
        words("contact_channel", localize.CHANNELS),
        numbers("contact_cost"), numbers("expected_retained_value"), frame["lapsed"].astype(bool).tolist(),
        list(range(len(frame))),
    ]
    rows = [list(row) for row in zip(*columns, strict=True)]
    ui = {k: t[k] for k in ("shown", "page", "no_owner", "key_account", "secondary", "nothing_shown", "all_rows",
                            "playbook_action", "retains", "winback_badge")}
    ui |= {"bands": band_label, "tiers": tier_label, "causes": cause_label, "decisions": decision_label,
           "band_colours": BAND_COLOURS, "cause_colours": CAUSE_COLOURS, "no_owner_value": NO_OWNER,
           "contacted": CONTACTED, "money": _money_parts(currency),
           "csv_headers": _csv_headers(language), "csv_name": f"retention_list_{language}.csv"}
    return {"cols": cols, "rows": rows, "ui": ui}


def _money_parts(currency: str | None) -> dict:
    """How the page's script writes an amount: the same text as `money_format` (prefix or suffix)."""
    sample = money_format(currency)(1234)
    prefix, _, suffix = sample.partition("1,234")
    return {"prefix": prefix, "suffix": suffix}


def _csv_headers(language: str) -> list[str]:
    c = localize.COLUMNS[language]
    return [c["rank"], c["customer_id"], c["name"], c["risk_band"], c["churn_probability"], c["value_tier"],
            c["is_key_account"], c["owner"], c["segment"], c["region"], c["primary_cause"], c["decision"],
            c["contact_label"], c["contact_channel"], c["contact_cost"], c["expected_retained_value"],
            c["expected_loss"], c["value_12m"], c["reasons"]]


def _set_aside(summary: dict, language: str) -> str:
    counts = summary.get("rows_set_aside") or {}
    parts = [f"{localize.term(localize.TABLES, table, language)} {_count(n)}" for table, n in counts.items() if n]
    return ", ".join(parts)


def _row_accounting(summary: dict, language: str) -> str:
    """Per table: rows pulled = used + set aside (the run's row accounting), or "" for older summaries."""
    phrase = localize.TEXT[language]["row_accounting_table"]
    return localize.TEXT[language]["list_separator"].join(
        phrase.format(table=localize.term(localize.TABLES, table, language), pulled=_count(c["pulled"]),
                      kept=_count(c["kept"]), set_aside=_count(c["set_aside"]))
        for table, c in (summary.get("row_accounting") or {}).items())


def _script_json(payload: dict) -> str:
    # Safe inside <script type="application/json">: no "</script>" or "<!--" can close it early.
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
