"""Every MLflow call of the project: tracking, model packaging, registry, loading."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from churn.config import TrackingConfig
from churn.train import ChurnModel

# Explicit requirements: inferring them costs ~13 s per logged model.
REQUIREMENTS = [f"{p}=={version(p)}" for p in ("lightgbm", "pandas", "numpy", "scikit-learn", "mlflow")]
MODEL_ARTIFACT = "churn_model"


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow wrapper: `predict` returns calibrated churn probabilities; `.model` gives the ChurnModel."""

    def load_context(self, context) -> None:
        self.model = ChurnModel.load(context.artifacts[MODEL_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.model.predict_proba(model_input)})


@dataclass(frozen=True)
class Registered:
    run_id: str
    version: str
    alias: str
    model_uri: str
    tracking_uri: str
    experiment_id: str


def configure(cfg: TrackingConfig) -> str:
    """Point MLflow at the configured store; MLFLOW_TRACKING_URI in the environment wins."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.uri
    mlflow.set_tracking_uri(uri)
    # MLflow warns on every pyfunc model object that it will be pickled; ours is a thin, trusted
    # wrapper that loads plain files (booster.txt, meta.json), so the warning only adds noise.
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    return uri


def save_model(model: ChurnModel, path: str | Path, example: pd.DataFrame) -> Path:
    """Write the model as a self-contained MLflow model folder (what DVC tracks)."""
    path = Path(path)
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "raw")
        staging = path.with_name(f".{path.name}.staging")
        _rmtree(staging)
        mlflow.pyfunc.save_model(
            path=str(staging),
            python_model=ChurnPyfunc(),
            artifacts={MODEL_ARTIFACT: str(Path(tmp) / "raw")},
            signature=_signature(model, example),
            input_example=_example(model, example),
            pip_requirements=REQUIREMENTS,
        )
    _rmtree(path)
    staging.rename(path)
    return path


def _example(model: ChurnModel, example: pd.DataFrame) -> pd.DataFrame:
    X = example[model.features].head(5).copy()
    for col in model.categories:
        X[col] = X[col].astype(object)
    return X


def _signature(model: ChurnModel, example: pd.DataFrame):
    X = _example(model, example)
    return infer_signature(X, pd.DataFrame({"churn_probability": model.predict_proba(X)}))


def _rmtree(path: Path) -> None:
    import shutil

    if path.exists():
        shutil.rmtree(path)


def log_training(
    cfg: TrackingConfig,
    model_dir: str | Path,
    params: dict,
    metrics: dict[str, float],
    artifacts: list[Path],
    tags: dict[str, str],
) -> Registered:
    """Log a training run, register its model; the first version becomes `champion`,
    later ones `challenger` (promotion rules decide beyond that)."""
    tracking_uri = configure(cfg)
    experiment = _experiment(cfg.experiment, tracking_uri)
    saved = mlflow.models.Model.load(str(model_dir))
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(params)
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
        for artifact in artifacts:
            if Path(artifact).is_dir():
                mlflow.log_artifacts(str(artifact), artifact_path=Path(artifact).name)
            else:
                mlflow.log_artifact(str(artifact))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ChurnPyfunc(),
            artifacts={MODEL_ARTIFACT: str(Path(model_dir) / "artifacts" / "raw")},
            signature=saved.signature,
            input_example=saved.load_input_example(str(model_dir)),
            pip_requirements=REQUIREMENTS,
            registered_model_name=cfg.registered_model,
        )
    client = MlflowClient()
    version_ = str(info.registered_model_version)
    alias = "challenger" if _has_alias(client, cfg.registered_model, "champion") else "champion"
    client.set_registered_model_alias(cfg.registered_model, alias, version_)
    return Registered(run.info.run_id, version_, alias, info.model_uri, tracking_uri, experiment.experiment_id)


def _experiment(name: str, tracking_uri: str):
    """Set the experiment; a new one beside a SQLite store keeps its artifacts next to the database."""
    if mlflow.get_experiment_by_name(name) is None and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        mlflow.create_experiment(name, artifact_location=(db.parent.resolve() / "mlartifacts").as_uri())
    return mlflow.set_experiment(name)


def _has_alias(client: MlflowClient, name: str, alias: str) -> bool:
    try:
        client.get_model_version_by_alias(name, alias)
        return True
    except mlflow.exceptions.MlflowException:
        return False


def load_model(uri: str, cfg: TrackingConfig) -> tuple[ChurnModel, str]:
    """Load a ChurnModel from a registry URI (models:/churn@champion) or a local model folder.

    Returns the model and a version label for the retention list.
    """
    configure(cfg)
    if uri.startswith("models:/"):
        name, _, alias = uri.removeprefix("models:/").partition("@")
        client = MlflowClient()
        try:
            mv = client.get_model_version_by_alias(name, alias) if alias else None
        except mlflow.exceptions.MlflowException as err:
            raise LookupError(
                f"no model {uri} in the registry at {mlflow.get_tracking_uri()}: run `churn train` first"
            ) from err
        label = f"{name} v{mv.version}" if mv else uri
    else:
        if not Path(uri, "MLmodel").exists():
            raise LookupError(f"{uri} is not an MLflow model folder (no MLmodel file)")
        label = f"local:{uri}"
    loaded = mlflow.pyfunc.load_model(uri)
    return loaded.unwrap_python_model().model, label


def log_to_run(run_id: str, cfg: TrackingConfig, metrics: dict[str, float], artifacts: list[Path] = ()) -> None:
    """Add metrics and files to an existing run (e.g. the demo's cause check)."""
    configure(cfg)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))


def log_scoring(cfg: TrackingConfig, params: dict, metrics: dict[str, float], artifacts: list[Path]) -> str:
    """One run per scoring job, so scheduled scores leave a trace next to the trainings."""
    _experiment(cfg.experiment, configure(cfg))
    with mlflow.start_run(run_name=f"score {params.get('as_of', '')}", tags={"job": "score"}) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
    return run.info.run_id
