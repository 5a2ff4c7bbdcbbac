"""The report's words in each language: English (the pipeline's own words) and Simplified Chinese, for
headings, causes, bands, tiers, actions and the reasons (rendered from their codes). The HTML page and the workbook both use it.

Lookups fall back to the original value: a value the dictionaries do not know (a new region, a
custom playbook action) is shown as it is rather than dropped.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from churn.report._frame import _missing, by_value

LANGUAGES = ("en", "zh")

# Reason phrases: one per reason key of `churn.score.REASON_KEYS` and language, filled with the
# reason's values. `{s}` is English's plural ending ("" for one, "s" otherwise; Chinese has no plural).
# `{category}` and `{dimension}` are complaint categories and satisfaction dimensions (`REASON_TERMS`).
REASON_PHRASES = {
    "en": {
        "orders_down": "orders down {pct}% vs the previous {t} days",
        "silent": "no order in {days} days",
        "discount_down": "discount down from {before}% to {after}%",
        "complaints": "{n} {category} complaint{s} in {t} days",
        "open_tickets": "{n} open ticket{s} (oldest {days} days)",
        "slow_resolution": "tickets take {days} days to resolve",
        "returns": "returns {pct}% of purchases",
        "promo_lift": "orders {x}x as much on promotion",
        "campaign_response": "bought {pct}% more after past {category} actions",
        "low_score": "{dimension} satisfaction {score:.1f}/10",
        "no_visit": "no rep visit in {days} days",
        "never_visited": "no rep visit on record",
        "contacts_down": "rep contacts down from {before} to {after} per {t} days",
        "none": "no warning signs in the data",
    },
    "zh": {
        "orders_down": "订单量较前{t}天下降{pct}%",
        "silent": "已{days}天未下单",
        "discount_down": "折扣从{before}%降至{after}%",
        "complaints": "{t}天内{n}次{category}投诉",
        "open_tickets": "{n}个未关闭工单（最久{days}天）",
        "slow_resolution": "工单平均{days}天才解决",
        "returns": "退货占采购额的{pct}%",
        "promo_lift": "促销时订货量为平时的{x}倍",
        "campaign_response": "以往{category}类措施后采购增加{pct}%",
        "low_score": "{dimension}满意度{score:.1f}/10",
        "no_visit": "已{days}天无销售代表拜访",
        "never_visited": "无销售代表拜访记录",
        "contacts_down": "销售代表联系次数从每{t}天{before}次降至{after}次",
        "none": "数据中无预警信号",
    },
}
# Complaint categories and satisfaction dimensions inside the reason phrases.
REASON_TERMS = {
    "en": {},
    "zh": {"price": "价格", "billing": "账单", "service": "服务", "delivery": "配送", "quality": "质量", "other": "其他"},
}
REASON_SEPARATOR = {"en": "; ", "zh": "；"}

CAUSES = {
    "en": {"price": "Price", "service": "Service", "quality": "Quality", "engagement": "Engagement", "other": "Cause unclear"},
    "zh": {"price": "价格", "service": "服务", "quality": "质量", "engagement": "客户关系", "other": "原因不明"},
}
RISK_BANDS = {
    "en": {"high": "High", "medium": "Medium", "low": "Low"},
    "zh": {"high": "高风险", "medium": "中风险", "low": "低风险"},
}
VALUE_TIERS = {
    "en": {"high": "High value", "medium": "Medium value", "low": "Low value"},
    "zh": {"high": "高价值", "medium": "中价值", "low": "低价值"},
}
CHANNELS = {
    "en": {"none": "-", "meeting": "meeting", "visit": "visit", "call": "call", "email": "e-mail"},
    "zh": {"none": "-", "meeting": "会议", "visit": "拜访", "call": "电话", "email": "邮件"},
}
OWNER_ROLES = {
    "en": {"none": "-"},
    "zh": {
        "none": "-", "key account manager": "大客户经理", "account manager": "客户经理", "inside sales": "内部销售",
        "customer service": "客户服务", "marketing automation": "营销自动化",
    },
}
LIFECYCLE_STAGES = {
    "en": {"new": "New", "growing": "Growing", "mature": "Mature", "declining": "Declining", "lapsed": "Lapsed"},
    "zh": {"new": "新客户", "growing": "成长期", "mature": "成熟期", "declining": "衰退期", "lapsed": "已流失"},
}
NEED_PROFILES = {
    "en": {"price": "Price-sensitive", "service": "Service-sensitive", "quality": "Quality-sensitive",
           "none": "No clear need"},
    "zh": {"price": "价格敏感", "service": "服务敏感", "quality": "质量敏感", "none": "无明显偏好"},
}
STRUCTURE_DIMENSIONS = {
    "en": {"value_tier": "Value tier", "is_key_account": "Key account", "lifecycle_stage": "Lifecycle stage",
           "need_profile": "Need profile", "segment": "Segment", "region": "Region", "pareto": "Value held by"},
    "zh": {"value_tier": "价值等级", "is_key_account": "大客户", "lifecycle_stage": "生命周期阶段",
           "need_profile": "需求类型", "segment": "客户类型", "region": "区域", "pareto": "价值集中度"},
}
SATISFACTION_TERMS = {
    "en": {"quarter": "Quarter", "segment": "Segment (last 12 months)", "owner": "Owner (last 12 months)",
           "complaints_365": "Complaints in the year before", "resolution_days_365": "Mean days to resolve them",
           "none resolved": "none resolved", "< 2": "under 2", "2-7": "2 to 7", "7-14": "7 to 14", "14+": "14 or more"},
    "zh": {"quarter": "季度", "segment": "客户类型（近12个月）", "owner": "负责人（近12个月）",
           "complaints_365": "此前一年的投诉数", "resolution_days_365": "投诉平均解决天数",
           "none resolved": "无已解决投诉", "< 2": "2天以内", "2-7": "2至7天", "7-14": "7至14天", "14+": "14天及以上"},
}
SEGMENTS = {"en": {}, "zh": {"hospital": "医院", "pharmacy": "药店", "clinic": "诊所", "distributor": "经销商"}}
TABLES = {
    "en": {},
    "zh": {"customers": "客户", "orders": "订单", "interactions": "互动记录", "tickets": "工单", "surveys": "满意度调查",
           "campaigns": "营销活动", "loss_reasons": "流失原因"},
}
REGIONS = {
    "en": {},
    "zh": {"North": "北部", "South": "南部", "East": "东部", "West": "西部", "Central": "中部", "Northeast": "东北",
           "Northwest": "西北", "Southeast": "东南", "Southwest": "西南"},
}

# The contact plan's decision for a customer (`churn.vocab.DECISIONS`), as the manager reads it.
DECISIONS = {
    "en": {"chosen": "Contact this week", "holdout": "Do not contact (measurement group)",
           "below budget line": "Not this week: below the budget line",
           "owner at capacity": "Not this week: owner at capacity", "not worth its cost": "No contact: not worth its cost"},
    "zh": {"chosen": "本周联系", "holdout": "不联系（效果对照组）", "below budget line": "本周不联系：超出预算线",
           "owner at capacity": "本周不联系：负责人已满负荷", "not worth its cost": "不联系：措施不值其成本"},
}

# What changed for a customer since the previous run (`churn.report._changes.CHANGES`).
CHANGES = {
    "en": {"new_at_risk": "New at risk", "no_longer_at_risk": "No longer at risk", "recovered": "Recovered (ordering again)",
           "lost": "Lost (lapsed or gone)", "still_at_risk": "Still at risk"},
    "zh": {"new_at_risk": "新增风险", "no_longer_at_risk": "风险解除", "recovered": "已挽回（恢复下单）",
           "lost": "已流失（停止下单或不再活跃）", "still_at_risk": "持续风险"},
}

# Every action of configs/playbook.yaml. English labels come from the playbook itself.
ACTION_LABELS_ZH = {
    "monitor": "暂不行动：持续监测",
    "ka_pricing_review": "高层价格评审，定制合同条款",
    "ka_service_recovery": "VIP服务补救：指定服务负责人，与客户共同复盘根本原因",
    "ka_quality_review": "会同质量保证部和医学事务部进行质量评审，提供换货保证",
    "ka_business_review": "高层业务回顾，邀请参加学术会议",
    "ka_check_in": "诊断拜访：了解客户采购减少的原因（价格、服务、质量、关系）",
    "pricing_offer": "价格评审，提供批量或忠诚度优惠",
    "service_recovery": "服务补救拜访：关闭未结工单、致歉、优先处理",
    "quality_follow_up": "质量跟进，提供换货保证",
    "rep_visit": "销售代表拜访，介绍产品更新",
    "account_check_in": "诊断电话：询问采购下降的原因并记录",
    "price_callback": "回电并提供定向优惠",
    "service_callback": "服务回电：解决未结问题",
    "quality_callback": "质量回电，提供换货",
    "reengagement_call": "重新激活电话，邀请参加学术活动",
    "check_in_call": "诊断电话：询问客户有何变化",
    "auto_price_email": "自动发送价格促销邮件",
    "auto_service_email": "自动发送服务满意度调查并由服务台跟进",
    "auto_quality_email": "自动发送质量保证通知（含退货保证）",
    "auto_reengagement": "自动化客户重新激活活动",
    "auto_diagnostic_survey": "自动发送两道题问卷：为何采购减少？",
    "ka_winback_visit": "大客户经理挽回拜访：了解客户停止采购的原因，提供定制回归条款",
    "winback_visit": "挽回拜访，提供回归优惠",
    "winback_call": "挽回电话：询问停止下单的原因，提供回归折扣",
    "auto_winback_email": "自动发送“我们想念您”邮件，附回归优惠",
    "ka_onboarding_review": "大客户经理入门回顾：首批订单、联系人和服务计划",
    "onboarding_visit": "入门拜访：确认首批订单顺利，介绍服务团队",
    "onboarding_call": "欢迎电话：确认首批订单情况及联系方式",
    "auto_onboarding_email": "自动发送欢迎系列邮件：如何下单、联系谁、产品目录",
}

# Column headings (Excel and the HTML list).
COLUMNS = {
    "en": {
        "rank": "#", "customer_id": "Customer", "name": "Name", "contact_name": "Contact", "email": "E-mail",
        "phone": "Phone", "churn_probability": "Churn probability", "risk_band": "Risk", "value_tier": "Value tier",
        "is_key_account": "Key account", "owner": "Owner", "segment": "Segment", "region": "Region",
        "primary_cause": "Primary cause", "cause_share": "Cause share", "secondary_cause": "Secondary cause",
        "action": "Action code", "action_label": "Action", "channel": "Channel", "owner_role": "Done by",
        "action_cost": "Action cost", "value_12m": "12-month value", "expected_loss": "Expected loss",
        "reasons": "Why", "model_version": "Model", "as_of": "As of",
        "contact": "Contact now", "decision": "Decision", "holdout": "Held out (control)",
        "expected_retained_value": "Expected value retained", "key_account_rule": "Key account because",
        "forecast_value_12m": "Forecast 12-month value", "value_if_retained_12m": "12-month value if retained",
        "holdout_action": "Action held back", "contact_label": "Contact this week", "contact_channel": "Contact by",
        "contact_cost": "Contact cost", "days_since_last_order": "Days since last order",
        "usual_gap_days": "Usual days between orders", "lapsed": "List", "change": "Since last run",
        "lifecycle_stage": "Lifecycle stage", "need_profile": "Need profile", "need_evidence": "Need shown by",
        "dimension": "By", "group": "Group", "customers": "Customers", "customer_share": "Share of customers",
        "value_share": "Share of value", "at_risk": "At risk", "customers_change": "Customers since last run",
        "value_change": "Value since last run",
        "surveys": "Surveys", "score": "Satisfaction", "price_score": "Price score", "service_score": "Service score",
        "quality_score": "Quality score", "complaints": "Complaints", "complaints_per_customer": "Complaints per customer",
        "complaints_price": "Price complaints", "complaints_service": "Service complaints",
        "complaints_quality": "Quality complaints", "resolution_days": "Days to resolve", "open_complaints": "Still open",
        "category": "Category", "opened": "Opened", "days_open": "Days open", "measure": "Measure",
        "churned": "Churned", "churn_rate": "Churn rate",
    },
    "zh": {
        "rank": "#", "customer_id": "客户编号", "name": "客户名称", "contact_name": "联系人", "email": "电子邮件",
        "phone": "电话", "churn_probability": "流失概率", "risk_band": "风险", "value_tier": "价值等级",
        "is_key_account": "大客户", "owner": "负责人", "segment": "客户类型", "region": "区域",
        "primary_cause": "主要流失原因", "cause_share": "原因占比", "secondary_cause": "次要原因",
        "action": "措施代码", "action_label": "挽留措施", "channel": "渠道", "owner_role": "执行角色",
        "action_cost": "措施成本", "value_12m": "近12个月价值", "expected_loss": "预期损失",
        "reasons": "原因说明", "model_version": "模型", "as_of": "数据日期",
        "contact": "本期联系措施", "decision": "决策", "holdout": "对照组（不联系）",
        "expected_retained_value": "预期挽回价值", "key_account_rule": "大客户认定依据",
        "forecast_value_12m": "未来12个月预测价值", "value_if_retained_12m": "挽留后12个月价值",
        "holdout_action": "对照组暂缓的措施", "contact_label": "本周联系措施", "contact_channel": "联系方式",
        "contact_cost": "联系成本", "days_since_last_order": "距上次下单天数", "usual_gap_days": "常规下单间隔（天）",
        "lapsed": "名单", "change": "与上次相比", "lifecycle_stage": "生命周期阶段", "need_profile": "需求类型",
        "need_evidence": "需求依据", "dimension": "维度", "group": "分组", "customers": "客户数",
        "customer_share": "客户占比", "value_share": "价值占比", "at_risk": "风险客户数",
        "customers_change": "较上次客户数变化", "value_change": "较上次价值变化",
        "surveys": "问卷数", "score": "满意度", "price_score": "价格评分", "service_score": "服务评分",
        "quality_score": "质量评分", "complaints": "投诉数", "complaints_per_customer": "户均投诉",
        "complaints_price": "价格投诉", "complaints_service": "服务投诉", "complaints_quality": "质量投诉",
        "resolution_days": "解决天数", "open_complaints": "未解决", "category": "类别", "opened": "投诉日期",
        "days_open": "已开启天数", "measure": "指标", "churned": "流失客户", "churn_rate": "流失率",
    },
}

# Everything else the report says.
TEXT = {
    "en": {
        "title": "Customer retention report",
        "data_as_of": "Data as of",
        "model": "Model",
        "model_grade": "Model grade",
        "model_refit": "refit on {windows} windows to {until}; graded before the refit",
        "model_kind_baseline": "baseline {kind}: best on the holdout",
        "model_kind_bgnbd_fallback": "BG/NBD: no complete window yet",
        "grade_customer_split": "on held-out customers (short history)",
        "customers_scored": "Customers scored",
        "customers_at_risk": "Customers at risk",
        "at_risk_note": "high or medium risk, not lapsed: {share} of those scored",
        "value_at_risk": "Value at risk",
        "value_at_risk_note": "expected loss of customers at risk",
        "budget_used": "Retention budget used",
        "budget_of": "of",
        "value_retained": "Expected value retained",
        "holdout_note": "{n} more chosen customers held out at random, to measure the actions",
        "measured_note": "effects measured for {actions}; assumed for the other actions",
        "prior_note": "action effects are assumptions until campaigns measure them",
        "not_available": "n/a",
        "charts": "At a glance",
        "chart_risk_bands": "Customers by risk band",
        "chart_value_by_cause": "Value at risk by loss cause",
        "chart_customers_by_cause": "Customers at risk by loss cause",
        "breakdown": "Where the risk is",
        "by_segment": "By segment",
        "by_region": "By region",
        "by_owner": "By owner",
        "owner_hint": "click an owner to see their customers in the list",
        "group_segment": "Segment",
        "group_region": "Region",
        "group_owner": "Owner",
        "col_customers": "Customers",
        "col_at_risk": "At risk",
        "col_high_risk": "High risk",
        "col_share_at_risk": "% at risk",
        "col_value_at_risk": "Value at risk",
        "total": "Total",
        "no_owner": "(no owner)",
        "unknown": "(unknown)",
        "list": "Retention list",
        "list_note": "Ranked by expected loss (churn probability × 12-month value), largest first.",
        "list_partial": "The list shows the {shown:,} customers to act on (at risk, lapsed or in the contact plan) "
                        "of {total:,} scored; retention_list.csv and .parquet hold every one.",
        "filter_owner": "Owner",
        "filter_tier": "Value tier",
        "filter_cause": "Primary cause",
        "filter_risk": "Risk band",
        "all": "All",
        "at_risk_option": "At risk (high + medium)",
        "reset": "Reset filters",
        "shown": "Showing {shown} of {total} customers",
        "page": "Page {page} of {pages}",
        "previous": "Previous",
        "next": "Next",
        "rows_per_page": "Rows per page",
        "all_rows": "all",
        "key_account": "Key account",
        "secondary": "then",
        "nothing_shown": "No customer matches these filters.",
        "noscript": "The interactive list needs JavaScript; the Excel file has the same list.",
        "set_aside": "Rows set aside by data validation",
        "row_accounting": "Rows pulled = used + set aside",
        "row_accounting_table": "{table} {pulled} = {kept} + {set_aside}",
        "list_separator": "; ",
        "footer": "Value at risk is the expected loss (churn probability × trailing 12-month value) summed over "
                  "customers in the high and medium risk bands who have not lapsed; lapsed customers (no order for "
                  "twice their usual gap) are the win-back list. The loss cause is what the model's explanation "
                  "points to; the contact is the plan's choice among the playbook's actions, within the budget and "
                  "each owner's capacity.",
        "masked": "Customer names and contact details are masked.",
        "sheet_list": "Retention list",
        "yes": "yes",
        "no": "no",
        "col_to_contact": "To contact",
        "col_contact_cost": "Cost of contacts",
        "col_retained": "Expected value retained",
        "filter_view": "Show",
        "view_contact": "To contact this week",
        "view_at_risk": "At risk (high + medium)",
        "view_all": "All customers",
        "search": "Search",
        "search_placeholder": "customer, name or owner",
        "export_csv": "Download CSV",
        "sort_hint": "click a heading to sort",
        "playbook_action": "playbook",
        "retains": "retains",
        "holdout_hidden": "Customers held out at random to measure the actions are marked \"do not contact\" "
                          "and carry no action; owners' sheets leave them out, so their service stays business "
                          "as usual.",
        "currency_note": "Amounts in {currency}.",
        "view_winback": "Win-back (lapsed customers)",
        "drift_alarm": "Drift alarm: this run's customers differ from the data the model was trained on in {columns}. "
                       "The list is made as usual; check the data, or retrain the model.",
        "drift_quiet": "Drift against the training data: no alarm on {n} columns (largest PSI {psi}).",
        "realised_title": "How earlier scores came true",
        "realised_note": "Scoring runs whose {days}-day horizon has passed: who actually left, against what the model "
                         "said. ROC-AUC 1 ranks every leaver above every stayer, 0.5 is a coin toss.",
        "realised_none": "No earlier run's {days}-day horizon has passed yet ({n} archived); the first is due on {due}.",
        "realised_alert": "Alert: the model ranks worse than it was promoted for (realised ROC-AUC more than {margin} "
                          "below on {runs}). Ask the data team to retrain before relying on the list.",
        "realised_headers": ["Run of", "Customers", "Left", "Predicted churn", "Actual churn", "ROC-AUC",
                             "Promoted with", "Top-10% lift", "Contacted / held out who left"],
        "since_title": "Since the last run ({date})",
        "since_none": "No earlier run in the archive: what changed shows from the next run on.",
        "since_note": "Owners by how many of their customers moved; still at risk for reference.",
        "trend_at_risk": "Customers at risk, run by run",
        "trend_lapsed": "Lapsed customers, run by run",
        "sheet_changes": "Since last run",
        "winback_kpi": "Lapsed: win-back",
        "winback_note": "no order for twice their usual gap: expected loss {loss}; {n} win-back contacts, {used}",
        "winback_badge": "win-back",
        "sheet_winback": "Win-back",
        "sheet_structure": "Customer structure",
        "structure_note": "Every scored customer, by value tier, key account, lifecycle stage, need profile, segment "
                          "and region: how many, the 12-month value they bring, how many are at risk and what they "
                          "stand to lose; below, how much of the value the largest customers hold.",
        "pareto_top": "the largest {share} of customers",
        "sheet_policy": "Service policy",
        "sheet_moves": "Lifecycle moves",
        "moves_title": "Lifecycle moves since the run of {date}",
        "moves_note": "Customers who moved from a stage then (rows) to a stage now (columns); not listed: new to the "
                      "list, or no longer active.",
        "moves_from": "Then \\ now",
        "not_listed": "not listed",
        "policy_note": "What the playbook does for each kind of customer: by key account or value tier, need profile "
                       "and loss cause. New, growing, mature and declining customers at risk get the action of their "
                       "cause; lapsed customers the win-back action. The contact plan may step down to a cheaper "
                       "action of a lower tier for the same cause, never up.",
        "policy_winback": "Lapsed: win-back",
        "policy_other_stages": "every other stage",
        "sheet_satisfaction": "Satisfaction",
        "satisfaction_title": "Satisfaction and complaints",
        "satisfaction_table": "Scores and complaints by quarter, segment and owner",
        "satisfaction_note": "Survey scores (0-10) and complaints by quarter, then the scored customers by segment and "
                             "owner over the last 12 months. Days to resolve: complaints resolved by the data date; "
                             "still open: not resolved by then.",
        "sheet_open_complaints": "Open complaints",
        "open_complaints_note": "Complaints not yet resolved of customers at risk, largest expected loss first: "
                                "close them before the retention call.",
        "open_complaints_none": "No customer at risk has a complaint still open.",
        "open_complaints_more": "The {shown} of the largest expected loss of {n}; the workbook's sheet has them all.",
        "sheet_complaints_churn": "Complaints and churn",
        "churn_link_note": "From the history the model learnt on: of the customers at each past cutoff, how many left "
                           "within the horizon, by their complaints in the year before and by how long those took "
                           "to resolve.",
        "section_retention": "Retention",
        "section_winback": "Win-back",
    },
    "zh": {
        "title": "客户挽留报告",
        "data_as_of": "数据截至",
        "model": "模型",
        "model_grade": "模型评级",
        "model_refit": "已用截至{until}的{windows}个时间窗口重新训练；评级来自重新训练前的模型",
        "model_kind_baseline": "基线模型 {kind}：留出集上表现最佳",
        "model_kind_bgnbd_fallback": "BG/NBD：尚无完整的标签窗口",
        "grade_customer_split": "基于留出客户（历史较短）",
        "customers_scored": "评分客户数",
        "customers_at_risk": "风险客户数",
        "at_risk_note": "高风险或中风险（未流失），占评分客户的{share}",
        "value_at_risk": "风险价值",
        "value_at_risk_note": "风险客户的预期损失",
        "budget_used": "已用挽留预算",
        "budget_of": "/",
        "value_retained": "预期挽回价值",
        "holdout_note": "另有{n}位入选客户被随机留作对照组，用于衡量措施效果",
        "measured_note": "已实测效果的措施：{actions}；其余措施的效果为预设值",
        "prior_note": "在营销活动实测之前，措施效果为预设值",
        "not_available": "暂无",
        "charts": "概览",
        "chart_risk_bands": "各风险等级客户数",
        "chart_value_by_cause": "各流失原因的风险价值",
        "chart_customers_by_cause": "各流失原因的风险客户数",
        "breakdown": "风险分布",
        "by_segment": "按客户类型",
        "by_region": "按区域",
        "by_owner": "按负责人",
        "owner_hint": "点击负责人可在名单中查看其客户",
        "group_segment": "客户类型",
        "group_region": "区域",
        "group_owner": "负责人",
        "col_customers": "客户数",
        "col_at_risk": "风险客户",
        "col_high_risk": "高风险",
        "col_share_at_risk": "风险占比",
        "col_value_at_risk": "风险价值",
        "total": "合计",
        "no_owner": "（无负责人）",
        "unknown": "（未知）",
        "list": "挽留名单",
        "list_note": "按预期损失（流失概率 × 近12个月价值）从高到低排列。",
        "list_partial": "名单列出需要跟进的 {shown:,} 位客户（有流失风险、已流失或在联系计划中），共评分 {total:,} 位；"
                        "retention_list.csv 和 .parquet 含全部客户。",
        "filter_owner": "负责人",
        "filter_tier": "价值等级",
        "filter_cause": "主要流失原因",
        "filter_risk": "风险等级",
        "all": "全部",
        "at_risk_option": "有风险（高 + 中）",
        "reset": "重置筛选",
        "shown": "显示 {shown} / {total} 位客户",
        "page": "第 {page} / {pages} 页",
        "previous": "上一页",
        "next": "下一页",
        "rows_per_page": "每页行数",
        "all_rows": "全部",
        "key_account": "大客户",
        "secondary": "其次",
        "nothing_shown": "没有符合筛选条件的客户。",
        "noscript": "交互式名单需要启用 JavaScript；Excel 文件中有相同的名单。",
        "set_aside": "数据校验剔除的记录",
        "row_accounting": "读取行数 = 使用 + 剔除",
        "row_accounting_table": "{table} {pulled} = {kept} + {set_aside}",
        "list_separator": "；",
        "footer": "风险价值 = 未流失的高风险和中风险客户的预期损失（流失概率 × 近12个月价值）之和；已流失客户"
                  "（超过两倍常规间隔未下单）列入挽回名单。流失原因来自模型解释；"
                  "本周联系措施由联系计划在预算和负责人产能内从挽留策略手册的措施中选择。",
        "masked": "客户名称和联系方式已脱敏。",
        "sheet_list": "挽留名单",
        "yes": "是",
        "no": "否",
        "col_to_contact": "本周联系",
        "col_contact_cost": "联系成本",
        "col_retained": "预期挽回价值",
        "filter_view": "显示",
        "view_contact": "本周需联系",
        "view_at_risk": "有风险（高 + 中）",
        "view_all": "全部客户",
        "search": "搜索",
        "search_placeholder": "客户编号、名称或负责人",
        "export_csv": "下载 CSV",
        "sort_hint": "点击表头排序",
        "playbook_action": "策略手册",
        "retains": "预期挽回",
        "holdout_hidden": "为衡量措施效果而随机留出的客户标为“不联系”，不显示任何措施；负责人工作表不包含这些客户，"
                          "以保持其日常服务不变。",
        "currency_note": "金额单位：{currency}。",
        "view_winback": "挽回（已流失客户）",
        "drift_alarm": "漂移警报：本次评分客户与模型训练数据在以下方面存在差异：{columns}。名单照常生成；请检查数据或重新训练模型。",
        "drift_quiet": "与训练数据相比的漂移：{n}个字段均无警报（最大PSI {psi}）。",
        "realised_title": "以往评分的兑现情况",
        "realised_note": "{days}天观察期已结束的评分运行：实际流失的客户与模型预测的对比。ROC-AUC为1表示所有流失客户都排在留存客户之前，0.5相当于随机。",
        "realised_none": "尚无以往运行的{days}天观察期结束（已归档{n}次）；第一次将于{due}到期。",
        "realised_alert": "警报：模型排序效果低于上线时的水平（实际ROC-AUC低于上线值超过{margin}，运行日期：{runs}）。"
                          "在依赖本名单前，请数据团队重新训练模型。",
        "realised_headers": ["运行日期", "客户数", "流失", "预测流失率", "实际流失率", "ROC-AUC", "上线时", "前10%提升度",
                             "已联系 / 对照组流失率"],
        "since_title": "与上次运行（{date}）相比",
        "since_none": "归档中没有更早的运行：下次运行起显示变化。",
        "since_note": "按客户变动数量排列负责人；持续风险仅供参考。",
        "trend_at_risk": "各次运行的风险客户数",
        "trend_lapsed": "各次运行的已流失客户数",
        "sheet_changes": "与上次相比",
        "winback_kpi": "已流失：待挽回",
        "winback_note": "超过两倍常规间隔未下单：预期损失{loss}；挽回联系{n}位，{used}",
        "winback_badge": "挽回",
        "sheet_winback": "挽回名单",
        "sheet_structure": "客户结构",
        "structure_note": "全部评分客户按价值等级、大客户、生命周期阶段、需求类型、客户类型和区域划分：客户数、近12个月价值、"
                          "风险客户数及预期损失；下方为价值最高的客户所占的价值比例。",
        "pareto_top": "价值最高的{share}客户",
        "sheet_policy": "差异化服务",
        "sheet_moves": "生命周期变化",
        "moves_title": "自{date}的评分以来的生命周期变化",
        "moves_note": "从当时的阶段（行）变为现在的阶段（列）的客户数；未列入：新进入名单，或已不再活跃。",
        "moves_from": "当时 \\ 现在",
        "not_listed": "未列入",
        "policy_note": "挽留手册对每类客户的做法：按大客户或价值等级、需求类型和流失原因划分。处于新客户、成长期、成熟期和衰退期的风险客户"
                       "按流失原因采取措施；已流失客户采取挽回措施。联系计划可针对同一原因降级为更低等级、成本更低的措施，但不会升级。",
        "policy_winback": "已流失：挽回",
        "policy_other_stages": "其他阶段",
        "sheet_satisfaction": "满意度",
        "satisfaction_title": "满意度与投诉",
        "satisfaction_table": "按季度、客户类型和负责人划分的评分与投诉",
        "satisfaction_note": "各季度的问卷评分（0-10分）与投诉，以及近12个月按客户类型和负责人划分的评分客户。解决天数：截至数据日期"
                             "已解决的投诉；未解决：截至该日仍未解决。",
        "sheet_open_complaints": "未解决投诉",
        "open_complaints_note": "风险客户尚未解决的投诉，按预期损失从大到小排列：请在挽留联系前先解决。",
        "open_complaints_none": "没有风险客户存在未解决的投诉。",
        "open_complaints_more": "共{n}条，此处显示预期损失最大的{shown}条；工作簿中的工作表包含全部。",
        "sheet_complaints_churn": "投诉与流失",
        "churn_link_note": "来自模型学习所用的历史数据：在每个历史截止日，按此前一年的投诉数及其解决时长划分的客户中，"
                           "有多少在预测期内流失。",
        "section_retention": "挽留",
        "section_winback": "挽回",
    },
}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown report language {language!r}; expected one of {list(LANGUAGES)}")
    return language


def term(table: dict[str, dict[str, str]], value: object, language: str) -> str:
    """`value` translated by one of the tables above, or as it is when the table does not know it."""
    if value is None or pd.isna(value):
        return ""
    return table[language].get(str(value), str(value))


def model_kind_note(kind: str | None, language: str) -> str | None:
    """Which kind of model ranked the list, in `language`; None for the LightGBM model (the default) or no kind."""
    if kind in (None, "lightgbm"):
        return None
    t = TEXT[language]
    return t["model_kind_bgnbd_fallback"] if kind == "bgnbd_fallback" else t["model_kind_baseline"].format(kind=kind)


def action_label(action: str, english_label: str, language: str) -> str:
    """The action's label: the playbook's own (English) or its translation."""
    if language == "zh":
        return ACTION_LABELS_ZH.get(action, english_label)
    return english_label


def action_labels(actions: pd.Series, labels: pd.Series, language: str, empty: str | None = "") -> list:
    """Each row's action label in `language` (`action_label`), `empty` for a row without an action code; worded
    once per distinct (action, label) pair."""
    def text(values: pd.Series) -> pd.Series:
        return values.astype("object").where(values.notna(), "").astype(str)
    pairs = pd.Series(list(zip(text(actions), text(labels), strict=True)), index=actions.index, dtype=object)

    def label(pair: tuple[str, str] | None) -> str | None:
        action, english = pair or ("", "")  # (by_value also asks for a missing pair: there is none)
        return action_label(action, english, language) if action else empty
    return by_value(pairs, label)


def key_account_reason(rule: object, language: str) -> str:
    """Why a customer is a key account (`key_account_rule`: "flag", "top 20% of 12-month revenue",
    "segment hospital") in words, so a key account in a low value tier says why it is one."""
    if rule is None or pd.isna(rule):
        return ""
    text = str(rule)
    top = re.fullmatch(r"top (\d+%) of 12-month revenue", text)
    if language == "zh":
        if text == "flag":
            return "CRM中标记为大客户"
        if top:
            return f"近12个月收入前{top.group(1)}"
        if text.startswith("segment "):
            return "客户类型：" + term(SEGMENTS, text[len("segment "):], language)
        return text
    return "marked a key account in the CRM" if text == "flag" else text


# ------------------------------------------------------------------------------------ reasons

def reason_text(reasons: list[dict], language: str) -> str:
    """One customer's reasons (`churn.score.reason_codes` objects) as a sentence in `language`; a reason key
    the dictionary does not know is shown as the key and its values rather than dropped."""
    return REASON_SEPARATOR[language].join(_reason_phrase(r, language) for r in reasons) or \
        REASON_PHRASES[language]["none"]


def _reason_phrase(reason: dict, language: str) -> str:
    phrases, terms = REASON_PHRASES[language], REASON_TERMS[language]
    values = {k: terms.get(v, v) if k in ("category", "dimension") else v for k, v in reason.items() if k != "key"}
    if "n" in values:
        values["s"] = "" if values["n"] == 1 else "s"
    phrase = phrases.get(reason.get("key"))
    return (phrase.format(**values) if phrase else
            " ".join([str(reason.get("key")), *(f"{k}={v}" for k, v in values.items() if k != "s")]))


def render_reasons(codes: pd.Series, language: str) -> pd.Series:
    """Each customer's reasons (the list's JSON `reason_codes`) as a sentence in `language`; "" where a
    customer has no reason codes (a list written before reasons were data keeps its own `reasons`)."""
    check_language(language)
    separator = REASON_SEPARATOR[language]
    # Each distinct reason worded once, read from its own text: a million customers' 420,000 distinct lists are
    # made of far fewer distinct reasons, and parsing each list cost more than wording it. The lists are flat
    # objects joined by "},{"; a piece that is not a JSON object on its own (a "},{" inside a text value cuts a
    # string open) sends its list to the plain parse.
    worded: dict[str, str | None] = {}

    def phrase(piece: str) -> str | None:
        if piece not in worded:
            try:
                reason = json.loads("{" + piece + "}")
            except ValueError:
                reason = None
            worded[piece] = _reason_phrase(reason, language) if isinstance(reason, dict) else None
        return worded[piece]

    def one(value: object) -> str:
        if _missing(value) or not str(value).strip():
            return ""
        text = str(value).strip()
        if text.startswith("[{") and text.endswith("}]"):
            phrases = [phrase(piece) for piece in text[2:-2].split("},{")]
            if None not in phrases:
                return separator.join(phrases)
        return reason_text(json.loads(text), language)
    return pd.Series(by_value(codes, one), index=codes.index, dtype="string")


def list_reasons(listing: pd.DataFrame, language: str) -> pd.Series:
    """The list's reasons in `language`, rendered from `reason_codes`; rows without codes (a list written by
    an older churn) show their `reasons` text as it is."""
    old = listing["reasons"] if "reasons" in listing.columns else pd.Series("", index=listing.index)
    if "reason_codes" not in listing.columns:
        return old.fillna("").astype("string")
    codes = listing["reason_codes"]
    has_codes = pd.Series(by_value(codes, lambda v: not _missing(v) and bool(str(v).strip())), index=codes.index,
                          dtype=bool)
    return render_reasons(codes, language).where(has_codes, old.fillna("").astype("string")).astype("string")
