"""The CLI as a new user runs it: canonical folders, orders only, bad input."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import typer
from helpers import CONFIG, DEMO_AS_OF, ROOT, write_canonical_folder
from typer.testing import CliRunner

from churn.cli import ERROR_EXIT, GATE_EXIT, USAGE_EXIT, _command, app
from churn.data import ContractError
from churn.monitor import DriftAlarm
from churn.ops import ALLOWED_ROOTS_ENV, PublishError

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.parametrize("fmt, required_gain", [("csv", 0.0), ("parquet", 1.0)])
def test_train_then_score_on_an_orders_only_folder(prefect_server, tracking_uri, tmp_path, monkeypatch, fmt,
                                                   required_gain, fast_config, small_business):
    # The commands are called as functions: Prefect's log handler keeps the stream of the first
    # captured invocation and fails once it is closed. Argument parsing is covered below.
    from churn.cli import score, train

    monkeypatch.chdir(tmp_path)  # default output folders (models/, metrics/) land in the temp folder
    # required_gain 1.0: no model beats a baseline by a whole ROC-AUC point, so a baseline must be the champion
    config = tmp_path / "params.yaml"
    config.write_text(f"extends: {fast_config}\nevaluate:\n  min_gain_over_baseline: {required_gain}\n")

    orders = small_business[1]["orders"][["customer_id", "ts", "amount"]]
    data = write_canonical_folder({"orders": orders}, tmp_path / "shop", fmt)
    common = {"config": str(config), "data": data, "as_of": DEMO_AS_OF, "horizon_days": None, "active_days": None,
              "workdir": str(tmp_path / "work")}
    train(**common)
    assert (tmp_path / "models" / "churn_model" / "MLmodel").exists()
    registered = json.loads((tmp_path / "metrics" / "registered.json").read_text())
    holdout = json.loads((tmp_path / "metrics" / "train_metrics.json").read_text())["metrics"]
    # The first training's best candidate is the champion, whatever its kind, and it scores the list:
    # every active customer, ranked, with reasons.
    assert registered["alias"] == "champion", registered["decision"]
    kind = registered["decision"]["candidate"]
    candidates = ("model", "recency_rule", "rfm_logistic", "bgnbd")
    if required_gain:
        assert kind == max(candidates[1:], key=lambda c: holdout[f"{c}_roc_auc"]), registered["decision"]
    else:
        assert kind == max(candidates, key=lambda c: holdout[f"{c}_roc_auc"]), registered["decision"]
    score(**common, out=str(tmp_path / "out"), model="models:/churn@champion")
    listing = pd.read_csv(tmp_path / "out" / "retention_list.csv")
    features = pd.read_parquet(tmp_path / "work" / "features" / "scoring_features.parquet")
    assert len(listing) == len(features) > 0 and listing["expected_loss"].is_monotonic_decreasing
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["model_kind"] == {"model": "lightgbm"}.get(kind, kind)  # the report says it in its language
    if kind != "model":
        assert listing["model_version"].str.endswith(f"(baseline {kind}: best on the holdout)").all()
    assert listing["reasons"].notna().any()


def test_help_lists_the_day_to_day_commands():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0
    for command in ("demo", "train", "score", "validate", "serve", "stage"):
        assert command in out.output


def test_validate_reports_set_aside_rows(tmp_path):
    orders = pd.DataFrame({"customer_id": ["1", "2", "3"] * 20, "ts": ["2024-01-01"] * 59 + ["yesterday"],
                           "amount": [10] * 60, "colour": ["red"] * 60})
    data = write_canonical_folder({"orders": orders}, tmp_path / "shop")
    out = runner.invoke(app, ["validate", "--config", CONFIG, "--data", data, "--workdir", str(tmp_path / "w")])
    assert out.exit_code == 0, out.output
    assert "unparseable time: 1" in out.output and "colour" in out.output
    quarantine = pd.read_parquet(tmp_path / "w" / "quarantine.parquet")
    assert quarantine[["table", "row", "rule", "column", "value"]].values.tolist() == [
        ["orders", 59, "unparseable time", "ts", "yesterday"]]


def test_bad_input_exits_1_with_a_clear_message(tmp_path):
    pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"]}).to_csv(tmp_path / "orders.csv", index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "churn.cli", "validate", "--config", CONFIG, "--data", str(tmp_path),
         "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == ERROR_EXIT, proc.stdout + proc.stderr
    assert "error: table `orders` is missing required column(s) ['amount']" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_usage_error_exits_2():
    out = runner.invoke(app, ["score", "--no-such-option"])
    assert out.exit_code == USAGE_EXIT and "No such option" in out.output


def _raises(err):
    raise err


@pytest.mark.parametrize("outcome, status", [
    (lambda: None, 0),
    (lambda: _raises(ContractError("table `orders` is missing required column(s) ['amount']")), ERROR_EXIT),
    (lambda: _raises(PublishError("publishing run '2026-10-01' failed")), ERROR_EXIT),
    (lambda: _raises(DriftAlarm("drift alarm against the training data: recency_days (PSI 0.41)")), GATE_EXIT),
])
def test_exit_status_tells_a_scheduler_what_happened(tmp_path, outcome, status):
    @_command
    def command(workdir: str):
        return outcome()

    if status == 0:
        command(workdir=str(tmp_path))
        return
    with pytest.raises(typer.Exit) as stopped:
        command(workdir=str(tmp_path))
    assert stopped.value.exit_code == status


def test_an_unset_secret_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("CHURN_TEST_UNSET", raising=False)
    out = runner.invoke(app, ["validate", "--config", CONFIG, "--data", "postgresql+psycopg://churn:${CHURN_TEST_UNSET}"
                              "@127.0.0.1:1/crm", "--workdir", str(tmp_path / "w")])
    assert out.exit_code == ERROR_EXIT, out.output
    assert "refers to ${CHURN_TEST_UNSET}, which is not set in the environment" in " ".join(out.output.split())


@pytest.mark.parametrize("option", ["--workdir", "--out"])
def test_folders_outside_the_project_are_refused_before_anything_is_written(tmp_path, monkeypatch, option):
    project = tmp_path / "deep" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.delenv(ALLOWED_ROOTS_ENV)
    orders = write_canonical_folder({"orders": pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"],
                                                             "amount": [1.0]})}, project / "shop")
    args = ["validate", "--config", CONFIG, "--data", orders] if option == "--workdir" else [
        "stage", "report", "--config", CONFIG]
    out = runner.invoke(app, [*args, option, "../../x"])
    assert out.exit_code == ERROR_EXIT, out.output
    # rich wraps a long path anywhere: compare without whitespace
    expected = f"error: {option} ../../x resolves to {tmp_path / 'x'}, outside the project {project}"
    assert "".join(expected.split()) in "".join(out.output.split())
    assert not (tmp_path / "x").exists()  # not even the log folder
    monkeypatch.setenv(ALLOWED_ROOTS_ENV, str(tmp_path / "x"))  # allowed by name, it is used
    if option == "--workdir":
        assert runner.invoke(app, [*args, option, "../../x"]).exit_code == 0
        assert (tmp_path / "x" / "validation_summary.json").exists()


def test_scoring_without_a_champion_says_what_to_do(tracking_uri):
    from churn.config import load_config
    from churn.ops import tracking

    with pytest.raises(LookupError, match="churn promote VERSION"):
        tracking.load_model("models:/churn@champion", load_config(CONFIG).tracking)


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.output.strip() == f"churn {version('churn')}"


def commands():
    """(path, command) for the CLI and every command and subcommand under it. (Typer vendors its own click, so
    groups and options are recognised by what they hold, not by click's classes.)"""
    todo = [([], typer.main.get_command(app))]
    while todo:
        path, command = todo.pop()
        yield path, command
        todo += [([*path, name], sub) for name, sub in getattr(command, "commands", {}).items()]


def options():
    """(path, option) for every option of every command."""
    return [(path, p) for path, command in commands() for p in command.params if p.param_type_name == "option"]


def flat(output: str) -> str:
    """A CLI message without rich's box borders and line wrapping."""
    return "".join(c for c in output if not c.isspace() and c != "│")


def test_every_command_and_option_has_help():
    missing = [" ".join(path) for path, command in commands() if path and not command.help]
    missing += [f"{' '.join(path)} {p.opts[0]}" for path, p in options() if not p.help]
    assert not missing, missing
    assert len(list(commands())) > 20 and len(options()) > 100  # the walk reached every subcommand


@pytest.mark.parametrize("args", [["train", "--as-of", "2026-13-01"], ["stage", "value", "--as-of", "01/10/2026"],
                                  ["backtest", "--from", "2025-01-01", "--to", "soon"]])
def test_a_date_that_is_not_a_date_is_a_usage_error(args):
    out = runner.invoke(app, args)
    assert out.exit_code == USAGE_EXIT
    assert "writeitasYYYY-MM-DD" in flat(out.output)


@pytest.mark.parametrize("args, message", [
    (["score", "--out", "README.md"], "README.mdisafile;giveafolder"),
    (["validate", "--workdir", "pyproject.toml"], "pyproject.tomlisafile;giveafolder"),
    (["monitor", "--runs", "README.md"], "README.mdisafile;giveafolder"),
    (["validate", "--config", "configs"], "configsisafolder;giveafile"),
])
def test_a_file_where_a_folder_belongs_or_the_reverse_is_a_usage_error(args, message):
    out = runner.invoke(app, args)
    assert out.exit_code == USAGE_EXIT
    assert message in flat(out.output)


def test_every_path_option_says_whether_it_takes_a_file_or_a_folder():
    paths = ("--config", "--workdir", "--out", "--runs", "--models", "--metrics", "--export-dir")
    untyped = [f"{' '.join(path)} {p.opts[0]}" for path, p in options()
               if p.opts[0] in paths and p.metavar not in ("FILE", "FOLDER")]
    assert untyped == []
    assert len([p for _, p in options() if p.opts[0] in paths]) > 20  # the walk reached the subcommands


def test_quiet_prints_nothing_but_errors(tmp_path):
    orders = pd.DataFrame({"customer_id": ["1", "2", "3"] * 20, "ts": ["2024-01-01"] * 59 + ["yesterday"],
                           "amount": [10] * 60})
    data = write_canonical_folder({"orders": orders}, tmp_path / "shop")
    out = runner.invoke(app, ["--quiet", "validate", "--config", CONFIG, "--data", data, "--workdir",
                              str(tmp_path / "w")])
    assert out.exit_code == 0 and out.output == ""
    assert (tmp_path / "w" / "quarantine.parquet").exists()  # the work is done, only not told
    pd.DataFrame({"customer_id": ["1"], "ts": ["2024-01-01"]}).to_csv(tmp_path / "orders.csv", index=False)
    proc = subprocess.run([sys.executable, "-m", "churn.cli", "-q", "validate", "--config", CONFIG, "--data",
                           str(tmp_path), "--workdir", str(tmp_path / "w2")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == ERROR_EXIT and proc.stdout == ""
    assert "missing required column(s) ['amount']" in " ".join(proc.stderr.split())
    assert runner.invoke(app, ["--quiet", "--verbose", "validate"]).exit_code == USAGE_EXIT
    from churn.console import console

    assert not console.quiet  # the next command in this process speaks again
