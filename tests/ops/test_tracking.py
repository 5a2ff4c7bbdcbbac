from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, make_history

from churn.config import load_config
from churn.features import plan_cutoffs, training_examples
from churn.model import train_model
from churn.ops import tracking


@pytest.fixture(scope="module")
def trained_model():
    cfg = load_config(CONFIG, **{"labels.train_cutoffs": 3, "train.search.enabled": False})
    ex = training_examples(make_history(200, seed=9), plan_cutoffs(pd.Timestamp("2025-01-01"), cfg.labels),
                           cfg.labels, cfg.features)
    return train_model(ex, cfg.train), ex


def test_save_log_register_and_load(tmp_path, tracking_uri, trained_model):
    result, ex = trained_model
    cfg = load_config(CONFIG).tracking
    model_dir = tracking.save_model(result.model, tmp_path / "churn_model", ex)
    assert (model_dir / "MLmodel").exists()
    reqs = (model_dir / "requirements.txt").read_text()
    assert "lightgbm==" in reqs and "pandas==" in reqs  # explicit, not inferred

    first = tracking.log_training(cfg, model_dir, {"seed": 42}, result.metrics, [], {"job": "train", "grade": "B"},
                                  "champion")
    second = tracking.log_training(cfg, model_dir, {"seed": 42}, result.metrics, [], {"job": "train"}, "challenger")
    assert (first.version, first.alias) == ("1", "champion")
    assert (second.version, second.alias) == ("2", "challenger")

    import mlflow

    run = mlflow.get_run(first.run_id)
    assert run.data.metrics["model_roc_auc"] == pytest.approx(result.metrics["model_roc_auc"])
    assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())  # artifacts beside the store

    loaded, label = tracking.load_model("models:/churn@champion", cfg)
    assert label == "churn v1"
    np.testing.assert_allclose(loaded.predict_proba(ex), result.model.predict_proba(ex))
    local, label = tracking.load_model(str(model_dir), cfg)
    assert label.startswith("local:")
    np.testing.assert_allclose(local.predict_proba(ex.head(50)), result.model.predict_proba(ex.head(50)))

    pyfunc = mlflow.pyfunc.load_model("models:/churn@challenger")
    out = pyfunc.predict(ex[result.model.features].head(10).astype({c: object for c in result.model.categories}))
    assert list(out.columns) == ["churn_probability"] and out["churn_probability"].between(0, 1).all()


@pytest.fixture
def registered(tmp_path, tracking_uri, trained_model):
    result, ex = trained_model
    cfg = load_config(CONFIG).tracking
    model_dir = tracking.save_model(result.model, tmp_path / "churn_model", ex)
    reg = tracking.log_training(cfg, model_dir, {"seed": 42}, result.metrics, [], {"job": "train"}, "champion")
    return cfg, model_dir, reg


def _artifact_folder(tmp_path: Path, file: str) -> Path:
    """Where the file store keeps a registered model's `file` (the test tampers with it there)."""
    found = list((tmp_path / "mlartifacts").rglob(file))
    assert found
    return min(found, key=lambda p: len(p.parts))  # the model's own, not its judged fit's


def test_every_saved_and_registered_model_records_its_file_hashes(registered):
    cfg, model_dir, reg = registered
    import mlflow

    manifest = tracking.parse_manifest((model_dir / tracking.FILES_MANIFEST).read_text())
    assert manifest == tracking.file_hashes(model_dir)
    assert {"mlflow_model.py", "code/churn_portable/_scoring.py"} <= set(manifest)  # the model's code, hashed too
    assert any(p.endswith("/booster.txt") for p in manifest) and not any(p.endswith(".pkl") for p in manifest)
    tag = mlflow.MlflowClient().get_model_version("churn", reg.version).tags[tracking.FILES_TAG]
    assert "mlflow_model.py" in tracking.parse_manifest(tag)


@pytest.mark.parametrize("tamper, what", [
    (lambda p: p.write_bytes(p.read_bytes() + b"\n"), "changed: "),
    (lambda p: p.unlink(), "missing: "),
])
@pytest.mark.parametrize("file", ["mlflow_model.py", "_scoring.py", "booster.txt"])
def test_a_model_whose_files_changed_is_refused_before_it_is_read(tmp_path, registered, monkeypatch, tamper, what,
                                                                  file):
    cfg, model_dir, reg = registered
    read = []
    real_load = tracking.load_scoring_model
    monkeypatch.setattr(tracking, "load_scoring_model", lambda *a, **k: read.append(1) or real_load(*a, **k))
    tracking.load_model(str(model_dir), cfg)
    assert read == [1]  # the spy sees a model being read
    read.clear()
    tamper(_artifact_folder(tmp_path, file))
    with pytest.raises(tracking.ModelIntegrityError, match=rf"model churn v1: its files do not match .*{what}\S*{file}"):
        tracking.load_model("models:/churn@champion", cfg)
    tamper(next(model_dir.rglob(file)))
    with pytest.raises(tracking.ModelIntegrityError, match=rf"{what}\S*{file}.*it was not loaded"):
        tracking.load_model(str(model_dir), cfg)
    assert read == []


def test_a_file_added_to_a_model_folder_is_refused(registered):
    cfg, model_dir, _ = registered
    (model_dir / "artifacts" / "extra.pkl").write_bytes(b"not recorded")
    with pytest.raises(tracking.ModelIntegrityError, match=r"not recorded: artifacts/extra.pkl"):
        tracking.load_model(str(model_dir), cfg)


@pytest.mark.parametrize("change, message", [
    (lambda f, c: f.drop(columns=[c]), r"lack 1 column\(s\) model churn v1 was trained on: {c}\. "),
    (lambda f, c: f.rename(columns={c: c + "_x"}), r"lack 1 column\(s\) .*: {c} \(renamed {c}_x\?\)"),
    (lambda f, c: f.assign(**{c: "many"}), r"expects numbers in {c} \("),
])
def test_the_input_signature_is_enforced_at_scoring(registered, trained_model, change, message):
    cfg, _, _ = registered
    model, label, _, schema = tracking.load_model_and_reference("models:/churn@champion", cfg)
    features = trained_model[1]
    tracking.check_inputs(schema, features, label)  # the features it was trained on pass
    column = "recency_days" if "recency_days" in model.features else model.features[0]
    with pytest.raises(tracking.InputSchemaError, match=message.format(c=column)):
        tracking.check_inputs(schema, change(features, column), label)


def test_missing_champion_is_a_clear_error(tracking_uri):
    with pytest.raises(LookupError, match="run `churn train` first"):
        tracking.load_model("models:/churn@champion", load_config(CONFIG).tracking)


def test_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(LookupError, match="is not an MLflow model folder"):
        tracking.load_model(str(tmp_path), load_config(CONFIG).tracking)


def test_champion_metrics_and_manual_promotion(tmp_path, tracking_uri, trained_model):
    import mlflow

    result, ex = trained_model
    cfg = load_config(CONFIG).tracking
    holdout = ex[ex["role"] == "test"]
    assert tracking.champion_holdout_metrics(cfg, holdout) is None  # no champion yet
    model_dir = tracking.save_model(result.model, tmp_path / "churn_model", ex)
    tracking.log_training(cfg, model_dir, {}, result.metrics, [], {"job": "train"}, "champion")
    tracking.log_training(cfg, model_dir, {}, result.metrics, [], {"job": "train"}, "challenger")
    champ = tracking.champion_holdout_metrics(cfg, holdout)
    assert champ["version"] == "churn v1"
    # the champion is refit on the holdout's window too: it is judged by the fit its own holdout judged, which
    # gives the figures of its training run, not by the refit (which has seen these labels)
    assert result.model.judged is not None
    assert champ["roc_auc"] == pytest.approx(result.metrics["model_roc_auc"])
    # a champion that cannot score the new features is not comparable
    assert tracking.champion_holdout_metrics(cfg, holdout.drop(columns="recency_days")) is None

    record = tracking.promote(cfg, "2", "ana", "validated by hand on Q3 data")
    assert (record["version"], record["previous_champion"], record["promoted_by"]) == ("2", "1", "ana")
    client = mlflow.MlflowClient()
    mv = client.get_model_version_by_alias("churn", "champion")
    assert str(mv.version) == "2" and mv.tags["manual_reason"] == "validated by hand on Q3 data"
    audit = mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'promote'")
    assert audit.loc[0, "params.promoted_by"] == "ana"
    with pytest.raises(LookupError, match="has no version 9"):
        tracking.promote(cfg, "9", "ana", "typo")


class _PickledWrapper(mlflow.pyfunc.PythonModel):
    """What models saved before 2026-12-06 were: a pickled python model around the same `churn_model` files."""

    def predict(self, context, model_input, params=None):
        raise AssertionError("churn must not run a model's pickled code")


def test_a_model_saved_as_a_pickle_before_still_loads_from_its_files(tmp_path, trained_model):
    result, ex = trained_model
    raw = tmp_path / "raw"
    from churn.model import save_scoring_model

    save_scoring_model(result.model, raw)
    mlflow.pyfunc.save_model(path=str(tmp_path / "old"), python_model=_PickledWrapper(),
                             artifacts={tracking.MODEL_ARTIFACT: str(raw)}, pip_requirements=tracking.REQUIREMENTS)
    assert (tmp_path / "old" / "python_model.pkl").exists()
    loaded, _ = tracking.load_model(str(tmp_path / "old"), load_config(CONFIG).tracking)
    np.testing.assert_allclose(loaded.predict_proba(ex.head(50)), result.model.predict_proba(ex.head(50)))


def test_a_training_run_records_how_causes_are_named_and_how_each_way_did():
    trained = {"metrics": {"roc_auc": 0.9}, "calibration": {"gap": 0.01}, "grade": {"grade": "A", "auc_gain": 0.02},
               "data": {}, "causes": {"method": "evidence", "holdout": {
                   "judged": 55, "chosen": "evidence", "why": "on the 55 lost customers ...",
                   "evidence": {"accuracy": 0.8}, "known_causes": {"accuracy": 0.709},
                   "symptom_rule": {"accuracy": 0.745}}}}
    metrics = tracking.training_metrics(trained)
    assert metrics["cause_recorded_judged"] == 55
    assert metrics["cause_recorded_accuracy_evidence"] == 0.8
    assert metrics["cause_recorded_accuracy_known_causes"] == 0.709
    assert "cause_recorded_accuracy_without_complaints" not in metrics
    judged_complaints = {"complaints": {"kept": True, "accuracy_with": 0.8, "accuracy_without": 0.75, "why": "..."}}
    with_complaints = {**trained, "causes": {**trained["causes"],
                                             "holdout": trained["causes"]["holdout"] | judged_complaints}}
    assert tracking.training_metrics(with_complaints)["cause_recorded_accuracy_without_complaints"] == 0.75
    tags = tracking.training_tags(trained, {"alias": "champion", "explanation": "first"}, pd.Timestamp("2026-10-01"))
    assert tags["cause_method"] == "evidence" and tags["cause_method_reason"].startswith("on the 55")
    assert "cause_model_weighed_with_evidence" not in tags  # (a verdict from before the weighing says nothing)
    trained["causes"]["holdout"]["with_evidence"] = True
    weighed = tracking.training_tags(trained, {"alias": "champion", "explanation": "first"}, pd.Timestamp("2026-10-01"))
    assert weighed["cause_model_weighed_with_evidence"] == "true"
    assert "cause_model_from_complaints" not in weighed  # (explain.from_complaints off)
    for used, why in [(True, "learnt from 640 lost customers who complained about one cause most"),
                      (False, "12 lost customers who complained about one cause most (at least 100 needed)")]:
        trained["causes"]["complaints"] = {"customers": 640, "used": used, "why": why}
        tags = tracking.training_tags(trained, {"alias": "champion", "explanation": "first"}, pd.Timestamp("2026-10-01"))
        assert tags["cause_model_from_complaints"] == str(used).lower()
        assert tags["cause_model_from_complaints_reason"] == why
    without = tracking.training_metrics({k: v for k, v in trained.items() if k != "causes"})
    assert not any(k.startswith("cause_") for k in without)


@pytest.mark.parametrize("on", ["out_of_fold", "held_out_customers"])
def test_a_training_run_is_tagged_with_how_it_was_calibrated(on):
    trained = {"grade": {"grade": "A"}, "data": {"calibration": {"on": on}}}
    tags = tracking.training_tags(trained, {"alias": "champion", "explanation": "first"}, pd.Timestamp("2026-10-01"))
    assert tags["calibration"] == on
    assert "calibration" not in tracking.training_tags({"grade": {"grade": "A"}, "data": {}}, {
        "alias": "champion", "explanation": "first"}, pd.Timestamp("2026-10-01"))


def test_lineage_names_the_commit_and_hashes_the_config(tmp_path):
    from churn.ops.tracking import lineage_tags

    here = lineage_tags({"a": 1, "b": [1, 2]})
    assert len(here["git_commit"]) == 40 and here["git_dirty"] in ("true", "false")  # the project is a checkout
    assert lineage_tags({"b": [1, 2], "a": 1})["config_hash"] == here["config_hash"]  # key order does not matter
    assert lineage_tags({"a": 2, "b": [1, 2]})["config_hash"] != here["config_hash"]
    outside = lineage_tags({"a": 1}, project=tmp_path)  # not a git checkout
    assert outside["git_commit"] == "unknown" and "git_dirty" not in outside
