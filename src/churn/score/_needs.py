"""Each customer's need profile: what the customer is most sensitive to (price, service or quality), or none,
from the evidence its history holds at the as-of date, whether or not it is at risk.

Evidence, per need (thresholds in `score.needs`):
- surveys: the need's sub-score (price_score, service_score, quality_score, mean over 180 days) at least
  `survey_gap` points below the mean of the customer's other two sub-scores;
- complaints: at least `min_complaints` complaints within 365 days in the need's categories (price: price and
  billing; service: service and delivery; quality: quality), and at least half of the customer's complaints;
- past campaigns: after the company's past actions for the need (a price offer, a service recovery, ...; which
  need an action answers comes from the playbook), the customer bought at least `campaign_lift` times as much
  in the `campaign_window_days` after as in those before, over at least `min_campaign_contacts` such contacts
  (`campaign_responses`);
- behaviour: price: order lines bought on promotion are on average at least `promo_lift` times the size of the
  others, over at least `min_promo_lines` such lines (365 days; the features' promo_lift_365); service: tickets
  took `slow_resolution_days` or more to resolve on average (365 days); quality: returns of at least
  `returns_share` of what was bought (365 days).

The profile is the need with the most signs when it has at least `min_signs` and no other need has as many;
otherwise "none". The signs come as the list's reason objects (`churn.score.REASON_KEYS`), so the report words
them in each language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.config import NeedRule
from churn.score._reasons import json_number
from churn.vocab import COMPLAINT_CAUSE, NEEDS

NO_NEED = "none"
SCORE_OF = {"price": "price_score_mean_180", "service": "service_score_mean_180", "quality": "quality_score_mean_180"}


def _num(features: pd.DataFrame, name: str) -> pd.Series:
    if name not in features.columns:
        return pd.Series(np.nan, index=features.index, dtype="float64")
    return pd.to_numeric(features[name], errors="coerce").astype("float64")


RESPONSE_ORDER_COLUMNS = ("customer_id", "ts", "amount")  # the order columns campaign_responses reads


def campaign_responses(campaigns: pd.DataFrame | None, orders: pd.DataFrame | None, as_of: pd.Timestamp,
                       action_needs: dict[str, str], window_days: int) -> pd.DataFrame:
    """How each customer answered the company's past actions for each need: per customer (index customer_id), for
    each need of `churn.vocab.NEEDS`, `contacts_<need>` (treated campaign contacts whose action answers the need,
    `action_needs`: action -> need, whose `window_days` after ended before `as_of`) and `lift_<need>` (what the
    customer bought in the windows after those contacts over what it bought in the windows before; missing where
    it bought nothing before). Orders at or after `as_of` are never read."""
    columns = [f"{kind}_{need}" for need in NEEDS for kind in ("contacts", "lift")]
    empty = pd.DataFrame(columns=columns, index=pd.Index([], name="customer_id", dtype="string"), dtype="float64")
    if campaigns is None or orders is None or not len(campaigns) or not len(orders):
        return empty
    window = pd.Timedelta(days=window_days)
    c = campaigns[campaigns["treated"].fillna(False).astype(bool)] if "treated" in campaigns.columns else campaigns
    c = c.assign(need=c["action"].astype("object").map(action_needs), ts=pd.to_datetime(c["ts"]))
    c = c[c["need"].notna() & (c["ts"] + window < as_of)]
    if not len(c):
        return empty
    o = orders.assign(ts=pd.to_datetime(orders["ts"]), customer_id=orders["customer_id"].astype(str))
    o = o[(o["ts"] < as_of) & (pd.to_numeric(o["amount"], errors="coerce") > 0)]
    # every contact with every order of its customer (a contact without orders keeps one row, amount missing)
    contacts = c[["customer_id", "ts", "need"]].astype({"customer_id": str}).reset_index(drop=True).reset_index()
    pairs = contacts.merge(o[["customer_id", "ts", "amount"]], on="customer_id", how="left", suffixes=("", "_order"))
    gap = pairs["ts_order"] - pairs["ts"]
    pairs["before"] = pairs["amount"].where((gap < pd.Timedelta(0)) & (gap >= -window), 0.0)
    pairs["after"] = pairs["amount"].where((gap >= pd.Timedelta(0)) & (gap < window), 0.0)
    totals = pairs.groupby(["customer_id", "need"]).agg(contacts=("index", "nunique"), before=("before", "sum"),
                                                        after=("after", "sum"))
    totals["lift"] = (totals["after"] / totals["before"]).where(totals["before"] > 0)
    out = totals[["contacts", "lift"]].unstack("need")
    out.columns = [f"{kind}_{need}" for kind, need in out.columns]
    out = out.reindex(columns=columns)
    out.index = out.index.astype("string").rename("customer_id")
    return out.astype("float64")


def need_profiles(features: pd.DataFrame, rule: NeedRule, responses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per customer (the features' rows and index): `need_profile` (a need of `churn.vocab.NEEDS`, or "none")
    and `need_evidence` (a JSON list of reason objects: the signs behind each need that has any). `responses`
    (`campaign_responses`, by customer_id) adds the sign of answering past actions for a need."""
    # need -> list of (mask, customer i's reason: a JSON object as `json.dumps` writes it), text made without
    # building an object per sign (`json.dumps` a customer cost ~6 s at a million customers)
    signs = {need: [] for need in NEEDS}
    if responses is not None and len(responses):
        by_row = responses.reindex(features["customer_id"].astype("string").to_numpy())
        for need in NEEDS:
            lift = pd.Series(by_row[f"lift_{need}"].to_numpy(), index=features.index)
            contacts = pd.Series(by_row[f"contacts_{need}"].to_numpy(), index=features.index)
            answered = ((lift >= rule.campaign_lift) & (contacts >= rule.min_campaign_contacts)).fillna(False)
            signs[need].append((answered, lambda i, need=need, lift=_values(lift): (
                f'{{"key": "campaign_response", "category": "{need}", "pct": {round(100 * (float(lift[i]) - 1))}}}')))
    scores = {need: _num(features, column) for need, column in SCORE_OF.items()}
    for need in NEEDS:
        others = pd.concat([scores[o] for o in NEEDS if o != need], axis=1).mean(axis=1)
        low = (scores[need] <= others - rule.survey_gap).fillna(False)
        signs[need].append((low, lambda i, dimension=SCORE_OF[need].removesuffix("_mean_180"),
                            score=_values(scores[need]): (
            f'{{"key": "low_score", "dimension": "{dimension}", "score": {json_number(round(float(score[i]), 1))}}}')))
    categories = sorted(COMPLAINT_CAUSE)
    counts = {c: _num(features, f"complaints_{c}_365").fillna(0.0) for c in categories}
    total = sum(counts.values())
    for need in NEEDS:
        mine = sum(counts[c] for c in categories if COMPLAINT_CAUSE[c] == need)
        many = (mine >= rule.min_complaints) & (mine >= 0.5 * total)
        signs[need].append((many, lambda i, need=need, mine=_values(mine): (
            f'{{"key": "complaints", "n": {int(mine[i])}, "category": "{need}", "t": 365}}')))
    lift, promo_lines = _num(features, "promo_lift_365"), _num(features, "promo_lines_365")
    signs["price"].append((((lift >= rule.promo_lift) & (promo_lines >= rule.min_promo_lines)).fillna(False),
                           lambda i, lift=_values(lift): (
                               f'{{"key": "promo_lift", "x": {json_number(round(float(lift[i]), 1))}}}')))
    slow = _num(features, "resolution_days_365")
    signs["service"].append(((slow >= rule.slow_resolution_days).fillna(False),
                             lambda i, slow=_values(slow): (
                                 f'{{"key": "slow_resolution", "days": {round(float(slow[i]))}}}')))
    returns = _num(features, "returns_share_365")
    signs["quality"].append(((returns >= rule.returns_share).fillna(False),
                             lambda i, returns=_values(returns): (
                                 f'{{"key": "returns", "pct": {round(100 * float(returns[i]))}}}')))

    count = pd.DataFrame({need: sum(mask.astype(int) for mask, _ in signs[need]) for need in NEEDS},
                         index=features.index)
    best = count.max(axis=1)
    leaders = count.eq(best, axis=0).sum(axis=1)
    profile = count.idxmax(axis=1).where((best >= rule.min_signs) & (leaders == 1), NO_NEED)
    # Each sign's reasons made only where it shows (", " before each), then joined column by column for the
    # customers of one profile, whose own signs come first: no loop over customers and their signs (1.9 s at
    # 300,000).
    n = len(features)
    pieces = {}
    for need in NEEDS:
        pieces[need] = []
        for mask, build in signs[need]:
            piece = np.full(n, "", dtype=object)
            rows = np.flatnonzero(np.asarray(mask, dtype=bool))
            piece[rows] = [f", {build(i)}" for i in rows]
            pieces[need].append(piece)
    profiles = profile.to_numpy(dtype=object)
    joined = np.empty(n, dtype=object)
    for p in (*NEEDS, NO_NEED):
        rows = np.flatnonzero(profiles == p)
        text = np.full(len(rows), "", dtype=object)
        for need in sorted(NEEDS, key=lambda need, p=p: need != p):
            for piece in pieces[need]:
                text = text + piece[rows]
        joined[rows] = text
    evidence = [f"[{text[2:]}]" for text in joined]
    return pd.DataFrame({"need_profile": profile.astype("string"),
                         "need_evidence": pd.array(evidence, dtype="string")}, index=features.index)


def _values(column: pd.Series) -> np.ndarray:
    # the reason builders read one cell per customer with a sign: a plain array (Series.iloc per cell: 12 s at 1M)
    return column.to_numpy(dtype="float64", na_value=np.nan)


def need_metrics(check: dict) -> dict[str, float]:
    """`need_check`'s figures as MLflow metrics: need_accuracy, need_precision_<need>, need_recall_<need>."""
    return {"need_accuracy": check["accuracy"]} | {
        f"need_{k}_{need}": v[k] for need, v in check["per_need"].items() for k in ("precision", "recall")
        if v[k] is not None}


def need_check(scored: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Where each customer's true need is known (the demo's truth: customer_id, need), how well `need_profile`
    agrees over the scored customers: accuracy, per need (and none) precision and recall, the confusion counts."""
    known = scored[["customer_id", "need_profile"]].astype("string").merge(
        truth[["customer_id", "need"]].astype("string"), on="customer_id", how="inner", validate="one_to_one")
    named, true = known["need_profile"], known["need"]
    classes = [NO_NEED, *NEEDS]
    per_need = {}
    for need in classes:
        hit = int(((named == need) & (true == need)).sum())
        n_named, n_true = int((named == need).sum()), int((true == need).sum())
        per_need[need] = {"precision": round(hit / n_named, 4) if n_named else None,
                          "recall": round(hit / n_true, 4) if n_true else None, "named": n_named, "true": n_true}
    confusion = pd.crosstab(true, named).reindex(index=classes, columns=classes, fill_value=0)
    return {"customers": len(known), "accuracy": round(float((named == true).mean()), 4) if len(known) else None,
            "per_need": per_need,
            "confusion": {t: {n: int(confusion.loc[t, n]) for n in classes} for t in classes}}
