"""Both Prefect flows end to end: real Prefect server (test harness), real MLflow SQLite store."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import CONFIG, DEMO_AS_OF, ROOT, make_history, write_canonical_folder

from churn.action import DECISION_COLUMNS
from churn.ops import ALLOWED_ROOTS_ENV, OutsideProjectError
from churn.vocab import LIFECYCLE_STAGES, LIST_COLUMNS
from pipelines.scoring import scoring_flow
from pipelines.serve import deployments
from pipelines.training import training_flow

AS_OF = "2025-01-01"


def active_at(orders: pd.DataFrame, as_of: str, days: int = 180) -> set[str]:
    t = pd.Timestamp(as_of)
    o = orders.assign(ts=pd.to_datetime(orders["ts"]))
    return set(o.loc[(o["ts"] < t) & (o["ts"] >= t - pd.Timedelta(days=days)) & (o["amount"] > 0), "customer_id"])


@pytest.fixture
def dirs(tmp_path):
    return {"workdir": str(tmp_path / "work"), "models": str(tmp_path / "models"), "metrics": str(tmp_path / "metrics")}


@pytest.mark.slow
def test_training_then_scoring_flow(prefect_server, tracking_uri, tmp_path, dirs, monkeypatch, fast_config,
                                    small_business):
    FAST, AS_OF = fast_config, DEMO_AS_OF
    data, history = small_business
    trained = training_flow(config=FAST, data=data, as_of=AS_OF, **dirs)
    assert trained["registered"]["alias"] == "champion", trained["registered"]["decision"]
    assert trained["registered"]["tracking_uri"] == tracking_uri
    assert trained["metrics"]["metrics"]["model_roc_auc"] > trained["metrics"]["metrics"]["bgnbd_roc_auc"]
    assert trained["metrics"]["grade"]["grade"] in ("A", "B", "C")
    # lineage: the run is named, tagged with the code's commit and the config's hash; the version says what it
    # was trained on
    import subprocess

    import mlflow

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    run = mlflow.get_run(trained["registered"]["run_id"])
    assert run.info.run_name == f"train {AS_OF}"
    assert run.data.tags["git_commit"] == commit and len(run.data.tags["config_hash"]) == 64
    version = mlflow.MlflowClient().get_model_version("churn", trained["registered"]["version"])
    assert version.description.startswith(f"Trained as of {AS_OF} on ") and commit[:12] in version.description
    assert version.tags["config_hash"] == run.data.tags["config_hash"]
    # ... and its inputs are the validated history, each table with its source, row count and file digest
    validated = Path(dirs["workdir"]) / "validated"
    inputs = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {f.stem for f in validated.glob("*.parquet")} >= {"customers", "orders", "tickets"}
    orders = inputs["orders"]
    assert json.loads(orders.dataset.profile) == {"num_rows": len(pd.read_parquet(validated / "orders.parquet"))}
    assert orders.dataset.source_type == "local"
    assert Path(json.loads(orders.dataset.source)["uri"]) == (validated / "orders.parquet").resolve()
    assert orders.dataset.digest == hashlib.sha256((validated / "orders.parquet").read_bytes()).hexdigest()[:16]
    assert {t.key: t.value for t in orders.tags} == {"mlflow.data.context": "training", "history": data}
    assert "customer_id" in orders.dataset.schema

    out = tmp_path / "out"
    published = tmp_path / "actions.db"
    monkeypatch.setenv("CHURN_PUBLISH_URL", f"sqlite:///{published}")
    scored = scoring_flow(config=FAST, data=data, as_of=AS_OF, out=str(out), **dirs)
    listing = pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    assert list(listing.columns) == LIST_COLUMNS + DECISION_COLUMNS
    assert set(listing["customer_id"]) == active_at(history["orders"], AS_OF)
    assert listing["customer_id"].is_unique
    assert listing["expected_loss"].is_monotonic_decreasing
    assert set(listing["primary_cause"]) <= {"price", "service", "quality", "engagement", "other"}
    assert (listing["model_version"] == "churn v1").all() and (listing["as_of"] == AS_OF).all()
    assert scored["list"]["customers_scored"] == len(listing)
    scoring_run = mlflow.get_run(scored["list"]["mlflow_run_id"])
    assert scoring_run.info.run_name == f"score {AS_OF}"
    assert scoring_run.data.tags["config_hash"] == run.data.tags["config_hash"]  # the same settings
    assert {i.dataset.name for i in scoring_run.inputs.dataset_inputs} == set(inputs)
    # the contact plan keeps to the budget and holds a random 10% of the chosen customers out
    summary = scored["list"]
    assert summary["budget_used"] <= summary["budget"] == 20000
    # drift against the training reference saved with the model: every feature, the mix and the score
    drift = summary["drift"]
    assert drift is not None and {"churn_probability", "segment", "recency_days"} <= set(drift["psi"])
    assert drift["n_columns"] == len(drift["psi"]) == len(drift["js"])
    # scored on the day it was trained, the population is the reference itself: no distance, no alarm (a
    # reference from the last labelled cutoff, a horizon earlier, alarmed here on tenure_days by the calendar)
    assert {k: v for k, v in drift["psi"].items() if v > 0} == {} and drift["alarms"] == []
    # (the retention list and the win-back list of lapsed customers: each its own plan, budget line and holdout)
    assert summary["customers_lapsed"] == listing["lapsed"].sum() > 0
    assert summary["winback"]["budget_used"] <= summary["winback"]["budget"] == 5000
    for lapsed in (False, True):
        part = listing[listing["lapsed"] == lapsed]
        planned = int(part["decision"].isin(["chosen", "holdout"]).sum())
        assert part["holdout"].sum() == int(0.1 * planned + 0.5) > 0
    assert (listing.loc[listing["holdout"], "decision"] == "holdout").all()
    assert listing.loc[listing["holdout"], "holdout_action"].notna().all()
    assert listing.loc[listing["contact"].notna(), "decision"].eq("chosen").all()
    # value forecast, key accounts and the campaigns' measured effects reached the list and the plan
    assert scored["value"]["forecast"] == "bgnbd_gamma_gamma" and listing["forecast_value_12m"].notna().all()
    assert (listing["is_key_account"] == listing["key_account_rule"].notna()).all()
    assert scored["effects"]["campaign_rows"] > 0 and scored["effects"]["actions"]
    sources = summary["action_effects"]
    assert {a: v["source"] for a, v in sources.items() if v["source"] == "campaigns table"} == \
        {a: "campaigns table" for a in scored["effects"]["priors"]}
    assert (out / "runs" / f"{AS_OF}.parquet").exists()  # kept for `churn effect`
    parquet = pd.read_parquet(out / "retention_list.parquet")
    assert parquet["customer_id"].tolist() == listing["customer_id"].tolist()

    # the same run again replaces the list, never appends to it
    scoring_flow(config=FAST, data=data, as_of=AS_OF, out=str(out), **dirs)
    again = pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    pd.testing.assert_frame_equal(again, listing)
    import sqlite3

    with sqlite3.connect(published) as con:  # published twice, stored once
        assert con.execute("SELECT count(*), count(DISTINCT customer_id) FROM retention_actions").fetchone() == (
            len(listing), len(listing))

    # every scoring job leaves an MLflow run with its counts
    import mlflow

    runs = mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'score'")
    assert len(runs) == 2 and (runs["metrics.customers_scored"] == len(listing)).all()
    # ... and its row accounting: per table, rows pulled = kept + set aside, the same in the run summary
    accounting = json.loads((out / "run_summary.json").read_text())["row_accounting"]
    assert set(accounting) == set(history) and accounting["orders"]["pulled"] == len(history["orders"])
    for table, rows in accounting.items():
        assert rows["pulled"] == rows["kept"] + rows["set_aside"], table
        assert (runs[f"metrics.rows_pulled.{table}"] == rows["pulled"]).all()
        assert (runs[f"metrics.rows_set_aside.{table}"] == rows["set_aside"]).all()

    # a second training is registered beside the champion, not over it
    # a second training on the same data is no worse than the champion: it takes over
    second = training_flow(config=FAST, data=data, as_of=AS_OF, **dirs)
    assert (second["registered"]["version"], second["registered"]["alias"]) == ("2", "champion")
    assert second["registered"]["decision"]["checks"] == {"auc_not_worse": True, "brier_not_worse": True}
    assert second["registered"]["decision"]["candidate"] == "model"  # the demo's LightGBM beats every baseline

    # An earlier run, measured once its horizon has passed: contacted vs held out, per action and cause.
    from churn.cli import effect
    from churn.config import load_config
    from churn.ops import Workspace
    from churn.runners import run_effect

    earlier = "2026-05-01"
    scoring_flow(config=FAST, data=data, as_of=earlier, out=str(out), **dirs)
    effect(as_of=earlier, config=FAST, data=data, runs=str(out / "runs"), out=str(tmp_path / "effects"),
           workdir=dirs["workdir"], models=dirs["models"])
    measured = pd.read_csv(tmp_path / "effects" / f"effects_{earlier}.csv")
    run = pd.read_parquet(out / "runs" / f"{earlier}.parquet")
    pooled = measured[measured["cause"] == "all"].set_index("action")
    contacted = run[run["decision"] == "chosen"]["contact"].value_counts()
    held = run[run["holdout"]]["holdout_action"].value_counts()
    assert pooled["n_treated"].to_dict() == contacted.to_dict()
    assert pooled["n_control"].to_dict() == held.reindex(pooled.index, fill_value=0).to_dict()
    assert set(measured["cause"]) - {"all"} <= {"price", "service", "quality", "engagement", "other"}
    ws = Workspace(Path(dirs["workdir"]), Path(dirs["models"]), Path(dirs["metrics"]))
    assert list(json.loads(ws.evidence.read_text())["runs"]) == [earlier]
    cfg = load_config(FAST, **{"source.location": data})
    again = run_effect(cfg, ws, pd.Timestamp(earlier), out / "runs", tmp_path / "effects")
    assert list(json.loads(ws.evidence.read_text())["runs"]) == [earlier]  # replaced, not added
    assert again["measured"]["n_treated"].sum() == measured["n_treated"].sum()
    assert len(mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'effect'")) == 2
    with pytest.raises(ValueError, match="history only reaches"):
        run_effect(cfg, ws, pd.Timestamp(AS_OF), out / "runs", tmp_path / "effects")

    # The next scoring run measures what the model achieved on the run of `earlier`, whose horizon has passed
    # (the run of AS_OF waits for its own), and leaves its summary in Prefect's log and a markdown artifact.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId
    from sklearn.metrics import roc_auc_score

    state = scoring_flow(config=FAST, data=data, as_of=AS_OF, out=str(out), return_state=True, **dirs)
    final = state.result()
    realised = final["realised"]
    assert (realised["runs"], realised["measured"], realised["waiting"]) == (1, [earlier], 1)
    row = pd.read_csv(ws.realised).iloc[0]
    run = pd.read_parquet(out / "runs" / f"{earlier}.parquet")
    start = pd.Timestamp(earlier)
    stayed = active_at(history["orders"], str((start + pd.Timedelta(days=90)).date()), days=90)
    left = (~run["customer_id"].isin(stayed)).astype(int)  # no order in the 90 days after the run
    assert (row["customers"], row["churners"]) == (len(run), left.sum())
    assert row["roc_auc"] == pytest.approx(roc_auc_score(left, run["churn_probability"]))
    assert row["promised_roc_auc"] == pytest.approx(second["metrics"]["candidate"]["roc_auc"])
    assert row["contacted"] == (run["decision"] == "chosen").sum() and row["held_out"] == run["holdout"].sum()
    assert ws.realised_plot.exists() and final["list"]["realised"]["runs"] == 1
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="realised-table"' in report
    # the satisfaction section reads the pulled tickets and surveys and the training examples' link to churn
    assert 'id="satisfaction-table"' in report and 'id="churn-link-table"' in report
    # lifecycle stages now, and the customers who moved between stages since the run of `earlier`
    lifecycle, now = final["list"]["lifecycle"], pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    assert lifecycle["since"] == earlier
    assert lifecycle["stages"] == {s: int((now["lifecycle_stage"] == s).sum()) for s in LIFECYCLE_STAGES}
    both = run[["customer_id", "lifecycle_stage"]].merge(now[["customer_id", "lifecycle_stage"]], on="customer_id",
                                                          how="outer", suffixes=("_before", "_now"))
    moved = both["lifecycle_stage_before"].fillna("-").ne(both["lifecycle_stage_now"].fillna("-")).sum()
    assert moved > 0 and sum(n for row in lifecycle["flows"].values() for n in row.values()) == moved
    assert len(mlflow.search_runs(experiment_names=["churn"], filter_string="tags.job = 'monitor'")) == 1
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # the run's log lines are sent to the server in batches
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[
            state.state_details.flow_run_id])))
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            f"churn-scoring-{AS_OF}"])))
    assert any(log.message.startswith(f"Scored {len(listing):,} active customers as of {AS_OF}") for log in logs)
    assert any(log.message.startswith("Realised performance of 1 earlier run(s)") for log in logs)
    assert any(log.message.startswith("Lifecycle stages: new ") and f"Since the run of {earlier}: " in log.message
               for log in logs)
    markdown = max(artifacts, key=lambda a: a.created).data
    assert f"# Churn scoring run of {AS_OF}" in markdown and "## Realised performance" in markdown
    assert f"{out}/retention_list.csv" in markdown


def test_a_missing_source_fails_the_flow_at_once_and_clearly(prefect_server, tracking_uri, tmp_path, dirs):
    # Only a database connection that fails or drops is tried again (tests/ops/test_retries.py); a folder that is
    # not there is not, and Prefect does not retry the task on top of that.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    state = training_flow(config=CONFIG, data=str(tmp_path / "nowhere"), as_of=AS_OF, return_state=True, **dirs)
    assert state.is_failed()
    with pytest.raises(Exception, match="data folder .*nowhere does not exist"):
        state.result()
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    pull = [r for r in runs if r.name.startswith("pull")]
    assert len(pull) == 1 and pull[0].run_count == 1


def test_a_short_history_trains_on_held_out_customers_and_says_so(prefect_server, tracking_uri, tmp_path, dirs,
                                                                 fast_config):
    # Five months of orders as of 2025-01-01 with a 90-day horizon: no window before the holdout's.
    import mlflow
    import yaml

    history = make_history(300, seed=4, start=pd.Timestamp("2024-08-01"), end=pd.Timestamp("2025-01-01"))
    data = write_canonical_folder({"customers": history["customers"], "orders": history["orders"]}, tmp_path / "shop")
    # the LightGBM model is the candidate whatever the baselines score: its refit is what is checked here
    raw = yaml.safe_load(open(fast_config, encoding="utf-8"))
    raw["evaluate"]["min_gain_over_baseline"] = -1.0
    config = tmp_path / "model_always.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    trained = training_flow(config=str(config), data=data, as_of="2025-01-01", **dirs)
    report = trained["metrics"]
    assert report["candidate"]["candidate"] == "model"
    assert report["data"]["holdout_kind"] == "customer_split"
    assert report["data"]["refit"]["examples"] == report["data"]["train"]["examples"] + report["data"]["test"][
        "examples"]
    version = mlflow.MlflowClient().get_model_version("churn", trained["registered"]["version"])
    assert version.tags["holdout"] == "customer_split" and version.tags["refit_until"] == "2024-10-03"


def test_a_history_with_no_complete_window_gets_a_list_from_the_bgnbd_fallback(prefect_server, tracking_uri,
                                                                             tmp_path, dirs, fast_config):
    # Five months of orders as of 2025-01-01, 180-day horizon: no window has labels yet. The run must not stop.
    import mlflow

    history = make_history(200, seed=6, start=pd.Timestamp("2024-08-01"), end=pd.Timestamp("2025-01-01"))
    data = write_canonical_folder({"customers": history["customers"], "orders": history["orders"]}, tmp_path / "shop")
    trained = training_flow(config=fast_config, data=data, as_of="2025-01-01", horizon_days=180, **dirs)
    fallback = trained["metrics"]["data"]["fallback"]
    assert fallback["model"] == "bgnbd" and fallback["customers"] == len(active_at(history["orders"], "2025-01-01"))
    assert trained["metrics"]["grade"]["grade"] == "none" and trained["metrics"]["metrics"] == {}
    assert trained["registered"]["alias"] == "champion"  # nothing else to score with
    version = mlflow.MlflowClient().get_model_version("churn", trained["registered"]["version"])
    assert version.tags["model_kind"] == "bgnbd_fallback"

    out = tmp_path / "out"
    scoring_flow(config=fast_config, data=data, as_of="2025-01-01", out=str(out), horizon_days=180, **dirs)
    listing = pd.read_csv(out / "retention_list.csv", dtype={"customer_id": str})
    assert set(listing["customer_id"]) == active_at(history["orders"], "2025-01-01")
    assert (listing["model_version"] == "churn v1 (BG/NBD: no complete window yet)").all()
    assert json.loads((out / "run_summary.json").read_text())["model_kind"] == "bgnbd_fallback"
    assert listing["churn_probability"].between(0, 1).all() and listing["churn_probability"].nunique() > 10
    assert set(listing["primary_cause"]) <= {"engagement", "other"}  # purchase rhythm only: no price/service signal

    # a measured champion is never replaced by a fallback
    again = training_flow(config=fast_config, data=data, as_of="2025-01-01", horizon_days=180, **dirs)
    assert again["registered"]["alias"] == "challenger"


def test_a_stage_failing_beside_another_fails_the_run_with_its_own_error(prefect_server, tracking_uri, tmp_path,
                                                                        dirs, fast_config, monkeypatch):
    # features and value run side by side: value's error ends the run, features still finishes, nothing after runs
    from churn import runners
    from churn.ops import Workspace

    history = make_history(200, seed=6, start=pd.Timestamp("2024-08-01"), end=pd.Timestamp("2025-01-01"))
    data = write_canonical_folder({"customers": history["customers"], "orders": history["orders"]}, tmp_path / "shop")
    training_flow(config=fast_config, data=data, as_of="2025-01-01", horizon_days=180, **dirs)

    def run_value(*args, **kwargs):
        raise ValueError("the value stage failed here")
    monkeypatch.setattr(runners, "run_value", run_value)
    out = tmp_path / "out"
    state = scoring_flow(config=fast_config, data=data, as_of="2025-01-01", out=str(out), horizon_days=180,
                         return_state=True, **dirs)
    assert state.is_failed()
    with pytest.raises(ValueError, match="the value stage failed here"):
        state.result()
    ws = Workspace(Path(dirs["workdir"]), Path(dirs["models"]), Path(dirs["metrics"]))
    assert ws.scoring_features.exists() and not ws.scored_list.exists() and not (out / "retention_list.csv").exists()


def test_a_flow_refuses_folders_outside_the_project(prefect_server, tmp_path, dirs, monkeypatch):
    # A deployment's parameters (`prefect deployment run ... --param out=...`) do not pass through the CLI.
    monkeypatch.delenv(ALLOWED_ROOTS_ENV)
    state = scoring_flow(config=CONFIG, as_of=AS_OF, out=str(tmp_path / "elsewhere"), return_state=True, **dirs)
    assert state.is_failed()
    with pytest.raises(OutsideProjectError, match=f"workdir {tmp_path / 'work'} resolves to .* outside the project"):
        state.result()
    assert not any(tmp_path.iterdir())  # nothing written


def test_serve_builds_scheduled_deployments():
    from churn.config import load_config

    schedule = load_config(CONFIG).schedule
    built = {d.name: d for d in deployments(schedule, CONFIG)}
    assert set(built) == {"churn-training", "churn-scoring"}
    crons = {name: (d.schedules[0].schedule.cron, d.schedules[0].schedule.timezone) for name, d in built.items()}
    assert crons == {"churn-training": (schedule.training_cron, "UTC"), "churn-scoring": (schedule.scoring_cron, "UTC")}
    assert built["churn-scoring"].parameters == {"config": CONFIG}
