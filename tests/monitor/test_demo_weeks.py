"""The demo over weeks, stage by stage as the flows run it: a model trained before the first weekly run, a
deliberate shift of one region's order sizes, weekly scoring runs, then the realised table once their horizons
have passed. The unshifted run alarms on nothing; the shifted run alarms on that region's revenue alone.
`churn demo --weeks 6` does the same through the Prefect flows (figures in the README)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import CONFIG

from churn import runners
from churn.config import load_config
from churn.data import weekly_runs
from churn.ops import Workspace


@pytest.mark.slow
@pytest.mark.demo_weeks  # ~8 min on 2 cores: left out of `make test`, run with `pytest -m demo_weeks`
def test_weekly_runs_after_a_shift_alarm_on_the_shifted_region_and_have_a_realised_table(tmp_path, tracking_uri):
    db = tmp_path / "history.db"
    cfg = load_config(CONFIG, **{"source.location": f"sqlite:///{db}", "train.search.enabled": False,
                                 "demo.shift.days_before_last_run": 14})
    runs, shift_from = weekly_runs(cfg.demo, cfg.labels.horizon_days, 3)  # 06-19 (before the shift), 06-26, 07-03
    assert shift_from == runs[0]
    counts = runners.run_demo_data(cfg, db, tmp_path / "truth.parquet", shift_from)
    assert counts["shifted_orders"] > 0
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    out = tmp_path / "out"
    runners.run_pull(cfg, ws)
    runners.run_validate(cfg, ws)
    runners.run_training_features(cfg, ws, pd.Timestamp(runs[0]))
    trained = runners.run_train(cfg, ws, pd.Timestamp(runs[0]))
    drift = {}
    runs = [runs[0], runs[-1]]  # the week between adds time, not a check
    for day in map(pd.Timestamp, runs):
        runners.run_scoring_features(cfg, ws, day)
        runners.run_value(cfg, ws, day)
        runners.run_effects(cfg, ws, day)
        drift[str(day.date())] = runners.run_score(cfg, ws, day, str(ws.model_dir))["drift"]
        runners.run_decide(cfg, ws, day, out)
    first, last = str(runs[0]), str(runs[-1])
    assert drift[first]["alarms"] == []
    region = cfg.demo.shift.region
    shifted = drift[last]["alarms"]
    assert shifted and all(a.endswith(f"(region={region})") and a.startswith("revenue") for a in shifted), shifted
    assert drift[last]["max_psi"] > drift[first]["max_psi"]

    realised = runners.run_monitor(cfg, ws, pd.Timestamp(cfg.demo.end), out / "runs")
    assert realised["measured"] == [str(d) for d in runs] and realised["alerts"] == []
    table = pd.read_csv(ws.realised)
    assert len(table) == len(runs) and (table["customers"] > 4000).all() and (table["churners"] > 0).all()
    assert (table["promised_roc_auc"] == trained["candidate"]["roc_auc"]).all()
    assert (table["roc_auc"] > table["promised_roc_auc"] - cfg.monitor.auc_margin).all()
    assert Path(ws.realised_plot).exists()
