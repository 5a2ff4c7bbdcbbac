"""`churn` command line: demo, train, score, validate, serve, and the DVC stage entry points."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from churn.console import (
    console,
    err_console,
    metrics_table,
    print_backtest,
    print_demo,
    print_effect,
    print_mapping,
    print_monitor,
    print_scoring,
    print_stage,
    print_training,
    print_validation,
    print_weekly_drift,
)

# Offline machines: Prefect otherwise reports telemetry errors on every start.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

app = typer.Typer(help="Churn prediction and retention recommendations.", no_args_is_help=True,
                  pretty_exceptions_enable=False,
                  epilog="Exit status: 0 success; 1 a data, config or source error; 2 a usage error; 3 a gate set to "
                         "fail the run (monitor.fail_on_drift).")
stage_app = typer.Typer(help="Run one pipeline stage (what dvc.yaml calls).", no_args_is_help=True)
app.add_typer(stage_app, name="stage")



def _file(value: str) -> str:
    """A file option (a config): a folder given instead is a usage error. Kept as text, as the flows take it."""
    if Path(value).is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file")
    return value


def _folder(value: str) -> str:
    """A folder option (created when missing): a file given instead is a usage error. Kept as text."""
    if Path(value).is_file():
        raise typer.BadParameter(f"{value} is a file; give a folder (it is created when missing)")
    return value


ConfigOpt = Annotated[str, typer.Option("--config", "-c", parser=_file, metavar="FILE", help="Config file.")]
DataOpt = Annotated[str | None, typer.Option("--data", metavar="FOLDER|URL", help="A folder of canonical files or a database URL.")]
def _iso_date(value: str | None) -> str | None:
    """A date option: YYYY-MM-DD, refused as a usage error (exit 2) otherwise."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: write it as YYYY-MM-DD") from None


AsOfOpt = Annotated[str | None, typer.Option("--as-of", metavar="YYYY-MM-DD", callback=_iso_date,
                                             help="Use only data before this date (default: today).")]
HorizonOpt = Annotated[int | None, typer.Option("--horizon-days", help="Churn horizon in days.")]
ActiveOpt = Annotated[int | None, typer.Option("--active-days", help="A customer is active with an order in these days.")]
WorkOpt = Annotated[str, typer.Option("--workdir", parser=_folder, metavar="FOLDER", help="Folder for intermediate files (and logs/churn.log).")]
OutOpt = Annotated[str, typer.Option("--out", parser=_folder, metavar="FOLDER", help="Folder for the retention list.")]
ModelOpt = Annotated[str, typer.Option("--model", metavar="URI|FOLDER", help="Model URI or local MLflow model folder.")]

DEFAULT_CONFIG = "configs/params.yaml"
DEFAULT_WORKDIR = "data/work"
DEMO_DB = Path("data/demo/history.db")
DEMO_TRUTH = Path("data/demo/truth.parquet")  # ground truth for checks; the pipeline never reads it
LOG_FILE = Path("logs") / "churn.log"  # under the command's --workdir
# Exit statuses a scheduler can act on: 0 success; 1 an expected error (bad data, config, source, no model), as
# for any failed run; 2 a command line Click cannot parse ("the call is wrong"); 3 a gate the config asks to
# fail the run (`monitor.fail_on_drift`): the list was written, but should not be used before someone looks.
ERROR_EXIT = 1
USAGE_EXIT = 2
GATE_EXIT = 3
# Command options naming folders churn writes to: each must stay in the project (or CHURN_ALLOWED_ROOTS).
WRITTEN_FOLDERS = {"workdir": "--workdir", "out": "--out", "models": "--models", "metrics": "--metrics",
                   "export_dir": "--export-dir"}

# Set by the app's callback (`churn --verbose ...`) and by each command while it runs.
_run: dict = {"verbose": False, "progress": None, "server": None}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"churn {version('churn')}")
        raise typer.Exit()


@app.callback()
def _options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's log lines and full tracebacks.")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (for scheduled jobs: the "
                                                              "exit status and the run's files say how it went).")]
    = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print churn's version and exit.")] = False,
) -> None:
    console.quiet = quiet and not verbose  # set on every invocation: one in-process run does not silence the next
    if verbose and quiet:
        raise typer.BadParameter("--verbose and --quiet do not go together", param_hint="--quiet")
    _run["verbose"] = verbose


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors the project raises on purpose: they print one clear line, no traceback."""
    from churn.data import ContractError, DataQualityError
    from churn.extras import MissingExtra
    from churn.ops import PublishError, RunInProgress, SourceError
    from churn.terminal import OrchestratorUnavailable

    return (SourceError, PublishError, RunInProgress, ContractError, DataQualityError, OrchestratorUnavailable,
            MissingExtra, LookupError, FileNotFoundError, ValueError)


def _exit_status(err: BaseException) -> int:
    from churn.monitor import DriftAlarm

    return GATE_EXIT if isinstance(err, DriftAlarm) else ERROR_EXIT


def _command(fn):
    """A CLI command: logs routed for a person (terminal.session); expected errors as one line and exit ERROR_EXIT."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        from churn import terminal
        from churn.ops import OutsideProjectError, confine_folders

        try:  # before anything is written, the log file included
            confine_folders({what: kwargs.get(option) for option, what in WRITTEN_FOLDERS.items()})
        except OutsideProjectError as err:
            err_console.print(f"[bold red]error:[/] {err}", highlight=False)
            raise typer.Exit(ERROR_EXIT) from None
        log_file = Path(kwargs.get("workdir") or DEFAULT_WORKDIR) / LOG_FILE
        with terminal.session(console, verbose=_run["verbose"], log_file=log_file) as progress:
            _run["progress"] = progress
            try:
                return fn(*args, **kwargs)
            except _expected_errors() as err:
                if _run["verbose"]:
                    traceback.print_exc()
                err_console.print(f"[bold red]error:[/] {err}", highlight=False)
                if progress.failed_flow_run:
                    err_console.print(f"[dim]Prefect flow run {progress.failed_flow_run!r} failed; its full log is in "
                                      f"{log_file} (or run with --verbose).[/]", highlight=False)
                raise typer.Exit(_exit_status(err)) from None
            finally:
                _run["progress"] = None
                if _run.get("server") is not None:  # stopped here, while Prefect's lines are still routed
                    terminal.stop_prefect_server(_run.pop("server"))

    return run


def _flow(flow, title: str, **params):
    """Run a Prefect flow with its stages shown as they go (Prefect's own lines only with --verbose)."""
    from churn.ops import move_password_to_environment
    from churn.terminal import ensure_prefect_api
    from pipelines.common import load

    if params.get("data"):  # Prefect stores a flow's parameters: a typed password goes in as a reference
        params["data"] = move_password_to_environment(params["data"])
    # A broken config is refused before Prefect's server is started (the flow loads it again).
    cfg = load(params["config"], params.get("data"), params.get("horizon_days"), params.get("active_days"))
    flow = flow.with_options(timeout_seconds=cfg.schedule.flow_timeout_minutes * 60)
    with console.status("Connecting to Prefect") as status:
        _run["server"] = ensure_prefect_api(on_start=lambda wait: status.update(
            f"Starting Prefect's local server (the first run on a machine sets up its database; "
            f"waiting up to {wait} s)"))
        status.update(title)
        console.print(f"[bold]{title}[/]")
        progress = _run["progress"]
        if progress is not None:
            progress.status = status
        try:
            with _on_engine(flow, cfg) as flow:
                return flow(**params)
        finally:
            if progress is not None:
                progress.status = None


@contextlib.contextmanager
def _on_engine(flow, cfg):
    """`flow` on the configured engine: itself, or with the Dask engine on one cluster for the whole run (the flow's
    tasks and the stages' parts), workers knowing the Prefect server this run reports to."""
    from churn.cluster import running_cluster
    from pipelines.common import on_cluster

    if cfg.engine.kind == "dask" and _run.get("server") is not None:  # workers are other processes: told by env
        os.environ.setdefault("PREFECT_API_URL", _run["server"].server.api_url)
    with running_cluster(cfg.engine) as scheduler:  # None with the local engine: the flow as it is
        yield on_cluster(flow, scheduler)


@app.command()
@_command
def demo(
    config: ConfigOpt = DEFAULT_CONFIG,
    customers: Annotated[int | None, typer.Option(help="Customers in the sample business.")] = None,
    weeks: Annotated[int, typer.Option(help="Instead: N weekly scoring runs, the last a horizon before the demo's "
                                            "end, after a deliberate shift (demo.shift), then `churn monitor`.")] = 0,
    export: Annotated[str | None, typer.Option(
        help="Instead: only write the sample business as this CRM's export files (zoho_crm or fxiaoke), to try "
             "`churn map` and configs/sources/<crm>.yaml on.")] = None,
    export_dir: Annotated[str | None, typer.Option(parser=_folder, metavar="FOLDER", help="Folder for --export (default: data/exports/<crm>).")] = None,
    workdir: WorkOpt = "data/work",
    out: OutOpt = "data/retention",
) -> None:
    """Write the sample pharmaceutical distributor, train, score and check the causes."""
    from churn.config import load_config
    from churn.data import CRM_SYSTEMS
    from churn.ops import Workspace
    from churn.runners import run_demo_check, run_demo_data, run_demo_export
    from pipelines.scoring import scoring_flow
    from pipelines.training import training_flow

    cfg = load_config(config, **{"demo.n_customers": customers})
    if export is not None:
        if export not in CRM_SYSTEMS:
            raise typer.BadParameter(f"{export!r}: choose one of {', '.join(CRM_SYSTEMS)}", param_hint="--export")
        folder = Path(export_dir or f"data/exports/{export}")
        with console.status(f"Writing the sample business ({cfg.demo.n_customers:,} customers) as a {export} export"):
            written = run_demo_export(cfg, export, folder)
        print_stage("demo-export", written)
        return None
    if weeks:
        return _demo_weeks(cfg, config, weeks, workdir, out)
    as_of = cfg.demo.end.isoformat()
    with console.status(f"Writing the sample business ({cfg.demo.n_customers:,} customers) to {DEMO_DB}"):
        counts = run_demo_data(cfg, DEMO_DB, DEMO_TRUTH)
    print_stage("demo-data", {"path": str(DEMO_DB), "rows": counts})
    data = f"sqlite:///{DEMO_DB}"
    trained = _flow(training_flow, f"Training as of {as_of}", config=config, data=data, as_of=as_of, workdir=workdir)
    scored = _flow(scoring_flow, f"Scoring as of {as_of}", config=config, data=data, as_of=as_of, out=out,
                   workdir=workdir)
    check = run_demo_check(cfg, Workspace(Path(workdir)), DEMO_TRUTH)
    print_demo(trained, check, scored["list"], out)


def _demo_weeks(cfg, config: str, weeks: int, workdir: str, out: str) -> None:
    """`churn demo --weeks N`: the sample business with a deliberate shift, a model trained before the first
    run, N weekly scoring runs (each checks drift), then what each run achieved once its horizon passed."""
    import pandas as pd

    from churn.data import weekly_runs
    from churn.ops import Workspace
    from churn.runners import run_demo_data, run_monitor
    from pipelines.scoring import scoring_flow
    from pipelines.training import training_flow

    runs, shift_from = weekly_runs(cfg.demo, cfg.labels.horizon_days, weeks)
    shift = cfg.demo.shift
    with console.status(f"Writing the sample business ({cfg.demo.n_customers:,} customers) to {DEMO_DB}"):
        counts = run_demo_data(cfg, DEMO_DB, DEMO_TRUTH, shift_from)
    print_stage("demo-data", {"path": str(DEMO_DB), "rows": counts})
    console.print(f"Deliberate shift: from {shift_from} the order sizes of region {shift.region} x{shift.factor:g} "
                  f"({counts['shifted_orders']:,} orders).")
    data = f"sqlite:///{DEMO_DB}"
    trained = _flow(training_flow, f"Training as of {runs[0]}", config=config, data=data, as_of=str(runs[0]),
                    workdir=workdir)
    print_training(trained)
    # The model just trained scores every week, champion or not: one trained on later data would have seen
    # the outcomes the realised figures measure.
    model = str(Workspace(Path(workdir)).model_dir)
    scored = []
    for day in runs:
        result = _flow(scoring_flow, f"Weekly scoring run as of {day}", config=config, data=data, as_of=str(day),
                       model=model, out=out, workdir=workdir)
        scored.append(result["list"])
    print_weekly_drift(scored)
    ws = Workspace(Path(workdir))
    result = run_monitor(cfg, ws, pd.Timestamp(cfg.demo.end), Path(out) / "runs")
    print_monitor(result)
    console.print(f"Realised table {ws.realised}, plot {ws.realised_plot}; each run's drift in its run summary "
                  f"and MLflow run; the list and report in {out}/ are the last run's ({runs[-1]}).")


@app.command()
@_command
def train(
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    horizon_days: HorizonOpt = None,
    active_days: ActiveOpt = None,
    workdir: WorkOpt = "data/work",
) -> None:
    """Pull, validate, build features, train, evaluate and register a model (Prefect flow)."""
    from pipelines.training import training_flow

    result = _flow(training_flow, "Training", config=config, data=data, as_of=as_of, horizon_days=horizon_days,
                   active_days=active_days, workdir=workdir)
    print_training(result)


@app.command()
@_command
def score(
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    out: OutOpt = "data/retention",
    model: ModelOpt = "models:/churn@champion",
    horizon_days: HorizonOpt = None,
    active_days: ActiveOpt = None,
    workdir: WorkOpt = "data/work",
) -> None:
    """Score every active customer and write the ranked retention list (Prefect flow)."""
    from pipelines.scoring import scoring_flow

    result = _flow(scoring_flow, "Scoring", config=config, data=data, as_of=as_of, model=model, out=out,
                   horizon_days=horizon_days, active_days=active_days, workdir=workdir)
    print_scoring(result["list"])


@app.command(name="map")
@_command
def map_exports(
    folder: Annotated[Path, typer.Argument(help="The folder of CRM export files (CSV, Excel, Parquet).")],
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, metavar="FILE",
                                             help="Write the proposed mapping to this config file.")] = None,
    config: Annotated[str, typer.Option("--config", "-c", parser=_file, metavar="FILE", help="The config the written one extends.")] = DEFAULT_CONFIG,
) -> None:
    """Propose how a folder of CRM exports (Zoho CRM, 纷享销客, spreadsheets) maps onto churn's tables."""
    from churn.runners import run_map

    result = run_map(folder, out, Path(config))
    print_mapping(result)
    if not result["proposal"].complete():
        raise typer.Exit(ERROR_EXIT)


@app.command()
@_command
def validate(config: ConfigOpt = DEFAULT_CONFIG, data: DataOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Pull and validate the history only; print what was kept and set aside."""
    from churn.runners import run_pull, run_validate

    cfg, ws = _stage_inputs(config, workdir, **{"source.location": data})
    run_pull(cfg, ws)
    summary = run_validate(cfg, ws)
    print_validation(summary, ws)


@app.command()
@_command
def backtest(
    start: Annotated[str, typer.Option("--from", metavar="YYYY-MM-DD", callback=_iso_date, help="First as-of date.")],
    end: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", callback=_iso_date, help="Last as-of date.")],
    every: Annotated[str | None, typer.Option("--every", help="Spacing: 30d or 1m (default: backtest.every).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = None,
    horizon_days: HorizonOpt = None,
    active_days: ActiveOpt = None,
    out: Annotated[str, typer.Option("--out", parser=_folder, metavar="FOLDER", help="Folder for the backtest table and plots.")] = "metrics/backtest",
    workdir: WorkOpt = "data/work",
) -> None:
    """Train, score and evaluate at every as-of date from --from to --to (Prefect flow)."""
    from pipelines.backtest import backtest_flow

    result = _flow(backtest_flow, f"Backtest from {start} to {end}", start=start, end=end, every=every,
                   config=config, data=data, horizon_days=horizon_days, active_days=active_days, out=out,
                   workdir=workdir)
    print_backtest(result, out)


@app.command()
@_command
def effect(
    as_of: Annotated[str, typer.Option("--as-of", metavar="YYYY-MM-DD", callback=_iso_date,
                                       help="Date of the earlier scoring run (or campaign) to measure.")],
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = None,
    runs: Annotated[str, typer.Option("--runs", parser=_folder, metavar="FOLDER", help="Folder of earlier runs' lists (score --out + /runs).")]
    = "data/retention/runs",
    out: Annotated[str, typer.Option("--out", parser=_folder, metavar="FOLDER", help="Folder for the effects table.")] = "metrics/effects",
    horizon_days: HorizonOpt = None,
    workdir: WorkOpt = "data/work",
    models: Annotated[str, typer.Option("--models", parser=_folder, metavar="FOLDER", help="Folder of the model and the evidence file.")] = "models",
) -> None:
    """Once a run's horizon has passed: churn of contacted vs held-out customers per action and cause,
    with confidence intervals; logged to MLflow and kept as evidence for the next contact plans."""
    import pandas as pd

    from churn.config import load_config
    from churn.ops import Workspace
    from churn.runners import run_effect

    cfg = load_config(config, **{"source.location": data, "labels.horizon_days": horizon_days})
    ws = Workspace(Path(workdir), Path(models))
    _pull_history(cfg, ws)
    result = run_effect(cfg, ws, pd.Timestamp(as_of), Path(runs), Path(out))
    print_effect(result, cfg.effects.confidence, cfg.labels.horizon_days)


@app.command()
@_command
def monitor(
    config: ConfigOpt = DEFAULT_CONFIG,
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    runs: Annotated[str, typer.Option("--runs", parser=_folder, metavar="FOLDER", help="Folder of earlier runs' lists (score --out + /runs).")]
    = "data/retention/runs",
    horizon_days: HorizonOpt = None,
    workdir: WorkOpt = "data/work",
    metrics: Annotated[str, typer.Option("--metrics", parser=_folder, metavar="FOLDER", help="Folder for the realised table and plot (+ /monitor).")]
    = "metrics",
) -> None:
    """What the model achieved on every archived scoring run whose horizon has passed: ROC-AUC, PR-AUC, Brier,
    calibration, top-10% lift, the causes of those who left and contacted vs held-out churn; alerts when
    realised ROC-AUC falls more than monitor.auc_margin below the figure the model was promoted with."""
    from churn.config import load_config
    from churn.ops import Workspace
    from churn.runners import resolve_as_of, run_monitor

    cfg = load_config(config, **{"source.location": data, "labels.horizon_days": horizon_days})
    ws = Workspace(Path(workdir), metrics=Path(metrics))
    _pull_history(cfg, ws)
    result = run_monitor(cfg, ws, resolve_as_of(cfg, as_of), Path(runs))
    print_monitor(result)
    if result["runs"]:
        console.print(f"Table {ws.realised}, causes {ws.realised_causes}, plot {ws.realised_plot}")


def _pull_history(cfg, ws) -> None:
    """Pull and validate the history that `churn effect` and `churn monitor` judge past runs against."""
    from churn.runners import run_pull, run_validate

    with console.status("Pulling and validating the history"):
        run_pull(cfg, ws)
        run_validate(cfg, ws)


@app.command()
@_command
def promote(
    version: Annotated[str, typer.Argument(help="Model version to make the champion.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept with the version).")],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: your user name).")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Make a model version the champion by hand; who and why are logged."""
    import getpass

    from churn.config import load_config
    from churn.runners import run_promote

    record = run_promote(load_config(config), version, by or getpass.getuser(), reason)
    print_stage("promote", record)


@app.command()
@_command
def serve(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Serve the training and scoring flows on their cron schedules (needs a Prefect server)."""
    from churn.config import load_config
    from pipelines.serve import serve as serve_flows

    cfg = load_config(config)
    console.print(f"Serving churn-training ({cfg.schedule.training_cron}) and churn-scoring "
                  f"({cfg.schedule.scoring_cron}), {cfg.schedule.timezone}. Ctrl-C stops.")
    serve_flows(cfg.schedule, config, cfg.engine)


@stage_app.command("demo-data")
@_command
def stage_demo_data(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Write the sample business into data/demo/."""
    from churn.config import load_config
    from churn.runners import run_demo_data

    print_stage("demo-data", {"path": str(DEMO_DB), "rows": run_demo_data(load_config(config), DEMO_DB, DEMO_TRUTH)})


def _stage_inputs(config: str, workdir: str, **overrides) -> tuple:
    """What every stage command starts from: the config, loaded once (with any flag overrides), and the
    workspace its files live in."""
    from churn.config import load_config
    from churn.ops import Workspace

    return load_config(config, **overrides), Workspace(Path(workdir))


@stage_app.command("pull")
@_command
def stage_pull(config: ConfigOpt = DEFAULT_CONFIG, data: DataOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Pull the history from the source into the workspace (raw tables)."""
    from churn.runners import run_pull

    cfg, ws = _stage_inputs(config, workdir, **{"source.location": data})
    print_stage("pull", run_pull(cfg, ws))


@stage_app.command("validate")
@_command
def stage_validate(config: ConfigOpt = DEFAULT_CONFIG, workdir: WorkOpt = "data/work") -> None:
    """Validate the pulled tables against the contract; set bad rows aside with their reasons."""
    from churn.runners import run_validate

    cfg, ws = _stage_inputs(config, workdir)
    print_validation(run_validate(cfg, ws), ws)


@stage_app.command("features")
@_command
def stage_features(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Training examples and scoring features as of the date."""
    from churn.runners import resolve_as_of, run_scoring_features, run_training_features

    cfg, ws = _stage_inputs(config, workdir)
    day = resolve_as_of(cfg, as_of)
    print_stage("features", {"training": run_training_features(cfg, ws, day),
                             "scoring": run_scoring_features(cfg, ws, day)})


@stage_app.command("value")
@_command
def stage_value(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, workdir: WorkOpt = "data/work") -> None:
    """12-month value forecast and key accounts as of the date."""
    from churn.runners import resolve_as_of, run_value

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("value", run_value(cfg, ws, resolve_as_of(cfg, as_of)))


@stage_app.command("effects")
@_command
def stage_effects(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Uplift per action from the campaigns table, for the customers being scored."""
    from churn.runners import resolve_as_of, run_effects

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("effects", run_effects(cfg, ws, resolve_as_of(cfg, as_of)))


@stage_app.command("train")
@_command
def stage_train(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Train and evaluate the model against the baselines on the training examples (with no complete window
    yet: the BG/NBD fallback, fitted on the customers active at the as-of date)."""
    from churn.runners import resolve_as_of, run_train

    cfg, ws = _stage_inputs(config, workdir)
    print_training({"metrics": run_train(cfg, ws, resolve_as_of(cfg, as_of))})


@stage_app.command("register")
@_command
def stage_register(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, workdir: WorkOpt = "data/work") -> None:
    """Log the training run to MLflow and register the model (champion only if it earns it)."""
    from churn.runners import resolve_as_of, run_register

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("register", run_register(cfg, ws, resolve_as_of(cfg, as_of)))


@stage_app.command("backtest")
@_command
def stage_backtest(config: ConfigOpt = DEFAULT_CONFIG, workdir: WorkOpt = "data/work",
                   out: Annotated[str, typer.Option("--out", parser=_folder, metavar="FOLDER",
                                                    help="Folder for the backtest table and plots.")]
                   = "metrics/backtest") -> None:
    """The backtest between backtest.start and backtest.end on the validated tables."""
    import pandas as pd

    from churn.runners import run_backtest

    cfg, ws = _stage_inputs(config, workdir)
    if not (cfg.backtest.start and cfg.backtest.end):
        raise ValueError("set backtest.start and backtest.end in the config for `churn stage backtest`")
    result = run_backtest(cfg, ws, pd.Timestamp(cfg.backtest.start),
                          pd.Timestamp(cfg.backtest.end), None, Path(out))
    console.print(metrics_table("Backtest, pooled over all dates", result["pooled"]))


@stage_app.command("score")
@_command
def stage_score(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, model: ModelOpt = "models/churn_model",
                workdir: WorkOpt = "data/work") -> None:
    """Risk, value, loss cause and reasons of every active customer (the scored list)."""
    from churn.runners import resolve_as_of, run_score

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("score", run_score(cfg, ws, resolve_as_of(cfg, as_of), model))


@stage_app.command("decide")
@_command
def stage_decide(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, out: OutOpt = "data/retention",
                 workdir: WorkOpt = "data/work") -> None:
    """The playbook's actions and the contact plan: the retention list."""
    from churn.runners import resolve_as_of, run_decide

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("decide", run_decide(cfg, ws, resolve_as_of(cfg, as_of), Path(out)))


@stage_app.command("monitor")
@_command
def stage_monitor(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None,
                  runs: Annotated[str, typer.Option("--runs", parser=_folder, metavar="FOLDER", help="Folder of earlier runs' lists.")]
                  = "data/retention/runs", workdir: WorkOpt = "data/work") -> None:
    """Realised performance of the archived runs whose horizon has passed (metrics/monitor)."""
    from churn.runners import resolve_as_of, run_monitor

    cfg, ws = _stage_inputs(config, workdir)
    print_monitor(run_monitor(cfg, ws, resolve_as_of(cfg, as_of), Path(runs)))


@stage_app.command("report")
@_command
def stage_report(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, out: OutOpt = "data/retention",
                 workdir: WorkOpt = "data/work") -> None:
    """The managers' report (HTML and workbook) of the retention list."""
    from churn.runners import resolve_as_of, run_report

    cfg, ws = _stage_inputs(config, workdir)
    print_stage("report", run_report(cfg, ws, resolve_as_of(cfg, as_of), Path(out)))


@stage_app.command("publish")
@_command
def stage_publish(config: ConfigOpt = DEFAULT_CONFIG, as_of: AsOfOpt = None, out: OutOpt = "data/retention",
                  workdir: WorkOpt = "data/work") -> None:
    """Publish the list (if publish.url is set), write run_summary.json, log the run to MLflow."""
    from churn.runners import resolve_as_of, run_publish

    cfg, ws = _stage_inputs(config, workdir)
    print_scoring(run_publish(cfg, ws, resolve_as_of(cfg, as_of), Path(out)))


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
