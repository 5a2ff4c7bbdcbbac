"""Loss causes learnt from recorded reasons (`loss_reasons`) on the planted-cause history: which reasons label
which examples (point in time), the cause model, its judgement against the evidence method, and saving it."""

import re

import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, END, planted_history, recorded_reasons

from churn.config import load_config
from churn.data import point_in_time, validate_history
from churn.features import plan_cutoffs, training_examples
from churn.model import ChurnModel, feature_columns, fit_cause_model, known_causes, learn_causes, train_model
from churn.score import cause_check, judge_causes


@pytest.fixture(scope="module")
def learnt():
    cfg = load_config(CONFIG, **{"train.search.enabled": False})
    tables, truth = planted_history()
    tables["loss_reasons"] = recorded_reasons(tables, truth)
    valid = validate_history(tables, cfg.validate_, pd.Timestamp("2025-02-01", tz="UTC"))
    typed, _ = point_in_time(valid.tables, END)
    examples = training_examples(typed, plan_cutoffs(END, cfg.labels), cfg.labels, cfg.features)
    result = train_model(examples, cfg.train, cfg.labels.horizon_days)
    final, judged, summary = learn_causes(examples, feature_columns(examples), valid.tables["loss_reasons"], END,
                                          cfg.labels.horizon_days, cfg.explain.known_causes, cfg.train.seed)
    model = result.model.judged
    model.cause_model = judged
    holdout = examples[examples["role"] == "test"].reset_index(drop=True)
    return cfg, truth, examples, holdout, model, final, summary, valid.tables["loss_reasons"]


def test_a_reason_labels_the_churn_window_it_explains_and_only_what_was_known():
    examples = pd.DataFrame({
        "customer_id": ["A", "A", "B", "C", "D", "E"],
        "cutoff": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01"]),
        "churned": [1, 1, 0, 1, 1, 1],
    })
    reasons = pd.DataFrame({
        "customer_id": ["A", "B", "C", "D", "E"],
        "ts": pd.to_datetime(["2024-05-01", "2024-03-01", "2023-12-01", "2024-03-01", "2024-03-01"]),
        "cause": ["price", "service", "quality", "other", "engagement"],
    })
    labels = known_causes(examples, reasons, pd.Timestamp("2024-06-01"), horizon_days=90, recorded_within_days=60)
    assert labels[0] == "price" and labels[1] == "price"  # recorded within 60 days of the end of both A's windows
    assert pd.isna(labels[2])  # B stayed: a reason does not make a churner
    assert pd.isna(labels[3])  # C's reason came before the cutoff: it explains an earlier loss
    assert pd.isna(labels[4])  # "other" is not a cause to learn
    assert labels[5] == "engagement"
    earlier = known_causes(examples, reasons, pd.Timestamp("2024-04-15"), 90, 60)
    assert pd.isna(earlier[0]) and earlier[5] == "engagement"  # A's reason was not known yet on 2024-04-15
    tight = known_causes(examples, reasons, pd.Timestamp("2024-06-01"), horizon_days=90, recorded_within_days=30)
    assert pd.isna(tight[0]) and tight[1] == "price"  # 2024-05-01 is past 2024-01-01's window + 30 days


@pytest.mark.slow
def test_the_cause_model_finds_each_planted_cause(learnt):
    cfg, truth, _, holdout, model, _, summary, _ = learnt
    assert summary["judged"]["used"] and summary["used"]
    assert summary["customers"] > summary["judged"]["customers"]  # the list's model knows the later reasons too
    check = cause_check(model, holdout, truth, cfg.explain, cfg.features.trend_window)
    assert check["method"] == "known_causes"
    assert check["judged"] >= 100
    assert check["accuracy"] >= 0.85, check
    assert min(check["per_cause"].values()) >= 0.75, check["per_cause"]
    assert check["accuracy"] > check["symptom_rule"]["accuracy"]
    assert set(check["evidence"]) >= {"accuracy", "per_cause", "flagged"}


def test_the_holdout_judges_the_cause_model_against_the_evidence_method(learnt):
    cfg, _, examples, holdout, model, _, _, reasons = learnt
    recorded = known_causes(holdout, reasons, END, cfg.labels.horizon_days,
                            cfg.explain.known_causes.recorded_within_days)
    verdict = judge_causes(model, holdout, recorded, cfg.explain, cfg.features.trend_window)
    assert verdict["judged"] == recorded.notna().sum() >= 30
    assert verdict["chosen"] == "known_causes", verdict
    assert verdict["known_causes"]["accuracy"] >= verdict["evidence"]["accuracy"]
    strict = cfg.explain.model_copy(update={"known_causes": cfg.explain.known_causes.model_copy(
        update={"min_judged": verdict["judged"] + 1})})
    too_few = judge_causes(model, holdout, recorded, strict, cfg.features.trend_window)
    assert too_few["chosen"] == "evidence" and "too few" in too_few["why"]


@pytest.mark.parametrize("lead, with_evidence, chosen", [
    (1, True, "known_causes"),  # the evidence method right on one more: not significantly better
    (1, False, "evidence"),  # the cause model alone has to name at least as many right
    (None, True, "evidence"),  # right on every customer the two name differently: significantly better
])
def test_the_weighed_method_is_set_aside_only_when_the_evidence_is_significantly_better(learnt, lead, with_evidence,
                                                                                        chosen):
    from churn.score import explain_causes
    from churn.vocab import CAUSES

    cfg, _, _, holdout, model, _, _, _ = learnt
    explain = cfg.explain.model_copy(update={"known_causes": cfg.explain.known_causes.model_copy(
        update={"with_evidence": with_evidence})})
    window = cfg.features.trend_window
    contributions = model.contributions(holdout)
    evidence = explain_causes(contributions, explain, holdout, window)["primary_cause"].to_numpy(dtype=object)
    learnt_named = explain_causes(contributions, explain, holdout, window,
                                  probabilities=model.cause_model.probabilities(holdout))["primary_cause"]
    learnt_named = learnt_named.to_numpy(dtype=object)
    differ = np.flatnonzero(evidence != learnt_named)
    assert len(differ) >= 9
    recorded = learnt_named.copy()  # where the two agree, both right
    if lead is None:
        recorded[differ] = evidence[differ]
    else:  # the evidence method right on one more of those they name differently; one odd out neither names
        odd = differ[: 1 - len(differ) % 2]
        for i in odd:
            recorded[i] = next(c for c in CAUSES if c not in (evidence[i], learnt_named[i]))
        rest = np.setdiff1d(differ, odd)
        recorded[rest[: (len(rest) + lead) // 2]] = evidence[rest[: (len(rest) + lead) // 2]]
    verdict = judge_causes(model, holdout, pd.Series(recorded), explain, window)
    right = {m: verdict[m]["accuracy"] * verdict["judged"] for m in ("evidence", "known_causes")}
    if lead is not None:
        assert right["evidence"] == pytest.approx(right["known_causes"] + lead)
    assert verdict["chosen"] == chosen, verdict["why"]
    if with_evidence:
        assert ("not significantly" in verdict["why"]) == (chosen == "known_causes")


def test_past_all_up_to_only_the_judged_customers_are_explained_against_a_sample(learnt):
    from churn.score import cause_evidence, cause_population, explain_causes, explained_rows, reference_sample

    cfg, _, _, holdout, model, _, _, reasons = learnt
    window = cfg.features.trend_window
    recorded = known_causes(holdout, reasons, END, cfg.labels.horizon_days,
                            cfg.explain.known_causes.recorded_within_days)
    known = recorded.notna().to_numpy()
    explain = cfg.explain.model_copy(update={"all_up_to": 0, "reference_customers": len(holdout) // 5})
    keep, sample = explained_rows(holdout["customer_id"], explain, known)
    assert known.sum() < keep.sum() < len(holdout) and (keep == known | sample).all()  # a part, not everyone

    verdict = judge_causes(model, holdout, recorded, explain, window)
    # the same as explaining everyone against the sample's evidence
    sampled = reference_sample(holdout["customer_id"], explain.reference_customers, explain.seed)
    contributions = model.contributions(holdout)
    population = cause_population(cause_evidence(contributions[sampled], explain, holdout[sampled]))
    truth = recorded[known].to_numpy(dtype=object)
    for method, probabilities in (("evidence", None), ("known_causes", model.cause_model.probabilities(holdout))):
        named = explain_causes(contributions, explain, holdout, window, population=population,
                               probabilities=probabilities)["primary_cause"]
        right = (named[known].to_numpy(dtype=object) == truth).mean()
        assert verdict[method]["accuracy"] == pytest.approx(right), method
    everyone = judge_causes(model, holdout, recorded, cfg.explain, window)
    assert verdict["judged"] == everyone["judged"] and verdict["chosen"] in ("known_causes", "evidence")
    assert verdict["symptom_rule"] == everyone["symptom_rule"]  # (the rule compares with no population)


@pytest.mark.parametrize("setting, value, why", [
    ("min_reasons", 100_000, "lost customers with a recorded cause"),
    ("min_per_cause", 100_000, r"too few lost customers with a recorded cause: price \d+"),
    ("enabled", False, "enabled is false"),
])
def test_too_few_reasons_leave_the_evidence_method(learnt, setting, value, why):
    cfg, _, examples, _, _, _, _, reasons = learnt
    labels = known_causes(examples, reasons, END, cfg.labels.horizon_days, 180)
    fit, summary = fit_cause_model(examples, feature_columns(examples), labels,
                                   cfg.explain.known_causes.model_copy(update={setting: value}), 0)
    assert fit is None and not summary["used"] and re.search(why, summary["why"])


def test_a_cause_model_is_saved_and_loaded_with_the_model(learnt, tmp_path):
    _, _, _, holdout, model, _, _, _ = learnt
    model.save(tmp_path / "m")
    again = ChurnModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.cause_model.probabilities(holdout), model.cause_model.probabilities(holdout))
    model_without = ChurnModel(model.booster, model.features, model.categories, model.calibration)
    model_without.save(tmp_path / "plain")
    assert ChurnModel.load(tmp_path / "plain").cause_model is None


@pytest.mark.parametrize("with_evidence", [False, True])
def test_scoring_names_the_causes_explain_causes_names(learnt, with_evidence):
    """Without the evidence the score names the cause model's causes without TreeSHAP (the same as the full path);
    with it, the cause model's probabilities weighed with every scored customer's evidence."""
    from churn.score import explain_causes, score_customers, stated_causes
    from churn.score._causes import learnt_causes

    cfg, _, _, holdout, model, _, _, _ = learnt
    explain = cfg.explain.model_copy(update={"known_causes": cfg.explain.known_causes.model_copy(
        update={"with_evidence": with_evidence})})
    window = cfg.features.trend_window
    probabilities = model.cause_model.probabilities(holdout)
    full = explain_causes(model.contributions(holdout), explain, holdout, window, probabilities=probabilities)
    if not with_evidence:
        alone = learnt_causes(probabilities, explain, stated_causes(holdout, explain, window))
        pd.testing.assert_frame_equal(alone, full[list(alone.columns)])
    scored = score_customers(holdout, None, model, cfg=cfg.score, explain=explain, trend_window=window,
                             model_version="t", as_of=END).set_index("customer_id")
    expected = full.set_axis(holdout["customer_id"].astype("string"))
    for column in ("primary_cause", "cause_share", "secondary_cause"):
        assert scored[column].reindex(expected.index).tolist() == expected[column].tolist(), column


def test_past_all_up_to_the_weighed_causes_are_those_of_explaining_everyone_against_the_sample(learnt):
    """A large list with a cause model weighed with the evidence: the score explains those at risk, lapsed and a
    sample, the contact plan the others it reaches (`explain_customers`); each gets the cause explaining everyone
    against the same sample gives."""
    from churn.score import explain_causes, explain_customers, score_customers

    cfg, _, _, holdout, model, _, _, _ = learnt
    explain = cfg.explain.model_copy(update={"all_up_to": 0, "reference_customers": 30})
    window = cfg.features.trend_window
    scored = score_customers(holdout, None, model, cfg=cfg.score, explain=explain, trend_window=window,
                             model_version="t", as_of=END).set_index("customer_id")
    causes = scored.attrs["causes"]
    assert causes["method"] == "known_causes" and causes["population"]["customers"] == 30
    explained = scored.index[scored["primary_cause"].notna().to_numpy()]
    assert 30 <= len(explained) < len(scored)
    everyone = explain_causes(model.contributions(holdout), explain, holdout, window, population=causes["population"],
                              probabilities=model.cause_model.probabilities(holdout))
    everyone = everyone.set_axis(holdout["customer_id"].astype("string"))
    for column in ("primary_cause", "cause_share", "secondary_cause"):
        assert scored.loc[explained, column].tolist() == everyone.loc[explained, column].tolist(), column
    rest = holdout[~holdout["customer_id"].astype("string").isin(explained)].reset_index(drop=True)
    later = explain_customers(rest, model, explain, window, causes["population"])
    assert later["primary_cause"].tolist() == everyone.loc[rest["customer_id"].astype("string"), "primary_cause"].tolist()


def test_a_cause_model_learns_from_complaints_and_leaves_engagement_neutral(learnt, tmp_path):
    """Lost customers' stated causes label a three-cause model (engagement, which no complaint names, neutral); it
    is saved with the risk model, and alone it weighs the evidence as a recorded-reason cause model does."""
    from churn.model import learn_from_complaints
    from churn.score import cause_evidence, cause_population, explain_causes, stated_causes, weigh_with_evidence
    from churn.score._causes import learnt_causes

    cfg, _, examples, holdout, model, _, _, _ = learnt
    window = cfg.features.trend_window
    settings = cfg.explain.known_causes.model_copy(update={"min_reasons": 20, "min_per_cause": 5})
    inputs = [f for f in feature_columns(examples) if not f.startswith("complaints_")]
    _, judged, summary = learn_from_complaints(examples, inputs, stated_causes(examples, cfg.explain, window), END,
                                               settings, 0)
    assert summary["judged"]["used"] and "complained" in summary["judged"]["why"], summary
    assert judged.classes == ["price", "service", "quality"]
    stated = stated_causes(examples, cfg.explain, window)
    none, _, short = learn_from_complaints(examples, inputs, stated, END,
                                           settings.model_copy(update={"min_per_cause": 100_000}), 0)
    assert none is None and re.search(r"too few lost customers who complained about one cause most: price \d+",
                                      short["why"]), short
    p = judged.probabilities(holdout)
    assert list(p.columns) == ["price", "service", "quality", "engagement"]
    np.testing.assert_allclose(p["engagement"], 0.25)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)

    risk = ChurnModel(model.booster, model.features, model.categories, model.calibration)
    risk.complaint_model = judged
    risk.save(tmp_path / "m")
    again = ChurnModel.load(tmp_path / "m")
    pd.testing.assert_frame_equal(again.complaint_model.probabilities(holdout), p)
    assert again.cause_model is None

    contributions = model.contributions(holdout)
    evidence = cause_evidence(contributions, cfg.explain, holdout)
    population = cause_population(evidence)
    z = (evidence - pd.Series(population["mean"])) / pd.Series(population["spread"])
    expected = learnt_causes(weigh_with_evidence(p, z), cfg.explain, stated_causes(holdout, cfg.explain, window))
    named = explain_causes(contributions, cfg.explain, holdout, window, complaints=p)
    pd.testing.assert_frame_equal(named[list(expected.columns)], expected)


@pytest.mark.parametrize("labels, kept", [("stated", True), ("rotated", False)])
def test_the_holdout_sets_aside_a_complaints_model_that_names_worse(learnt, labels, kept):
    """A cause model learnt from the complaints weighs the causes unless the holdout's recorded reasons are named
    significantly better without it: one learnt from the stated causes is kept, one learnt from them rotated
    (price -> service -> quality -> price: confidently wrong) is set aside. Judged on the evidence method (no
    recorded-reason cause model here), which it moves most."""
    from churn.model import learn_from_complaints
    from churn.score import stated_causes

    cfg, _, examples, holdout, model, _, _, reasons = learnt
    window = cfg.features.trend_window
    stated = stated_causes(examples, cfg.explain, window)
    if labels == "rotated":
        stated = stated.map({"price": "service", "service": "quality", "quality": "price"})
    settings = cfg.explain.known_causes.model_copy(update={"min_reasons": 20, "min_per_cause": 5})
    inputs = [f for f in feature_columns(examples) if not f.startswith("complaints_")]
    _, complaints, _ = learn_from_complaints(examples, inputs, stated, END, settings, 0)
    judged = ChurnModel(model.booster, model.features, model.categories, model.calibration)
    judged.complaint_model = complaints
    recorded = known_causes(holdout, reasons, END, cfg.labels.horizon_days,
                            cfg.explain.known_causes.recorded_within_days)
    verdict = judge_causes(judged, holdout, recorded, cfg.explain, window)["complaints"]
    assert verdict["kept"] is kept, verdict["why"]
    p = float(re.search(rf": {'kept' if kept else 'set aside'} \(p = ([01]\.\d\d)\)$", verdict["why"]).group(1))
    assert (p >= cfg.explain.from_complaints.significance) == kept, verdict["why"]
    alone = ChurnModel(model.booster, model.features, model.categories, model.calibration)
    without = judge_causes(alone, holdout, recorded, cfg.explain, window)  # (no complaints' model: nothing to judge)
    assert "complaints" not in without and without["chosen"] == "evidence"
    assert verdict["accuracy_without"] == pytest.approx(without[without["chosen"]]["accuracy"])
