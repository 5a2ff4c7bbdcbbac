"""Drift of the scored population against the training reference saved with the model.

Pure functions: a frame of features (and scores) in, a JSON-able profile or a table of distances out.

Per column, the reference is a histogram: numeric columns on the reference's own deciles (`bins` quantile
edges, ties merged, plus a bin for missing values), categorical columns by category (the reference's
categories, plus "other" and missing). A current population is binned the same way and compared with:

- the population stability index, PSI = sum((c - r) * ln(c / r)) over the bins (shares floored at
  `FLOOR` so an empty bin does not give infinity); the usual reading: < 0.1 stable, 0.1-0.25 a moderate
  shift, > 0.25 a major one;
- the Jensen-Shannon distance (scipy, base 2): 0 for the same shares, 1 for disjoint ones; symmetric and
  bounded, where PSI grows without limit as a bin empties.

A column alarms when either passes its threshold (`MonitorConfig.psi_alarm`, `js_alarm`). Both are plain
formulas over histograms; scipy gives the JS distance. evidently would add a large dependency (and its own
HTML reports) for these two numbers.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from churn.config import MonitorConfig
from churn.vocab import SCORE_DECIMALS, alarm_text

MIN_BIN_WIDTH = 0.01  # the narrowest bin, as a share of its edges' size (`_spread_out`)
FLOOR = 1e-4  # the least share a bin is given in PSI: an empty bin counts as 0.01% of the customers
MISSING = "__missing__"
OTHER = "__other__"
MIX_COLUMNS = ("segment", "region", "is_key_account")  # the customer mix, watched beside the features
SCORE = "churn_probability"  # the score distribution, watched as one more column
ALL = "all"  # the group of a drift row about the whole population
DRIFT_COLUMNS = ["feature", "group", "kind", "psi", "js", "alarm", "reference_n", "current_n", "current_missing_share"]


def reference_profile(frame: pd.DataFrame, columns: list[str], bins: int = 10,
                      min_bin_width: float = MIN_BIN_WIDTH) -> dict:
    """The reference histograms of `columns` of `frame` (JSON-able): {"n", "columns": {name: {...}}}.

    Numeric columns (bool counts as categorical): "edges" (inner quantile edges, none closer to the one below
    than `min_bin_width` of its size) and "shares" (one per bin, then missing);
    categorical: "categories" and "shares" (one per category, then other, then missing)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the reference has no column(s) {missing}")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    out: dict = {"n": int(len(frame)), "columns": {}}
    for name in columns:
        values = frame[name]
        if _numeric(values):
            x = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
            seen = x[np.isfinite(x)]
            edges = np.unique(np.quantile(seen, np.linspace(0, 1, bins + 1)[1:-1])) if len(seen) else np.array([])
            edges = _spread_out(edges, min_bin_width)
            spec = {"kind": "numeric", "edges": [float(e) for e in edges]}
        else:
            counts = values.astype("string").value_counts(dropna=True)
            spec = {"kind": "categorical", "categories": [str(c) for c in counts.index]}
        spec["shares"] = _shares(values, spec).tolist()
        out["columns"][name] = spec
    return out


def _spread_out(edges: np.ndarray, min_gap: float) -> np.ndarray:
    """`edges` (ascending) without those closer to the last edge kept than `min_gap` of the larger's size.

    A feature bunched in a sliver of its range (BG/NBD's P(alive): 90% of customers between 0.992 and 0.9996)
    gets quantile edges 1e-4 apart; refitting the model at each date moves everyone by about that much, and
    PSI would call a shift of no consequence a major one. The gap is relative, so money on a heavy-tailed
    scale keeps its deciles (0, 790, 11,007, ...: far apart for their size)."""
    kept: list[float] = []
    for edge in edges:
        if not kept or edge - kept[-1] >= min_gap * max(abs(edge), abs(kept[-1])):
            kept.append(float(edge))
    return np.asarray(kept)


def population_reference(frame: pd.DataFrame, features: list[str], scores, cfg: MonitorConfig | None = None) -> dict:
    """The drift reference of a scored population: the model's features, the customer mix (`MIX_COLUMNS`) and
    the score (`SCORE`), as `reference_profile` keeps them; and under "groups", the same per value of each
    `cfg.drift_by` column with at least `cfg.min_group_customers` customers ("region=East": a price change in
    one region moves a quarter of the customers, which the whole population's histograms barely show)."""
    cfg = cfg or MonitorConfig()
    columns = list(dict.fromkeys([*(f for f in features if f in frame.columns),
                                  *(c for c in MIX_COLUMNS if c in frame.columns)]))
    data = frame[columns].assign(**{SCORE: np.asarray(scores, dtype="float64")})
    reference = reference_profile(data, [*columns, SCORE], cfg.bins, cfg.min_bin_width)
    reference["groups"] = {}
    for by in (c for c in cfg.drift_by if c in frame.columns):
        inside = [c for c in [*columns, SCORE] if c != by]
        for value, part in data.groupby(frame[by].astype("string").to_numpy(), sort=True):
            if len(part) >= cfg.min_group_customers:
                reference["groups"][f"{by}={value}"] = {"by": by, "value": str(value),
                                                        **reference_profile(part, inside, cfg.bins, cfg.min_bin_width)}
    return reference


def training_reference(customers: pd.DataFrame, model, cfg: MonitorConfig | None = None) -> dict:
    """The drift reference a trained model is saved with: the customers active at the training as-of, their
    features as a scoring run on that day builds them, as the model scores them. Not the latest labelled
    cutoff: that lies a horizon earlier, so clock features (season, tenure) would differ from any later
    scoring run by the calendar alone and raise alarms that say nothing about the customers."""
    data = customers.reset_index(drop=True)
    # rounded as the list rounds it: the low-risk deciles' edges are 1e-4 apart, and rounding alone moved
    # customers across them (PSI 0.03 on the demo scored on its own training date)
    scores = np.round(model.predict_proba(data), SCORE_DECIMALS)
    return population_reference(data, list(getattr(model, "features", [])), scores, cfg)


def population_drift(reference: dict, frame: pd.DataFrame, scores, cfg: MonitorConfig) -> pd.DataFrame:
    """`drift_table` of a scored population (its features and scores) against `population_reference`."""
    return drift_table(reference, frame.assign(**{SCORE: np.asarray(scores, dtype="float64")}), cfg)


def scoring_drift(reference: dict, features: pd.DataFrame, scored: pd.DataFrame, cfg: MonitorConfig) -> pd.DataFrame:
    """`population_drift` of a scoring run: its features with each customer's score from the scored list."""
    scores = scored.set_index("customer_id")[SCORE].reindex(features["customer_id"].astype("string").to_numpy())
    return population_drift(reference, features, scores.to_numpy(), cfg)


def drift_name(feature: str, group: str) -> str:
    """A drift row's name in alarms: the feature, with its group when it is one ("revenue_90 (region=East)")."""
    return feature if group == ALL else f"{feature} ({group})"


def drift_summary(table: pd.DataFrame) -> dict:
    """What a run's summary keeps: the alarms by name, the largest shift, every distance of the whole
    population by column (and of the groups' alarms), and each group's largest PSI."""
    names = [drift_name(f, g) for f, g in zip(table["feature"], table["group"], strict=True)]
    keep = (table["group"] == ALL) | table["alarm"]
    whole = table[table["group"] == ALL]
    groups = table[table["group"] != ALL].groupby("group", sort=True)["psi"].max()
    return {"alarms": [n for n, a in zip(names, table["alarm"], strict=True) if a], "n_columns": int(len(whole)),
            "max_psi": float(table["psi"].max()) if len(table) else 0.0,
            "psi": {n: float(v) for n, v, k in zip(names, table["psi"], keep, strict=True) if k},
            "js": {n: float(v) for n, v, k in zip(names, table["js"], keep, strict=True) if k},
            "groups": {g: float(v) for g, v in groups.items()}}


def drift_metrics(drift: dict | None) -> dict[str, float]:
    """A run's drift summary as flat MLflow metrics: drift_alarms, drift_max_psi, drift_psi.<col>, drift_js.<col>
    (a group's column as drift_psi.<col>/<by>:<value>) and drift_group_max_psi.<by>:<value>."""
    if not drift:
        return {}
    return ({"drift_alarms": len(drift["alarms"]), "drift_max_psi": drift["max_psi"]}
            | {f"drift_psi.{_metric_key(k)}": v for k, v in drift["psi"].items()}
            | {f"drift_js.{_metric_key(k)}": v for k, v in drift["js"].items()}
            | {f"drift_group_max_psi.{_metric_key(k)}": v for k, v in drift.get("groups", {}).items()})


def _metric_key(name: str) -> str:
    """A drift name in the characters MLflow takes in a metric name ("revenue_90 (region=East)" ->
    "revenue_90/region:East")."""
    return re.sub(r"[^\w\-. :/]", "_", name.replace(" (", "/").replace("=", ":").removesuffix(")"))


class DriftAlarm(ValueError):
    """A scoring run's population drifted from the training data and `monitor.fail_on_drift` is set."""


def check_drift(drift: dict | None, fail_on_drift: bool) -> None:
    """Raise DriftAlarm naming the drifted columns when `fail_on_drift` and the run's drift summary has alarms."""
    if fail_on_drift and drift and drift["alarms"]:
        raise DriftAlarm(f"drift alarm against the training data: {alarm_text(drift)}; the list was written, but "
                         f"monitor.fail_on_drift is true: check the data (or retrain) before using it")


def drift_table(reference: dict, current: pd.DataFrame, cfg: MonitorConfig) -> pd.DataFrame:
    """PSI and Jensen-Shannon distance of every reference column in `current` (`DRIFT_COLUMNS`), largest PSI
    first; `alarm` where either passes its threshold. A reference column missing from `current` is refused."""
    absent = [c for c in reference["columns"] if c not in current.columns]
    if absent:
        raise ValueError(f"the scored population has no column(s) {absent} that the drift reference has")
    rows = _compare(reference, current, ALL, cfg)
    for group, spec in reference.get("groups", {}).items():
        if spec["by"] in current.columns:
            part = current[(current[spec["by"]].astype("string") == spec["value"]).fillna(False).to_numpy()]
            if len(part) >= cfg.min_group_customers:
                rows += _compare(spec, part, group, cfg)
    table = pd.DataFrame(rows, columns=DRIFT_COLUMNS)
    return table.sort_values(["alarm", "psi", "group", "feature"], ascending=[False, False, True, True],
                             ignore_index=True)


def _compare(reference: dict, current: pd.DataFrame, group: str, cfg: MonitorConfig) -> list[dict]:
    rows = []
    for name, spec in reference["columns"].items():
        ref = np.asarray(spec["shares"], dtype="float64")
        cur = _shares(current[name], spec)
        psi = population_stability_index(ref, cur)
        js = float(jensenshannon(ref, cur, base=2)) if ref.sum() > 0 and cur.sum() > 0 else 0.0
        rows.append({"feature": name, "group": group, "kind": spec["kind"], "psi": round(psi, 6), "js": round(js, 6),
                     "alarm": bool(psi >= cfg.psi_alarm or js >= cfg.js_alarm),
                     "reference_n": int(reference["n"]), "current_n": int(len(current)),
                     "current_missing_share": round(float(cur[-1]), 6)})
    return rows


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """sum((c - r) * ln(c / r)) over bins, shares floored at `FLOOR` (0 for two equal histograms)."""
    r = np.maximum(np.asarray(reference, dtype="float64"), FLOOR)
    c = np.maximum(np.asarray(current, dtype="float64"), FLOOR)
    value = float(np.sum((c - r) * np.log(c / r)))
    return 0.0 if math.isclose(value, 0.0, abs_tol=1e-12) else value


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _shares(values: pd.Series, spec: dict) -> np.ndarray:
    """The share of `values` in each bin of `spec` (missing last); all zeros for no values."""
    n = len(values)
    if spec["kind"] == "numeric":
        x = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
        seen = np.isfinite(x)
        counts = np.bincount(np.searchsorted(np.asarray(spec["edges"]), x[seen], side="right"),
                             minlength=len(spec["edges"]) + 1).astype("float64")
        counts = np.append(counts, n - seen.sum())
    else:
        text = values.astype("string")
        known = {c: i for i, c in enumerate(spec["categories"])}
        counts = np.zeros(len(known) + 2)
        for value, k in text.value_counts(dropna=False).items():
            counts[len(known) + 1 if pd.isna(value) else known.get(str(value), len(known))] += k
    return counts / n if n else counts
