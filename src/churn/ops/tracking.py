"""Every MLflow call of the project: tracking, model packaging, registry, loading."""

from __future__ import annotations

import json
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
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import infer_signature

from churn.config import LabelsConfig, TrackingConfig, TrainConfig
from churn.model import ChurnModel, load_scoring_model, save_scoring_model
from churn_portable import DRIFT_REFERENCE, MODEL_ARTIFACT, ChurnPyfunc  # noqa: F401 (ChurnPyfunc: old pickles name it here)

# A logged model is code (churn_portable's model-from-code file and the package beside it, MLflow `code_paths`)
# plus plain files: it needs these libraries and nothing of churn, so it loads wherever they are installed.
# Explicit, not inferred: inferring them costs ~13 s per logged model.
REQUIREMENTS = [f"{p}=={version(p)}" for p in ("lightgbm", "pandas", "numpy", "scipy", "mlflow")]
# Every file of a model, as `sha256sum` writes it ("<hex>  <path>"): in a saved model folder (`sha256sum -c
# files.sha256` checks it by hand) and on the registered version (tag FILES_TAG), where the registry vouches for
# the files in the artifact store. A model whose files differ is refused before it is read.
FILES_MANIFEST = "files.sha256"
FILES_TAG = "files_sha256"
# Training-run tags copied onto the registered version, where scoring runs read them.
VERSION_TAGS = ("git_commit", "git_dirty", "config_hash", "grade", "promotion_reason", "holdout", "model_kind",
                "candidate_reason", "refit_windows",
                "refit_until")
def _model_code(tmp: Path) -> dict:
    """What makes a logged model's python model: churn_portable's model-from-code file (run by MLflow on loading;
    nothing is pickled) and a clean copy of the package as its code."""
    import shutil

    import churn_portable

    package = Path(churn_portable.__file__).parent
    code = tmp / "code" / package.name
    shutil.copytree(package, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return {"python_model": str(code / "mlflow_model.py"), "code_paths": [str(code)]}


@dataclass(frozen=True)
class Registered:
    run_id: str
    version: str
    alias: str
    model_uri: str
    tracking_uri: str
    experiment_id: str


def lineage_tags(config: dict, project: Path | None = None) -> dict[str, str]:
    """What a run was made from: `git_commit` (the project's checked-out commit, "unknown" outside a git checkout,
    with `git_dirty` "true" when tracked files differ from it) and `config_hash` (SHA-256 of the run's whole config
    as JSON with sorted keys: two runs with the same hash ran the same settings)."""
    import hashlib
    import subprocess

    text = json.dumps(config, sort_keys=True, default=str)
    tags = {"config_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(), "git_commit": "unknown"}
    where = str(project or Path.cwd())
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if head.returncode == 0:
            tags["git_commit"] = head.stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                                   capture_output=True, text=True, timeout=10)
            tags["git_dirty"] = "true" if dirty.stdout.strip() else "false"
    except (OSError, subprocess.SubprocessError):  # no git on this machine: the commit stays unknown
        pass
    return tags


class TableDataset(MetaDataset):
    """One validated history table as an MLflow dataset: its file as the source, its schema, row count and the
    SHA-256 of the file; `history` is where the history was pulled from (logged as the input's tag)."""

    def __init__(self, source: DatasetSource, name: str, digest: str, schema, rows: int, history: str):
        self._rows, self.history = rows, history
        super().__init__(source=source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict:
        return {"num_rows": self._rows}

    def to_dict(self) -> dict[str, str]:
        return super().to_dict() | {"profile": json.dumps(self.profile)}


def history_datasets(location: str, folder: str | Path) -> list[TableDataset]:
    """The validated tables in `folder` (one Parquet file each, each the dataset's source) as MLflow datasets of the
    history pulled from `location`: read from the files' metadata and bytes, never loaded whole. The digest is the
    file's SHA-256 (first 16 hex digits), so two runs with the same digest read the same rows."""
    import warnings

    import pyarrow.parquet as pq
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.types.utils import _infer_schema

    out = []
    for path in sorted(Path(folder).glob("*.parquet")):
        with warnings.catch_warnings():  # MLflow registers its local-file source twice and says so
            warnings.simplefilter("ignore", UserWarning)
            source = resolve_dataset_source(str(path.resolve()))
        schema = _infer_schema(pq.read_schema(path).empty_table().to_pandas())
        out.append(TableDataset(source, path.stem, file_sha256(path)[:16], schema, pq.read_metadata(path).num_rows,
                                location))
    return out


def _log_datasets(datasets: list[TableDataset], context: str) -> None:
    for dataset in datasets:
        mlflow.log_input(dataset, context=context, tags={"history": dataset.history})


def configure(cfg: TrackingConfig) -> str:
    """Point MLflow at the configured store; MLFLOW_TRACKING_URI in the environment wins."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or cfg.uri
    mlflow.set_tracking_uri(uri)
    # MLflow warns on every pyfunc model object that it will be pickled; ours is a thin, trusted
    # wrapper that loads plain files (booster.txt, meta.json), so the warning only adds noise.
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    return uri


def save_model(model: ChurnModel, path: str | Path, example: pd.DataFrame, drift_reference: dict | None = None) -> Path:
    """Write the model as a self-contained MLflow model folder (what DVC tracks), with the training
    population's drift reference (`churn.monitor.reference_profile`) beside it when given."""
    path = Path(path)
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        save_scoring_model(model, Path(tmp) / "raw")
        if drift_reference is not None:
            (Path(tmp) / "raw" / DRIFT_REFERENCE).write_text(json.dumps(drift_reference), encoding="utf-8")
        staging = path.with_name(f".{path.name}.staging")
        _rmtree(staging)
        mlflow.pyfunc.save_model(
            path=str(staging),
            **_model_code(Path(tmp)),
            artifacts={MODEL_ARTIFACT: str(Path(tmp) / "raw")},
            signature=_signature(model, example),
            input_example=_example(model, example),
            pip_requirements=REQUIREMENTS,
        )
    write_manifest(staging)
    _rmtree(path)
    staging.rename(path)
    return path


class ModelIntegrityError(ValueError):
    """A model's files differ from the hashes recorded when it was saved or registered."""


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read a megabyte at a time."""
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (but the manifest), by path relative to it."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): file_sha256(path)
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != FILES_MANIFEST)}


def manifest_text(hashes: dict[str, str]) -> str:
    return "".join(f"{h}  {p}\n" for p, h in hashes.items())


def parse_manifest(text: str) -> dict[str, str]:
    return {line[66:]: line[:64] for line in text.splitlines() if line.strip()}


def write_manifest(folder: str | Path) -> None:
    (Path(folder) / FILES_MANIFEST).write_text(manifest_text(file_hashes(folder)), encoding="utf-8")


def verify_files(folder: str | Path, recorded: dict[str, str], what: str) -> None:
    """Refuse (ModelIntegrityError) a model folder whose files are not exactly the recorded ones."""
    found = file_hashes(folder)
    changed = sorted(p for p in recorded.keys() & found.keys() if recorded[p] != found[p])
    missing = sorted(recorded.keys() - found.keys())
    added = sorted(found.keys() - recorded.keys())
    if changed or missing or added:
        parts = [f"{label}: {', '.join(names)}" for label, names in
                 (("changed", changed), ("missing", missing), ("not recorded", added)) if names]
        raise ModelIntegrityError(f"{what}: its files do not match the SHA-256 hashes recorded when it was saved "
                                  f"({'; '.join(parts)}); it was not loaded. Retrain, or restore the model's "
                                  f"files from the registry or DVC")


def _example(model: ChurnModel, example: pd.DataFrame) -> pd.DataFrame:
    X = example[model.features].head(5).copy()
    for col in model.categories:
        X[col] = X[col].astype(object)
    # Counts (BG/NBD's repeat purchases) may be integers here and missing elsewhere: the schema says double.
    return X.astype({c: "float64" for c in X.columns if pd.api.types.is_integer_dtype(X[c])})


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
    alias: str,
    description: str | None = None,
    datasets: list | None = None,
) -> Registered:
    """Log a training run (named "train <as-of>") and register its model under `alias` (champion or challenger),
    the version described by `description` (what it was trained on), with the history it read (`datasets`, from
    `history_datasets`) as its inputs."""
    tracking_uri = configure(cfg)
    experiment = _experiment(cfg.experiment, tracking_uri)
    saved = mlflow.models.Model.load(str(model_dir))
    with (mlflow.start_run(run_name=f"train {tags.get('as_of', '')}".strip(), tags=tags) as run,
          tempfile.TemporaryDirectory() as code):
        mlflow.log_params(params)
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
        _log_datasets(datasets or [], "training")
        for artifact in artifacts:
            if Path(artifact).is_dir():
                mlflow.log_artifacts(str(artifact), artifact_path=Path(artifact).name)
            else:
                mlflow.log_artifact(str(artifact))
        info = mlflow.pyfunc.log_model(
            name="model",
            **_model_code(Path(code)),
            artifacts={MODEL_ARTIFACT: str(_raw_folder(model_dir, saved))},
            signature=saved.signature,
            input_example=saved.load_input_example(str(model_dir)),
            pip_requirements=REQUIREMENTS,
            registered_model_name=cfg.registered_model,
        )
    client = MlflowClient()
    version_ = str(info.registered_model_version)
    with tempfile.TemporaryDirectory() as tmp:  # the files as the artifact store holds them
        stored = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{cfg.registered_model}/{version_}",
                                                     dst_path=tmp)
        client.set_model_version_tag(cfg.registered_model, version_, FILES_TAG, manifest_text(file_hashes(stored)))
    client.set_registered_model_alias(cfg.registered_model, alias, version_)
    if description:
        client.update_model_version(cfg.registered_model, version_, description=description)
    for key in VERSION_TAGS:
        if key in tags:
            client.set_model_version_tag(cfg.registered_model, version_, key, tags[key])
    return Registered(run.info.run_id, version_, alias, info.model_uri, tracking_uri, experiment.experiment_id)


def training_params(train: TrainConfig, labels: LabelsConfig, trained: dict, as_of: pd.Timestamp, source: str) -> dict:
    """The MLflow params of a training run: the train and labels settings, the parameters the search chose,
    the as-of date and the source."""
    return (train.model_dump(exclude={"search"}) | labels.model_dump() | trained["params"]
            | {"as_of": str(as_of.date()), "source": source})


def training_description(as_of: pd.Timestamp, source: str, examples: pd.DataFrame, data: dict,
                         lineage: dict[str, str]) -> str:
    """The registered version's description: what it was trained on (as-of date, source, examples and the
    holdout's share, the refit's cutoffs) and from which code and config (`lineage_tags`)."""
    holdout = f" ({int((examples['role'] == 'test').sum()):,} of them the holdout)" if "role" in examples else ""
    refit = data.get("refit")
    refit = f", refit on {len(refit['cutoffs'])} cutoffs up to {refit['cutoffs'][-1]}" if refit else ""
    dirty = " with uncommitted changes" if lineage.get("git_dirty") == "true" else ""
    return (f"Trained as of {as_of.date()} on {source}: {len(examples):,} examples{holdout}{refit}; "
            f"code {lineage['git_commit'][:12]}{dirty}, config sha256 {lineage['config_hash'][:12]}.")


def training_metrics(trained: dict) -> dict:
    """The MLflow metrics of a training run: the holdout metrics, calibration gap and ROC-AUC gain, and, where the
    holdout's lost customers have recorded reasons, how often each way of naming causes named them
    (`cause_recorded_accuracy_<method>`, with `cause_recorded_judged` customers)."""
    out = trained["metrics"] | {"calibration_gap": trained["calibration"]["gap"],
                                "grade_auc_gain": trained["grade"]["auc_gain"]}
    verdict = (trained.get("causes") or {}).get("holdout") or {}
    if verdict.get("judged"):
        out["cause_recorded_judged"] = verdict["judged"]
        out |= {f"cause_recorded_accuracy_{m}": verdict[m]["accuracy"]
                for m in ("known_causes", "evidence", "symptom_rule") if m in verdict}
        if "accuracy_without" in verdict.get("complaints", {}):  # the list's method without the complaints' model
            out["cause_recorded_accuracy_without_complaints"] = verdict["complaints"]["accuracy_without"]
    return out


def training_tags(trained: dict, decision: dict, as_of: pd.Timestamp) -> dict:
    """The MLflow tags of a training run: its grade and the promotion decision with its reason, and, for a model
    refit on every complete window after the holdout judged it, how many windows and up to which cutoff."""
    tags = {"job": "train", "as_of": str(as_of.date()), "grade": trained["grade"]["grade"],
            "promotion": decision["alias"], "promotion_reason": decision["explanation"],
            "holdout": trained["data"].get("holdout_kind", "later_time")}
    if trained["data"].get("fallback"):
        tags["model_kind"] = "bgnbd_fallback"
    elif "candidate" in trained:  # the model or the baseline the holdout favoured
        tags |= {"model_kind": trained["candidate"]["kind"], "candidate_reason": trained["candidate"]["why"]}
    if trained.get("causes"):  # how the list's loss causes are named, and why
        tags |= {"cause_method": trained["causes"]["method"], "cause_method_reason": trained["causes"]["holdout"]["why"]}
        if "with_evidence" in trained["causes"]["holdout"]:  # a cause model was judged: alone, or weighed
            tags["cause_model_weighed_with_evidence"] = str(trained["causes"]["holdout"]["with_evidence"]).lower()
        complained = trained["causes"].get("complaints")
        if complained:  # explain.from_complaints: whether a cause model learnt from lost customers' complaints weighs
            tags |= {"cause_model_from_complaints": str(bool(complained["used"])).lower(),
                     "cause_model_from_complaints_reason": complained["why"]}
    if trained["data"].get("calibration"):  # out-of-fold, or customers held out of the fit (a large part)
        tags["calibration"] = trained["data"]["calibration"]["on"]
    refit = trained["data"].get("refit")
    if refit:
        tags |= {"refit_windows": str(len(refit["cutoffs"])), "refit_until": refit["cutoffs"][-1],
                 "graded": "on the holdout, by the same specification fitted before the refit"}
    return tags


def _experiment(name: str, tracking_uri: str):
    """Set the experiment; a new one beside a SQLite store keeps its artifacts next to the database."""
    if mlflow.get_experiment_by_name(name) is None and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        mlflow.create_experiment(name, artifact_location=(db.parent.resolve() / "mlartifacts").as_uri())
    return mlflow.set_experiment(name)


def champion_holdout_metrics(cfg: TrackingConfig, holdout: pd.DataFrame) -> dict | None:
    """The current champion's ROC-AUC and Brier on `holdout` (examples with `churned`), or None
    when there is no champion or it cannot score these features (then it cannot be compared)."""
    from churn.model import evaluate

    try:
        model, label = load_model(f"models:/{cfg.registered_model}@champion", cfg)
    except LookupError:
        return None
    try:
        # A refit champion has seen labels that overlap this holdout's window; the fit its holdout judged has not.
        p = (model.judged or model).predict_proba(holdout)
    except ValueError:
        return None
    m = evaluate(holdout["churned"].to_numpy(), p)
    return {"version": label, "roc_auc": m["roc_auc"], "brier": m["brier"]}


def has_alias(cfg: TrackingConfig, alias: str) -> bool:
    """Whether a version of the registered model carries `alias`."""
    configure(cfg)
    try:
        MlflowClient().get_model_version_by_alias(cfg.registered_model, alias)
    except mlflow.exceptions.MlflowException:
        return False
    return True


def promote(cfg: TrackingConfig, version: str, who: str, why: str) -> dict:
    """A person's override: make `version` the champion; who and why go on the version and in an audit run."""
    import datetime as dt

    configure(cfg)
    client = MlflowClient()
    try:
        client.get_model_version(cfg.registered_model, version)
    except mlflow.exceptions.MlflowException as err:
        raise LookupError(f"model {cfg.registered_model} has no version {version}") from err
    try:
        before = str(client.get_model_version_by_alias(cfg.registered_model, "champion").version)
    except mlflow.exceptions.MlflowException:
        before = None
    client.set_registered_model_alias(cfg.registered_model, "champion", version)
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {"version": version, "previous_champion": before, "promoted_by": who, "reason": why, "at": when}
    for key in ("promoted_by", "reason", "at"):
        client.set_model_version_tag(cfg.registered_model, version, f"manual_{key}", record[key])
    _experiment(cfg.experiment, mlflow.get_tracking_uri())
    with mlflow.start_run(run_name=f"promote v{version}", tags={"job": "promote"}) as run:
        mlflow.log_params({k: v for k, v in record.items() if v is not None})
    return record | {"mlflow_run_id": run.info.run_id}


def log_backtest(cfg: TrackingConfig, per_date: pd.DataFrame, pooled: dict[str, float], artifacts: list[Path],
                 params: dict) -> str:
    """One parent run for the backtest (pooled metrics, table, plot) and a child run per as-of date."""
    from churn.model import METRICS

    _experiment(cfg.experiment, configure(cfg))
    with mlflow.start_run(run_name="backtest", tags={"job": "backtest"}) as parent:
        mlflow.log_params(params | {"dates": per_date["as_of"].nunique()})
        mlflow.log_metrics({f"pooled_{k}": v for k, v in pooled.items() if pd.notna(v)})
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
        for day, part in per_date.groupby("as_of", sort=True):
            with mlflow.start_run(run_name=f"as of {day}", nested=True, tags={"job": "backtest", "as_of": day}):
                mlflow.log_metrics({f"{row.model}_{m}": float(getattr(row, m)) for row in part.itertuples()
                                    for m in METRICS
                                    if pd.notna(getattr(row, m))})
    return parent.info.run_id


def load_model(uri: str, cfg: TrackingConfig) -> tuple[ChurnModel, str]:
    """Load a ChurnModel from a registry URI (models:/churn@champion) or a local model folder.

    Returns the model and a version label for the retention list.
    """
    model, label, _, _ = load_model_and_reference(uri, cfg)
    return model, label


def load_model_and_reference(uri: str, cfg: TrackingConfig) -> tuple[ChurnModel, str, dict | None, object]:
    """`load_model`, plus the drift reference saved with the model (None for a model saved without one) and its
    input schema (the MLflow signature's inputs; `check_inputs` enforces it)."""
    configure(cfg)
    version_ = _registered_version(uri)  # resolved once: the label and the files are of the same version
    label = _label(uri, version_)
    with tempfile.TemporaryDirectory() as tmp:
        folder = _verified_folder(uri, version_, label, tmp)
        if not Path(folder).is_dir():  # a logged model's id: its files, fetched
            folder = mlflow.artifacts.download_artifacts(artifact_uri=folder, dst_path=tmp)
        # churn reads the model's files itself (with its cause models and everything explaining needs); MLflow's
        # python model is for everyone else. Neither runs code from the model folder here.
        mlmodel = mlflow.models.Model.load(folder)
        raw = _raw_folder(folder, mlmodel)
        model = load_scoring_model(raw)
        reference = raw / DRIFT_REFERENCE
        drift_reference = json.loads(reference.read_text(encoding="utf-8")) if reference.exists() else None
    return model, label, drift_reference, mlmodel.get_input_schema()


def _raw_folder(model_folder: str | Path, mlmodel: mlflow.models.Model) -> Path:
    """The folder of the scoring model's own files inside an MLflow model folder (its `churn_model` artifact)."""
    return Path(model_folder) / mlmodel.flavors["python_function"]["artifacts"][MODEL_ARTIFACT]["path"]


def _verified_folder(uri: str, version_, label: str, tmp: str) -> str:
    """The model's folder, its files checked against the hashes recorded for it: a registered version's against
    the registry's tag (downloaded to `tmp` first), a local folder's against its own manifest. Models saved
    before hashes were recorded have none and load as before."""
    if version_ is not None:
        folder = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{version_.name}/{version_.version}",
                                                     dst_path=tmp)
        recorded = version_.tags.get(FILES_TAG)
    elif uri.startswith("models:/"):  # a logged model's id (models:/m-...): not a registered version
        return uri
    else:
        folder = uri
        manifest = Path(uri) / FILES_MANIFEST
        recorded = manifest.read_text(encoding="utf-8") if manifest.exists() else None
    if recorded is not None:
        verify_files(folder, parse_manifest(recorded), f"model {label}")
    return folder


def _registered_version(uri: str):
    """The registry's version a `models:/name@alias` or `models:/name/N` URI names (LookupError when there is
    none); None for a local folder or a logged model's id (`models:/m-...`)."""
    if not uri.startswith("models:/"):
        return None
    name, _, alias = uri.removeprefix("models:/").partition("@")
    if not alias and "/" not in name:
        return None
    client = MlflowClient()
    try:
        return client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(*name.split("/", 1))
    except mlflow.exceptions.MlflowException as err:
        raise LookupError(
            f"no model {uri} in the registry at {mlflow.get_tracking_uri()}: run `churn train` first (its "
            f"best candidate, the LightGBM model or a baseline, becomes @champion when there is none; "
            f"`churn promote VERSION --reason ...` makes another version the champion)"
        ) from err


def _label(uri: str, version_) -> str:
    if version_ is not None:
        return f"{version_.name} v{version_.version}"
    if uri.startswith("models:/"):
        return uri
    if not Path(uri, "MLmodel").exists():
        raise LookupError(f"{uri} is not an MLflow model folder (no MLmodel file)")
    return f"local:{uri}"


def model_label(uri: str, cfg: TrackingConfig) -> str:
    """The version label of a registry URI or local folder, refusing one that does not exist."""
    configure(cfg)
    return _label(uri, _registered_version(uri))


def model_tags(uri: str, cfg: TrackingConfig) -> dict[str, str]:
    """The tags recorded on a registered version (VERSION_TAGS: grade, refit windows, ...); none for a local
    model folder."""
    configure(cfg)
    version_ = _registered_version(uri)
    return {k: v for k, v in version_.tags.items() if k in VERSION_TAGS} if version_ is not None else {}


def log_to_run(run_id: str, cfg: TrackingConfig, metrics: dict[str, float], artifacts: list[Path] = ()) -> None:
    """Add metrics and files to an existing run (e.g. the demo's cause check)."""
    configure(cfg)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))


def log_scoring(cfg: TrackingConfig, params: dict, metrics: dict[str, float], artifacts: list[Path],
                tags: dict[str, str] | None = None, datasets: list | None = None) -> str:
    """One run per scoring job, so scheduled scores leave a trace next to the trainings (`tags`: its lineage;
    `datasets`: the history it scored, from `history_datasets`)."""
    _experiment(cfg.experiment, configure(cfg))
    with mlflow.start_run(run_name=f"score {params.get('as_of', '')}", tags={"job": "score"} | (tags or {})) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        _log_datasets(datasets or [], "scoring")
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
    return run.info.run_id


def log_monitor(cfg: TrackingConfig, result: dict, per_run: list[tuple[str, dict[str, float]]],
                artifacts: list[Path]) -> str:
    """One run per `churn monitor`: each measured scoring run's realised figures as one step (timestamped with
    the run's as-of date, so the MLflow UI draws them over time), the alerts as a metric and a tag."""
    import datetime as dt

    _experiment(cfg.experiment, configure(cfg))
    with mlflow.start_run(run_name=f"monitor {result['as_of']}", tags={"job": "monitor"}) as run:
        mlflow.log_params({"as_of": result["as_of"], "runs_measured": result["runs"],
                           "auc_margin": result["auc_margin"]})
        for step, (as_of, metrics) in enumerate(per_run):
            stamp = int(dt.datetime.fromisoformat(as_of).replace(tzinfo=dt.UTC).timestamp() * 1000)
            for key, value in metrics.items():
                mlflow.log_metric(key, value, step=step, timestamp=stamp)
        mlflow.log_metric("realised_alerts", len(result["alerts"]))
        if result["alerts"]:
            mlflow.set_tag("alert", "; ".join(a["as_of"] for a in result["alerts"]))
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
    return run.info.run_id


def log_effects(cfg: TrackingConfig, result: dict, artifacts: list[Path]) -> str:
    """One run per `churn effect`: per action, the measured effect and its interval as metrics."""
    _experiment(cfg.experiment, configure(cfg))
    with mlflow.start_run(run_name=f"effect {result['run']}", tags={"job": "effect"}) as run:
        mlflow.log_params({"run_date": result["run"], "source": result["source"], "customers": result["customers"]})
        rows = result["measured"]
        for r in rows[rows["cause"] == "all"].itertuples(index=False):
            for key in ("effect", "ci_low", "ci_high", "n_treated", "n_control"):
                value = getattr(r, key)
                if value == value:  # NaN (one arm empty) is not logged
                    mlflow.log_metric(f"{r.action}.{key}", float(value))
        for artifact in artifacts:
            mlflow.log_artifact(str(artifact))
    return run.info.run_id


class InputSchemaError(ValueError):
    """The scoring features do not match the model's input signature."""


def check_inputs(schema, frame: pd.DataFrame, label: str) -> None:
    """Enforce the model's input signature on the scoring features before any prediction: every column it was
    trained on present (a missing or renamed one is named, with the nearest column found), and numbers where it
    expects numbers."""
    import difflib

    if schema is None:  # a model logged without a signature
        return
    names = schema.input_names()
    missing = [c for c in names if c not in frame.columns]
    if missing:
        guesses = {c: difflib.get_close_matches(c, [str(f) for f in frame.columns if f not in names], n=1)
                   for c in missing}
        shown = ", ".join(f"{c} (renamed {g[0]}?)" if g else c for c, g in guesses.items())
        raise InputSchemaError(f"the scoring features lack {len(missing)} column(s) model {label} was trained on: "
                               f"{shown}. Score with features built by the same churn version, or retrain")
    numeric = {"double", "float", "long", "integer"}
    wrong = [f"{spec.name} ({frame[spec.name].dtype})" for spec in schema.inputs
             if getattr(spec.type, "name", None) in numeric
             and not (pd.api.types.is_numeric_dtype(frame[spec.name]) or frame[spec.name].isna().all())]
    if wrong:
        raise InputSchemaError(f"model {label} expects numbers in {', '.join(wrong)}; the scoring features hold "
                               f"other values there")
