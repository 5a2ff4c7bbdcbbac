"""`dvc repro` in a fresh copy of the project reproduces everything, and a second run does nothing."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import ROOT

BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow(minutes=6)  # the whole pipeline, stage by stage in new processes, twice
def test_dvc_repro_from_a_fresh_clone(tmp_path):
    repo = tmp_path / "project"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    params = yaml.safe_load((repo / "configs/params.yaml").read_text())
    params["demo"]["n_customers"] = 800  # small and quick; same stages as the full demo
    params["train"]["search"]["enabled"] = False
    params["backtest"]["start"] = params["backtest"]["end"] = "2026-07-01"
    (repo / "configs/params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = os.environ | {"PATH": f"{BIN}:{os.environ['PATH']}", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    run(["git", "init", "-q"], repo, env)
    run([*git, "add", "-A"], repo, env)
    run([*git, "commit", "-qm", "fresh clone"], repo, env)

    first = run([str(BIN / "dvc"), "repro"], repo, env)
    for stage in ("demo_data", "pull", "validate", "features", "value", "effects", "train", "register", "backtest",
                  "score", "decide", "monitor", "report", "publish"):
        assert f"Running stage '{stage}'" in first
    # Each stage command says what it did, in words (churn.console.STAGE_LINES).
    for line in (r"Sample history written to data/demo/history.db: customers 800", r"Pulled customers 800, orders \d",
                 r"Features as of 2026-10-01: [\d,]+ training examples over \d+ cutoffs, [\d,]+ active customers",
                 r"Scored [\d,]+ active customers as of 2026-10-01", r"Contact plan: [\d,]+ customers",
                 r"Report \(en\): data/retention/report.html", r"Registered churn v1 as @\w+",
                 r"Realised performance: no earlier run's horizon has passed yet \(1 archived; the first is due on "
                 r"2026-12-30\)"):
        assert re.search(line, " ".join(first.split())), line  # rich wraps long lines
    listing = pd.read_csv(repo / "data/retention/retention_list.csv")
    assert len(listing) > 0 and listing["expected_loss"].is_monotonic_decreasing
    metrics = run([str(BIN / "dvc"), "metrics", "show", "--json"], repo, env)
    assert "model_roc_auc" in metrics and "pooled" in metrics

    second = run([str(BIN / "dvc"), "repro"], repo, env)
    assert "Running stage" not in second
    assert "up to date" in second
    run([str(BIN / "dvc"), "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    assert (tmp_path / "plots" / "index.html").exists()

    # A setting changes what a stage computes: that stage (and only a stage reading it) is out of date.
    for section, key, value, stale in [("report", "language", "zh", {"report"}),
                                       ("evaluate", "max_calibration_gap", 0.03, {"train", "register"})]:
        changed = yaml.safe_load((repo / "configs/params.yaml").read_text())
        changed[section][key] = value
        (repo / "configs/params.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
        status = json.loads(run([str(BIN / "dvc"), "status", "--json"], repo, env))
        assert set(status) == stale, f"{section}.{key} changed: dvc reports {sorted(status)} out of date"
        (repo / "configs/params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
