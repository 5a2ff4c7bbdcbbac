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


def cause_agreement(customer_id: pd.Series, predicted: pd.Series, truth: pd.DataFrame) -> dict:
    """Share of customers whose true cause (one of the four) the predicted primary cause names."""
    true = customer_id.map(truth.set_index("customer_id")["cause"]).to_numpy()
    keep = pd.Series(true).isin(CAUSES).to_numpy()
    t, p = pd.Series(true[keep], name="true"), pd.Series(predicted.to_numpy()[keep], name="predicted")
    confusion = pd.crosstab(t, p)
    return {
        "judged": int(keep.sum()),
        "accuracy": float((t == p).mean()) if keep.any() else float("nan"),
        "per_cause": {c: float((p[t == c] == c).mean()) for c in CAUSES if (t == c).any()},
        "confusion": {r: {c: int(v) for c, v in row.items()} for r, row in confusion.iterrows()},
    }
