import numpy as np
import pandas as pd
import pytest
from helpers import CONFIG, make_history

from churn.config import load_config
from churn.features import plan_cutoffs, training_examples
from churn.model import (
    ChurnModel,
    NoCompleteWindow,
    calibrate,
    customer_split,
    evaluate,
    fit_calibration,
    lift_at,
    search_folds,
    train_model,
)

TRAIN = load_config(CONFIG, **{"train.search.enabled": False}).train


@pytest.fixture(scope="module")
def examples():
    cfg = load_config(CONFIG, **{"labels.train_cutoffs": 4, "train.search.enabled": False})
    tables = make_history(300, seed=5)
    return training_examples(tables, plan_cutoffs(pd.Timestamp("2025-01-01"), cfg.labels), cfg.labels, cfg.features)


@pytest.fixture(scope="module")
def trained(examples):
    return train_model(examples, TRAIN)


def test_metrics_for_model_and_both_baselines(trained):
    for name in ("model", "recency_rule", "rfm_logistic", "bgnbd"):
        for metric in ("roc_auc", "pr_auc", "brier", "log_loss", "lift_top10", "ece"):
            assert np.isfinite(trained.metrics[f"{name}_{metric}"])
    assert set(trained.holdout.columns) == {"customer_id", "cutoff", "churned", "model", "recency_rule", "rfm_logistic", "bgnbd"}
    assert trained.holdout["cutoff"].nunique() == 1  # the holdout is one cutoff, the latest


def test_training_is_reproducible_with_the_seed(examples, trained):
    again = train_model(examples, TRAIN)
    assert again.metrics == trained.metrics


def test_model_round_trips_through_files(tmp_path, examples, trained):
    trained.model.save(tmp_path)
    loaded = ChurnModel.load(tmp_path)
    np.testing.assert_allclose(loaded.predict_proba(examples), trained.model.predict_proba(examples))
    np.testing.assert_allclose(loaded.judged.predict_proba(examples), trained.model.judged.predict_proba(examples))
    contrib = loaded.contributions(examples.head(20))
    assert list(contrib.columns) == trained.model.features


def test_a_small_part_is_calibrated_out_of_fold(trained):
    data = trained.data_summary
    assert data["calibration"] == {"on": "out_of_fold", "folds": 3, "examples": data["train"]["examples"],
                                   "fit_examples": data["train"]["examples"]}
    assert data["refit"]["calibration"]["on"] == "out_of_fold"


def test_past_calibration_held_out_past_a_fit_is_calibrated_on_customers_it_has_not_seen(examples):
    from churn.model import _train

    cfg = TRAIN.model_copy(update={"calibration_held_out_past": 100, "calibration_share": 0.2})
    part = examples[examples["role"] == "train"]
    features = _train.feature_columns(part)
    categories = _train.category_levels(part, features)
    params = _train.lgb_params(cfg, {"n_estimators": 20})
    model, how = _train._fit_calibrated(part, features, categories, params, cfg)

    held = _train._customer_share(part["customer_id"], cfg.calibration_share, high=True)
    by_customer = pd.Series(held).groupby(part["customer_id"].to_numpy()).agg(["min", "max"])
    assert (by_customer["min"] == by_customer["max"]).all()  # whole customers
    assert 0.12 < by_customer["min"].mean() < 0.28
    assert how == {"on": "held_out_customers", "share": 0.2, "examples": int(held.sum()),
                   "fit_examples": int((~held).sum())}
    alone = _train.fit_booster(part, features, categories, params, cfg, np.flatnonzero(~held))
    assert model.booster.model_to_string() == alone.model_to_string()  # the held-out customers unseen
    raw = alone.predict(_train.feature_matrix(part[held], features, categories), raw_score=True)
    assert model.calibration == fit_calibration(raw, part.loc[held, "churned"].to_numpy(), cfg.calibration)


def test_the_calibration_customers_are_not_a_customer_split_holdout(examples):
    from churn.model import _train

    held_out = customer_split(examples, 0.3)
    calibration = _train._customer_share(held_out["train"]["customer_id"], 0.1, high=True)
    assert 0.03 < calibration.mean() < 0.2  # about a tenth of the fit part's examples, not none


@pytest.mark.parametrize("chunk, bin_sample", [(97, None), (250_000, None), (97, 500)])
def test_a_booster_fitted_from_row_chunks_is_the_one_fitted_on_the_whole_feature_frame(monkeypatch, examples, chunk,
                                                                                       bin_sample):
    import lightgbm as lgb

    from churn.model import _matrix, _train

    monkeypatch.setattr(_train, "MATRIX_ROWS", chunk)
    if bin_sample:  # bins set up from a sample of the rows, as past 200,000 examples
        params_of = _train.booster_params
        monkeypatch.setattr(_train, "booster_params",
                            lambda *a: params_of(*a) | {"bin_construct_sample_cnt": bin_sample})
    frame = examples.copy()
    frame.loc[frame.index[::7], "segment"] = None  # no level: LightGBM's missing category
    features = _train.feature_columns(frame)
    categories = _matrix.category_levels(frame, features)
    assert categories and len(frame) > 1000  # (97: many chunks; 250,000: one)
    rows = np.flatnonzero(np.arange(len(frame)) % 3 != 1)
    params = _train.lgb_params(TRAIN, {"n_estimators": 20})
    ours = _train.fit_booster(frame, features, categories, params, TRAIN, rows)
    part = frame.iloc[rows]
    whole = lgb.train(_train.booster_params(params, TRAIN, part["churned"].to_numpy()),
                      lgb.Dataset(_matrix.feature_matrix(part, features, categories), part["churned"].to_numpy()), 20)
    assert ours.model_to_string() == whole.model_to_string()
    held = np.flatnonzero(np.arange(len(frame)) % 3 == 1)
    np.testing.assert_array_equal(_train.predict_rows(ours, frame, features, categories, held, raw_score=True),
                                  whole.predict(_matrix.feature_matrix(frame.iloc[held], features, categories), raw_score=True))


@pytest.mark.parametrize(("role", "one_run"), [("x", False), ("y", True), ("z", True), ("w", False)])
def test_a_role_whose_examples_are_one_run_of_rows_is_a_view_of_them(role, one_run):
    from churn.model._matrix import rows_where

    frame = pd.DataFrame({"recency_days": np.arange(10.0), "role": list("xxxyyyyxzz")})
    part = rows_where(frame, frame["role"] == role)
    pd.testing.assert_frame_equal(part, frame[frame["role"] == role])
    assert np.shares_memory(part["recency_days"].to_numpy(), frame["recency_days"].to_numpy()) == one_run


def test_missing_feature_is_named(examples, trained):
    with pytest.raises(ValueError, match="lacks features the model was trained on: \\['recency_days'\\]"):
        trained.model.predict_proba(examples.drop(columns="recency_days"))


def test_a_cutoff_without_churners_is_refused(examples):
    one_class = examples.assign(churned=np.where(examples["role"] == "test", 0, examples["churned"]))
    with pytest.raises(NoCompleteWindow, match="the test cutoff has .* examples and 0 churners"):
        train_model(one_class, TRAIN)
    with pytest.raises(NoCompleteWindow, match="the train cutoff has 0 examples"):
        train_model(examples.iloc[:0], TRAIN)  # no window at all: the runner falls back to BG/NBD


def test_the_plan_adds_every_complete_window_between_the_fit_cutoffs_and_the_holdout():
    labels = load_config(CONFIG, **{"labels.train_cutoffs": 3}).labels  # 90-day horizon, 30-day steps
    plan = plan_cutoffs(pd.Timestamp("2025-01-01"), labels, refit=True)
    day = pd.Timestamp
    assert plan.test == day("2024-10-03")  # its labels end on the as-of date
    assert plan.train == (day("2024-05-06"), day("2024-06-05"), day("2024-07-05"))  # labels end before the test's
    assert plan.refit == (day("2024-08-04"), day("2024-09-03"))
    assert [plan.role(c) for c in plan.all()] == ["train"] * 3 + ["refit"] * 2 + ["test"]
    assert plan_cutoffs(pd.Timestamp("2025-01-01"), labels).refit == ()


def test_the_registered_model_is_refit_on_every_window_and_judged_by_the_fit_before(examples):
    labels = load_config(CONFIG, **{"labels.train_cutoffs": 4}).labels
    plan = plan_cutoffs(pd.Timestamp("2025-01-01"), labels, refit=True)
    with_refit = training_examples(make_history(300, seed=5), plan, labels, load_config(CONFIG).features)
    before = train_model(with_refit, TRAIN.model_copy(update={"refit": False}))
    after = train_model(with_refit, TRAIN)
    # the holdout figures are those of the specification fitted before the refit: the same with or without it
    assert after.metrics == before.metrics and after.params == before.params
    pd.testing.assert_frame_equal(after.holdout, before.holdout)
    assert after.data_summary["refit"]["cutoffs"] == [str(c.date()) for c in plan.all()]
    assert after.data_summary["refit"]["examples"] == len(with_refit) > before.data_summary["train"]["examples"]
    assert "refit" not in before.data_summary
    # the model returned is another fit: it has seen the holdout window, so it ranks that window better
    test = with_refit[with_refit["role"] == "test"]
    auc = {name: evaluate(test["churned"].to_numpy(), r.model.predict_proba(test))["roc_auc"]
           for name, r in (("before", before), ("after", after))}
    assert auc["after"] > auc["before"], auc
    # examples of a plan without refit cutoffs train exactly as before
    np.testing.assert_allclose(train_model(examples, TRAIN.model_copy(update={"refit": False})).model.predict_proba(
        examples), train_model(examples[examples["role"] != "refit"], TRAIN.model_copy(update={"refit": False}))
        .model.predict_proba(examples))


@pytest.fixture(scope="module")
def short_history_examples():
    """Five months of history as of 2025-01-01, 90-day horizon: the fit cutoffs (before 2024-07-06) come before
    the first customer; the holdout's cutoff and the two between are the only complete windows."""
    cfg = load_config(CONFIG, **{"labels.train_cutoffs": 4})
    tables = make_history(400, seed=3, start=pd.Timestamp("2024-08-01"), end=pd.Timestamp("2025-01-01"))
    plan = plan_cutoffs(pd.Timestamp("2025-01-01"), cfg.labels, refit=True)
    return training_examples(tables, plan, cfg.labels, cfg.features)


def test_a_short_history_is_judged_on_held_out_customers_and_says_so(short_history_examples):
    ex = short_history_examples
    assert ex.loc[ex["role"] == "train", "churned"].nunique() < 2  # no later-time holdout is possible
    result = train_model(ex, TRAIN)
    assert result.data_summary["holdout_kind"] == "customer_split"
    split = customer_split(ex, TRAIN.customer_split_holdout)
    held, fit = set(split["test"]["customer_id"]), set(split["train"]["customer_id"])
    assert held and fit and not held & fit  # a customer is on one side only, with all its cutoffs
    assert set(result.holdout["customer_id"]) == held
    assert 0.2 < len(held) / len(held | fit) < 0.4  # about customer_split_holdout = 0.3
    for name in ("model", "recency_rule", "rfm_logistic", "bgnbd"):
        assert np.isfinite(result.metrics[f"{name}_roc_auc"]), name
    assert result.data_summary["refit"]["examples"] == len(ex)  # the registered model learns every window
    # the split does not depend on the order of the rows
    shuffled = customer_split(ex.sample(frac=1, random_state=0), TRAIN.customer_split_holdout)
    assert set(shuffled["test"]["customer_id"]) == held


def test_the_search_validates_on_later_cutoffs_where_the_history_allows(examples):
    train = examples[examples["role"] == "train"].reset_index(drop=True)
    horizon = pd.Timedelta(days=load_config(CONFIG).labels.horizon_days)
    kind, folds = search_folds(train, horizon.days, folds=2)
    assert kind == "temporal" and folds  # 4 cutoffs 30 days apart, 90-day horizon: one fold has labels before it
    for fit_rows, valid_rows in folds:
        valid_cutoffs = train.loc[valid_rows, "cutoff"].unique()
        assert len(valid_cutoffs) == 1  # one later cutoff per fold
        assert (train.loc[fit_rows, "cutoff"] + horizon <= valid_cutoffs[0]).all()  # labels known before it


def test_a_short_history_is_searched_on_held_out_customers(short_history_examples):
    ex = short_history_examples
    train = ex[ex["role"] != "test"].reset_index(drop=True)
    kind, folds = search_folds(train, load_config(CONFIG).labels.horizon_days, folds=2)
    assert kind == "customers" and len(folds) == 2
    covered = np.zeros(len(train), dtype=int)
    for fit_rows, valid_rows in folds:
        assert not set(train.loc[fit_rows, "customer_id"]) & set(train.loc[valid_rows, "customer_id"])
        covered[valid_rows] += 1
    assert (covered == 1).all()  # every row validated once, by a fit that never saw its customer
    cfg = TRAIN.model_copy(update={"search": TRAIN.search.model_copy(update={
        "enabled": True, "grid": {"num_leaves": [3, 7]}, "budget_seconds": 60.0})})
    result = train_model(ex, cfg)
    assert result.search is not None and len(result.search) == 2
    assert result.search.attrs["validation"] == "customers"
    assert result.params["num_leaves"] == result.search.iloc[0]["num_leaves"]  # the best point is the one used


@pytest.mark.parametrize("most", [None, 100, 10**9])
def test_the_search_fits_each_fold_on_a_fixed_share_of_its_customers_past_fit_examples(examples, most):
    from churn.model import feature_columns
    from churn.model._matrix import category_levels
    from churn.model._train import customer_sample, grid_search

    train = examples[examples["role"] == "train"]
    rows = np.arange(len(train))
    kept = customer_sample(train, rows, most)
    np.testing.assert_array_equal(kept, customer_sample(train.iloc[::-1].iloc[::-1], rows, most))  # the same each run
    if most is None or most >= len(rows):
        np.testing.assert_array_equal(kept, rows)
    else:
        assert 0.6 * most < len(kept) < 1.4 * most
        ids = set(train["customer_id"].iloc[kept])  # whole customers: every example of one kept, or none
        assert set(train.index[train["customer_id"].isin(ids)]) == set(train.index[kept])
    cfg = TRAIN.model_copy(update={"search": TRAIN.search.model_copy(update={
        "enabled": True, "grid": {"num_leaves": [3]}, "budget_seconds": 60.0, "fit_examples": most})})
    features = feature_columns(train)
    table = grid_search(train, features, category_levels(train, features), cfg, load_config(CONFIG).labels.horizon_days)
    whole = max(len(fit_rows) for fit_rows, _ in search_folds(train, load_config(CONFIG).labels.horizon_days, 2)[1])
    assert table.attrs["sampled"] == (most == 100) and len(table) == 1
    assert table.attrs["fit_examples"] == whole if most != 100 else 0.6 * 100 < table.attrs["fit_examples"] < 1.4 * 100


def test_a_long_history_keeps_its_later_time_holdout(trained):
    assert trained.data_summary["holdout_kind"] == "later_time"


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_calibration_matches_observed_rate(method):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(2 * raw - 1)))).astype(int)
    p = calibrate(fit_calibration(raw, y, method), raw)
    assert abs(p.mean() - y.mean()) < 0.01
    assert np.all(np.diff(p[np.argsort(raw)]) >= -1e-12)  # monotone in the raw score


def test_evaluate_on_a_hand_made_case():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    m = evaluate(y, p)
    assert m["roc_auc"] == pytest.approx(15 / 16)  # 0.7 ranks below one non-churner (0.8)
    assert m["lift_top10"] == pytest.approx(1 / 0.2)  # top 1 of 10 is a churner; base rate 0.2
    assert lift_at(y, p, 0.3) == pytest.approx((2 / 3) / 0.2)
