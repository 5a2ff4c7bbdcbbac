"""What retention actions achieve, measured on randomised holdouts (pure functions, no I/O).

Two sources of evidence, both resting on customers held out at random:

- The `campaigns` table (past actions, `treated = false` for the random controls): per action, an
  uplift model (`churn.action._uplift`, two-model or X-learner on LightGBM) fitted on the features each
  campaign customer had before the campaign and whether it churned within the horizon after it.
  `campaign_examples` builds those examples (only campaigns whose horizon has passed by the
  run's as-of date); `uplift_effects` fits the models and predicts, for every customer being
  scored, the reduction in churn probability each action would bring. The decision step uses
  these instead of the playbook's priors, action by action.
- Our own scoring runs (`churn effect --as-of D`): the customers contacted after run D against
  those held out from it (`decide.holdout_share`), per action and per loss cause, once D's horizon
  has passed. `measure_effects` gives churn rates, the difference and its confidence interval
  (Newcombe's hybrid score interval, 1998, method 10: sound for small groups and rates near 0 or
  1, unlike the Wald interval), and `evidence` turns the measurements into relative effects that
  replace the priors of `decide.effects` / `decide.effect_by_cause`.

Signs: an *effect* is a REDUCTION in churn (control churn rate - treated churn rate): positive
means the action helped. A *relative* effect is that reduction as a share of the control's churn
rate, the unit of the decide priors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from churn.config import EffectsConfig, FeaturesConfig, LabelsConfig
from churn.vocab import CONTACTED, LIST_CAUSES

ALL = "all"
EXAMPLE_KEYS = ["customer_id", "cutoff", "action", "treated", "churned"]  # campaign examples, besides the features
RECORD_COLUMNS = ("customer_id", "action", "treated", "cause", "churned")
MEASURE_COLUMNS = ["action", "cause", "n_treated", "n_control", "churn_treated", "churn_control", "effect",
                   "ci_low", "ci_high", "relative_effect", "p_value"]


# --------------------------------------------------------------------------- campaigns -> uplift

def campaign_examples(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, labels_cfg: LabelsConfig,
                      features_cfg: FeaturesConfig, history: dict | None = None) -> pd.DataFrame:
    """One row per campaign row whose horizon ended by `as_of`: customer_id, cutoff (the campaign's
    day), action, treated, churned (within the horizon after the cutoff) and the features as of
    the cutoff (only history before it). Empty without a campaigns table or complete campaigns.

    The campaigns and the labels come from `tables` (campaigns, and orders' POPULATION_ORDER_COLUMNS are enough);
    the features from `history` when given (e.g. `ParquetTable`s of the same tables), else from `tables`.
    A customer in several campaigns on one day keeps its first row (one outcome, one treatment).
    """
    from churn.features import build_features, label

    camp = tables.get("campaigns")
    if camp is None or camp.empty:
        return pd.DataFrame(columns=EXAMPLE_KEYS)
    horizon = pd.Timedelta(days=labels_cfg.horizon_days)
    rows = camp.assign(cutoff=camp["ts"].dt.normalize().astype("datetime64[us]"),
                       customer_id=camp["customer_id"].astype("string"))
    rows = rows[rows["cutoff"] + horizon <= pd.Timestamp(as_of)]
    rows = rows.sort_values(["cutoff", "customer_id", "ts"], kind="stable")
    rows = rows.drop_duplicates(["customer_id", "cutoff"]).reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=EXAMPLE_KEYS)
    pop = rows[["customer_id", "cutoff"]]
    feats = build_features(tables if history is None else history, pop, features_cfg)
    return feats.assign(action=rows["action"].astype("string").to_numpy(),
                        treated=rows["treated"].astype(bool).to_numpy(),
                        churned=label(tables, pop, labels_cfg).to_numpy())


def uplift_effects(examples: pd.DataFrame, features: pd.DataFrame, feature_names: list[str],
                   cfg: EffectsConfig) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """What the campaigns say about each action, for the customers in `features`.

    Returns (effects, summary, priors):
      summary  one row per action: the observed churn of treated and held out, the measured effect
               with its `cfg.confidence` interval and relative effect, `model` (per-customer uplift
               used) and the mean predicted effect over `features`;
      priors   {action: relative effect} for the actions with `cfg.min_per_arm` treated and held-out
               rows: they replace the decide priors (a customer's effect = churn probability x it);
      effects  index customer_id, one column per action with a per-customer uplift model (methods
               two_model / x_learner only): the estimated reduction in churn probability, clipped
               to +-`cfg.max_effect`. Only for actions whose average effect is proven (the
               interval's lower end above 0): per-customer uplift from a few hundred rows is mostly
               noise, and an optimiser picks exactly the customers whose noise is largest.
    """
    from churn.action._uplift import action_effects, predict_effects

    index = pd.Index(features["customer_id"].astype("string").to_numpy(), name="customer_id")
    if examples.empty:
        return pd.DataFrame(index=index), pd.DataFrame(columns=[*MEASURE_COLUMNS, "model", "mean_predicted_effect"]), {}
    summary = measure_effects(examples.assign(cause=ALL)[list(RECORD_COLUMNS)], cfg.confidence)
    summary = summary[summary["cause"] == ALL].reset_index(drop=True)
    priors = evidence(summary, cfg.min_per_arm)["effects"]
    pred = pd.DataFrame(index=index)
    if cfg.method != "relative":
        names = [c for c in feature_names if c in examples.columns and c in features.columns]
        proven = examples[examples["action"].isin(summary.loc[summary["ci_low"] > 0, "action"])]
        if not proven.empty:
            models = action_effects(proven, names, "churned", cfg.min_per_arm, cfg.seed, method=cfg.method)
            fitted = {a: m for a, m in models.items() if m is not None}
            if fitted:
                pred = predict_effects(fitted, features[names].reset_index(drop=True))
                pred = pred.clip(-cfg.max_effect, cfg.max_effect).set_axis(index)
    summary["model"] = summary["action"].isin(pred.columns)
    summary["mean_predicted_effect"] = summary["action"].map(lambda a: float(pred[a].mean()) if a in pred else np.nan)
    return pred, summary, priors


# --------------------------------------------------------------------------- measured effects

def plan_arms(run_list: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The two arms of a run's contact plan (boolean, aligned with `run_list`): contacted (decision "chosen"
    with a contact) and held out at random (with the action they would have had)."""
    treated = run_list["decision"].eq(CONTACTED).fillna(False).astype(bool) & run_list["contact"].notna()
    held = run_list["holdout"].astype("boolean").fillna(False).astype(bool) & run_list["holdout_action"].notna()
    return treated, held


def effect_records(tables: dict[str, pd.DataFrame], run_list: pd.DataFrame | None, run_date: pd.Timestamp,
                   labels_cfg: LabelsConfig) -> tuple[pd.DataFrame, str]:
    """Treated and held-out customers of the run of `run_date` with their outcome (`RECORD_COLUMNS`).

    From `run_list` (a scoring run's retention list with the plan's columns) when given: treated =
    decision "chosen" (action = contact), control = holdout (action = holdout_action), cause =
    primary_cause. Otherwise from the campaigns table's rows of that day (cause "all": the table
    has none). churned: no positive order within the horizon after `run_date`, judged on `tables`,
    which must reach the end of that horizon.
    """
    from churn.data import data_end
    from churn.features import label

    run_date = pd.Timestamp(run_date).normalize()
    end, last = run_date + pd.Timedelta(days=labels_cfg.horizon_days), data_end(tables)
    if end > last:
        raise ValueError(f"the {labels_cfg.horizon_days}-day horizon after the run of {run_date.date()} ends on "
                         f"{end.date()}, but the history only reaches {last.date()}: measure after {end.date()}")
    if run_list is not None:
        need = ["customer_id", "decision", "contact", "holdout", "holdout_action", "primary_cause"]
        missing = [c for c in need if c not in run_list.columns]
        if missing:
            raise ValueError(f"the retention list of {run_date.date()} lacks column(s) {missing}: "
                             "it was written before contact plans with holdouts")
        treated, held = plan_arms(run_list)
        rows = run_list[treated | held]
        records = pd.DataFrame({"customer_id": rows["customer_id"].astype("string").to_numpy(),
                                "action": rows["contact"].where(treated[treated | held], rows["holdout_action"])
                                .astype("string").to_numpy(),
                                "treated": treated[treated | held].to_numpy(dtype=bool),
                                "cause": rows["primary_cause"].astype("string").to_numpy()})
        source = "scoring run"
    else:
        camp = tables.get("campaigns")
        day = camp[camp["ts"].dt.normalize() == run_date] if camp is not None else None
        if day is None or day.empty:
            raise ValueError(f"no scoring run of {run_date.date()} was found and the campaigns table has no "
                             f"rows on that day: nothing to measure")
        day = day.sort_values("ts", kind="stable").drop_duplicates("customer_id")
        records = pd.DataFrame({"customer_id": day["customer_id"].astype("string").to_numpy(),
                                "action": day["action"].astype("string").to_numpy(),
                                "treated": day["treated"].astype(bool).to_numpy(), "cause": ALL})
        source = "campaigns table"
    if records.empty:
        raise ValueError(f"the run of {run_date.date()} contacted and held out nobody: nothing to measure")
    pop = pd.DataFrame({"customer_id": records["customer_id"], "cutoff": run_date})
    return records.assign(churned=label(tables, pop, labels_cfg).to_numpy()), source


def measure_effects(records: pd.DataFrame, confidence: float = 0.9) -> pd.DataFrame:
    """Churn of treated against held-out customers, per action (cause "all") and per action and cause.

    `records`: customer_id, action, treated (bool), cause, churned (0/1). Returns `MEASURE_COLUMNS`:
    counts, churn rates, effect = churn_control - churn_treated (positive: the action helped), its
    `confidence` interval (Newcombe hybrid score), the relative effect (effect / churn_control) and
    the two-sided p-value of a two-proportion z-test. Groups missing either arm are reported with
    NaN effect, so nobody reads an effect into one-sided data.
    """
    missing = [c for c in RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"effect records lack column(s) {missing}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    r = records.assign(treated=records["treated"].astype(bool), churned=records["churned"].astype("int64"),
                       cause=records["cause"].astype("string").fillna("unknown"),
                       action=records["action"].astype("string"))
    if r["action"].isna().any():
        raise ValueError("effect records have rows without an action")
    bad = sorted(set(r["churned"].unique()) - {0, 1})
    if bad:
        raise ValueError(f"effect records: churned must be 0 or 1, got {bad}")
    rows = []
    for action, part in r.groupby("action", sort=True):
        rows.append(_compare(action, ALL, part, confidence))
        causes = sorted(set(part["cause"]) - {ALL})
        if len(causes) > 1 or (causes and causes[0] != ALL):
            rows += [_compare(action, c, part[part["cause"] == c], confidence) for c in causes]
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def _compare(action: str, cause: str, part: pd.DataFrame, confidence: float) -> dict:
    t, c = part.loc[part["treated"], "churned"], part.loc[~part["treated"], "churned"]
    return _compare_counts(action, cause, len(t), int(t.sum()), len(c), int(c.sum()), confidence)


def _compare_counts(action: str, cause: str, n_t: int, x_t: int, n_c: int, x_c: int, confidence: float) -> dict:
    """One `MEASURE_COLUMNS` row from n customers and x churners per arm (t: treated, c: held out)."""
    row = {"action": action, "cause": cause, "n_treated": n_t, "n_control": n_c,
           "churn_treated": x_t / n_t if n_t else np.nan, "churn_control": x_c / n_c if n_c else np.nan,
           "effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "relative_effect": np.nan, "p_value": np.nan}
    if n_t and n_c:
        # effect = p_control - p_treated, so the interval is Newcombe's for (control - treated).
        low, high = newcombe_interval(x_c, n_c, x_t, n_t, confidence)
        p_c, p_t = x_c / n_c, x_t / n_t
        pooled = (x_t + x_c) / (n_t + n_c)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        row.update(effect=p_c - p_t, ci_low=low, ci_high=high,
                   relative_effect=(p_c - p_t) / p_c if p_c > 0 else np.nan,
                   p_value=float(2 * stats.norm.sf(abs(p_c - p_t) / se)) if se > 0 else 1.0)
    return row


def wilson_interval(x: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion x / n."""
    if n <= 0:
        raise ValueError("wilson_interval needs n > 0")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, confidence: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for p1 - p2, p_i = x_i / n_i."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    return (float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def evidence(measured: pd.DataFrame, min_per_arm: int) -> dict:
    """Relative effects for the decide priors from `measure_effects` rows (pooled over runs).

    Returns {"effects": {action: relative}, "effect_by_cause": {action: {cause: relative}}} for
    the groups with at least `min_per_arm` treated and held-out customers and some churn among the
    held out; relative effects are clipped to [-1, 1] (an action that raised churn keeps its sign,
    so the optimiser leaves it alone).
    """
    ok = measured[(measured["n_treated"] >= min_per_arm) & (measured["n_control"] >= min_per_arm)
                  & measured["relative_effect"].notna()]
    rel = ok["relative_effect"].clip(-1, 1).round(4)
    effects = {a: float(v) for a, c, v in zip(ok["action"], ok["cause"], rel, strict=True) if c == ALL}
    by_cause: dict[str, dict[str, float]] = {}
    for a, c, v in zip(ok["action"], ok["cause"], rel, strict=True):
        if c in LIST_CAUSES:
            by_cause.setdefault(a, {})[c] = float(v)
    return {"effects": effects, "effect_by_cause": by_cause}


def pool_measurements(per_run: list[pd.DataFrame], confidence: float = 0.9) -> pd.DataFrame:
    """Several runs' `measure_effects` tables added up group by group (counts and churners summed),
    then measured again: the evidence from every run so far."""
    if not per_run:
        return pd.DataFrame(columns=MEASURE_COLUMNS)
    m = pd.concat(per_run, ignore_index=True)
    m = m.assign(x_t=(m["churn_treated"].fillna(0) * m["n_treated"]).round().astype("int64"),
                 x_c=(m["churn_control"].fillna(0) * m["n_control"]).round().astype("int64"))
    sums = m.groupby(["action", "cause"], sort=True)[["n_treated", "n_control", "x_t", "x_c"]].sum().reset_index()
    rows = [_compare_counts(s.action, s.cause, int(s.n_treated), int(s.x_t), int(s.n_control), int(s.x_c), confidence)
            for s in sums.itertuples(index=False)]
    return pd.DataFrame(rows, columns=MEASURE_COLUMNS)


def record_run(book: dict | None, run: str, source: str, measured: pd.DataFrame, cfg: EffectsConfig) -> dict:
    """The evidence book (`models/evidence.json`) with run `run`'s measurements in it: a new entry,
    or the run's old entry replaced (never a second one); then pooled over every run and turned into
    relative effects for the decide priors. The input book is left as it was."""
    runs = dict((book or {}).get("runs", {}))
    runs[run] = {"source": source, "measured": measured.to_dict(orient="records")}
    pooled = pool_measurements([pd.DataFrame(r["measured"]) for r in runs.values()], cfg.confidence)
    return {"runs": runs, "pooled": pooled.to_dict(orient="records"), "confidence": cfg.confidence,
            "priors": evidence(pooled, cfg.min_per_arm)}
