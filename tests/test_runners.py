"""The training runner on a real SQLite history: loss causes learnt from recorded reasons when the history has
them and the holdout favours them, the evidence method otherwise, and the cause model saved with the model."""

import pandas as pd
import pytest
from helpers import CONFIG, END, planted_history, recorded_reasons

from churn import runners
from churn.config import load_config
from churn.ops import Workspace, io, tracking


@pytest.mark.slow
@pytest.mark.parametrize("with_reasons", [True, False])
def test_training_names_causes_from_recorded_reasons_where_the_history_has_them(tmp_path, tracking_uri, with_reasons):
    tables, truth = planted_history()
    if with_reasons:
        tables["loss_reasons"] = recorded_reasons(tables, truth)
    db = tmp_path / "history.db"
    io.write_sqlite(tables, db)
    cfg = load_config(CONFIG, **{"source.location": f"sqlite:///{db}", "train.search.enabled": False})
    ws = Workspace(tmp_path / "work", tmp_path / "models", tmp_path / "metrics")
    as_of = pd.Timestamp(END)
    runners.run_pull(cfg, ws)
    runners.run_validate(cfg, ws)
    runners.run_training_features(cfg, ws, as_of)
    trained = runners.run_train(cfg, ws, as_of)
    causes = trained["causes"]
    model, _ = tracking.load_model(str(ws.model_dir), cfg.tracking)
    if with_reasons:
        assert causes["method"] == "known_causes", causes["holdout"]
        assert causes["holdout"]["judged"] >= 30
        assert causes["customers"] > causes["judged"]["customers"]  # the list's cause model knows later reasons
        assert model.cause_model.summary == {k: v for k, v in causes.items() if k not in ("judged", "holdout", "method")}
        assert model.judged.cause_model.summary == causes["judged"]
    else:
        assert causes["method"] == "evidence" and not causes["used"]
        assert causes["holdout"] == {"judged": 0, "chosen": "evidence",
                                     "why": "no cause model (no or too few recorded reasons)"}
        assert causes["why"].startswith("the history has no loss_reasons")
        assert model.cause_model is None and model.judged.cause_model is None
    assert io.read_json(ws.train_metrics)["causes"] == causes
