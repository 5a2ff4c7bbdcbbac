"""An interaction history written as a CRM's own export files: Zoho CRM's modules (English field labels,
UTF-8 CSV) or 纷享销客 / Fxiaoke's objects (Chinese field names, Excel and GBK CSV), with the quirks such
exports have (account names instead of ids, `¥1,234.50`, `2024/03/05 14:22`, `2024年3月5日`, 是/否, one file
per year). `churn demo --export SYSTEM` writes the sample business this way, so that `churn map` and the
mappings in configs/sources/ can be tried, and checked, on exports that hold a known history.

Fields are the systems' standard ones where they have one (Zoho: Account Name, Account Number, Account
Owner, Industry, Billing State, Created Time, SO Number, Grand Total, Call Type, Call Start Time, Related To,
Case Number, Case Reason, ...; Fxiaoke: 客户名称, 客户编号, 负责人, 创建时间, 销售订单编号, 下单日期, 订单金额,
跟进时间, 工单编号, ...). What the standard modules do not hold (a sales order's margin, a key-account flag,
survey answers, retention offers, exit reasons) is written as the custom fields or custom modules a company
adds for it, named in `CUSTOM` so that the configs can say which is which.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

CRM_SYSTEMS = ("zoho_crm", "fxiaoke")
Encoding = Literal["utf-8-sig", "gb18030", "xlsx"]


@dataclass(frozen=True)
class ExportFile:
    """One export file: its name (with suffix), its rows as the CRM writes them, and how it is encoded."""

    name: str
    frame: pd.DataFrame
    encoding: Encoding


# Fields a company adds to the standard modules (or custom modules) to hold what churn reads.
CUSTOM = {
    "zoho_crm": {"Accounts": ["Key Account", "Churn Date"],
                 "Sales Orders": ["Total Quantity", "Discount %", "Product Category", "Margin"],
                 "Meetings": ["Meeting Type", "Initiated By"],
                 "Cases": ["Case Reason (picklist values)", "Resolved Time"],
                 "Survey Responses": ["custom module"], "Retention Offers": ["custom module"],
                 "Lost Reasons": ["custom module"]},
    "fxiaoke": {"客户": ["是否重点客户", "流失日期"], "销售订单": ["毛利", "产品分类", "折扣率"],
                "工单": ["问题类型 (选项值)", "是否投诉"], "满意度调查": ["自定义对象"], "挽留活动": ["自定义对象"],
                "流失原因": ["自定义对象"]},
}

# Picklist words of each system for the contract's closed vocabularies (and the demo's segments, regions,
# actions), canonical value -> the export's word. The configs map them back.
ZOHO_WORDS = {
    "direction": {"outbound": "Outbound", "inbound": "Inbound"},
    "meeting_type": {"visit": "Visit", "meeting": "Meeting", "event": "Event", "email": "Email"},
    "initiated_by": {"outbound": "Us", "inbound": "Customer"},
    "category": {"quality": "Product quality", "service": "Service", "delivery": "Delivery", "price": "Pricing",
                 "billing": "Billing", "other": "Other"},
    "is_complaint": {True: "Problem", False: "Question"},
    "treated": {True: "Offered", False: "Held out"},
    "cause": {"price": "Price", "service": "Service", "quality": "Quality", "engagement": "Engagement",
              "other": "Other"},
}
FXIAOKE_WORDS = {
    "segment": {"hospital": "医院", "clinic": "诊所", "pharmacy": "药店", "distributor": "经销商"},
    "region": {"East": "华东", "South": "华南", "North": "华北", "Central": "华中", "West": "西部", "Northeast": "东北"},
    "channel": {"call": "电话", "visit": "拜访", "email": "邮件", "meeting": "会议", "event": "活动", "other": "其他"},
    "direction": {"outbound": "呼出", "inbound": "呼入"},
    "category": {"quality": "质量问题", "service": "服务问题", "delivery": "物流配送", "price": "价格问题",
                 "billing": "开票结算", "other": "其他"},
    "bool": {True: "是", False: "否"},
    "action": {"reengagement_call": "回访电话", "auto_reengagement": "自动关怀", "rep_visit": "上门拜访",
               "ka_business_review": "大客户经营回顾"},
    "cause": {"price": "价格", "service": "服务", "quality": "质量", "engagement": "互动减少", "other": "其他"},
    "source": {"exit survey": "流失调查", "account manager": "客户经理"},
}


def crm_export(tables: dict[str, pd.DataFrame], system: str) -> list[ExportFile]:
    """The canonical `tables` as `system`'s export files (CRM_SYSTEMS). Values that are not what their column
    should hold (a bad timestamp, an unknown customer) are written as they are, as a real export would."""
    if system not in CRM_SYSTEMS:
        raise ValueError(f"unknown CRM {system!r}; known: {', '.join(CRM_SYSTEMS)}")
    names = tables["customers"].set_index("customer_id")["name"]
    return (_zoho if system == "zoho_crm" else _fxiaoke)(tables, names)


# --------------------------------------------------------------------------- helpers


def _account(ids: pd.Series, names: pd.Series) -> pd.Series:
    """The account's name in place of its id (CRM exports link records by name); an id that names no account
    stays as it is, as a record whose account was deleted or mistyped would."""
    return ids.map(names).fillna(ids).astype(object)


def _times(values: pd.Series, fmt: str) -> pd.Series:
    """Timestamps in the export's format; text that is no time is written unchanged, an empty cell stays empty."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    out = values.astype(object).copy()
    ok = parsed.notna()
    if fmt == "chinese":
        out[ok] = [f"{t.year}年{t.month}月{t.day}日 {t:%H:%M:%S}" for t in parsed[ok]]
    else:
        out[ok] = parsed[ok].dt.strftime(fmt)
    return out


def _words(values: pd.Series, words: dict) -> pd.Series:
    return values.astype(object).map(lambda v: words.get(v, v) if pd.notna(v) else v)


def _yuan(values: pd.Series) -> pd.Series:
    """Amounts as a Chinese export formats money: `¥1,234.50`, `-¥12.50`."""
    return values.map(lambda v: v if not isinstance(v, (int, float, np.floating)) or pd.isna(v)
                      else f"{'-' if v < 0 else ''}¥{abs(v):,.2f}")


def _by_year(stem: str, frame: pd.DataFrame, ts: pd.Series, encoding: Encoding) -> list[ExportFile]:
    """One file per year of `ts` (`stem_2024.csv`), as a user exporting a module year by year has; rows whose
    time cannot be read go with the first year."""
    suffix = ".xlsx" if encoding == "xlsx" else ".csv"
    years = pd.to_datetime(ts, errors="coerce", format="mixed").dt.year
    years = years.fillna(years.min()).astype(int)
    return [ExportFile(f"{stem}_{year}{suffix}", frame[years == year].reset_index(drop=True), encoding)
            for year in sorted(years.unique())]


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series(pd.NA, index=df.index, dtype=object)


# --------------------------------------------------------------------------- Zoho CRM


ZOHO_TIME = "%Y-%m-%d %H:%M:%S"


def _zoho(tables: dict[str, pd.DataFrame], names: pd.Series) -> list[ExportFile]:
    c, o = tables["customers"], tables["orders"]
    files = [ExportFile("Accounts.csv", pd.DataFrame({
        "Account Number": c["customer_id"], "Account Name": c["name"], "Account Owner": c["owner"],
        "Account Type": "Customer", "Industry": c["segment"], "Billing State": c["region"],
        "Key Account": _col(c, "is_key_account").map({True: "true", False: "false"}),
        "Created Time": _times(c["signup_date"], ZOHO_TIME), "Churn Date": _times(_col(c, "churn_date"), "%Y-%m-%d"),
    }), "utf-8-sig")]
    owner = o["customer_id"].map(c.set_index("customer_id")["owner"])
    orders = pd.DataFrame({
        "SO Number": o["order_id"], "Subject": "Order " + o["order_id"].astype(str),
        "Account Name": _account(o["customer_id"], names), "Sales Order Owner": owner, "Status": "Delivered",
        "Created Time": _times(o["ts"], ZOHO_TIME), "Total Quantity": o["quantity"], "Discount %": o["discount"],
        "Product Category": o["product"], "Grand Total": o["amount"], "Margin": o["margin"], "Currency": "CNY",
    })
    files += _by_year("Sales_Orders", orders, o["ts"], "utf-8-sig")
    i = tables["interactions"]
    calls, other = i[i["channel"] == "call"], i[i["channel"] != "call"]
    files.append(ExportFile("Calls.csv", pd.DataFrame({
        "Subject": "Call", "Call Type": _words(calls["direction"], ZOHO_WORDS["direction"]),
        "Call Start Time": _times(calls["ts"], ZOHO_TIME), "Related To": _account(calls["customer_id"], names),
    }), "utf-8-sig"))
    files.append(ExportFile("Meetings.csv", pd.DataFrame({
        "Title": _words(other["channel"], ZOHO_WORDS["meeting_type"]), "From": _times(other["ts"], ZOHO_TIME),
        "Related To": _account(other["customer_id"], names),
        "Meeting Type": _words(other["channel"], ZOHO_WORDS["meeting_type"]),
        "Initiated By": _words(other["direction"], ZOHO_WORDS["initiated_by"]),
    }), "utf-8-sig"))
    t = tables["tickets"]
    files.append(ExportFile("Cases.csv", pd.DataFrame({
        "Case Number": [f"{n:08d}" for n in range(1, len(t) + 1)], "Account Name": _account(t["customer_id"], names),
        "Created Time": _times(t["ts"], ZOHO_TIME), "Type": _words(t["is_complaint"], ZOHO_WORDS["is_complaint"]),
        "Case Reason": _words(t["category"], ZOHO_WORDS["category"]),
        "Status": np.where(t["resolved_ts"].notna(), "Closed", "New"),
        "Resolved Time": _times(t["resolved_ts"], ZOHO_TIME),
    }), "utf-8-sig"))
    s = tables["surveys"]
    files.append(ExportFile("Survey_Responses.csv", pd.DataFrame({
        "Account Name": _account(s["customer_id"], names), "Submitted Time": _times(s["ts"], ZOHO_TIME),
        "Overall satisfaction (0-10)": s["score"], "Product quality (0-10)": s["quality_score"],
        "Service (0-10)": s["service_score"], "Price (0-10)": s["price_score"],
    }), "utf-8-sig"))
    k = tables["campaigns"]
    files.append(ExportFile("Retention_Offers.csv", pd.DataFrame({
        "Account Name": _account(k["customer_id"], names), "Offer Date": _times(k["ts"], ZOHO_TIME),
        "Offer": k["action"], "Group": _words(k["treated"], ZOHO_WORDS["treated"]), "Cost": k["cost"],
    }), "utf-8-sig"))
    r = tables["loss_reasons"]
    files.append(ExportFile("Lost_Reasons.csv", pd.DataFrame({
        "Account Name": _account(r["customer_id"], names), "Recorded Time": _times(r["ts"], ZOHO_TIME),
        "Reason": _words(r["cause"], ZOHO_WORDS["cause"]), "Source": r["source"],
    }), "utf-8-sig"))
    return files


# --------------------------------------------------------------------------- 纷享销客 / Fxiaoke


def _fxiaoke(tables: dict[str, pd.DataFrame], names: pd.Series) -> list[ExportFile]:
    w = FXIAOKE_WORDS
    c, o = tables["customers"], tables["orders"]
    files = [ExportFile("客户.xlsx", pd.DataFrame({
        "客户编号": c["customer_id"], "客户名称": c["name"], "负责人": c["owner"],
        "客户类型": _words(c["segment"], w["segment"]), "所在区域": _words(c["region"], w["region"]),
        "是否重点客户": _words(_col(c, "is_key_account"), w["bool"]), "创建时间": _times(c["signup_date"], "%Y/%m/%d %H:%M:%S"),
        "流失日期": _times(_col(c, "churn_date"), "%Y-%m-%d"),
    }), "xlsx")]
    owner = o["customer_id"].map(c.set_index("customer_id")["owner"])
    orders = pd.DataFrame({
        "销售订单编号": o["order_id"], "客户名称": _account(o["customer_id"], names), "负责人": owner,
        "下单日期": _times(o["ts"], "%Y/%m/%d %H:%M:%S"), "订单金额": _yuan(o["amount"]), "数量": o["quantity"],
        "折扣率": o["discount"], "产品分类": o["product"], "毛利": _yuan(o["margin"]), "订单状态": "已完成",
    })
    files += _by_year("销售订单", orders, o["ts"], "gb18030")
    i = tables["interactions"]
    files.append(ExportFile("销售记录.xlsx", pd.DataFrame({
        "客户名称": _account(i["customer_id"], names), "跟进时间": _times(i["ts"], "chinese"),
        "跟进方式": _words(i["channel"], w["channel"]), "呼叫方向": _words(i["direction"], w["direction"]),
    }), "xlsx"))
    t = tables["tickets"]
    files.append(ExportFile("工单.csv", pd.DataFrame({
        "工单编号": [f"GD{n:07d}" for n in range(1, len(t) + 1)], "客户名称": _account(t["customer_id"], names),
        "创建时间": _times(t["ts"], "%Y/%m/%d %H:%M:%S"), "问题类型": _words(t["category"], w["category"]),
        "是否投诉": _words(t["is_complaint"], w["bool"]), "解决时间": _times(t["resolved_ts"], "%Y/%m/%d %H:%M:%S"),
    }), "utf-8-sig"))
    s = tables["surveys"]
    files.append(ExportFile("满意度调查.xlsx", pd.DataFrame({
        "客户名称": _account(s["customer_id"], names), "提交时间": _times(s["ts"], "chinese"),
        "总体满意度": s["score"], "质量满意度": s["quality_score"], "服务满意度": s["service_score"],
        "价格满意度": s["price_score"],
    }), "xlsx"))
    k = tables["campaigns"]
    files.append(ExportFile("挽留活动.csv", pd.DataFrame({
        "客户名称": _account(k["customer_id"], names), "活动日期": _times(k["ts"], "%Y/%m/%d %H:%M:%S"),
        "挽留措施": _words(k["action"], w["action"]), "是否执行": _words(k["treated"], w["bool"]), "费用": _yuan(k["cost"]),
    }), "gb18030"))
    r = tables["loss_reasons"]
    files.append(ExportFile("流失原因.csv", pd.DataFrame({
        "客户名称": _account(r["customer_id"], names), "登记时间": _times(r["ts"], "%Y/%m/%d %H:%M:%S"),
        "流失原因": _words(r["cause"], w["cause"]), "来源": _words(r["source"], w["source"]),
    }), "gb18030"))
    return files
