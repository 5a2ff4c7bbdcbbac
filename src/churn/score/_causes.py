"""Turn per-feature risk contributions into a loss cause per customer."""

from __future__ import annotations

import hashlib
from fnmatch import fnmatch

import numpy as np
import pandas as pd
from scipy.stats import binomtest

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


# Causes whose features are observations about them (a survey score, a discount, a ticket): a missing value is
# no observation and says nothing about the cause. Engagement's missing values (never visited) are evidence.
OBSERVED_CAUSES = ("price", "service", "quality")


def cause_evidence(contributions: pd.DataFrame, cfg: ExplainConfig,
                   features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each cause's evidence per customer: the signed sum of the model's log-odds contributions over the
    cause's features (`cfg.causes`). Symptoms (orders falling, long silence: every churner has them) and
    features matching no cause are left out. With `features` (the values explained, row for row), a price,
    service or quality feature that is missing adds nothing: no survey in the window is not a bad score."""
    groups = feature_groups(list(contributions.columns), cfg)
    evidence = pd.DataFrame(index=contributions.index)
    for cause in CAUSES:
        cols = [f for f, g in groups.items() if g == cause]
        part = contributions[cols]
        if features is not None and cause in OBSERVED_CAUSES and cols:
            part = part.where(features[cols].notna().to_numpy(), 0.0)
        evidence[cause] = part.sum(axis=1) if cols else 0.0
    return evidence


def learnt_probabilities(model, frame: pd.DataFrame) -> dict[str, pd.DataFrame | None]:
    """What the scoring model's cause models say of each customer of `frame`, as `explain_causes`' keyword
    arguments: `probabilities` (learnt from recorded loss reasons) and `complaints` (learnt from lost customers'
    complaints, engagement neutral), each None when the model has no such cause model."""
    models = {"probabilities": getattr(model, "cause_model", None),
              "complaints": getattr(model, "complaint_model", None)}
    return {name: None if m is None else m.probabilities(frame) for name, m in models.items()}


def cause_population(evidence: pd.DataFrame) -> dict:
    """What each cause's evidence (`cause_evidence`) is compared with: its mean and spread (population standard
    deviation; 1 where there is none: the raw log-odds) over `evidence`'s customers, and how many they are. Plain
    floats: it is written to the score's summary and read back to explain more customers the same way."""
    spread = evidence.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
    return {"customers": int(len(evidence)),
            "mean": {c: float(v) for c, v in evidence.mean().fillna(0.0).items()},
            "spread": {c: float(v) for c, v in spread.items()}}


def reference_sample(customer_ids: pd.Series, size: int, seed: int) -> np.ndarray:
    """True for the `size` customers (all when fewer) with the smallest seeded hash of their customer_id: the
    same customers whatever the rows' order, a different sample for another seed."""
    ids = pd.Series(customer_ids).astype("string").reset_index(drop=True)
    if len(ids) <= size:
        return np.ones(len(ids), dtype=bool)
    key = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()  # hash_key: 16 characters
    hashed = pd.util.hash_pandas_object(ids, index=False, hash_key=key).to_numpy()
    order = np.lexsort((ids.to_numpy(dtype=object).astype(str), hashed))
    out = np.zeros(len(ids), dtype=bool)
    out[order[:size]] = True
    return out


# Explaining part of a list pays only when the part is small: the customers left out get every cause's options in
# the contact plan, which then explains those it reaches and plans again. At 100,000 customers with 68% at risk,
# lapsed or sampled, the score saved 3 s and the plan took 285 s instead of 23 (benchmarks/explain_where_needed.py).
PART_AT_MOST = 0.5


def explained_rows(customer_ids: pd.Series, cfg: ExplainConfig, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which customers to explain (TreeSHAP) and which of them are the population causes are compared with, as
    masks row for row with `customer_ids`: every customer up to `cfg.all_up_to` of them, all of them the
    population; past it the `wanted` ones and a seeded sample of `cfg.reference_customers` (`reference_sample`),
    the sample the population, unless those are more than `PART_AT_MOST` of the customers: then everyone."""
    everyone = np.ones(len(customer_ids), dtype=bool)
    if len(customer_ids) <= cfg.all_up_to:
        return everyone, everyone
    sample = reference_sample(customer_ids, cfg.reference_customers, cfg.seed)
    keep = wanted | sample
    return (everyone, everyone) if keep.mean() > PART_AT_MOST else (keep, sample)


def explained_part(frame: pd.DataFrame, model, cfg: ExplainConfig, wanted: np.ndarray
                   ) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, dict]:
    """Which rows of `frame` to explain (`explained_rows`, a mask), those rows (`frame` itself when everyone),
    their contributions (TreeSHAP of `model`) and the population their causes are compared with
    (`cause_population` of the sample's evidence)."""
    keep, sample = explained_rows(frame["customer_id"], cfg, wanted)
    part = frame if keep.all() else frame[keep]
    contributions = model.contributions(part)
    in_sample = sample[keep]
    return keep, part, contributions, cause_population(cause_evidence(contributions[in_sample], cfg, part[in_sample]))


def explain_causes(contributions: pd.DataFrame, cfg: ExplainConfig, features: pd.DataFrame | None = None,
                   trend_window: int | None = None, reference: pd.DataFrame | None = None,
                   probabilities: pd.DataFrame | None = None, population: dict | None = None,
                   complaints: pd.DataFrame | None = None) -> pd.DataFrame:
    """primary_cause, cause_share, cause_margin, secondary_cause and one `cause_z_<cause>` column per cause.

    With `probabilities` (`learnt_probabilities`: a cause model learnt from why past customers left), weighed with
    the evidence z-scores below when `cfg.known_causes.with_evidence` (`weigh_with_evidence`), the cause is the
    most probable one when its probability is at least `cfg.known_causes.min_probability` and leads the
    runner-up by `cfg.known_causes.min_margin`, else unclear (a stated cause first, as below); `cause_share` is
    its probability and `cause_margin` its lead. With `complaints` (`learnt_probabilities`: a cause model learnt
    from lost customers' complaints), they weigh the cause model's probabilities, or, without those, the evidence
    z-scores, named the same way. Without either, the evidence method below.

    Each cause's evidence (`cause_evidence`) is compared with the same evidence across a reference population,
    as a z-score: `population` (`cause_population` of a population's evidence), else `reference` (contributions
    of the population), else `contributions` itself (the customers scored together). With a given population a
    customer's cause depends on its own contributions alone: explaining customers in parts names the same causes. The cause with the highest z is named when it is at least `cfg.min_evidence_z` and leads
    the runner-up by at least `cfg.min_margin_z`; otherwise the cause is unclear (`other`): no signal of any
    cause, or two too close to tell apart, and the playbook answers with a diagnostic contact. With the
    `features` explained (row for row) and the `trend_window`, a cause the customer stated (`stated_causes`)
    comes first when `cfg.stated_first`: what a customer said outranks what the model infers. See
    docs/loss_causes.md for why.

    `cause_share` is the named cause's part of all the positive z evidence (0 when unclear); `cause_margin` the
    named (or, when unclear, the leading) cause's lead over the best other cause, in standard deviations;
    `secondary_cause` the best other cause when it stands out as well.
    """
    evidence = cause_evidence(contributions, cfg, features)
    if population is None:
        population = cause_population(evidence if reference is None else cause_evidence(reference, cfg))
    z = (evidence - pd.Series(population["mean"])[evidence.columns]) / pd.Series(population["spread"])[evidence.columns]
    stated = (stated_causes(features, cfg, trend_window)
              if features is not None and trend_window is not None and cfg.stated_first else None)
    prior = _prior(probabilities, complaints, contributions.index)
    if prior is not None:
        if probabilities is None or cfg.known_causes.with_evidence:
            prior = weigh_with_evidence(prior, z)
        return learnt_causes(prior, cfg, stated).join(z.add_prefix("cause_z_").round(4))
    values = z[list(CAUSES)].to_numpy()
    rows = np.arange(len(values))
    top = values.argmax(axis=1)
    clear = (values[rows, top] >= cfg.min_evidence_z) & (_runner_up(values, top)[1] >= cfg.min_margin_z)
    named = top
    if stated is not None:
        named, clear = _stated_first(stated, top, clear)
    runner_up, margin = _runner_up(values, named)
    positive = values.clip(min=0).sum(axis=1)
    share = np.divide(values[rows, named].clip(min=0), positive, out=np.zeros_like(positive), where=positive > 0)

    causes = np.array(CAUSES, dtype=object)
    out = pd.DataFrame({
        "primary_cause": np.where(clear, causes[named], OTHER_CAUSE),
        "cause_share": np.round(np.where(clear, share, 0.0), 3),
        "cause_margin": np.round(margin, 3),
        "secondary_cause": np.where(clear & (values[rows, runner_up] >= cfg.min_evidence_z), causes[runner_up], None),
    }, index=contributions.index)
    return out.join(z.add_prefix("cause_z_").round(4))


def _prior(probabilities: pd.DataFrame | None, complaints: pd.DataFrame | None, index: pd.Index
           ) -> pd.DataFrame | None:
    """The cause models' probabilities for the rows of `index`: the one given, or the normalised product of both."""
    given = [p.loc[index, list(CAUSES)] for p in (probabilities, complaints) if p is not None]
    if len(given) < 2:
        return given[0] if given else None
    product = given[0] * given[1]
    return product.div(product.sum(axis=1).replace(0.0, 1.0), axis=0)


def weigh_with_evidence(probabilities: pd.DataFrame, z: pd.DataFrame) -> pd.DataFrame:
    """The cause model's probabilities weighed with the evidence method's: each times the softmax of the
    customer's evidence z-scores (`explain_causes`' `cause_z_<cause>`), normalised to sum to 1 per customer.

    Why: the two err differently. A cause model learnt from recorded reasons learns the recorders' habits (reps
    who blame price) and sees every feature; the evidence method reads only the risk model's contributions, filed
    by the cause map, and misses a cause that shows through another cause's features. The product keeps what both
    agree on and lets a strong signal of either decide where the other is unsure. Measured on the demo before it
    was chosen (`benchmarks/causes_inputs.py`, docs/loss_causes.md)."""
    values = z[list(CAUSES)].to_numpy(dtype=float)
    soft = np.exp(values - values.max(axis=1, keepdims=True))
    weighed = probabilities[list(CAUSES)].to_numpy(dtype=float) * soft / soft.sum(axis=1, keepdims=True)
    total = weighed.sum(axis=1, keepdims=True)
    weighed = np.divide(weighed, total, out=np.full_like(weighed, 1.0 / len(CAUSES)), where=total > 0)
    return pd.DataFrame(weighed, columns=list(CAUSES), index=probabilities.index)


def learnt_causes(probabilities: pd.DataFrame, cfg: ExplainConfig, stated: pd.Series | None = None) -> pd.DataFrame:
    """The cause a cause model names per customer (`learnt_probabilities`, or `weigh_with_evidence` of them): the
    most probable, when sure enough; else unclear. With `stated` (`stated_causes`, row for row), a cause the
    customer stated comes first, its margin negative when the model does not back it. The columns of
    `explain_causes` without the evidence z-scores: no contributions needed."""
    values = probabilities[list(CAUSES)].to_numpy(dtype=float)
    rows = np.arange(len(values))
    top = values.argmax(axis=1)
    clear = (values[rows, top] >= cfg.known_causes.min_probability) & \
        (_runner_up(values, top)[1] >= cfg.known_causes.min_margin)
    if stated is not None:
        top, clear = _stated_first(stated, top, clear)
    runner_up, margin = _runner_up(values, top)
    causes = np.array(CAUSES, dtype=object)
    second = clear & (values[rows, runner_up] >= cfg.known_causes.min_probability / 2)
    return pd.DataFrame({
        "primary_cause": np.where(clear, causes[top], OTHER_CAUSE),
        "cause_share": np.round(np.where(clear, values[rows, top], 0.0), 3),
        "cause_margin": np.round(margin, 3),
        "secondary_cause": np.where(second, causes[runner_up], None),
    }, index=probabilities.index)


def _stated_first(stated: pd.Series, top: np.ndarray, clear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The named cause (column of `CAUSES`) and whether it is clear, per row, with a stated cause (`stated_causes`,
    row for row) put first and always clear: what a customer said outranks what a model infers."""
    said = stated.notna().to_numpy()
    named = np.where(said, [CAUSES.index(c) if c in CAUSES else 0 for c in stated.to_numpy()], top)
    return named, clear | said


def _runner_up(values: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the largest of the columns other than `chosen`, and the chosen column's lead over it."""
    rows = np.arange(len(values))
    others = values.copy()
    others[rows, chosen] = -np.inf
    runner_up = others.argmax(axis=1)
    return runner_up, values[rows, chosen] - values[rows, runner_up]


def _complaints_by_cause(features: pd.DataFrame, cfg: ExplainConfig, trend_window: int) -> tuple[list[str], np.ndarray]:
    """The causes complaints can name (all but engagement) and, per customer, the complaints about each in the
    last `trend_window` days (its complaint categories, from the cause map in `cfg`)."""
    named = [c for c in CAUSES if c != "engagement"]
    return named, _sum_by_cause(features, cfg, named,
                                lambda f: f.startswith("complaints_") and f.endswith(f"_{trend_window}"))


def _sum_by_cause(features: pd.DataFrame, cfg: ExplainConfig, causes: list[str], keep) -> np.ndarray:
    """One column per cause: the sum of its features for which `keep(name)` holds (missing values as 0)."""
    groups = feature_groups(list(features.columns), cfg)

    def total(cause: str) -> np.ndarray:
        cols = [f for f, g in groups.items() if g == cause and keep(f)]
        return features[cols].fillna(0).to_numpy(dtype=float).sum(axis=1) if cols else np.zeros(len(features))

    return np.column_stack([total(c) for c in causes])


def stated_causes(features: pd.DataFrame, cfg: ExplainConfig, trend_window: int) -> pd.Series:
    """The cause a customer stated: the one they complained about most in the last `trend_window` days, when
    one cause has strictly the most; else missing."""
    named, complaints = _complaints_by_cause(features, cfg, trend_window)
    most = complaints.max(axis=1, keepdims=True)
    unique = (most[:, 0] > 0) & ((complaints == most).sum(axis=1) == 1)
    cause = np.where(unique, np.array(named, dtype=object)[complaints.argmax(axis=1)], None)
    return pd.Series(cause, index=features.index, name="stated_cause", dtype=object)


def symptom_rule_causes(features: pd.DataFrame, cfg: ExplainConfig, trend_window: int) -> pd.Series:
    """The cause a manager would name from the symptoms alone, without a model: the baseline for causes.

    1. the cause stated: most complaints in the last `trend_window` days (`stated_causes`);
    2. else, among the causes tied for the most complaints (or all, without complaints), the one whose survey
       sub-score fell most over the last 180 days (a negative `*_score_trend`); tied complaints with no score
       drop among them: the first tied cause in the vocabulary's order;
    3. else engagement: the customer faded without a complaint or a worse score.
    """
    named, complaints = _complaints_by_cause(features, cfg, trend_window)
    # a score drop is a negative trend; rises and missing surveys say nothing
    drops = _sum_by_cause(features, cfg, named, lambda f: f.endswith("_score_trend")).clip(max=0.0) * -1.0
    names = np.array(named)
    most = complaints.max(axis=1, keepdims=True)
    complained = most[:, 0] > 0
    tied = (complaints == most) & complained[:, None]
    drop_among = np.where(tied | ~complained[:, None], drops, -1.0)  # among the tied, or all without complaints
    has_drop = drop_among.max(axis=1) > 0
    cause = np.where(has_drop, names[drop_among.argmax(axis=1)], "engagement")
    cause = np.where(complained & ~has_drop, names[tied.argmax(axis=1)], cause)
    stated = stated_causes(features, cfg, trend_window)
    return stated.fillna(pd.Series(cause, index=features.index)).astype(object).rename("symptom_rule_cause")


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
    holdout cost under "cost". `method` says which method named the causes: "known_causes" when the model
    carries a cause model learnt from recorded reasons (its summary under "cause_model", and the evidence
    method's figures beside it under "evidence"), else "evidence".
    """
    import time

    t0 = time.perf_counter()
    contributions = model.contributions(holdout)
    t1 = time.perf_counter()
    learnt = learnt_probabilities(model, holdout)
    explained = explain_causes(contributions, cfg, holdout, trend_window, **learnt)
    t2 = time.perf_counter()
    evidence = explained if learnt["probabilities"] is None else explain_causes(
        contributions, cfg, holdout, trend_window, complaints=learnt["complaints"])
    rule = symptom_rule_causes(holdout, cfg, trend_window)
    churned = holdout["churned"].to_numpy() == 1
    flagged = churned & (model.predict_proba(holdout) >= flag_at)
    ids = holdout["customer_id"]
    caused = ids.map(truth.set_index("customer_id")["cause"]).isin(CAUSES).to_numpy()

    def figures(named: pd.Series) -> dict:
        out = cause_agreement(ids[churned], named[churned], truth)
        out["flagged"] = cause_agreement(ids[flagged], named[flagged], truth)
        out["unclear"] = float((named[churned & caused] == OTHER_CAUSE).mean()) if (churned & caused).any() else np.nan
        return out

    result = figures(explained["primary_cause"])
    result["method"] = "evidence" if learnt["probabilities"] is None else "known_causes"
    result["cause_model"] = getattr(getattr(model, "cause_model", None), "summary", None)
    if learnt["probabilities"] is not None:  # the evidence method beside it: what a company without reasons gets
        result["evidence"] = figures(evidence["primary_cause"])
    result["symptom_rule"] = figures(rule)
    n = len(holdout)
    result["cost"] = {"customers": n, "seconds": round(t2 - t0, 3), "contributions_seconds": round(t1 - t0, 3),
                      "causes_seconds": round(t2 - t1, 3), "ms_per_customer": round(1000 * (t2 - t0) / max(n, 1), 4)}
    return result


def judge_causes(model, holdout: pd.DataFrame, recorded: pd.Series, cfg: ExplainConfig, trend_window: int) -> dict:
    """Each way of naming causes judged on the holdout's lost customers whose reason was recorded (`recorded`,
    row for row with `holdout`, missing where none): the cause model learnt from recorded reasons (when `model`
    has one), the evidence method and the symptom rule. Each one's accuracy and per-cause recall, and the method
    the list should use (`chosen`): the learnt one when at least `cfg.known_causes.min_judged` customers judge
    it and it names at least as many of them right as the evidence method, or, weighed with the evidence
    (`cfg.known_causes.with_evidence`), unless the evidence method alone is significantly better on them
    (`cfg.known_causes.evidence_significance`); else the evidence method. When `model` has a cause model learnt
    from complaints, it weighs both sides, and `complaints` says whether the list keeps it (`_judge_complaints`:
    the chosen method with and without it)."""
    known = recorded.notna().to_numpy()
    # Only the judged customers' causes count: past `cfg.all_up_to` they are explained against a sample's evidence,
    # as the list's are (`explained_rows`; a 1M-customer holdout took 93 s of TreeSHAP this way).
    keep, part, contributions, population = explained_part(holdout, model, cfg, known)
    learnt = learnt_probabilities(model, part)
    probabilities, complaints = learnt["probabilities"], learnt["complaints"]  # (complaints: on both sides)
    named = {"evidence": explain_causes(contributions, cfg, part, trend_window, population=population,
                                        complaints=complaints)["primary_cause"],
             "symptom_rule": symptom_rule_causes(part, cfg, trend_window)}
    if probabilities is not None:
        named["known_causes"] = explain_causes(contributions, cfg, part, trend_window, probabilities=probabilities,
                                               population=population, complaints=complaints)["primary_cause"]
    truth = recorded[known].to_numpy(dtype=object)
    known = known[keep]  # (the judged rows among those explained)
    out: dict = {"judged": int(known.sum())}
    right = {method: causes.to_numpy(dtype=object)[known] == truth for method, causes in named.items()}
    for method, hits in right.items() if known.any() else ():  # (nobody to judge: no figures, not NaN)
        out[method] = {"accuracy": float(hits.mean()),
                       "per_cause": {c: float(hits[truth == c].mean()) for c in CAUSES if (truth == c).any()}}
    if probabilities is None:
        out["chosen"], out["why"] = "evidence", "no cause model (no or too few recorded reasons)"
    elif out["judged"] < cfg.known_causes.min_judged:
        out["chosen"], out["why"] = "evidence", (f"{out['judged']} of the holdout's lost customers have a recorded "
                                                 f"reason: too few to judge the cause model (at least "
                                                 f"{cfg.known_causes.min_judged})")
    else:
        out["with_evidence"] = cfg.known_causes.with_evidence
        learnt, evidence = out["known_causes"]["accuracy"], out["evidence"]["accuracy"]
        out["why"] = (f"on the {out['judged']} lost customers of the holdout with a recorded reason the cause model "
                      f"named {learnt:.1%} right, the evidence method {evidence:.1%}")
        better = learnt >= evidence
        if cfg.known_causes.with_evidence and not better:
            # the weighed method holds the evidence method's own z-scores: a few noisy reasons set it aside only
            # when the evidence method alone is significantly better on them
            only_evidence = int((right["evidence"] & ~right["known_causes"]).sum())
            only_learnt = int((right["known_causes"] & ~right["evidence"]).sum())
            p = binomtest(only_evidence, only_evidence + only_learnt, 0.5, alternative="greater").pvalue
            better = p >= cfg.known_causes.evidence_significance
            out["why"] += (f"; where the two differ, the evidence method alone right on {only_evidence}, the weighed "
                           f"method alone on {only_learnt}: the evidence method {'not ' if better else ''}"
                           f"significantly better (p = {p:.2f})")
        out["chosen"] = "known_causes" if better else "evidence"
    if complaints is None:
        return out
    # the complaints' cause model, judged on the method the list gets: that method with and without it
    if out["judged"] < cfg.known_causes.min_judged:
        out["complaints"] = {"kept": True, "why": (f"{out['judged']} of the holdout's lost customers have a recorded "
                                                   f"reason: too few to judge it (at least "
                                                   f"{cfg.known_causes.min_judged}), kept")}
        return out
    alone = explain_causes(contributions, cfg, part, trend_window, population=population,
                           probabilities=probabilities if out["chosen"] == "known_causes" else None)
    without = alone["primary_cause"].to_numpy(dtype=object)[known] == truth
    out["complaints"] = _judge_complaints(right[out["chosen"]], without, cfg.from_complaints.significance)
    return out


def _judge_complaints(with_it: np.ndarray, without: np.ndarray, significance: float) -> dict:
    """Whether the list keeps the complaints' cause model, from the judged customers named right with it
    (`with_it`) and without it (`without`): set aside only when naming without it is significantly better (exact
    one-sided binomial test on the customers the two name differently), because it learns from many more
    customers than the recorded reasons, and a few noisy reasons should not overrule it."""
    judged = len(with_it)
    only_without, only_with = int((without & ~with_it).sum()), int((with_it & ~without).sum())
    p = (binomtest(only_without, only_without + only_with, 0.5, alternative="greater").pvalue
         if only_without else 1.0)
    kept = bool(p >= significance)
    return {"accuracy_with": float(with_it.mean()), "accuracy_without": float(without.mean()), "kept": kept,
            "why": (f"on the {judged} lost customers of the holdout with a recorded reason {with_it.mean():.1%} right "
                    f"with it, {without.mean():.1%} without; where the two differ, without it right on "
                    f"{only_without}, with it on {only_with}: {'kept' if kept else 'set aside'} (p = {p:.2f})")}


def cause_metrics(result: dict) -> dict[str, float]:
    """`cause_check`'s figures as flat metrics (for MLflow): accuracy on all and on flagged churners, the share
    left unclear, each cause's recall and precision; the symptom rule's with the suffix `_symptom_rule`. NaN
    (nobody to judge) is left out."""
    out = {}
    methods = (("", result), ("_evidence", result.get("evidence")), ("_symptom_rule", result["symptom_rule"]))
    for suffix, m in ((s, m) for s, m in methods if m is not None):
        out[f"cause_accuracy{suffix}"] = m["accuracy"]
        out[f"cause_accuracy_flagged{suffix}"] = m["flagged"]["accuracy"]
        out[f"cause_unclear_share{suffix}"] = m["unclear"]
        out |= {f"cause_recall_{c}{suffix}": v for c, v in m["per_cause"].items()}
        out |= {f"cause_precision_{c}{suffix}": v for c, v in m["precision_per_cause"].items()}
    return {k: v for k, v in out.items() if v == v}
