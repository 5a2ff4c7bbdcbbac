"""Score active customers: churn risk, value, loss cause and reasons, ranked by expected loss."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn.config import ExplainConfig, LapsedRule, LifecycleRule, ScoreConfig, ValueConfig
from churn.model import ChurnModel
from churn.score._bands import risk_bands, value_tiers
from churn.score._causes import (
    _prior,
    explain_causes,
    explained_part,
    learnt_causes,
    learnt_probabilities,
    stated_causes,
)
from churn.score._needs import need_profiles
from churn.score._reasons import reason_codes
from churn.vocab import AT_RISK_BANDS, PERSONAL_COLUMNS, SCORE_DECIMALS, SCORED_COLUMNS


def score_customers(
    features: pd.DataFrame,
    customers: pd.DataFrame | None,
    model: ChurnModel,
    *,
    cfg: ScoreConfig,
    explain: ExplainConfig,
    trend_window: int,
    model_version: str,
    as_of: pd.Timestamp,
    value: pd.DataFrame | None = None,
    value_cfg: ValueConfig | None = None,
    responses: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per scored customer (`churn.vocab.SCORED_COLUMNS`: risk, value, cause, reason codes; the
    reasons' text and the playbook's action are added after), sorted by expected loss (largest first).

    `value` (from `churn.score.customer_value`) brings the 12-month margin forecast
    (`forecast_value_12m`), the forecast for a customer who stays (`value_if_retained_12m`, what
    the contact plan can save) and the key-account verdict with its rule; value tiers are Pareto cuts
    of `value_cfg.tier_by`: by default the forecast for a customer who stays (what is at stake; then the
    forecast, then the trailing value where one is missing). Without `value`, tiers use the trailing value
    and key accounts the customers' flag.
    `expected_loss` stays churn probability x trailing value: money the customer brings now.
    `responses` (`churn.score.campaign_responses`) lets the need profile read how customers answered past actions.
    """
    frame = features.reset_index(drop=True)
    out = pd.DataFrame({"customer_id": frame["customer_id"].astype("string")})
    out["churn_probability"] = model.predict_proba(frame).round(SCORE_DECIMALS)
    out["risk_band"] = risk_bands(out["churn_probability"], cfg.risk_bands)
    out["value_12m"] = frame["value_365"].astype("float64").round(2)
    info = _customer_info(out["customer_id"], customers)
    if value is not None:
        by_id = value.drop_duplicates("customer_id").set_index("customer_id").reindex(out["customer_id"].to_numpy())
        out["forecast_value_12m"] = by_id["forecast_margin_12m"].astype("float64").round(2).to_numpy()
        out["value_if_retained_12m"] = by_id["margin_if_retained_12m"].astype("float64").round(2).to_numpy()
        info["is_key_account"] = by_id["is_key_account"].fillna(False).astype(bool).to_numpy()
        info["key_account_rule"] = by_id["key_account_rule"].astype("string").to_numpy()
    else:
        out["forecast_value_12m"] = float("nan")
        out["value_if_retained_12m"] = float("nan")
        info["key_account_rule"] = info["is_key_account"].map({True: "flag", False: pd.NA}).astype("string")
    tier_by = "trailing" if value is None else (value_cfg.tier_by if value_cfg else "margin_if_retained")
    # each choice falls back to the next where its value is missing: if retained -> forecast -> trailing
    tier_value = out["value_12m"]
    if tier_by in ("margin_if_retained", "forecast_margin"):
        tier_value = out["forecast_value_12m"].fillna(tier_value)
    if tier_by == "margin_if_retained":
        tier_value = out["value_if_retained_12m"].fillna(tier_value)
    out["value_tier"] = value_tiers(tier_value, cfg.value_tier_cuts)
    out = out.join(info)
    lapsed = lapsed_customers(frame, cfg.lapsed)
    learnt = learnt_probabilities(model, frame)
    if learnt["probabilities"] is not None and not explain.known_causes.with_evidence:
        # the cause models alone name the causes: no TreeSHAP (~0.4 ms a customer) needed
        stated = stated_causes(frame, explain, trend_window) if explain.stated_first else None
        causes, population = learnt_causes(_prior(**learnt, index=frame.index), explain, stated), None
    else:
        wanted = out["risk_band"].isin([*AT_RISK_BANDS, *cfg.act_on_risk_bands]).to_numpy() | lapsed["lapsed"].to_numpy()
        causes, population = _evidence_causes(frame, model, explain, trend_window, wanted)
    out = out.join(causes[list(CAUSE_COLUMNS)])
    out["expected_loss"] = (out["churn_probability"] * out["value_12m"].clip(lower=0)).round(2)
    out = out.join(lapsed)
    out["lifecycle_stage"] = lifecycle_stages(frame, out["lapsed"], cfg.lifecycle)
    out = out.join(need_profiles(frame, cfg.needs, responses))
    out["reason_codes"] = reason_codes(frame, out["primary_cause"], trend_window)
    out["model_version"] = model_version
    out["as_of"] = pd.Timestamp(as_of).date().isoformat()
    out = out.sort_values(["expected_loss", "churn_probability", "customer_id"], ascending=[False, False, True])
    out = out[SCORED_COLUMNS].reset_index(drop=True)
    out.attrs["causes"] = {"method": "evidence" if learnt["probabilities"] is None else "known_causes",
                           "customers": len(out), "explained": int(out["primary_cause"].notna().sum()),
                           "population": population}
    return out


CAUSE_COLUMNS = ("primary_cause", "cause_share", "secondary_cause")


def explain_customers(features: pd.DataFrame, model: ChurnModel, explain: ExplainConfig, trend_window: int,
                      population: dict) -> pd.DataFrame:
    """The `CAUSE_COLUMNS` and `reason_codes` of the customers of `features` (their index), each against
    `population` (`cause_population`, from the score's summary), with the model's cause models when it has them: the
    causes `score_customers` would have named them, for customers it left unexplained."""
    causes = explain_causes(model.contributions(features), explain, features, trend_window, population=population,
                            **learnt_probabilities(model, features))
    out = causes[list(CAUSE_COLUMNS)].copy()
    out["reason_codes"] = reason_codes(features, out["primary_cause"], trend_window)
    return out


def name_causes(scored: pd.DataFrame, features: pd.DataFrame, model: ChurnModel, explain: ExplainConfig,
                trend_window: int, population: dict, customers: list[str]) -> pd.DataFrame:
    """`scored` (the score's list, or the list built on it) with the `CAUSE_COLUMNS` and `reason_codes` of
    `customers`, whom the score left unexplained, from their rows of `features` (`explain_customers`)."""
    part = features[features["customer_id"].astype("string").isin(customers).to_numpy()].reset_index(drop=True)
    named = explain_customers(part, model, explain, trend_window, population).set_axis(
        part["customer_id"].astype("string").to_numpy())
    rows = scored["customer_id"].astype("string").isin(named.index).to_numpy()
    ids = scored.loc[rows, "customer_id"].astype("string").to_numpy()
    out = scored.copy()
    for column in (*CAUSE_COLUMNS, "reason_codes"):
        out.loc[rows, column] = named.loc[ids, column].to_numpy()
    return out


def _evidence_causes(frame: pd.DataFrame, model: ChurnModel, explain: ExplainConfig, trend_window: int,
                     wanted: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The evidence method's causes (`explain_causes`, with the model's cause models when it has them) and the
    population they were compared with: every customer
    up to `explain.all_up_to` of them; past it, the `wanted` ones and a seeded sample of
    `explain.reference_customers` (the population), the others' causes missing (explained later if the contact
    plan reaches them), unless those are more than `PART_AT_MOST` of the customers: then everyone."""
    _, part, contributions, population = explained_part(frame, model, explain, wanted)
    causes = explain_causes(contributions, explain, part, trend_window, population=population,
                            **learnt_probabilities(model, part))
    return causes.reindex(frame.index), population


def lapsed_customers(features: pd.DataFrame, rule: LapsedRule) -> pd.DataFrame:
    """Per customer (the features' rows and index): `days_since_last_order`, `usual_gap_days` (mean days between
    orders; missing with fewer than two) and `lapsed`: silent for `rule.gap_multiple` usual gaps and at least
    `rule.min_days`, or for `rule.after_days`. A lapsed customer is lost for a manager: a win-back, not a
    retention call."""
    silence = features["recency_days"].astype("float64")
    gap = features["ipt_mean_days"].astype("float64") if "ipt_mean_days" in features.columns \
        else pd.Series(float("nan"), index=features.index)
    lapsed = pd.Series(False, index=features.index)
    if rule.gap_multiple is not None:
        lapsed |= (silence >= rule.gap_multiple * gap).fillna(False) & (silence >= rule.min_days).fillna(False)
    if rule.after_days is not None:
        lapsed |= (silence >= rule.after_days).fillna(False)
    return pd.DataFrame({"days_since_last_order": silence.round(0), "usual_gap_days": gap.round(0),
                         "lapsed": lapsed.astype(bool)}, index=features.index)


def lifecycle_stages(features: pd.DataFrame, lapsed: pd.Series, rule: LifecycleRule) -> pd.Series:
    """Each customer's lifecycle stage (`churn.vocab.LIFECYCLE_STAGES`) by `rule`, the first that applies: lapsed,
    new, declining, growing, mature. `lapsed` is the lapsed rule's verdict for the same rows."""
    tenure = features["tenure_days"].astype("float64") if "tenure_days" in features.columns \
        else pd.Series(float("nan"), index=features.index)
    trend = features["revenue_trend"].astype("float64") if "revenue_trend" in features.columns \
        else pd.Series(0.0, index=features.index)
    stage = pd.Series("mature", index=features.index, dtype="object")
    stage[(trend >= rule.trend).fillna(False).to_numpy()] = "growing"
    stage[(trend <= -rule.trend).fillna(False).to_numpy()] = "declining"
    stage[(tenure < rule.new_days).fillna(False).to_numpy()] = "new"
    stage[lapsed.astype(bool).to_numpy()] = "lapsed"
    return stage.astype("string")


def _customer_info(ids: pd.Series, customers: pd.DataFrame | None) -> pd.DataFrame:
    cols = [*PERSONAL_COLUMNS, "owner", "segment", "region", "is_key_account"]
    if customers is None:
        info = pd.DataFrame(index=ids.index, columns=cols)
    else:
        info = customers.drop_duplicates("customer_id").set_index("customer_id").reindex(ids.to_numpy())
        info = info.reindex(columns=cols).set_axis(ids.index)
    info["is_key_account"] = info["is_key_account"].fillna(False).astype(bool)
    for c in (*PERSONAL_COLUMNS, "owner", "segment", "region"):
        info[c] = info[c].astype("string")
    return info
