"""The managers' report: the retention list as one self-contained HTML page and as an Excel workbook.

Pure functions: a retention list (`churn.vocab.LIST_COLUMNS`, plus optional customer `name`,
`contact_name`, `email`, `phone`) and the scoring run's summary in, text or a workbook out.
The only I/O is `write_excel` saving to the path or buffer it is given.

- `render_html(listing, summary, language, mask_personal)`: one HTML file with inline CSS, JS and
  SVG charts and no external resource, so it opens from a mail attachment with no internet.
- `write_excel(listing, target, language, mask_personal)`: the full list (frozen header,
  autofilter, colour scale on churn probability, high risk filled) and one sheet per owner.

Languages: "en" and "zh" (Simplified Chinese, from `churn.i18n`). English reason sentences are
translated phrase by phrase, so a list scored in English gives a Chinese report.
"""

from __future__ import annotations

import functools
import json
import math
import re
import string
from html import escape
from pathlib import Path
from typing import IO

import pandas as pd
from markupsafe import Markup

from churn import i18n
from churn.vocab import AT_RISK_BANDS, LIST_CAUSES, LIST_COLUMNS, NO_OWNER, RISK_BANDS, VALUE_TIERS

PERSONAL_COLUMNS = ("name", "contact_name", "email", "phone")

BAND_COLOURS = {"high": "#c0392b", "medium": "#e6a23c", "low": "#7fb77e"}
CAUSE_COLOURS = {"price": "#d35400", "service": "#2e6fbf", "quality": "#8e44ad", "engagement": "#16a085",
                 "other": "#7f8c8d"}
MONEY_COLUMNS = ("action_cost", "value_12m", "forecast_value_12m", "value_if_retained_12m", "expected_loss")
PAGE_SIZES = (50, 100, 250, 0)  # 0: all rows


# --------------------------------------------------------------------------------------- masking

def mask_names(series: pd.Series) -> pd.Series:
    """Each word reduced to its first character: "Renji Hospital 42" -> "R*** H*** 4***"."""
    def one(value: object) -> object:
        if _missing(value):
            return value
        return " ".join(word[0] + "***" for word in str(value).split()) or "***"
    return series.map(one).astype("string")


def mask_emails(series: pd.Series) -> pd.Series:
    """"jane.doe@renji.example.cn" -> "j***@***.cn"."""
    def one(value: object) -> object:
        if _missing(value):
            return value
        local, _, domain = str(value).partition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@***" + (f".{tld}" if tld else "")
    return series.map(one).astype("string")


def mask_phones(series: pd.Series) -> pd.Series:
    """Only the last two digits kept: "+86 21 6438 5521" -> "***21"."""
    def one(value: object) -> object:
        if _missing(value):
            return value
        digits = re.sub(r"\D", "", str(value))
        return "***" + digits[-2:]
    return series.map(one).astype("string")


_MASKS = {"name": mask_names, "contact_name": mask_names, "email": mask_emails, "phone": mask_phones}


def mask_personal_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with customer names and contact details masked (owners are staff and stay)."""
    out = frame.copy()
    for column, mask in _MASKS.items():
        if column in out.columns:
            out[column] = mask(out[column])
    return out


# ------------------------------------------------------------------------------------ translation

@functools.cache
def _reason_patterns() -> tuple[tuple[str, re.Pattern], ...]:
    """A regex per English reason phrase, capturing its placeholders."""
    from churn.score import PHRASES

    patterns = []
    for key, template in PHRASES["en"].items():
        regex = ""
        for literal, field, _, _ in string.Formatter().parse(template):
            regex += re.escape(literal)
            if field is not None:
                regex += "(?P<s>s?)" if field == "s" else f"(?P<{field}>.+?)"
        patterns.append((key, re.compile(f"^{regex}$")))
    return tuple(patterns)


def _translate_reason(text: str, language: str) -> str:
    parts = []
    for part in text.split(i18n.REASON_SEPARATOR["en"]):
        for key, pattern in _reason_patterns():
            match = pattern.match(part)
            if match and key in i18n.PHRASES_ZH:
                values = {k: i18n.TERMS_ZH.get(v, v) if k in ("category", "dimension") else v
                          for k, v in match.groupdict().items()}
                parts.append(i18n.PHRASES_ZH[key].format(**values))
                break
        else:
            parts.append(part)  # not an English phrase (already translated, or new): as it is
    return i18n.REASON_SEPARATOR[language].join(parts)


def translate_reasons(reasons: pd.Series, language: str) -> pd.Series:
    """English reason sentences (`churn.action.playbook.reasons`) in `language`."""
    i18n.check_language(language)
    if language == "en":
        return reasons.fillna("").astype("string")
    cache: dict[str, str] = {}

    def one(value: object) -> str:
        if _missing(value) or not str(value):
            return ""
        if value not in cache:
            cache[value] = _translate_reason(str(value), language)
        return cache[value]
    return reasons.map(one).astype("string")


# ------------------------------------------------------------------------------------------- HTML

def render_html(listing: pd.DataFrame, summary: dict, language: str = "en", mask_personal: bool = False) -> str:
    """The whole report as one self-contained HTML document."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    i18n.check_language(language)
    t = i18n.TEXT[language]
    frame = _prepare(listing, mask_personal)
    at_risk = frame["risk_band"].isin(AT_RISK_BANDS)
    as_of = summary.get("as_of") or _first(frame, "as_of")
    model = summary.get("model") or _first(frame, "model_version")

    env = Environment(loader=PackageLoader("churn", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        t=t,
        lang="zh-CN" if language == "zh" else "en",
        as_of=as_of,
        model=model,
        grade=summary.get("model_grade") or t["not_available"],
        masked=mask_personal,
        kpis=_kpis(frame, at_risk, summary, t, language),
        charts=_charts(frame, at_risk, language),
        breakdowns=[_breakdown(frame, at_risk, col, language) for col in ("segment", "region")],
        owners=_breakdown(frame, at_risk, "owner", language),
        filters=_filters(frame, language),
        page_sizes=PAGE_SIZES,
        set_aside=_set_aside(summary, language),
        headers=_list_headers(language),
        data=Markup(_script_json(_list_payload(frame, language))),
    )


def _kpis(frame: pd.DataFrame, at_risk: pd.Series, summary: dict, t: dict, language: str) -> list[dict]:
    n, n_risk = len(frame), int(at_risk.sum())
    budget, used, retained = (summary.get(k) for k in ("budget", "budget_used", "expected_value_retained"))
    budget_text = _money(used) if used is not None else t["not_available"]
    if used is not None and budget is not None:
        budget_text = f"{_money(used)} {t['budget_of']} {_money(budget)}"
    return [
        {"id": "kpi-scored", "label": t["customers_scored"], "value": _count(n), "note": ""},
        {"id": "kpi-at-risk", "label": t["customers_at_risk"], "value": _count(n_risk),
         "note": t["at_risk_note"].format(share=_pct(n_risk / n if n else 0))},
        {"id": "kpi-value-at-risk", "label": t["value_at_risk"],
         "value": _money(frame.loc[at_risk, "expected_loss"].sum()), "note": t["value_at_risk_note"]},
        {"id": "kpi-budget", "label": t["budget_used"], "value": budget_text,
         "note": t["holdout_note"].format(n=_count(summary["decisions"]["n_holdout"]))
         if summary.get("decisions", {}).get("n_holdout") else ""},
        {"id": "kpi-retained", "label": t["value_retained"],
         "value": _money(retained) if retained is not None else t["not_available"],
         "note": _effects_note(summary, t, language)},
    ]


def _effects_note(summary: dict, t: dict, language: str) -> str:
    sources = summary.get("action_effects")
    if not sources:
        return ""
    measured = sorted(a for a, v in sources.items() if not v["source"].startswith("prior"))
    names = ", ".join(i18n.action_label(a, a, language) for a in measured)
    return t["measured_note"].format(actions=names) if measured else t["prior_note"]


def _charts(frame: pd.DataFrame, at_risk: pd.Series, language: str) -> list[dict]:
    t = i18n.TEXT[language]
    bands = frame["risk_band"].value_counts()
    risky = frame[at_risk]
    value_by_cause = risky.groupby("primary_cause")["expected_loss"].sum()
    count_by_cause = risky["primary_cause"].value_counts()
    causes = [c for c in LIST_CAUSES if c in set(frame["primary_cause"])] + sorted(
        set(frame["primary_cause"].dropna()) - set(LIST_CAUSES))
    def by_cause(values: pd.Series) -> list[tuple[str, float, str]]:
        items = [(i18n.term(i18n.CAUSES, c, language), float(values.get(c, 0)), CAUSE_COLOURS.get(c, "#999"))
                 for c in causes]
        return sorted([i for i in items if i[1] > 0], key=lambda i: -i[1])

    return [
        {"id": "chart-risk-bands", "title": t["chart_risk_bands"],
         "svg": _bar_chart([(i18n.term(i18n.RISK_BANDS, b, language), float(bands.get(b, 0)), BAND_COLOURS[b])
                            for b in RISK_BANDS], _count)},
        {"id": "chart-value-by-cause", "title": t["chart_value_by_cause"],
         "svg": _bar_chart(by_cause(value_by_cause), _money)},
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


def _breakdown(frame: pd.DataFrame, at_risk: pd.Series, column: str, language: str) -> dict:
    """Customers, at risk, high risk, value at risk and the cost of the actions per group."""
    t = i18n.TEXT[language]
    table = {"segment": i18n.SEGMENTS, "region": i18n.REGIONS}.get(column)
    key = frame[column].astype("object").where(frame[column].notna(), None)
    work = pd.DataFrame({
        "key": key.fillna(NO_OWNER if column == "owner" else ""),
        "n": 1, "risk": at_risk.astype(int), "high": (frame["risk_band"] == "high").astype(int),
        "var": frame["expected_loss"].where(at_risk, 0.0), "cost": frame["action_cost"].where(at_risk, 0.0),
    })
    grouped = work.groupby("key", sort=False)[["n", "risk", "high", "var", "cost"]].sum()
    grouped = grouped.sort_values(["var", "risk", "n"], ascending=False)
    rows = []
    for value, r in grouped.iterrows():
        if value == NO_OWNER:
            label = t["no_owner"]
        elif value == "":
            label = t["unknown"]
        else:
            label = i18n.term(table, value, language) if table else value
        rows.append({"key": value, "label": label, **_breakdown_cells(r)})
    total = _breakdown_cells(grouped.sum())
    title = {"segment": t["by_segment"], "region": t["by_region"], "owner": t["by_owner"]}[column]
    return {"id": f"by-{column}", "title": title, "group": t[f"group_{column}"], "rows": rows, "total": total,
            "show_cost": column == "owner"}


def _breakdown_cells(r: pd.Series) -> dict:
    return {"n": _count(r["n"]), "risk": _count(r["risk"]), "high": _count(r["high"]),
            "share": _pct(r["risk"] / r["n"] if r["n"] else 0), "var": _money(r["var"]), "cost": _money(r["cost"])}


def _filters(frame: pd.DataFrame, language: str) -> list[dict]:
    t = i18n.TEXT[language]
    owners = sorted(frame["owner"].dropna().astype(str).unique(), key=str.casefold)
    owner_options = [(o, o) for o in owners] + ([(NO_OWNER, t["no_owner"])] if frame["owner"].isna().any() else [])
    present = set(frame["primary_cause"].dropna())
    causes = [c for c in LIST_CAUSES if c in present] + sorted(present - set(LIST_CAUSES))
    return [
        {"id": "filter-owner", "field": "owner", "label": t["filter_owner"], "options": owner_options},
        {"id": "filter-tier", "field": "value_tier", "label": t["filter_tier"],
         "options": [(v, i18n.term(i18n.VALUE_TIERS, v, language)) for v in VALUE_TIERS]},
        {"id": "filter-cause", "field": "primary_cause", "label": t["filter_cause"],
         "options": [(c, i18n.term(i18n.CAUSES, c, language)) for c in causes]},
        {"id": "filter-risk", "field": "risk_band", "label": t["filter_risk"],
         "options": [("__at_risk__", t["at_risk_option"])]
         + [(b, i18n.term(i18n.RISK_BANDS, b, language)) for b in RISK_BANDS]},
    ]


def _list_headers(language: str) -> list[dict]:
    c = i18n.COLUMNS[language]
    return [
        {"label": c["rank"], "cls": "num"},
        {"label": c["customer_id"], "cls": ""},
        {"label": f"{c['risk_band']} / {c['churn_probability']}", "cls": ""},
        {"label": c["value_tier"], "cls": ""},
        {"label": c["owner"], "cls": ""},
        {"label": f"{c['segment']} / {c['region']}", "cls": ""},
        {"label": c["primary_cause"], "cls": ""},
        {"label": c["action_label"], "cls": ""},
        {"label": f"{c['expected_loss']} / {c['value_12m']}", "cls": "num"},
        {"label": c["reasons"], "cls": "why"},
    ]


def _list_payload(frame: pd.DataFrame, language: str) -> dict:
    """The ranked list as compact JSON rows (translated text, raw keys for the filters)."""
    t = i18n.TEXT[language]
    contact = [c for c in ("contact_name", "email", "phone") if c in frame.columns]
    contact_text = [" · ".join(_text(v) for v in values if _text(v)) for values in zip(*(frame[c] for c in contact))] \
        if contact else [""] * len(frame)
    band_label = {b: i18n.term(i18n.RISK_BANDS, b, language) for b in frame["risk_band"].dropna().unique()}
    tier_label = {v: i18n.term(i18n.VALUE_TIERS, v, language) for v in frame["value_tier"].dropna().unique()}
    cause_names = set(frame["primary_cause"].dropna()) | set(frame["secondary_cause"].dropna())
    cause_label = {c: i18n.term(i18n.CAUSES, c, language) for c in cause_names}
    reasons = translate_reasons(frame["reasons"], language)
    cols = ["rank", "id", "name", "contact", "p", "band", "tier", "ka", "owner", "segment", "region", "cause",
            "secondary", "action", "channel", "role", "cost", "value", "loss", "why"]
    rows = []
    for i, r in enumerate(frame.itertuples(index=False)):
        rows.append([
            i + 1, str(r.customer_id), _text(getattr(r, "name", None)), contact_text[i],
            _number(r.churn_probability), _key(r.risk_band), _key(r.value_tier),
            (_text(getattr(r, "key_account_rule", None)) or True) if bool(r.is_key_account) else False,
            _key(r.owner), i18n.term(i18n.SEGMENTS, r.segment, language), i18n.term(i18n.REGIONS, r.region, language),
            _key(r.primary_cause), _key(r.secondary_cause),
            i18n.action_label(r.action, _text(r.action_label), language),
            i18n.term(i18n.CHANNELS, r.channel, language), i18n.term(i18n.OWNER_ROLES, r.owner_role, language),
            _number(r.action_cost), _number(r.value_12m), _number(r.expected_loss), reasons.iat[i],
        ])
    ui = {k: t[k] for k in ("shown", "page", "no_owner", "key_account", "secondary", "nothing_shown", "all_rows")}
    ui |= {"bands": band_label, "tiers": tier_label, "causes": cause_label,
           "band_colours": BAND_COLOURS, "cause_colours": CAUSE_COLOURS, "no_owner_value": NO_OWNER}
    return {"cols": cols, "rows": rows, "ui": ui}


def _set_aside(summary: dict, language: str) -> str:
    counts = summary.get("rows_set_aside") or {}
    parts = [f"{i18n.term(i18n.TABLES, table, language)} {_count(n)}" for table, n in counts.items() if n]
    return ", ".join(parts)


def _script_json(payload: dict) -> str:
    # Safe inside <script type="application/json">: no "</script>" or "<!--" can close it early.
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ------------------------------------------------------------------------------------------ Excel

OWNER_SHEET_COLUMNS = [
    "customer_id", "name", "contact_name", "email", "phone", "churn_probability", "risk_band", "value_tier",
    "is_key_account", "segment", "region", "primary_cause", "action_label", "channel", "owner_role", "action_cost",
    "value_12m", "expected_loss", "reasons",
]
_FORBIDDEN_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
_RESERVED_SHEET_NAMES = {"history"}


def sheet_name(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name: no []:*?/\\, no leading/trailing apostrophe, at most 31
    characters, not "History", unique ignoring case (as Excel compares). Adds the name to `taken`."""
    base = _FORBIDDEN_SHEET_CHARS.sub("_", str(name)).strip().strip("'").strip() or "_"
    base = base[:31].rstrip()
    if base.casefold() in _RESERVED_SHEET_NAMES:
        base = f"{base} _"
    candidate, n = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def write_excel(listing: pd.DataFrame, target: str | Path | IO[bytes], language: str = "en",
                mask_personal: bool = False) -> None:
    """The list as an .xlsx workbook, saved to `target` (a path or a binary buffer such as BytesIO).

    Sheet 1 has the full list; then one sheet per owner (alphabetical) with that owner's customers
    and actions, and customers without an owner last, in "(no owner)".
    """
    from openpyxl import Workbook

    i18n.check_language(language)
    t = i18n.TEXT[language]
    frame = _prepare(listing, mask_personal)
    table = _excel_values(frame, language)
    wb = Workbook()
    taken: set[str] = set()
    ws = wb.active
    ws.title = sheet_name(t["sheet_list"], taken)
    _write_sheet(ws, table, language)

    owner = frame["owner"].astype("object")
    owner_columns = [c for c in OWNER_SHEET_COLUMNS if c in table.columns]
    for name in sorted(owner.dropna().astype(str).unique(), key=str.casefold):
        part = table.loc[(owner == name).to_numpy(), owner_columns]
        _write_sheet(wb.create_sheet(sheet_name(name, taken)), part, language)
    if owner.isna().any():
        part = table.loc[owner.isna().to_numpy(), owner_columns]
        _write_sheet(wb.create_sheet(sheet_name(t["no_owner"], taken)), part, language)
    wb.save(target)


def _excel_values(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The list with readable (translated) values; numbers stay numbers."""
    t = i18n.TEXT[language]
    out = frame.copy()
    out["risk_band"] = frame["risk_band"].map(lambda v: i18n.term(i18n.RISK_BANDS, v, language))
    out["value_tier"] = frame["value_tier"].map(lambda v: i18n.term(i18n.VALUE_TIERS, v, language))
    for c in ("primary_cause", "secondary_cause"):
        out[c] = frame[c].map(lambda v: i18n.term(i18n.CAUSES, v, language))
    out["is_key_account"] = frame["is_key_account"].map(lambda v: t["yes"] if bool(v) else t["no"])
    out["segment"] = frame["segment"].map(lambda v: i18n.term(i18n.SEGMENTS, v, language))
    out["region"] = frame["region"].map(lambda v: i18n.term(i18n.REGIONS, v, language))
    out["channel"] = frame["channel"].map(lambda v: i18n.term(i18n.CHANNELS, v, language))
    out["owner_role"] = frame["owner_role"].map(lambda v: i18n.term(i18n.OWNER_ROLES, v, language))
    out["action_label"] = [i18n.action_label(a, _text(label), language)
                           for a, label in zip(frame["action"], frame["action_label"], strict=True)]
    out["reasons"] = translate_reasons(frame["reasons"], language)
    return out


def _write_sheet(ws, table: pd.DataFrame, language: str) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    headings = i18n.COLUMNS[language]
    columns = list(table.columns)
    ws.append([headings.get(c, c) for c in columns])
    for values in table.itertuples(index=False):
        row = [_excel_cell(v, ILLEGAL_CHARACTERS_RE) for v in values]
        ws.append(row)
        if any(isinstance(v, str) and v.startswith("=") for v in row):
            for cell in ws[ws.max_row]:  # text from the data, not a formula
                if cell.data_type == "f":
                    cell.data_type = "s"
    n = len(table)
    last = get_column_letter(len(columns))

    header_fill, thin = PatternFill("solid", fgColor="1F3A5F"), Side(style="thin", color="B0B7C3")
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        cell.border = Border(bottom=thin)
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}{n + 1}"

    formats = {"churn_probability": "0.0%", "cause_share": "0%"} | {c: "#,##0" for c in MONEY_COLUMNS}
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        if column in formats and n:
            for (cell,) in ws.iter_rows(min_row=2, max_row=n + 1, min_col=j, max_col=j):
                cell.number_format = formats[column]
        ws.column_dimensions[letter].width = _column_width(headings.get(column, column), table[column], column)

    if n and "churn_probability" in columns:
        letter = get_column_letter(columns.index("churn_probability") + 1)
        ws.conditional_formatting.add(
            f"{letter}2:{letter}{n + 1}",
            ColorScaleRule(start_type="num", start_value=0, start_color="FFFFFF",
                           mid_type="num", mid_value=0.5, mid_color="F8D57E",
                           end_type="num", end_value=1, end_color="E06666"))
    if n and "risk_band" in columns:
        letter = get_column_letter(columns.index("risk_band") + 1)
        high = i18n.term(i18n.RISK_BANDS, "high", language)
        ws.conditional_formatting.add(
            f"{letter}2:{letter}{n + 1}",
            CellIsRule(operator="equal", formula=[f'"{high}"'], fill=PatternFill("solid", bgColor="F4CCCC"),
                       font=Font(bold=True, color="990000")))


def _excel_cell(value: object, illegal: re.Pattern) -> object:
    if _missing(value):
        return None
    if isinstance(value, str):
        return illegal.sub("", value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _column_width(heading: str, values: pd.Series, column: str) -> float:
    if column == "reasons":
        return 70
    sample = [heading] + [str(v) for v in values.head(500) if not _missing(v)]
    if column in ("churn_probability", "cause_share"):
        sample = [heading, "100.0%"]
    elif column in MONEY_COLUMNS:
        sample = [heading] + [f"{v:,.0f}" for v in values.head(500) if not _missing(v)]
    widest = max(_display_width(s) for s in sample)
    return float(min(60, max(8, widest + 2)))


def _display_width(text: str) -> int:
    # CJK characters take two columns.
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


# ---------------------------------------------------------------------------------------- helpers

def _prepare(listing: pd.DataFrame, mask_personal: bool) -> pd.DataFrame:
    """The list in rank order with the report's columns: personal columns after the id, unknown extras last."""
    missing = [c for c in ("customer_id", "churn_probability", "risk_band", "expected_loss") if c not in listing]
    if missing:
        raise ValueError(f"the retention list has no column(s) {missing}")
    frame = listing.reset_index(drop=True)
    for column in LIST_COLUMNS:
        if column not in frame.columns:
            frame[column] = False if column == "is_key_account" else (0.0 if column in MONEY_COLUMNS else None)
    if mask_personal:
        frame = mask_personal_columns(frame)
    personal = [c for c in PERSONAL_COLUMNS if c in frame.columns]
    extras = [c for c in frame.columns if c not in LIST_COLUMNS and c not in personal]
    order = ["customer_id", *personal, *LIST_COLUMNS[1:], *extras]
    frame = frame[order]
    for column in ("churn_probability", "cause_share", *MONEY_COLUMNS):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["expected_loss"] = frame["expected_loss"].fillna(0.0)
    frame["action_cost"] = frame["action_cost"].fillna(0.0)
    frame["is_key_account"] = frame["is_key_account"].astype("boolean").fillna(False).astype(bool)
    return frame


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _key(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _number(value: object) -> float | None:
    return None if _missing(value) else float(value)


def _first(frame: pd.DataFrame, column: str) -> str:
    values = frame[column].dropna()
    return str(values.iloc[0]) if len(values) else "n/a"


def _money(value: object) -> str:
    return "n/a" if _missing(value) else f"{float(value):,.0f}"


def _count(value: object) -> str:
    return f"{int(value):,}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"
