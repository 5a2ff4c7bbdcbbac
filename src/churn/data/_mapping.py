"""`churn map`: propose how a folder of CRM exports maps onto the contract.

Each export (one file, or several with one header: monthly exports) is matched to a canonical table by its
name and its columns; each canonical column to a source column by English and Chinese synonyms (the field
names of Zoho CRM, 纷享销客 and common spreadsheets) and by what the values are: times must read as times,
amounts as amounts, scores within 0-10, yes/no columns as yes/no. Records that refer to a customer are
linked by id or by name, whichever their values match in the customers' export. A picklist column of a
closed vocabulary (channel, category, ...) gets a `values` map from the export's words. Pure: frames in,
a proposal out; the runner reads the files and writes the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from churn.data._amounts import parse_amounts
from churn.data._contract import TABLES
from churn.data._links import name_key
from churn.data._validate import FALSE, TRUE, to_utc_naive

# Export names (file stems without their date part) of each table, normalised (`_norm`).
TABLE_NAMES = {
    "customers": ["accounts", "account", "customers", "customer", "clients", "客户", "客户列表", "客户档案", "客户资料"],
    "orders": ["salesorders", "orders", "order", "invoices", "sales", "销售订单", "订单", "发货单", "销售出库单"],
    "interactions": ["calls", "meetings", "visits", "activities", "events", "emails", "interactions", "销售记录",
                     "跟进记录", "拜访记录", "通话记录", "外勤签到", "拜访"],
    "tickets": ["cases", "tickets", "complaints", "servicerequests", "工单", "服务工单", "投诉", "客诉"],
    "surveys": ["surveyresponses", "surveys", "survey", "nps", "满意度调查", "问卷", "满意度", "客户满意度"],
    "campaigns": ["retentionoffers", "campaigns", "offers", "campaignmembers", "挽留活动", "营销活动", "活动成员"],
    "loss_reasons": ["lostreasons", "lossreasons", "exitsurveys", "churnreasons", "流失原因", "流失登记"],
}
# A table's rows that come from an interactions export without a channel column: the channel its name says.
CHANNEL_OF_EXPORT = {"calls": "call", "通话记录": "call", "meetings": "meeting", "visits": "visit", "拜访": "visit",
                     "拜访记录": "visit", "外勤签到": "visit", "emails": "email", "events": "event"}

CUSTOMER_ID = ["customerid", "accountnumber", "accountid", "recordid", "customerno", "customernumber", "客户编号",
               "客户id", "客户编码", "客户代码"]
CUSTOMER_NAME = ["accountname", "customername", "relatedto", "account", "customer", "company", "客户名称", "客户",
                 "客户名", "公司名称", "所属客户"]
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        "customer_id": CUSTOMER_ID, "name": ["name", "accountname", "customername", "company", "客户名称", "客户名",
                                             "公司名称"],
        "segment": ["segment", "industry", "customertype", "客户类型", "客户分类", "行业", "客户类别"],
        "region": ["region", "territory", "territories", "billingstate", "state", "province", "所在区域", "区域",
                   "大区", "省份", "地区"],
        "owner": ["owner", "accountowner", "负责人", "客户负责人", "客户经理", "销售代表"],
        "signup_date": ["signupdate", "createdtime", "createddate", "创建时间", "建档日期", "开户日期"],
        "is_key_account": ["iskeyaccount", "keyaccount", "是否重点客户", "重点客户", "是否大客户", "大客户"],
        "churn_date": ["churndate", "lostdate", "流失日期"],
        "contact_name": ["contactname", "primarycontact", "联系人", "联系人姓名"],
        "email": ["email", "e-mail", "邮箱", "电子邮件"],
        "phone": ["phone", "mobile", "telephone", "电话", "手机", "联系电话"],
    },
    "orders": {
        "ts": ["ts", "orderdate", "createdtime", "invoicedate", "date", "下单日期", "订单日期", "创建时间", "日期"],
        "amount": ["amount", "grandtotal", "total", "orderamount", "订单金额", "金额", "总金额", "销售额", "价税合计"],
        "order_id": ["orderid", "sonumber", "invoicenumber", "ordernumber", "销售订单编号", "订单编号", "单号"],
        "quantity": ["quantity", "totalquantity", "qty", "数量"],
        "discount": ["discount", "discountrate", "折扣率", "折扣"],
        "product": ["product", "productcategory", "productname", "产品分类", "产品", "产品名称", "品类"],
        "margin": ["margin", "grossmargin", "毛利", "毛利额"],
    },
    "interactions": {
        "ts": ["ts", "callstarttime", "from", "start", "startdatetime", "activitydate", "跟进时间", "拜访时间",
               "通话时间", "签到时间"],
        "channel": ["channel", "meetingtype", "activitytype", "跟进方式", "跟进类型", "联系方式"],
        "direction": ["direction", "calltype", "initiatedby", "calldirection", "呼叫方向", "方向", "通话类型"],
    },
    "tickets": {
        "ts": ["ts", "createdtime", "openeddate", "创建时间", "提交时间", "报告时间"],
        "category": ["category", "casereason", "reason", "问题类型", "工单类型", "问题分类", "投诉类型"],
        "is_complaint": ["iscomplaint", "complaint", "type", "是否投诉", "投诉"],
        "resolved_ts": ["resolvedts", "resolvedtime", "closedtime", "解决时间", "关闭时间", "完成时间"],
    },
    "surveys": {
        "ts": ["ts", "submittedtime", "responsetime", "提交时间", "填写时间"],
        "score": ["score", "overallsatisfaction", "satisfaction", "总体满意度", "满意度", "总分"],
        "quality_score": ["qualityscore", "productquality", "质量满意度", "产品质量"],
        "service_score": ["servicescore", "service", "服务满意度"],
        "price_score": ["pricescore", "price", "价格满意度"],
    },
    "campaigns": {
        "ts": ["ts", "offerdate", "date", "活动日期", "执行日期"],
        "action": ["action", "offer", "挽留措施", "措施"],
        "treated": ["treated", "group", "是否执行", "执行"],
        "cost": ["cost", "费用", "成本"],
    },
    "loss_reasons": {
        "ts": ["ts", "recordedtime", "登记时间"],
        "cause": ["cause", "reason", "lostreason", "流失原因", "原因"],
        "source": ["source", "来源"],
    },
}
# Picklist words of the contract's closed vocabularies (the columns with `allowed` values, and yes/no),
# normalised, by canonical value.
WORDS: dict[str, dict[str, list[str]]] = {
    "channel": {"call": ["call", "phone", "phonecall", "电话", "通话"], "visit": ["visit", "拜访", "上门拜访", "面访"],
                "email": ["email", "e-mail", "邮件"], "meeting": ["meeting", "会议", "会面"],
                "event": ["event", "活动", "展会"], "other": ["other", "其他"]},
    "direction": {"outbound": ["outbound", "outgoing", "呼出", "us", "主动"],
                  "inbound": ["inbound", "incoming", "呼入", "customer", "missed", "被动"]},
    "category": {"quality": ["quality", "productquality", "质量问题", "质量"], "service": ["service", "服务问题", "服务"],
                 "delivery": ["delivery", "logistics", "物流配送", "配送", "物流"],
                 "price": ["price", "pricing", "价格问题", "价格"], "billing": ["billing", "invoice", "开票结算", "发票", "结算"],
                 "other": ["other", "其他"]},
    "cause": {"price": ["price", "价格"], "service": ["service", "服务"], "quality": ["quality", "质量"],
              "engagement": ["engagement", "互动减少", "nocontact"], "other": ["other", "其他"]},
    "bool": {"true": ["problem", "complaint", "offered", "treated", "是", "yes", "true"],
             "false": ["question", "featurerequest", "heldout", "control", "否", "no", "false"]},
}
ACCEPT = 0.5  # a proposed column below this confidence is left for the user


@dataclass(frozen=True)
class ColumnMatch:
    column: str  # canonical
    source: str | None  # the export's column; None for a constant
    confidence: float
    why: str
    samples: tuple[str, ...] = ()
    constant: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    unmapped_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportMatch:
    export: str  # a file name, or a pattern for several files with one header
    table: str | None
    columns: tuple[ColumnMatch, ...] = ()
    customer_by: str = "id"
    missing: tuple[str, ...] = ()  # required canonical columns not found
    why: str = ""


@dataclass(frozen=True)
class MappingProposal:
    exports: tuple[ExportMatch, ...]

    def used(self) -> list[ExportMatch]:
        return [e for e in self.exports if e.table is not None]

    def ignored(self) -> list[ExportMatch]:
        return [e for e in self.exports if e.table is None]

    def missing(self) -> dict[str, list[str]]:
        """Required columns not found, by table (a table with no export at all is not listed: it is optional,
        but orders or customers must be there)."""
        return {e.table: list(e.missing) for e in self.used() if e.missing}

    def complete(self) -> bool:
        """Whether the proposal can be pulled as it is: orders or customers found, every required column found."""
        return bool({e.table for e in self.used()} & {"orders", "customers"}) and not self.missing()

    def tables(self) -> dict:
        """The proposal as `source.tables` of a config (a list where several exports make one table)."""
        out: dict[str, list[dict]] = {}
        for e in self.used():
            part: dict = {"table": e.export}
            if e.customer_by == "name":
                part["customer_by"] = "name"
            part["columns"] = {c.column: c.source for c in e.columns if c.source is not None}
            constants = {c.column: c.constant for c in e.columns if c.constant is not None}
            if constants:
                part["constants"] = constants
            values = {c.column: c.values for c in e.columns if c.values}
            if values:
                part["values"] = values
            out.setdefault(e.table, []).append(part)
        return {name: parts[0] if len(parts) == 1 else parts for name, parts in out.items()}


def _norm(text: str) -> str:
    """A header or word as compared: lower case, without bracketed notes, spaces and punctuation."""
    text = re.sub(r"[（(\[【].*?[)）\]】]", "", str(text).lower())
    return re.sub(r"[\s_\-.:/%#·、]+", "", text)


DATE_PART = r"\d{4}([\-_.年]?\d{1,2}月?)?([\-_.]?\d{1,2}日?)?"


def export_pattern(name: str) -> str | None:
    """The file pattern of a dated export (`Sales_Orders_2024-03.csv` -> `Sales_Orders_*`): later months' files
    match it too. None for a file without a date at the end of its name."""
    stem = re.sub(r"\.(csv|xlsx|xls|parquet)$", "", name, flags=re.I)
    found = re.match(rf"(.*?[^\d])[\s_\-]*{DATE_PART}$", stem)
    if not found:
        return None
    prefix = stem[:len(stem) - len(re.search(rf"{DATE_PART}$", stem).group(0))]
    return f"{prefix}*"


def export_stem(name: str) -> str:
    """A file's name without suffix and without a trailing date or number (`Sales_Orders_2024-03` ->
    `Sales_Orders`), normalised."""
    stem = re.sub(r"\.(csv|xlsx|xls|parquet)$", "", name, flags=re.I).rstrip("*")
    stem = re.sub(rf"[\s_\-]*{DATE_PART}$", "", stem)
    stem = re.sub(r"[\s_\-]*\(\d+\)$", "", stem)
    return _norm(stem)


def _name_score(header: str, synonyms: list[str]) -> float:
    h = _norm(header)
    if not h:
        return 0.0
    if h in synonyms:
        return 1.0 - 0.02 * synonyms.index(h) / max(len(synonyms), 1)
    partial = [s for s in synonyms if len(s) >= 2 and (s in h or (h in s and len(h) >= 2))]
    return 0.6 if partial else 0.0


def _sample(values: pd.Series, k: int = 500) -> pd.Series:
    kept = values.dropna().astype(str).str.strip()
    return kept[kept != ""].head(k)


def _type_share(values: pd.Series, kind: str) -> float:
    """The share of sampled values that read as the contract's type `kind`."""
    sample = _sample(values)
    if sample.empty:
        return 0.0
    if kind == "timestamp":
        return float(to_utc_naive(sample).notna().mean())
    if kind == "money":
        return float(parse_amounts(sample)[0].notna().mean())
    numbers = pd.to_numeric(sample, errors="coerce")
    if kind == "float":
        return float(numbers.notna().mean())
    if kind == "score":
        return float(numbers.between(0, 10).mean())
    if kind == "bool":
        words = {w for ws in WORDS["bool"].values() for w in ws} | TRUE | FALSE
        return float(sample.map(_norm).isin(words).mean())
    return 1.0


def _value_map(values: pd.Series, vocabulary: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The export's distinct words -> canonical values; words it cannot place (kept as they are)."""
    distinct = sorted(set(_sample(values, 100_000)))
    words = WORDS[vocabulary]
    mapped, unknown = {}, []
    for word in distinct:
        hit = next((canon for canon, ws in words.items() if _norm(word) in ws), None)
        if hit is None:
            unknown.append(word)
        elif word != hit:
            mapped[word] = hit
    return mapped, tuple(unknown)


def _match_column(frame: pd.DataFrame, table: str, column: str, taken: set[str]) -> ColumnMatch | None:
    spec = TABLES[table].column(column)
    best: ColumnMatch | None = None
    # A header that is exactly another column's name is that column's, whatever it partly says ("Total Quantity"
    # is the quantity, not the total).
    others = {s for other, synonyms in SYNONYMS[table].items() if other != column for s in synonyms}
    for header in frame.columns:
        if header in taken:
            continue
        score = _name_score(str(header), SYNONYMS[table][column])
        if score == 0 or (score < 0.95 and _norm(str(header)) in others):
            continue
        kind = {"timestamp": "times", "money": "amounts", "float": "numbers", "score": "scores 0-10",
                "bool": "yes/no", "str": "text"}[spec.type]
        why = "name" if score >= 0.95 else "name (partly)"
        if _sample(frame[header]).empty:  # an empty column (no customer has churned yet): its name is all there is
            confidence, why = round(score * 0.6, 2), f"{why}, empty: no values to check"
        else:
            share = _type_share(frame[header], spec.type)
            confidence = round(score * (1.0 if share >= 0.9 else 0.3 + 0.5 * share), 2)
            why = f"{why}, {share:.0%} {kind}"
        if best is None or confidence > best.confidence:
            values, unmapped = {}, ()
            if spec.type == "bool" or spec.allowed is not None:  # the contract's closed vocabularies
                values, unmapped = _value_map(frame[header], "bool" if spec.type == "bool" else column)
            best = ColumnMatch(column, str(header), confidence, why, tuple(_sample(frame[header], 3)), None, values,
                               unmapped)
    return best


def _customer_link(frame: pd.DataFrame, ids: set[str], names: set[str]) -> tuple[ColumnMatch | None, str]:
    """The column naming each record's customer, and whether it holds ids or names: by header, then by which
    of the customers' ids or names its values are."""
    best, by = None, "id"
    for header in frame.columns:
        score = max(_name_score(str(header), CUSTOMER_ID), _name_score(str(header), CUSTOMER_NAME))
        if score == 0:
            continue
        sample = _sample(frame[header])
        id_share = float(sample.isin(ids).mean()) if len(sample) and ids else 0.0
        name_share = float(name_key(sample).isin(names).mean()) if len(sample) and names else 0.0
        share = max(id_share, name_share)
        confidence = round(score * (0.5 + 0.5 * share) if (ids or names) else score * 0.8, 2)
        if best is None or confidence > best.confidence:
            linked_by = "name" if name_share > id_share else "id"
            what = f"{share:.0%} are customers' {'names' if linked_by == 'name' else 'ids'}" if (ids or names) else \
                "no customers export to check against"
            best = ColumnMatch("customer_id", str(header), confidence, f"name, {what}", tuple(sample.head(3)))
            by = linked_by
    return best, by


def _table_of(export: str, frame: pd.DataFrame) -> tuple[str | None, str]:
    """Which canonical table an export holds: by its name first, else by the required columns its header has."""
    stem = export_stem(export)
    for table, names in TABLE_NAMES.items():
        if stem in names:
            return table, f"export name {stem!r}"
    scores = {}
    for table, spec in TABLES.items():
        required = [c for c in spec.required if c != "customer_id"]
        found = sum(any(_name_score(str(h), SYNONYMS[table].get(c, [c])) >= 0.95 for h in frame.columns)
                    for c in required)
        scores[table] = found / max(len(required), 1)
    table = max(scores, key=scores.get)
    if scores[table] == 1.0:
        return table, "its columns"
    return None, "neither its name nor its columns match a table churn reads"


def propose_mapping(exports: dict[str, pd.DataFrame]) -> MappingProposal:
    """A mapping of the exports (name or pattern -> its rows, a sample is enough) onto the contract."""
    placed = {name: _table_of(name, frame) for name, frame in exports.items()}
    customers = [name for name, (table, _) in placed.items() if table == "customers"]
    matches: list[ExportMatch] = []
    ids: set[str] = set()
    names: set[str] = set()
    for name in customers[:1] + [n for n in exports if n not in customers[:1]]:
        table, why = placed[name]
        frame = exports[name]
        if table is None or (table == "customers" and name != customers[0]):
            matches.append(ExportMatch(name, None, why=why if table is None else
                                       f"another customers export ({customers[0]} is used)"))
            continue
        columns: list[ColumnMatch] = []
        taken: set[str] = set()
        by = "id"
        if table == "customers":
            targets = TABLES[table].names
        else:
            link, by = _customer_link(frame, ids, names)
            if link is not None and link.confidence >= ACCEPT:
                columns.append(link)
                taken.add(link.source)
            targets = [c for c in TABLES[table].names if c != "customer_id"]
        for column in targets:
            if column not in SYNONYMS[table]:
                continue
            found = _match_column(frame, table, column, taken)
            if found is not None and found.confidence >= ACCEPT:
                columns.append(found)
                taken.add(found.source)
        if table == "interactions" and not any(c.column == "channel" for c in columns):
            channel = CHANNEL_OF_EXPORT.get(export_stem(name), "other")
            columns.append(ColumnMatch("channel", None, 0.8, f"every row: the export's name ({name})",
                                       constant=channel))
        if table == "customers":
            found = {c.column: c.source for c in columns}
            if "customer_id" not in found and "name" in found:  # accounts known by name only: the name is the id
                columns = [ColumnMatch("customer_id", found["name"], 0.7, "no id column: the name is the id",
                                       tuple(_sample(frame[found["name"]], 3)))] + \
                          [c for c in columns if c.column != "name"]
                found = {"customer_id": found["name"]}
            if "customer_id" in found:
                ids = set(_sample(frame[found["customer_id"]], 10**9))
                source_name = found.get("name", found["customer_id"])
                names = set(name_key(_sample(frame[source_name], 10**9)))
        got = {c.column for c in columns}
        missing = tuple(c for c in TABLES[table].required if c not in got)
        matches.append(ExportMatch(name, table, tuple(columns), by, missing, why))
    matches = _one_export_per_table(matches)
    order = {name: i for i, name in enumerate(exports)}
    rank = {table: i for i, table in enumerate(TABLES)}
    return MappingProposal(tuple(sorted(matches, key=lambda m: (rank.get(m.table, len(rank)), order[m.export]))))


def _one_export_per_table(matches: list[ExportMatch]) -> list[ExportMatch]:
    """Interactions may come from several exports (calls, meetings, visits): their rows are appended. Any other
    table keeps the export that matched the most columns: appending Zoho's Sales Orders and Invoices would count
    an order twice. The others are said, not used."""
    out = []
    for match in matches:
        rivals = [m for m in matches if m.table == match.table and m.table not in (None, "interactions")]
        best = max(rivals, key=lambda m: (not m.missing, len(m.columns)), default=match)
        if best is match:
            out.append(match)
        else:
            out.append(ExportMatch(match.export, None, why=f"also looks like {match.table}; {best.export} is used "
                                                            f"(to append both, list them under source.tables."
                                                            f"{match.table} in the config)"))
    return out
