"""A registered model travels: its code is churn_portable (MLflow models-from-code, nothing pickled) and its
requirements are five libraries, so it loads and predicts where churn is not installed."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, make_history

import churn_portable
from churn.config import load_config
from churn.features import plan_cutoffs, training_examples
from churn.model import BGNBDChurnModel, candidate_model, train_model
from churn.ops import tracking

CFG = load_config(CONFIG, **{"train.search.enabled": False})
AS_OF = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def examples() -> pd.DataFrame:
    return training_examples(make_history(300, seed=5), plan_cutoffs(AS_OF, CFG.labels, refit=True), CFG.labels,
                             CFG.features)


@pytest.fixture(scope="module")
def trained(examples):
    return train_model(examples, CFG.train, CFG.labels.horizon_days)


def scoring_model(kind: str, trained, examples):
    horizon = CFG.labels.horizon_days
    if kind == "lightgbm":
        return trained.model
    if kind == "bgnbd_fallback":  # fitted where no window had labels: uncalibrated
        return BGNBDChurnModel.fit(examples, horizon)
    return candidate_model(kind, trained, examples, examples[examples["role"] == "test"], horizon, refit=False)


def as_served(model, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as a caller sends it to the MLflow model: the signature's columns, categoricals as text."""
    X = frame[model.features].astype({c: object for c in model.categories})
    return X.astype({c: "float64" for c in X.columns if pd.api.types.is_numeric_dtype(X[c])})


@pytest.mark.parametrize("kind", ["lightgbm", "recency_rule", "rfm_logistic", "bgnbd", "bgnbd_fallback"])
def test_the_mlflow_model_predicts_what_churn_predicts_for_every_kind(tmp_path, examples, trained, kind):
    model = scoring_model(kind, trained, examples)
    folder = tracking.save_model(model, tmp_path / "model", examples)
    assert not list(folder.rglob("*.pkl"))  # the model is code and plain files
    served = mlflow.pyfunc.load_model(str(folder)).predict(as_served(model, examples))
    assert list(served.columns) == ["churn_probability"]
    np.testing.assert_allclose(served["churn_probability"], model.predict_proba(examples), rtol=1e-12)
    loaded, _ = tracking.load_model(str(folder), CFG.tracking)  # churn's own reading of the same files
    np.testing.assert_allclose(loaded.predict_proba(examples), model.predict_proba(examples), rtol=1e-12)


def test_the_model_code_imports_nothing_but_the_recorded_requirements():
    recorded = {line.split("==")[0].replace("-", "_") for line in tracking.REQUIREMENTS}
    assert recorded == {"lightgbm", "pandas", "numpy", "scipy", "mlflow"}
    outside = []
    for path in sorted(Path(churn_portable.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
            outside += [f"{path.name}: {n}" for n in names
                        if n.split(".")[0] not in (*recorded, "churn_portable") and
                        n.split(".")[0] not in sys.stdlib_module_names]
    assert outside == []


@pytest.mark.slow(minutes=2)
def test_a_registered_model_loads_and_predicts_in_a_clean_environment_built_from_its_requirements(
        tmp_path, tracking_uri, examples, trained):
    # Registered as `churn train` does, then fetched from the registry as a colleague would.
    model = trained.model
    saved = tracking.save_model(model, tmp_path / "saved", examples)
    tracking.log_training(CFG.tracking, saved, {}, {}, [], {"job": "train"}, "champion")
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri="models:/churn@champion",
                                                      dst_path=str(tmp_path / "registered")))
    requirements = (folder / "requirements.txt").read_text().split()
    assert requirements == tracking.REQUIREMENTS

    # A new virtual environment with nothing but those requirements, from the index the project installs from.
    uv = Path(sys.executable).parent / "uv"
    env_dir, bin_ = tmp_path / "clean", tmp_path / "clean" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MLFLOW_TRACKING_URI")}
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(env_dir)], check=True, env=env,
                   timeout=300)
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(bin_ / "python"), "-r",
                    str(folder / "requirements.txt")], check=True, env=env, timeout=900)
    script = ("import importlib.util, json, sys\n"
              "assert importlib.util.find_spec('churn') is None, 'churn is installed here'\n"
              "import mlflow.pyfunc\n"
              "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
              "example = mlflow.models.Model.load(sys.argv[1]).load_input_example(sys.argv[1])\n"
              "print(json.dumps(model.predict(example)['churn_probability'].tolist()))\n")
    done = subprocess.run([str(bin_ / "python"), "-c", script, str(folder)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    example = mlflow.models.Model.load(str(folder)).load_input_example(str(folder))
    expected = model.predict_proba(example)
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), expected, rtol=1e-12)

    # `mlflow models predict` on the saved serving example, as the README shows it
    out = tmp_path / "predictions.json"
    done = subprocess.run([str(bin_ / "mlflow"), "models", "predict", "-m", str(folder), "-i",
                           str(folder / "serving_input_example.json"), "-t", "json", "-o", str(out),
                           "--env-manager", "local"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    predictions = json.loads(out.read_text())["predictions"]
    np.testing.assert_allclose([p["churn_probability"] for p in predictions], expected, rtol=1e-12)
