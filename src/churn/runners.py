"""One thin runner per stage: load inputs, call the pure stage function, save outputs.

The Prefect flows (pipelines/), the DVC stages (dvc.yaml) and the CLI all call these, so a
stage behaves the same whichever way it is run.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from churn.config import Config
from churn.ops import Workspace, io, shown_location
from churn.vocab import at_risk_flags, lapsed_flags


def resolve_as_of(cfg: Config, as_of: dt.date | str | None = None) -> pd.Timestamp:
    """The run's as-of date: the flag, else the config, else today (UTC)."""
    value = as_of or cfg.as_of or dt.datetime.now(dt.UTC).date()
    return pd.Timestamp(value).normalize()


def run_demo_data(cfg: Config, db_path: Path, truth_path: Path, shift_from: dt.date | None = None) -> dict:
    """The sample business into `db_path`; with `shift_from`, the deliberate shift of `demo.shift` from that day
    (`churn demo --weeks`)."""
    from churn.data import generate_history, shift_order_sizes

    history = generate_history(cfg.demo)
    tables, moved = history.tables, None
    if shift_from is not None:
        tables, moved = shift_order_sizes(tables, cfg.demo.shift.region, shift_from, cfg.demo.shift.factor)
    io.write_sqlite(tables, db_path)
    io.write_parquet(history.truth, truth_path)
    return ({name: len(df) for name, df in tables.items()} | {"injected": history.injected}
            | ({"shifted_orders": moved} if moved is not None else {}))


def run_large_history(cfg: Config, customers: int, out: Path, block_size: int = 10_000, base_config: Path | None = None,
                      progress=print) -> dict:
    """A sample business of `customers` customers written block by block (`churn.data.history_blocks`), never whole
    in memory: each canonical table as Parquet parts `out/history/<table>_<block>.parquet`, the truth as
    `out/truth/truth_<block>.parquet`, and `out/history.yaml`, a config that reads the parts (extending
    `base_config`). Returns the rows written per table and the bad rows planted per kind."""
    from churn.data import history_blocks

    rows: dict[str, int] = {}
    injected: dict[str, int] = {}
    for number, history in enumerate(history_blocks(cfg.demo, customers, block_size)):
        first, block = history.tables["customers"]["customer_id"].iloc[0], f"{number:04d}"
        for name, frame in history.tables.items():
            io.write_parquet(frame, out / "history" / f"{name}_{block}.parquet")
            rows[name] = rows.get(name, 0) + len(frame)
        io.write_parquet(history.truth, out / "truth" / f"truth_{block}.parquet")
        for kind, n in history.injected.items():
            injected[kind] = injected.get(kind, 0) + n
        progress(f"block {block}: customers from {first}, {len(history.tables['orders']):,} orders")
    io.write_config({"source": {"location": str((out / "history").resolve()),
                                "tables": {name: {"table": f"{name}_*"} for name in rows}}},
                    out / "history.yaml", base_config or "configs/params.yaml",
                    f"# The sample business of {customers:,} customers, in parts (benchmarks/large_history.py).\n")
    return {"customers": customers, "rows": rows, "injected": injected, "config": str(out / "history.yaml")}


def run_demo_export(cfg: Config, system: str, folder: Path) -> dict:
    """The sample business as `system`'s CRM export files in `folder` (`churn demo --export`): what `churn map`
    and configs/sources/<system>.yaml read."""
    from churn.data import crm_export, generate_history

    files = crm_export(generate_history(cfg.demo).tables, system)
    io.write_export_files(files, folder)
    return {"path": str(folder), "files": {file.name: len(file.frame) for file in files}}


def run_map(folder: Path, out: Path | None, base_config: Path) -> dict:
    """`churn map`: read a folder of CRM exports, propose their mapping onto the contract and, with `out`, write
    it as a config that extends `base_config`. Files with a date at the end of their name and one header are one
    export (a pattern: later months' files are read too)."""
    from churn.config import load_config
    from churn.data import export_pattern, propose_mapping

    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give the folder holding the CRM's export files")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in io.FILE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{folder} holds no CSV, Excel or Parquet file to map")
    frames = {path.name: io.read_table_file(path) for path in files}
    exports: dict[str, pd.DataFrame] = {}
    grouped: dict[str, list[str]] = {}
    for path in files:
        pattern = export_pattern(path.name)
        same = [p.name for p in io.pattern_files(folder, pattern)] if pattern else []  # what the pull will read
        headers = {tuple(sorted(map(str, frames[name].columns))) for name in same}
        if pattern and len(headers) == 1:
            grouped.setdefault(pattern, same)
        else:
            grouped[path.name] = [path.name]
    for export, names in grouped.items():
        exports[export] = pd.concat([frames[name] for name in names], ignore_index=True)
    proposal = propose_mapping(exports)
    result = {"folder": str(folder), "proposal": proposal, "files": grouped, "out": None}
    if out is not None:
        header = (f"# Proposed by `churn map {folder}`: review it (a column churn could not find is named in the\n"
                  f"# command's output), then `churn validate --config {out}`.\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        io.write_config({"source": {"location": str(folder), "tables": proposal.tables()}}, out, base_config, header)
        if proposal.complete():
            load_config(out)  # what was written is a config churn reads (a mistake here is churn's, not the user's)
        result["out"] = str(out)
    return result


def run_pull(cfg: Config, ws: Workspace) -> dict:
    from churn.data import link_customers_by_name, mask_history, mask_name

    tables = io.read_source(cfg.source)
    pulled_at = pd.Timestamp.now(tz="UTC")
    notes = [df.attrs["note"] for df in tables.values() if df.attrs.get("note")]  # how files were read
    by_name = [name for name in cfg.source.tables if cfg.source.parts(name)[0].customer_by == "name"]
    tables, linked = link_customers_by_name(tables, by_name, mask_name if cfg.report.mask_personal else str)
    notes += linked
    if cfg.report.mask_personal:  # before anything is written: no later file can hold the originals
        tables, masked = mask_history(tables, linked_by_name=by_name)
        notes += [f"personal details masked (report.mask_personal): {name}: {', '.join(columns)}"
                  for name, columns in masked.items()]
    io.replace_tables({name: _text_objects(df) for name, df in tables.items()}, ws.raw)
    io.write_json({"pulled_at": str(pulled_at), "source": shown_location(cfg.source.location), "notes": notes},
                  ws.raw / "pull.json")
    return {name: len(df) for name, df in tables.items()}


def run_validate(cfg: Config, ws: Workspace) -> dict:
    from churn.data import validate_history

    pull = io.read_json(ws.raw / "pull.json")
    # one table in memory at a time: each is read when its turn comes and written as soon as it is checked
    with io.replacing_tables(ws.validated) as put:
        result = validate_history(io.TableFolder(ws.raw), cfg.validate_, pd.Timestamp(pull["pulled_at"]), keep=put)
    summary = result.summary | {"read_notes": pull.get("notes", [])}
    io.write_parquet(result.quarantine, ws.quarantine)
    io.write_json(summary, ws.validation_summary)
    return summary


def run_training_features(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    from churn.data import point_in_time
    from churn.features import POPULATION_ORDER_COLUMNS, plan_cutoffs, training_examples

    # the population and labels from the columns they need; the features from the files (see _validated_files)
    tables, _ = point_in_time(io.read_tables(ws.validated, ("customers", "orders"),
                                             {"orders": [*POPULATION_ORDER_COLUMNS]}), as_of)
    plan = plan_cutoffs(as_of, cfg.labels, refit=cfg.train.refit)
    with _engine(cfg, ws) as engine:
        examples = training_examples(tables, plan, cfg.labels, cfg.features, build=engine.features)
    io.write_parquet(examples, ws.examples)
    return {"examples": len(examples), "cutoffs": [str(c.date()) for c in plan.all()], "as_of": str(as_of.date())}


def run_scoring_features(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    with _engine(cfg, ws) as engine:
        features, later = _active_customers(cfg, ws, as_of, engine)
    io.write_parquet(features, ws.scoring_features)
    return {"active_customers": len(features), "rows_at_or_after_as_of": later, "as_of": str(as_of.date())}


def _active_customers(cfg: Config, ws: Workspace, as_of: pd.Timestamp, engine: _Engine
                      ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Features of the customers active at `as_of`, from what was known before it; and the rows left out."""
    from churn.data import point_in_time
    from churn.features import POPULATION_ORDER_COLUMNS, population

    # Who is active, and how many rows lie at or after `as_of`, from the few columns that say it; the features
    # from the files (see _validated_files): the history is never held in pandas (the stage's peak at 1M customers
    # 5.6 -> 2.9 GB).
    few = {name: ["ts"] for name in io.TableFolder(ws.validated) if name not in ("customers", "orders")}
    known, later = point_in_time(io.read_tables(ws.validated, columns=few | {"orders": [*POPULATION_ORDER_COLUMNS]}),
                                 as_of)
    active = population(known, [as_of], cfg.labels)
    del known
    return engine.features(active), later


@dataclass
class _Engine:
    """The configured engine for a stage: the features of a population (customer_id, cutoff) from the validated
    history, and the Dask client (None: this machine)."""

    features: Callable[[pd.DataFrame], pd.DataFrame]
    client: object | None = None


@contextmanager
def _engine(cfg: Config, ws: Workspace) -> Iterator[_Engine]:
    """This machine (`build_features`), or a Dask cluster (`churn.cluster`): the history written in parts by customer
    when features are first asked for (the same features to the bit; the parts are deleted when the stage ends).
    One cluster connection for the whole stage."""
    from churn.features import build_features

    if cfg.engine.kind == "local":
        yield _Engine(lambda pop: build_features(_validated_files(ws), pop, cfg.features))
        return
    from churn.cluster import open_client, partitioned_features, write_partitions

    ws.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ws.root, prefix=".history-parts-") as folder, \
            open_client(cfg.engine) as client:
        parts = {}

        def features(pop: pd.DataFrame) -> pd.DataFrame:
            if not parts:
                files = {name: ws.validated / f"{name}.parquet" for name in io.TableFolder(ws.validated)}
                parts.update(write_partitions(files, Path(folder) / "parts", cfg.engine.partitions))
            return partitioned_features(client, parts, pop, cfg.features)

        yield _Engine(features, client)


def _booster_fit(engine: _Engine):
    """How the churn model's boosters are fitted on `engine`: here, or with lightgbm.dask on its cluster."""
    from churn.model import booster_fit_on, fit_booster

    return fit_booster if engine.client is None else booster_fit_on(engine.client)


def _scoring_model(engine: _Engine, model, cfg: Config):
    """The model as the engine scores and explains with it: itself here, or per part on the Dask cluster."""
    if engine.client is None:
        return model
    from churn.cluster import PartitionedModel

    return PartitionedModel(model, engine.client, cfg.engine.partitions)


def _validated_files(ws: Workspace) -> dict:
    """The validated tables as files DuckDB reads (`ParquetTable`) for features: each feature query reads only the
    rows before its cutoff, so the files may hold rows at and after `as_of`."""
    from churn.features import ParquetTable

    return {name: ParquetTable.of(ws.validated / f"{name}.parquet") for name in io.TableFolder(ws.validated)}


def run_value(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    from churn.data import point_in_time
    from churn.score import VALUE_ORDER_COLUMNS, customer_value

    tables, _ = point_in_time(io.read_tables(ws.validated, ("orders", "customers"),
                                             {"orders": [*VALUE_ORDER_COLUMNS]}), as_of)
    value = customer_value(tables["orders"], tables.get("customers"), as_of, cfg.value)
    io.write_parquet(value, ws.customer_value)
    summary = dict(value.attrs) | {"customers": len(value)}
    io.write_json(summary, ws.value_summary)
    return summary


def run_effects(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    """Uplift per action from the campaigns table (none: the decide priors stay). Only the playbook's actions are
    measured: campaigns under other names (a CRM's own words, 回访电话) are named in `not_in_playbook`."""
    from churn.action import EXAMPLE_KEYS, campaign_examples, load_playbook, uplift_effects
    from churn.data import point_in_time
    from churn.features import POPULATION_ORDER_COLUMNS
    from churn.model import feature_columns

    # campaigns and labels from the columns they need; the features from the files (see _validated_files)
    tables, _ = point_in_time(io.read_tables(ws.validated, ("campaigns", "orders"),
                                             {"orders": [*POPULATION_ORDER_COLUMNS]}), as_of)
    features = io.read_parquet(ws.scoring_features)
    examples = (campaign_examples(tables, as_of, cfg.labels, cfg.features, _validated_files(ws))
                if cfg.effects.use_campaigns else pd.DataFrame(columns=EXAMPLE_KEYS))
    ours = examples["action"].isin(set(load_playbook(cfg.score.playbook).actions))
    strange = sorted(examples.loc[~ours, "action"].astype(str).unique())
    examples = examples[ours]
    effects, summary, priors = uplift_effects(examples, features, feature_columns(features), cfg.effects)
    io.write_parquet(effects.reset_index(), ws.action_effects)
    result = {"campaign_rows": len(examples), "actions": summary.to_dict(orient="records"), "priors": priors,
              "as_of": str(as_of.date()), "method": cfg.effects.method, "not_in_playbook": strange}
    io.write_json(result, ws.effects_summary)
    return result


def run_effect(cfg: Config, ws: Workspace, run_date: pd.Timestamp, runs_dir: Path, out_dir: Path) -> dict:
    """`churn effect`: contacted against held-out customers of the scoring run of `run_date`
    (else the campaigns table's rows of that day), once its horizon has passed."""
    from churn.action import effect_records, measure_effects, record_run
    from churn.ops import tracking

    archive = runs_dir / f"{run_date.date()}.parquet"
    run_list = io.read_parquet(archive) if archive.exists() else None
    records, source = effect_records(io.read_tables(ws.validated), run_list, run_date, cfg.labels)
    measured = measure_effects(records, cfg.effects.confidence)
    io.write_csv(measured, out_dir / f"effects_{run_date.date()}.csv")
    book = record_run(io.read_json(ws.evidence) if ws.evidence.exists() else None, str(run_date.date()), source,
                      measured, cfg.effects)
    io.write_json(book, ws.evidence)
    result = {"run": str(run_date.date()), "source": source, "customers": len(records), "measured": measured,
              "evidence": book["priors"], "evidence_file": str(ws.evidence)}
    result["mlflow_run_id"] = tracking.log_effects(cfg.tracking, result, [out_dir / f"effects_{run_date.date()}.csv",
                                                                          ws.evidence])
    return result


def run_monitor(cfg: Config, ws: Workspace, as_of: pd.Timestamp, runs_dir: Path) -> dict:
    """`churn monitor`: what the model achieved on every archived scoring run (`runs_dir`) whose horizon has
    passed by `as_of`: the table over time, the cause mix of those who left, a plot and an MLflow run; alerts
    where realised ROC-AUC fell more than `monitor.auc_margin` below the figure the model was promoted with."""
    from churn.data import data_end, point_in_time
    from churn.features import POPULATION_ORDER_COLUMNS
    from churn.monitor import (
        RUN_LIST_COLUMNS,
        due_runs,
        realised_metrics,
        realised_performance,
        realised_summary,
        save_realised_plot,
    )
    from churn.ops import tracking

    # the history's end and the labels need the customers and the orders' three columns, not every table (at 1M
    # customers reading them all took 9-12 s a run, most runs with nothing due)
    tables, _ = point_in_time(io.read_tables(ws.validated, ("customers", "orders"),
                                             {"orders": [*POPULATION_ORDER_COLUMNS]}), as_of)
    archived = sorted(p.stem for p in runs_dir.glob("*.parquet") if _is_date(p.stem)) if runs_dir.exists() else []
    due = due_runs(archived, data_end(tables), cfg.labels.horizon_days)
    waiting = [d for d in archived if d not in due]
    result = {"as_of": str(as_of.date()), "runs_dir": str(runs_dir), "archived": len(archived), "runs": len(due),
              "horizon_days": cfg.labels.horizon_days,
              "waiting": len(waiting), "next_due": (str((pd.Timestamp(waiting[0]) + pd.Timedelta(
                  days=cfg.labels.horizon_days)).date()) if waiting else None),
              "auc_margin": cfg.monitor.auc_margin, "alerts": [], "rows": [], "latest": None}
    if due:
        runs, promised = {}, {}
        for date in due:
            run = io.read_parquet(runs_dir / f"{date}.parquet")
            runs[date] = run[[c for c in RUN_LIST_COLUMNS if c in run.columns]]
            meta = runs_dir / f"{date}.json"
            promised[date] = io.read_json(meta).get("promoted_roc_auc") if meta.exists() else None
        table, mix = realised_performance(runs, tables, cfg.labels, cfg.monitor, promised, cfg.effects.confidence)
        io.write_csv(table, ws.realised)
        io.write_csv(mix, ws.realised_causes)
        save_realised_plot(table, cfg.monitor.auc_margin, ws.realised_plot)
        result |= realised_summary(table, mix)
        result["mlflow_run_id"] = tracking.log_monitor(cfg.tracking, result, realised_metrics(table),
                                                       [ws.realised, ws.realised_causes, ws.realised_plot])
    io.write_json(result, ws.monitor_summary)
    return result


def run_train(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    from churn.model import (
        NoCompleteWindow,
        candidate_model,
        choose_candidate,
        curves,
        save_evaluation_plots,
        train_model,
        training_report,
    )
    from churn.monitor import training_reference
    from churn.ops import tracking

    examples = io.read_parquet(ws.examples)
    with _engine(cfg, ws) as engine:
        try:
            result = train_model(examples, cfg.train, cfg.labels.horizon_days, _booster_fit(engine))
        except NoCompleteWindow as why:
            return _train_fallback(cfg, ws, as_of, str(why), engine)
        customers = _active_customers(cfg, ws, as_of, engine)[0]
    # The model or a baseline, whichever the holdout favours, is what the list will be scored with.
    choice = choose_candidate(result.metrics, cfg.evaluate)
    scoring = candidate_model(choice["candidate"], result, examples,
                              customers if choice["candidate"] == "bgnbd" else None, cfg.labels.horizon_days,
                              cfg.train.refit)
    causes = _learn_causes(cfg, ws, examples, result, scoring, as_of)
    # The holdout ROC-AUC the model is promoted with travels with it: realised performance is held to it.
    reference = training_reference(customers, scoring, cfg.monitor) | {"promoted_roc_auc": choice["roc_auc"]}
    tracking.save_model(scoring, ws.model_dir, examples, reference)
    points = curves(result.holdout)
    for name, frame in points.items():
        for model, part in frame.groupby("model", sort=False):  # one file per line: what `dvc plots` draws
            io.write_csv(part.drop(columns="model"), ws.curves / f"{name}_{model}.csv")
    io.write_parquet(result.holdout, ws.holdout)
    save_evaluation_plots(points, result.importance, ws.plots)
    io.write_csv(result.importance, ws.metrics / "feature_importance.csv")
    if result.search is not None:
        io.write_csv(result.search, ws.metrics / "search.csv")
    report = training_report(result.metrics, result.params, result.search, result.data_summary, cfg.evaluate)
    report["candidate"] = choice
    report["causes"] = causes
    if choice["kind"] == "bgnbd":  # fitted at the as-of date without labels: no refit to speak of
        report["data"].pop("refit", None)
    io.write_json(report, ws.train_metrics)
    return report


def _learn_causes(cfg: Config, ws: Workspace, examples: pd.DataFrame, result, scoring, as_of: pd.Timestamp) -> dict:
    """Cause models learnt from the history's recorded loss reasons (`loss_reasons`, when it has them), put on the
    scoring model and on the fit the holdout judged; what they learnt from, or why there are none."""
    from churn.model import cause_holdout, customer_split, feature_columns, known_causes, learn_causes
    from churn.score import judge_causes

    known = cfg.explain.known_causes
    path = ws.validated / "loss_reasons.parquet"
    reasons = io.read_parquet(path) if path.exists() else None
    held = (customer_split(examples, cfg.train.customer_split_holdout)["test"]["customer_id"]
            if result.data_summary.get("holdout_kind") == "customer_split" else None)
    final, judged, summary = learn_causes(examples, feature_columns(examples), reasons, as_of, cfg.labels.horizon_days,
                                          known, cfg.train.seed, held)
    judged_fit = scoring.judged if getattr(scoring, "judged", None) is not None else scoring
    final, summary = _for_the_list(final, judged, summary, judged_fit is scoring)
    judged_fit.cause_model = judged
    complaints = _learn_from_complaints(cfg, examples, as_of, held)
    if complaints is not None:  # (weighing both sides of the holdout's judgement, so fitted before it)
        judged_fit.complaint_model = complaints[1]
        scoring.complaint_model, summary["complaints"] = _for_the_list(*complaints, judged_fit is scoring)
    holdout = cause_holdout(examples, as_of, held)[1]
    if holdout.empty:
        verdict = {"judged": 0, "chosen": "evidence", "why": "no holdout to judge the cause model on"}
    else:
        recorded = known_causes(holdout, reasons, as_of, cfg.labels.horizon_days, known.recorded_within_days)
        verdict = judge_causes(judged_fit, holdout, recorded, cfg.explain, cfg.features.trend_window)
    if verdict["chosen"] != "known_causes":  # the list's causes come from the evidence method
        final = judged_fit.cause_model = None
    if not verdict.get("complaints", {}).get("kept", True):  # named better without the complaints' cause model
        scoring.complaint_model = judged_fit.complaint_model = None
        summary["complaints"] = summary["complaints"] | {"used": False, "why": (
            f"set aside by the holdout ({verdict['complaints']['why']})")}
    scoring.cause_model = final
    return summary | {"holdout": verdict, "method": verdict["chosen"]}


def _for_the_list(final, judged, summary: dict, judged_is_scoring: bool) -> tuple:
    """The cause model for the list and what it learnt from: `final`, or, when the scoring model is the fit the
    holdout judged, the `judged` cause model too (its summary with `judged` beside it, as the others have)."""
    if judged_is_scoring:
        return judged, summary["judged"] | {"judged": summary["judged"]}
    return final, summary


def _learn_from_complaints(cfg: Config, examples: pd.DataFrame, as_of: pd.Timestamp, held: pd.Series | None):
    """The list's and the judged cause models learnt from lost customers' complaints, with what they learnt from
    (`explain.from_complaints`), or None when that is off. Their inputs leave the complaint features out: those
    make the label."""
    from churn.model import feature_columns, learn_from_complaints
    from churn.score import stated_causes

    rule = cfg.explain.from_complaints
    if not rule.enabled:
        return None
    settings = cfg.explain.known_causes.model_copy(update={"enabled": True, "min_reasons": rule.min_customers,
                                                           "min_per_cause": rule.min_per_cause})
    stated = stated_causes(examples, cfg.explain, cfg.features.trend_window)
    inputs = [f for f in feature_columns(examples) if not f.startswith("complaints_")]
    return learn_from_complaints(examples, inputs, stated, as_of, settings, cfg.train.seed, held)


def _train_fallback(cfg: Config, ws: Workspace, as_of: pd.Timestamp, why: str, engine: _Engine) -> dict:
    """No complete label window yet: the BG/NBD baseline, which needs no labels, becomes the scoring model,
    fitted on the purchase rhythm of the customers active at the as-of date. Said as such everywhere."""
    from churn.model import BGNBDChurnModel, fallback_report
    from churn.ops import tracking

    customers, _ = _active_customers(cfg, ws, as_of, engine)
    model = BGNBDChurnModel.fit(customers, cfg.labels.horizon_days)
    tracking.save_model(model, ws.model_dir, customers)
    # The stage's other outputs, empty: no holdout, nothing to plot (DVC expects them to exist).
    io.write_parquet(pd.DataFrame(columns=["customer_id", "cutoff", "churned"]), ws.holdout)
    io.write_csv(pd.DataFrame(columns=["feature", "gain"]), ws.metrics / "feature_importance.csv")
    for folder in (ws.curves, ws.plots):
        folder.mkdir(parents=True, exist_ok=True)
    report = fallback_report(why, len(customers), as_of, cfg.evaluate)
    io.write_json(report, ws.train_metrics)
    return report


def run_register(cfg: Config, ws: Workspace, as_of: pd.Timestamp) -> dict:
    """Log the training run, then register: champion only if the promotion rule says so."""
    from churn.model import decide_promotion, fallback_promotion
    from churn.ops import tracking

    trained = io.read_json(ws.train_metrics)
    examples = io.read_parquet(ws.examples)
    if trained["data"].get("fallback"):  # nothing was measured: it may only fill an empty champion place
        champion = None
        decision = fallback_promotion(tracking.has_alias(cfg.tracking, "champion"))
    else:
        champion = tracking.champion_holdout_metrics(cfg.tracking, examples[examples["role"] == "test"])
        decision = decide_promotion(trained["metrics"], champion, cfg.evaluate, trained["candidate"]["candidate"])
    decision["champion_before"] = champion
    io.write_json(decision, ws.metrics / "promotion.json")
    params = tracking.training_params(cfg.train, cfg.labels, trained, as_of, shown_location(cfg.source.location))
    features = io.read_json(ws.model_dir / "artifacts" / "raw" / "meta.json")["features"]
    io.write_json({"features": features, "data": trained["data"]}, ws.metrics / "run_inputs.json")
    artifacts = [ws.plots, ws.curves, ws.metrics / "feature_importance.csv", ws.metrics / "run_inputs.json",
                 ws.validation_summary, ws.metrics / "promotion.json", ws.train_metrics]
    if (ws.metrics / "search.csv").exists() and trained["search"]["points_tried"]:
        artifacts.append(ws.metrics / "search.csv")
    lineage = tracking.lineage_tags(_lineage_config(cfg))
    described = tracking.training_description(as_of, shown_location(cfg.source.location), examples, trained["data"],
                                              lineage)
    reg = tracking.log_training(cfg.tracking, ws.model_dir, params, tracking.training_metrics(trained), artifacts,
                                tracking.training_tags(trained, decision, as_of) | lineage, decision["alias"],
                                described, tracking.history_datasets(shown_location(cfg.source.location), ws.validated))
    out = reg.__dict__ | {"as_of": str(as_of.date()), "grade": trained["grade"]["grade"], "decision": decision}
    io.write_json(out, ws.registered)
    return out


def run_promote(cfg: Config, version: str, who: str, why: str) -> dict:
    from churn.ops import tracking

    return tracking.promote(cfg.tracking, version, who, why)


def run_backtest(cfg: Config, ws: Workspace, start: pd.Timestamp, end: pd.Timestamp, every: int | str | None,
                 out_dir: Path, progress=print) -> dict:
    from churn.model import backtest_dates, save_backtest_plot
    from churn.model import run_backtest as backtest
    from churn.ops import tracking

    dates = backtest_dates(start, end, every or cfg.backtest.every)
    per_date, predictions, pooled = backtest(io.read_tables(ws.validated), dates, cfg.backtest, cfg.labels,
                                             cfg.features, cfg.train, progress)
    io.write_csv(per_date, out_dir / "backtest.csv")
    result = {"dates": per_date.to_dict(orient="records"), "pooled": pooled, "horizon_days": cfg.labels.horizon_days,
              "source": shown_location(cfg.source.location)}
    io.write_json(result, out_dir / "backtest.json")
    io.write_parquet(predictions, out_dir / "backtest_predictions.parquet")
    for metric in ("roc_auc", "pr_auc", "lift_top10", "brier"):
        wide = per_date.pivot(index="as_of", columns="model", values=metric).reset_index()
        io.write_csv(wide, out_dir / "plots" / f"backtest_{metric}.csv")
    chart = save_backtest_plot(per_date, out_dir / "backtest.png")
    result["mlflow_run_id"] = tracking.log_backtest(cfg.tracking, per_date, pooled, [out_dir / "backtest.csv",
                                                    out_dir / "backtest.json", chart],
                                                    {"horizon_days": cfg.labels.horizon_days,
                                                     "source": shown_location(cfg.source.location)})
    return result


def run_find_model(cfg: Config, model_uri: str) -> dict:
    """The scoring model's version, looked up before any data is pulled: a scheduled run with no champion
    fails in a second, naming what to do, rather than after the pull and the features."""
    from churn.ops import tracking

    return {"model": tracking.model_label(model_uri, cfg.tracking)}


def run_score(cfg: Config, ws: Workspace, as_of: pd.Timestamp, model_uri: str) -> dict:
    """Score every active customer: risk, value, loss cause and reasons (the scored list, before actions)."""
    from churn.action import action_needs, load_playbook
    from churn.monitor import drift_summary, scoring_drift
    from churn.ops import tracking
    from churn.report import model_kind_note
    from churn.score import RESPONSE_ORDER_COLUMNS, campaign_responses, score_customers

    model, label, reference, schema = tracking.load_model_and_reference(model_uri, cfg.tracking)
    tags = tracking.model_tags(model_uri, cfg.tracking)
    kind = "bgnbd_fallback" if model.fallback else model.kind
    # every row says which kind of model ranked it (in English: it is data); the report in the reader's language
    note = model_kind_note(kind, "en")
    row_label = f"{label} ({note})" if note else label
    features = io.read_parquet(ws.scoring_features)
    tracking.check_inputs(schema, features, label)
    from churn.data import point_in_time

    tables, _ = point_in_time(io.read_tables(ws.validated, ("customers", "campaigns", "orders"),
                                             {"orders": [*RESPONSE_ORDER_COLUMNS]}), as_of)
    customers = tables.get("customers")
    value_summary = _made_for(ws.value_summary, as_of)
    value = io.read_parquet(ws.customer_value) if value_summary else None
    # how customers answered the company's past actions for each need: a sign of their need profile
    responses = campaign_responses(tables.get("campaigns"), tables.get("orders"), as_of,
                                   action_needs(load_playbook(cfg.score.playbook)), cfg.score.needs.campaign_window_days)
    with _engine(cfg, ws) as engine:
        scored = score_customers(features, customers, _scoring_model(engine, model, cfg), cfg=cfg.score,
                                 explain=cfg.explain, trend_window=cfg.features.trend_window, model_version=row_label,
                                 as_of=as_of, value=value, value_cfg=cfg.value, responses=responses)
    io.write_parquet(scored, ws.scored_list)
    causes = scored.attrs["causes"]
    if causes["explained"] < causes["customers"]:  # the rest are explained on demand when the plan reaches them
        from churn.model import save_scoring_model

        io.replace_folder(ws.score_model, lambda folder: save_scoring_model(model, folder))
    else:
        shutil.rmtree(ws.score_model, ignore_errors=True)
    drift = None
    if reference is not None:  # a model saved before drift references has none
        table = scoring_drift(reference, features, scored, cfg.monitor)
        io.write_csv(table, ws.drift)
        drift = drift_summary(table)
    refit = {"windows": int(tags["refit_windows"]), "until": tags["refit_until"]} if "refit_windows" in tags else None
    summary = {"as_of": str(as_of.date()), "model": label, "model_kind": kind, "model_grade": tags.get("grade"),
               "model_refit": refit,
               "model_holdout": tags.get("holdout"),
               "customers_scored": len(scored), "causes": causes, "value": value_summary, "drift": drift,
               "model_promoted_roc_auc": (reference or {}).get("promoted_roc_auc")}
    io.write_json(summary, ws.score_summary)
    return summary


def run_decide(cfg: Config, ws: Workspace, as_of: pd.Timestamp, out_dir: Path) -> dict:
    """The playbook's action for each scored customer and the contact plan within the budget (with its
    random holdout): the retention list, and the run's summary the report and publishing read."""
    from churn.action import (
        apply_plan,
        decide,
        effect_sources,
        load_playbook,
        with_measured_effects,
        with_playbook_actions,
    )
    from churn.report import lifecycle_flows, render_reasons

    scored_run = _needed(ws.score_summary, as_of, "score")
    playbook = load_playbook(cfg.score.playbook)
    scored = io.read_parquet(ws.scored_list)
    uplift = _made_for(ws.effects_summary, as_of)
    effects = io.read_parquet(ws.action_effects).set_index("customer_id") if uplift else None
    measured = io.read_json(ws.evidence)["priors"] if ws.evidence.exists() else None
    # The list's own words are English; the report words the same codes in its language.
    scored = scored.assign(reasons=render_reasons(scored["reason_codes"], "en"))
    explained_here, rounds, loaded = 0, 0, {}
    while True:
        listing = with_playbook_actions(scored, playbook, act_on=cfg.score.act_on_risk_bands)
        plan = decide(listing, playbook, with_measured_effects(cfg.decide, uplift, measured), effects)
        needed = plan.attrs["needs_causes"]
        if not needed:
            break
        # the plan reached customers the score left unexplained: name their causes as the score would have
        scored = _name_causes(cfg, ws, scored, needed, scored_run["causes"]["population"], loaded)
        explained_here, rounds = explained_here + len(needed), rounds + 1
    listing = apply_plan(listing, plan, playbook)
    io.write_parquet(listing, out_dir / "runs" / f"{as_of.date()}.parquet")  # read by `churn effect` later
    # ... and by `churn monitor`, which holds the run to the ROC-AUC its model was promoted with
    io.write_json({"as_of": str(as_of.date()), "model": scored_run["model"], "horizon_days": cfg.labels.horizon_days,
                   "promoted_roc_auc": scored_run.get("model_promoted_roc_auc")},
                  out_dir / "runs" / f"{as_of.date()}.json")
    io.write_parquet(listing, out_dir / "retention_list.parquet")
    io.write_csv(listing, out_dir / "retention_list.csv")
    # Every row of the run accounted for, per table: pulled = kept + set aside (validation checks it).
    accounting = {t: {"pulled": v["rows"], "kept": v["kept_rows"], "set_aside": v["bad_rows"]}
                  for t, v in io.read_json(ws.validation_summary)["tables"].items()}
    decisions = plan.attrs["summary"]
    summary = _list_summary(listing) | {"model": scored_run["model"], "as_of": str(as_of.date()), "out": str(out_dir),
                                        "rows_set_aside": {t: a["set_aside"] for t, a in accounting.items()},
                                        "quarantine": str(ws.quarantine), "row_accounting": accounting,
                                        "budget": decisions["budget"], "budget_used": decisions["budget_used"],
                                        "expected_value_retained": decisions["expected_value_retained"],
                                        "winback": decisions["winback"], "decisions": decisions}
    summary["model_grade"] = scored_run["model_grade"]
    summary["model_kind"] = scored_run.get("model_kind", "lightgbm")  # (a scored list from before kinds: the model)
    summary["model_refit"] = scored_run.get("model_refit")  # (a scored list from before refits has none)
    summary["model_holdout"] = scored_run.get("model_holdout")
    summary["value"] = scored_run["value"]
    summary["drift"] = scored_run.get("drift")  # (a scored list from before drift checks has none)
    summary["uplift"] = uplift
    summary["causes_explained_for_the_plan"] = {"customers": explained_here, "rounds": rounds}
    summary["action_effects"] = effect_sources(cfg.decide, uplift, measured)
    last = _earlier_runs(out_dir / "runs", as_of, keep=1)
    summary["lifecycle"] = lifecycle_flows(next(iter(last.values()), None), listing, max(last, default=None))
    io.write_json(summary, ws.plan_summary)
    return summary


def _name_causes(cfg: Config, ws: Workspace, scored: pd.DataFrame, customers: list[str], population: dict,
                 loaded: dict) -> pd.DataFrame:
    """`churn.score.name_causes` with the model the score kept and the scoring features (read once, kept in
    `loaded`), and the English reasons of the customers named."""
    from churn.model import load_scoring_model
    from churn.report import render_reasons
    from churn.score import name_causes

    if not loaded:
        loaded["model"] = load_scoring_model(ws.score_model)
        loaded["features"] = io.read_parquet(ws.scoring_features)
    out = name_causes(scored, loaded["features"], loaded["model"], cfg.explain, cfg.features.trend_window, population,
                      customers)
    rows = out["customer_id"].astype("string").isin(customers).to_numpy()
    out.loc[rows, "reasons"] = render_reasons(out.loc[rows, "reason_codes"], "en").to_numpy()
    return out


def run_report(cfg: Config, ws: Workspace, as_of: pd.Timestamp, out_dir: Path) -> dict:
    """The managers' report of the run: the HTML page and, if configured, the Excel workbook."""
    from churn.action import load_playbook, service_policy
    from churn.data import point_in_time
    from churn.report import render_html, satisfaction_analysis, write_excel

    summary = _needed(ws.plan_summary, as_of, "decide")
    listing = io.read_parquet(out_dir / "retention_list.parquet")
    earlier = _earlier_runs(out_dir / "runs", as_of)
    realised = _made_for(ws.monitor_summary, as_of)  # what `run_monitor` measured on earlier runs, if it ran
    satisfaction = None
    history, _ = point_in_time(io.read_tables(ws.validated, ("surveys", "tickets")), as_of)
    if history:  # the satisfaction and complaints section: only where surveys or tickets were pulled
        examples = (io.read_parquet(ws.examples, ["churned", "complaints_*_365", "resolution_days_365"])
                    if ws.examples.exists() else None)
        satisfaction = satisfaction_analysis(history.get("surveys"), history.get("tickets"), listing, examples, as_of)
    playbook = load_playbook(cfg.score.playbook)
    policy = (service_policy(playbook), {name: action.label for name, action in playbook.actions.items()})
    html = render_html(listing, summary, cfg.report.language, cfg.report.mask_personal, cfg.report.currency,
                       earlier, realised, satisfaction, policy, cfg.report.list_all_up_to)
    with io.atomic_path(out_dir / "report.html") as tmp:
        tmp.write_text(html, encoding="utf-8")
    written = [str(out_dir / "report.html")]
    if cfg.report.excel:
        with io.atomic_path(out_dir / "retention_list.xlsx") as tmp:
            write_excel(listing, tmp, cfg.report.language, cfg.report.mask_personal, cfg.report.currency, earlier,
                        satisfaction, policy, summary.get("lifecycle"), cfg.report.list_all_up_to)
        written.append(str(out_dir / "retention_list.xlsx"))
    return {"as_of": str(as_of.date()), "language": cfg.report.language, "files": written}


def _earlier_runs(runs_dir: Path, as_of: pd.Timestamp, keep: int | None = None) -> dict[str, pd.DataFrame]:
    """The archived lists of the runs before `as_of` (runs/<as-of>.parquet), by as-of date: the `keep` latest,
    by default those the report shows."""
    from churn.report import RUN_COLUMNS, STRUCTURE_DIMENSIONS, TREND_RUNS

    dates = sorted(p.stem for p in runs_dir.glob("*.parquet") if _is_date(p.stem) and p.stem < str(as_of.date()))
    runs = {}
    for date in dates[-(keep or TREND_RUNS - 1):]:
        run = io.read_parquet(runs_dir / f"{date}.parquet")
        # the changes since (RUN_COLUMNS, lapsed) and the customer structure's dimensions and value then
        runs[date] = run[[c for c in (*RUN_COLUMNS, "lapsed", *STRUCTURE_DIMENSIONS, "value_12m") if c in run.columns]]
    return runs


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def run_publish(cfg: Config, ws: Workspace, as_of: pd.Timestamp, out_dir: Path) -> dict:
    """Publish the list to the configured database table (if any), write run_summary.json and log the run
    to MLflow. The database run id is the as-of date: re-publishing a date replaces its rows."""
    from churn.monitor import drift_metrics
    from churn.ops import tracking

    summary = _needed(ws.plan_summary, as_of, "decide")
    summary["realised"] = _realised_of(ws, as_of)
    summary["files"] = {"Retention list": str(out_dir / "retention_list.csv"), "Report": str(out_dir / "report.html"),
                        "Run summary": str(out_dir / "run_summary.json"),
                        **({"Realised performance": str(ws.realised)} if (summary["realised"] or {}).get("runs")
                           else {})}
    publish_url = os.environ.get("CHURN_PUBLISH_URL") or cfg.publish.url
    if publish_url:
        listing = io.read_parquet(out_dir / "retention_list.parquet")
        summary["published"] = io.publish_retention_list(listing, publish_url, str(as_of.date()), cfg.publish.table,
                                                         chunksize=cfg.publish.chunksize, retries=cfg.publish.retries,
                                                         retry_delay_seconds=cfg.publish.retry_delay_seconds)
    io.write_json(summary, out_dir / "run_summary.json")
    summary["mlflow_run_id"] = tracking.log_scoring(
        cfg.tracking,
        {"as_of": str(as_of.date()), "model": summary["model"], "source": shown_location(cfg.source.location)},
        {k: summary[k] for k in ("customers_scored", "customers_at_risk", "value_at_risk", "budget_used",
                                 "expected_value_retained", "customers_lapsed", "value_lapsed") if k in summary}
        | ({"winback_budget_used": summary["winback"]["budget_used"]} if summary.get("winback") else {})
        | drift_metrics(summary.get("drift"))
        | ({"realised_alerts": len(summary["realised"]["alerts"])} if summary["realised"] else {})
        | {"rows_set_aside": sum(summary["rows_set_aside"].values())}
        | {f"rows_{count}.{table}": n for table, counts in summary["row_accounting"].items()
           for count, n in counts.items()},
        [out_dir / "retention_list.csv", out_dir / "run_summary.json",
         *([ws.drift] if summary.get("drift") and ws.drift.exists() else [])],
        tracking.lineage_tags(_lineage_config(cfg)),
        tracking.history_datasets(shown_location(cfg.source.location), ws.validated),
    )
    return summary


def _lineage_config(cfg: Config) -> dict:
    # the config a run's hash is taken of: its source shown as everywhere else, never with a password
    config = cfg.model_dump(mode="json", by_alias=True)
    config["source"]["location"] = shown_location(cfg.source.location)
    return config


def _realised_of(ws: Workspace, as_of: pd.Timestamp) -> dict | None:
    """The realised performance `run_monitor` measured for this run (without its per-run rows), else None."""
    monitored = _made_for(ws.monitor_summary, as_of)
    return {k: v for k, v in monitored.items() if k != "rows"} if monitored else None


def _needed(summary_path: Path, as_of: pd.Timestamp, stage: str) -> dict:
    """The summary of an earlier stage of this run, which this stage cannot do without."""
    summary = _made_for(summary_path, as_of)
    if summary is None:
        raise FileNotFoundError(f"no output of the {stage} stage for {as_of.date()} ({summary_path}): "
                                f"run `churn stage {stage}` first")
    return summary


def _made_for(summary_path: Path, as_of: pd.Timestamp) -> dict | None:
    """A stage's summary when its output was made for this as-of date, else None: a stale output
    from another date is never used."""
    summary = io.read_json(summary_path) if summary_path.exists() else None
    return summary if summary and summary.get("as_of") == str(as_of.date()) else None


def run_demo_check(cfg: Config, ws: Workspace, truth_path: Path) -> dict:
    """Demo only: how often primary_cause names the true cause of the holdout's churners, and how well the
    scored customers' need profiles agree with their true needs (`needs`)."""
    from churn.ops import tracking
    from churn.score import cause_check, cause_metrics, need_check, need_metrics

    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    examples = io.read_parquet(ws.examples)
    holdout = examples[examples["role"] == "test"].reset_index(drop=True)
    # The holdout is explained by the fit that has not seen it (a refit model has: its judged fit), beside the
    # baseline for causes, as the model has its baselines: what the symptoms alone would name.
    truth = io.read_parquet(truth_path)
    result = cause_check(model.judged or model, holdout, truth, cfg.explain, cfg.features.trend_window)
    io.write_json(result, ws.metrics / "cause_check.json")
    needs = need_check(io.read_parquet(ws.scored_list), truth)
    io.write_json(needs, ws.metrics / "need_check.json")
    reg = io.read_json(ws.registered)
    tracking.log_to_run(reg["run_id"], cfg.tracking, cause_metrics(result) | need_metrics(needs),
                        [ws.metrics / "cause_check.json", ws.metrics / "need_check.json"])
    return result | {"needs": needs}


def _list_summary(listing: pd.DataFrame) -> dict:
    # at risk: customers who can still be kept; lapsed customers are the win-back list
    lapsed, at_risk = lapsed_flags(listing), at_risk_flags(listing)
    return {
        "customers_scored": len(listing),
        "customers_at_risk": int(at_risk.sum()),
        "value_at_risk": round(float(listing.loc[at_risk, "expected_loss"].sum()), 2),
        "customers_lapsed": int(lapsed.sum()),
        "value_lapsed": round(float(listing.loc[lapsed, "expected_loss"].sum()), 2),
        "risk_bands": listing["risk_band"].value_counts().to_dict(),
        "primary_causes_at_risk": listing.loc[at_risk, "primary_cause"].value_counts().to_dict(),
    }


def _text_objects(df: pd.DataFrame) -> pd.DataFrame:
    # Mixed-type object columns (ids as numbers and text) cannot go to Parquet as they are.
    obj = [c for c in df.columns if df[c].dtype == object]
    return df.astype({c: "string" for c in obj}) if obj else df


