"""Turn per-feature risk contributions into a loss cause per customer."""

from __future__ import annotations

from fnmatch import fnmatch

import numpy as np
import pandas as pd

from churn.config import ExplainConfig
from churn.vocab import CAUSES, OTHER_CAUSE


def feature_groups(features: list[str], cfg: ExplainConfig) -> dict[str, str]:
    """feature -> cause, or "symptom"; features matching nothing are neutral and left out."""
    groups = {}
    for f in features:
        for cause, patterns in cfg.causes.items():
            if any(fnmatch(f, p) for p in patterns):
                groups[f] = cause
                break
        else:
            if any(fnmatch(f, p) for p in cfg.symptoms):
                groups[f] = "symptom"
    return groups


def explain_causes(contributions: pd.DataFrame, cfg: ExplainConfig) -> pd.DataFrame:
    """primary_cause, cause_share, secondary_cause and one score column per cause.

    A cause's score is the positive part of the summed log-odds contributions of its
    features. The primary cause must carry at least `min_cause_logit` and `min_share` of the
    cause scores. Otherwise a decline explained by symptoms alone (orders falling, long
    silence, with no price/service/quality signal) is `engagement`: the relationship faded;
    and a customer with neither is `other`.
    """
    groups = feature_groups(list(contributions.columns), cfg)
    scores = pd.DataFrame(index=contributions.index)
    for cause in CAUSES:
        cols = [f for f, g in groups.items() if g == cause]
        scores[cause] = contributions[cols].sum(axis=1).clip(lower=0) if cols else 0.0
    sym_cols = [f for f, g in groups.items() if g == "symptom"]
    decline = contributions[sym_cols].sum(axis=1).clip(lower=0) if sym_cols else pd.Series(0.0, index=scores.index)

    values = scores[list(CAUSES)].to_numpy()
    total = values.sum(axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(len(values))
    top_score = values[rows, top]
    share = np.divide(top_score, total, out=np.zeros_like(total), where=total > 0)
    dominant = (top_score >= cfg.min_cause_logit) & (share >= cfg.min_share)
    faded = ~dominant & (decline.to_numpy() >= cfg.decline_logit)

    causes = np.array(CAUSES, dtype=object)
    primary = np.where(dominant, causes[top], np.where(faded, "engagement", OTHER_CAUSE))
    eng = CAUSES.index("engagement")
    faded_share = (values[:, eng] + decline.to_numpy()) / np.maximum(total + decline.to_numpy(), 1e-12)
    cause_share = np.where(dominant, share, np.where(faded, faded_share, 0.0))
    sec_ok = dominant & (values[rows, second] >= cfg.min_cause_logit)
    secondary = np.where(sec_ok, causes[second], None)
    out = pd.DataFrame(
        {"primary_cause": primary, "cause_share": np.round(cause_share, 3), "secondary_cause": secondary},
        index=contributions.index,
    )
    return out.join(scores.add_prefix("cause_score_").round(4))


def symptom_rule_causes(features: pd.DataFrame, cfg: ExplainConfig, trend_window: int) -> pd.Series:
    """The cause a manager would name from the symptoms alone, without a model: the baseline for causes.

    1. the cause with the most complaints in the last `trend_window` days (its complaint categories, from the
       cause map in `cfg`), if one cause has strictly the most;
    2. else, among the tied causes (or all, without complaints), the one whose survey sub-score fell most over
       the last 180 days (a negative `*_score_trend`);
    3. else engagement: the customer faded without a complaint or a worse score.
    """
    groups = feature_groups(list(features.columns), cfg)
    named = [c for c in CAUSES if c != "engagement"]

    def total(cause: str, keep) -> np.ndarray:
        cols = [f for f, g in groups.items() if g == cause and keep(f)]
        return features[cols].fillna(0).to_numpy(dtype=float).sum(axis=1) if cols else np.zeros(len(features))

    complaints = np.column_stack([total(c, lambda f: f.startswith("complaints_") and f.endswith(f"_{trend_window}"))
                                  for c in named])
    # a score drop is a negative trend; rises and missing surveys say nothing
    drops = np.column_stack([total(c, lambda f: f.endswith("_score_trend")) for c in named]).clip(max=0.0) * -1.0
    names = np.array(named)
    most = complaints.max(axis=1, keepdims=True)
    complained = most[:, 0] > 0
    tied = (complaints == most) & complained[:, None]
    unique = tied.sum(axis=1) == 1
    drop_among = np.where(tied | ~complained[:, None], drops, -1.0)  # among the tied, or all without complaints
    has_drop = drop_among.max(axis=1) > 0
    cause = np.where(has_drop, names[drop_among.argmax(axis=1)], "engagement")
    # complaints tied with no score drop among them: the first tied cause in the vocabulary's order
    cause = np.where(complained & ~has_drop, names[tied.argmax(axis=1)], cause)
    cause = np.where(unique, names[complaints.argmax(axis=1)], cause)
    return pd.Series(cause, index=features.index, name="symptom_rule_cause")


def cause_agreement(customer_id: pd.Series, predicted: pd.Series, truth: pd.DataFrame) -> dict:
    """Share of customers whose true cause (one of the four) the predicted primary cause names; per cause its
    recall (`per_cause`: of the customers who left for it, the share named it) and its precision (of those named
    it, the share who left for it), and the confusion matrix (true cause -> predicted)."""
    true = customer_id.map(truth.set_index("customer_id")["cause"]).to_numpy()
    keep = pd.Series(true).isin(CAUSES).to_numpy()
    t, p = pd.Series(true[keep], name="true"), pd.Series(predicted.to_numpy()[keep], name="predicted")
    confusion = pd.crosstab(t, p)
    return {
        "judged": int(keep.sum()),
        "accuracy": float((t == p).mean()) if keep.any() else float("nan"),
        "per_cause": {c: float((p[t == c] == c).mean()) for c in CAUSES if (t == c).any()},
        "precision_per_cause": {c: float((t[p == c] == c).mean()) for c in CAUSES if (p == c).any()},
        "confusion": {r: {c: int(v) for c, v in row.items()} for r, row in confusion.iterrows()},
    }


def cause_check(model, holdout: pd.DataFrame, truth: pd.DataFrame, cfg: ExplainConfig, trend_window: int,
                flag_at: float = 0.5) -> dict:
    """How often the method names the true cause of the holdout's churners, beside the symptom rule.

    `holdout` is every customer of the holdout (churned or not: the population causes are compared with);
    `model` the fit that has not seen it. Returns `cause_agreement`'s figures for the churners with a known
    cause, the same for those the model flags (risk >= `flag_at`) under "flagged", the share named "other"
    (unclear) under "unclear", the symptom rule's figures under "symptom_rule", and what explaining the whole
    holdout cost under "cost".
    """
    import time

    t0 = time.perf_counter()
    contributions = model.contributions(holdout)
    t1 = time.perf_counter()
    explained = explain_causes(contributions, cfg)
    t2 = time.perf_counter()
    rule = symptom_rule_causes(holdout, cfg, trend_window)
    churned = holdout["churned"].to_numpy() == 1
    flagged = churned & (model.predict_proba(holdout) >= flag_at)
    ids = holdout["customer_id"]
    caused = ids.map(truth.set_index("customer_id")["cause"]).isin(CAUSES).to_numpy()

    def figures(named: pd.Series) -> dict:
        out = cause_agreement(ids[churned], named[churned], truth)
        out["flagged"] = cause_agreement(ids[flagged], named[flagged], truth)
        out["unclear"] = float((named[churned & caused] == OTHER_CAUSE).mean()) if (churned & caused).any() else 0.0
        return out

    result = figures(explained["primary_cause"])
    result["symptom_rule"] = figures(rule)
    n = len(holdout)
    result["cost"] = {"customers": n, "seconds": round(t2 - t0, 3), "contributions_seconds": round(t1 - t0, 3),
                      "causes_seconds": round(t2 - t1, 3), "ms_per_customer": round(1000 * (t2 - t0) / max(n, 1), 4)}
    return result
