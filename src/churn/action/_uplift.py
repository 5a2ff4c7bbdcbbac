"""Uplift: which customers an action changes, not just who is at risk.

A churn model ranks customers by risk; a retention action is only worth its cost where it
*changes* the outcome. With a randomised holdout (the `campaigns` table of the contract:
`treated = false` marks a randomly held-out control customer) the effect of an action can be
estimated per customer:

    uplift(x) = E[y | x, treated] - E[y | x, control]

For a binary y this is P(y=1 | x, treated) - P(y=1 | x, control); for a continuous y (spend,
margin) it is the difference of the expected values.

Contents (pure functions, no file I/O):

- `UpliftModel`: LightGBM base learners behind one small class,
    - `method="two_model"` (T-learner): one model on the treated rows, one on the control rows,
      uplift = the difference of their predictions;
    - `method="x_learner"` (Kuenzel, Sekhon, Bickel & Yu 2019, PNAS 116(10)): the two outcome
      models mu_0, mu_1 first; then imputed effects D1 = y - mu_0(x) on the treated rows and
      D0 = mu_1(x) - y on the control rows, a regressor tau_1 on D1 and tau_0 on D0, and
      uplift(x) = g(x) * tau_0(x) + (1 - g(x)) * tau_1(x) with g the propensity score: the
      randomised treated share (`propensity="share"`, default: right for a randomised holdout)
      or a LightGBM classifier of treatment on x (`propensity="classifier"`), clipped to
      [0.01, 0.99].
  `outcome="binary"` uses classifiers for the outcome models, `outcome="continuous"` regressors.
  Columns of pandas `category` dtype go to LightGBM as categoricals; `object` / string
  columns are turned into categories; the levels seen in `fit` are reused in `predict_*`
  (unseen levels become missing). Seeds come from the arguments only.
- `qini_report`: Qini coefficient and AUUC from `sklift.metrics` (normalised as sklift does:
  (area of the model's curve - area under the random diagonal) / (the same for the perfect
  curve)), the curve points of the model, the perfect and the random targeting, and the
  observed uplift per decile of predicted uplift.
- `action_effects` / `predict_effects`: one uplift model per retention action, fitted on
  (customer, campaign) examples with a churn label, and the per-customer estimated
  **reduction in churn probability** per action (sign: see `predict_effects`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import rankdata

from churn.extras import require

log = logging.getLogger(__name__)

METHODS = ("two_model", "x_learner")
OUTCOMES = ("binary", "continuous")
PROPENSITIES = ("share", "classifier")
PROPENSITY_CLIP = (0.01, 0.99)

# Small, regularised trees: uplift is a small difference between two noisy predictions, and
# deep trees mostly fit noise in it. Any key here can be overridden through `params=`.
DEFAULT_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 100,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    # One thread: the data sets here are small, and on a busy 2-core machine two OpenMP threads
    # made a Hillstrom fit ~10x slower (spin-waiting) than one.
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


# --------------------------------------------------------------------------- input checks

def _as_treatment(treatment, n: int | None = None, name: str = "treatment") -> np.ndarray:
    """0/1 int array from bool or 0/1 values; a clear error otherwise."""
    t = pd.Series(np.asarray(treatment)) if not isinstance(treatment, pd.Series) else treatment.reset_index(drop=True)
    if n is not None and len(t) != n:
        raise ValueError(f"{name} has {len(t)} values, X has {n} rows")
    if t.isna().any():
        raise ValueError(f"{name} has {int(t.isna().sum())} missing values; it must be binary (0/1 or True/False)")
    values = pd.unique(t)
    if t.dtype == bool or pd.api.types.is_bool_dtype(t.dtype):
        return t.astype(int).to_numpy()
    try:
        ok = set(np.asarray(values, dtype=float).tolist()) <= {0.0, 1.0}
    except (TypeError, ValueError):
        ok = False
    if not ok:
        shown = sorted(map(str, values))[:10]
        raise ValueError(f"{name} must be binary (0/1 or True/False); got values {shown}")
    return t.astype(float).astype(int).to_numpy()


def _check_arms(t: np.ndarray, name: str = "treatment") -> None:
    if (t == 1).sum() == 0:
        raise ValueError(f"no treated rows ({name} == 1): uplift needs treated and control rows")
    if (t == 0).sum() == 0:
        raise ValueError(f"no control rows ({name} == 0): uplift needs treated and control rows")


def _as_outcome(y, n: int, outcome: str) -> np.ndarray:
    y = np.asarray(pd.Series(np.asarray(y)).astype(float))
    if len(y) != n:
        raise ValueError(f"y has {len(y)} values, X has {n} rows")
    if np.isnan(y).any():
        raise ValueError(f"y has {int(np.isnan(y).sum())} missing values")
    if outcome == "binary" and not set(np.unique(y).tolist()) <= {0.0, 1.0}:
        raise ValueError(
            f"outcome='binary' needs y in {{0, 1}}; got values such as {np.unique(y)[:5].tolist()} "
            "(use outcome='continuous' for amounts such as spend)"
        )
    return y


# --------------------------------------------------------------------------- the model

class _Constant:
    """Stands in for a classifier / regressor when an arm's y has a single value."""

    def __init__(self, value: float):
        self.value = float(value)

    def predict(self, X) -> np.ndarray:
        return np.full(len(X), self.value)

    def predict_proba(self, X) -> np.ndarray:
        p = np.full(len(X), self.value)
        return np.column_stack([1 - p, p])


@dataclass
class UpliftModel:
    """Per-customer uplift with LightGBM base learners (see the module docstring).

    >>> m = UpliftModel(method="x_learner", seed=0).fit(X, treatment, y)
    >>> m.predict_uplift(X_new)   # P(y | treated) - P(y | control), one value per row
    """

    method: str = "two_model"
    outcome: str = "binary"
    seed: int = 0
    params: dict[str, Any] | None = None
    propensity: str = "share"
    # fitted state
    features_: list[str] = field(default_factory=list, init=False, repr=False)
    categories_: dict[str, list] = field(default_factory=dict, init=False, repr=False)
    models_: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    treated_share_: float = field(default=float("nan"), init=False)
    n_treated_: int = field(default=0, init=False)
    n_control_: int = field(default=0, init=False)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}; got {self.outcome!r}")
        if self.propensity not in PROPENSITIES:
            raise ValueError(f"propensity must be one of {PROPENSITIES}; got {self.propensity!r}")

    # -- helpers
    def _params(self, offset: int) -> dict[str, Any]:
        return {**DEFAULT_PARAMS, **(self.params or {}), "random_state": int(self.seed) + offset}

    def _classifier(self, X: pd.DataFrame, y: np.ndarray, offset: int):
        if np.unique(y).size < 2:
            return _Constant(y[0] if len(y) else 0.0)
        return lgb.LGBMClassifier(**self._params(offset)).fit(X, y.astype(int))

    def _regressor(self, X: pd.DataFrame, y: np.ndarray, offset: int):
        if np.unique(y).size < 2:
            return _Constant(y[0] if len(y) else 0.0)
        return lgb.LGBMRegressor(**self._params(offset)).fit(X, y)

    def _outcome_model(self, X, y, offset):
        return self._classifier(X, y, offset) if self.outcome == "binary" else self._regressor(X, y, offset)

    def _predict_outcome(self, model, X) -> np.ndarray:
        return model.predict_proba(X)[:, 1] if self.outcome == "binary" else model.predict(X)

    def _matrix(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
            X.columns = [f"x{i}" for i in range(X.shape[1])]
        if not self.features_:  # fitting: learn the columns and the category levels
            self.features_ = [str(c) for c in X.columns]
            X = X.rename(columns=str)
            self.categories_ = {}
            for c in self.features_:
                col = X[c]
                if isinstance(col.dtype, pd.CategoricalDtype):
                    self.categories_[c] = list(col.cat.categories)
                elif pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
                    self.categories_[c] = sorted(col.dropna().astype(str).unique().tolist())
        X = X.rename(columns=str)
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks columns the model was fitted on: {missing[:10]}")
        X = X[self.features_].copy()
        for c in self.features_:
            if c in self.categories_:
                values = X[c]
                if not isinstance(values.dtype, pd.CategoricalDtype):
                    values = values.astype("object").where(values.notna(), None)
                    values = values.map(lambda v: None if v is None else str(v))
                X[c] = pd.Categorical(values.astype("object"), categories=self.categories_[c])
            elif pd.api.types.is_bool_dtype(X[c].dtype):
                X[c] = X[c].astype(float)
        return X

    # -- API
    def fit(self, X, treatment, y) -> UpliftModel:
        """Fit on features X (DataFrame), treatment (bool or 0/1; 1 = treated) and outcome y."""
        self.features_, self.categories_, self.models_ = [], {}, {}
        n = len(X)
        t = _as_treatment(treatment, n)
        _check_arms(t)
        y = _as_outcome(y, n, self.outcome)
        Xm = self._matrix(X)
        treated, control = t == 1, t == 0
        self.n_treated_, self.n_control_ = int(treated.sum()), int(control.sum())
        self.treated_share_ = self.n_treated_ / n

        mu0 = self._outcome_model(Xm[control], y[control], 0)
        mu1 = self._outcome_model(Xm[treated], y[treated], 1)
        self.models_ = {"mu0": mu0, "mu1": mu1}
        if self.method == "x_learner":
            d1 = y[treated] - self._predict_outcome(mu0, Xm[treated])  # treated: observed - imputed control
            d0 = self._predict_outcome(mu1, Xm[control]) - y[control]  # control: imputed treated - observed
            self.models_["tau1"] = self._regressor(Xm[treated], d1, 2)
            self.models_["tau0"] = self._regressor(Xm[control], d0, 3)
            if self.propensity == "classifier":
                self.models_["propensity"] = self._classifier(Xm, t, 4)
        return self

    def _check_fitted(self):
        if not self.models_:
            raise RuntimeError("the UpliftModel is not fitted: call fit(X, treatment, y) first")

    def predict_outcomes(self, X) -> pd.DataFrame:
        """The outcome models' predictions: columns `control` (mu_0) and `treated` (mu_1)."""
        self._check_fitted()
        Xm = self._matrix(X)
        return pd.DataFrame(
            {"control": self._predict_outcome(self.models_["mu0"], Xm),
             "treated": self._predict_outcome(self.models_["mu1"], Xm)},
            index=X.index if isinstance(X, pd.DataFrame) else None,
        )

    def propensity_score(self, X) -> np.ndarray:
        """P(treated | x) as the X-learner weighs it: the treated share or the classifier's, clipped."""
        self._check_fitted()
        if "propensity" in self.models_:
            return np.clip(self.models_["propensity"].predict_proba(self._matrix(X))[:, 1], *PROPENSITY_CLIP)
        return np.full(len(X), self.treated_share_)

    def predict_uplift(self, X) -> np.ndarray:
        """Estimated E[y | x, treated] - E[y | x, control] per row (for binary y: a probability difference)."""
        self._check_fitted()
        Xm = self._matrix(X)
        if self.method == "two_model":
            return self._predict_outcome(self.models_["mu1"], Xm) - self._predict_outcome(self.models_["mu0"], Xm)
        g = self.propensity_score(X)
        return g * self.models_["tau0"].predict(Xm) + (1 - g) * self.models_["tau1"].predict(Xm)


# --------------------------------------------------------------------------- evaluation

def _curve(y: np.ndarray, score: np.ndarray, t: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """sklift's qini_curve / uplift_curve, written out so that y may be continuous."""
    order = np.argsort(score, kind="mergesort")[::-1]
    y, score, t = y[order].astype(float), score[order], t[order].astype(float)
    idx = np.r_[np.where(np.diff(score))[0], score.size - 1]
    n_t = np.cumsum(t)[idx]
    y_t = np.cumsum(y * t)[idx]
    y_c = np.cumsum(y * (1 - t))[idx]
    n_all = (idx + 1).astype(float)
    n_c = n_all - n_t
    if kind == "qini":
        values = y_t - y_c * np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    else:
        values = (np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
                  - np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)) * n_all
    if values[0] != 0 or n_all[0] != 0:
        n_all, values = np.r_[0, n_all], np.r_[0, values]
    return n_all, values


def _perfect_score(y: np.ndarray, t: np.ndarray, kind: str) -> np.ndarray:
    """The ordering of the perfect curve. For binary y exactly sklift's; for continuous y its
    generalisation: qini ranks by y*t - y*(1-t) (as sklift's formula); uplift keeps sklift's tiers
    (treated with y > 0 and control with y == 0 first, ...) with larger treated / smaller control
    amounts first inside a tier."""
    if kind == "qini":
        return y * t - y * (1 - t)
    yb = (y > 0).astype(int)
    cr = int(((yb == 1) & (t == 0)).sum())
    tn = int(((yb == 0) & (t == 1)).sum())
    tier = 2 * (yb == t) + (yb if cr > tn else t)
    within = rankdata(np.where(t == 1, y, -y), method="dense")
    return tier + 0.5 * within / (within.max() + 1)


def _area(x, y) -> float:
    return float(np.trapezoid(y, x))


def _normalised(x, v, xp, vp) -> float:
    base = _area([0, xp[-1]], [0, vp[-1]])
    return (_area(x, v) - base) / (_area(xp, vp) - base)


def uplift_by_decile(y, uplift, treatment, bins: int = 10) -> pd.DataFrame:
    """Observed uplift per bin of predicted uplift (bin 1 = the highest predicted), sklift's
    `uplift_by_percentile(strategy="overall")` binning (np.array_split of the ranked rows), for
    binary or continuous y."""
    y, u, t = np.asarray(y, dtype=float), np.asarray(uplift, dtype=float), _as_treatment(treatment)
    order = np.argsort(u, kind="mergesort")[::-1]
    rows = []
    for i, part in enumerate(np.array_split(order, bins), start=1):
        yt, yc = y[part][t[part] == 1], y[part][t[part] == 0]
        mt = yt.mean() if len(yt) else np.nan
        mc = yc.mean() if len(yc) else np.nan
        rows.append({"bin": i, "n_treated": len(yt), "n_control": len(yc), "mean_predicted": u[part].mean(),
                     "mean_treated": mt, "mean_control": mc, "uplift": mt - mc})
    return pd.DataFrame(rows).set_index("bin")


def _sklift_figures(y: np.ndarray, u: np.ndarray, t: np.ndarray, negative_effect: bool) -> dict[str, Any]:
    skm = require("sklift.metrics", "Qini and AUUC of a binary outcome (the uplift check)")
    return {
        "qini_coefficient": float(skm.qini_auc_score(y, u, t, negative_effect=negative_effect)),
        "auuc": float(skm.uplift_auc_score(y, u, t)),
        "qini_curve": skm.qini_curve(y, u, t),
        "qini_perfect": skm.perfect_qini_curve(y, t, negative_effect=negative_effect),
        "uplift_curve": skm.uplift_curve(y, u, t),
        "uplift_perfect": skm.perfect_uplift_curve(y, t),
        "source": "sklift.metrics",
    }


def qini_report(y, uplift, treatment, *, negative_effect: bool = True, bins: int = 10) -> dict[str, Any]:
    """Qini coefficient, AUUC and the curves of a ranking by `uplift` on held-out data.

    Binary y (values 0/1): every figure comes from `sklift.metrics` (qini_auc_score,
    uplift_auc_score, qini_curve, perfect_qini_curve, uplift_curve, perfect_uplift_curve).
    Continuous y (spend): sklift refuses non-binary y, so the same formulas are computed here
    (`_curve`; identical to sklift's on binary y) with the perfect orderings of `_perfect_score`.

    Both scores are normalised as sklift does: (area under the model's curve - area under the
    random-targeting diagonal) / (the same for the perfect curve): 0 = random, 1 = perfect.

    Returns a dict:
      qini_coefficient, auuc           floats
      qini_curve, qini_perfect, qini_random, uplift_curve, uplift_perfect, uplift_random
                                       (x, y) arrays: x = number of customers targeted; the random
                                       curve is the diagonal from (0, 0) to the perfect curve's end
      by_decile                        DataFrame of observed uplift per decile of predicted uplift
      overall_uplift                   mean(y | treated) - mean(y | control)
      n, n_treated, n_control, outcome ("binary" / "continuous"), source
    """
    u = np.asarray(uplift, dtype=float)
    n = len(u)
    t = _as_treatment(treatment, n)
    _check_arms(t)
    if np.isnan(u).any():
        raise ValueError(f"uplift has {int(np.isnan(u).sum())} missing values")
    y = np.asarray(pd.Series(np.asarray(y)).astype(float))
    if len(y) != n:
        raise ValueError(f"y has {len(y)} values, uplift has {n}")
    if np.isnan(y).any():
        raise ValueError(f"y has {int(np.isnan(y).sum())} missing values")
    values = set(np.unique(y).tolist())
    if len(values) < 2:
        raise ValueError(f"y has a single value ({values.pop()}): no curve can be drawn")
    binary = values <= {0.0, 1.0}

    if binary:
        yi = y.astype(int)
        with warnings.catch_warnings():
            # sklift 0.5.1 calls sklearn.utils.extmath.stable_cumsum, deprecated in scikit-learn 1.8
            # (removed in 1.10): a FutureWarning per curve, nothing wrong with the figures.
            warnings.filterwarnings("ignore", message=".*stable_cumsum", category=FutureWarning)
            out = _sklift_figures(yi, u, t, negative_effect)
    else:
        qc, uc = _curve(y, u, t, "qini"), _curve(y, u, t, "uplift")
        if negative_effect:
            qp = _curve(y, _perfect_score(y, t, "qini"), t, "qini")
        else:
            r = y[t == 1].sum() - (t == 1).sum() * y[t == 0].sum() / (t == 0).sum()
            qp = (np.array([0.0, r, n]), np.array([0.0, r, r]))
        up = _curve(y, _perfect_score(y, t, "uplift"), t, "uplift")
        out = {
            "qini_coefficient": _normalised(*qc, *qp),
            "auuc": _normalised(*uc, *up),
            "qini_curve": qc, "qini_perfect": qp, "uplift_curve": uc, "uplift_perfect": up,
            "source": "churn.action.qini_report (sklift's formulas, extended to continuous y)",
        }
    for kind in ("qini", "uplift"):
        xp, vp = out[f"{kind}_perfect"]
        out[f"{kind}_random"] = (np.array([0.0, float(xp[-1])]), np.array([0.0, float(vp[-1])]))
    out.update(
        by_decile=uplift_by_decile(y, u, t, bins=bins),
        overall_uplift=float(y[t == 1].mean() - y[t == 0].mean()),
        n=n, n_treated=int(t.sum()), n_control=int(n - t.sum()),
        outcome="binary" if binary else "continuous",
    )
    return out


# --------------------------------------------------------------------------- retention actions

def action_effects(
    campaign_examples: pd.DataFrame,
    features: list[str],
    outcome: str = "churned",
    min_per_arm: int = 50,
    seed: int = 0,
    *,
    method: str = "two_model",
    params: dict[str, Any] | None = None,
) -> dict[str, UpliftModel | None]:
    """One uplift model of churn per retention action.

    `campaign_examples` has one row per (customer, campaign): `action` (playbook action name),
    `treated` (bool; False = the randomly held-out control of that campaign, as in the contract's
    `campaigns` table), the binary `outcome` (1 = churned within the horizon after the campaign's
    ts) and the `features` (computed as of the campaign's ts, before it). Each action is fitted on
    its own treated and control rows when it has at least `min_per_arm` of each; otherwise its
    value is None (too little evidence; logged at INFO). Keys are in sorted action order.

    The fitted models predict uplift on churn (P(churn | treated) - P(churn | control)): use
    `predict_effects` for the reduction in churn probability.
    """
    need = ["action", "treated", outcome, *features]
    missing = [c for c in need if c not in campaign_examples.columns]
    if missing:
        raise ValueError(f"campaign_examples lacks columns {missing}")
    if min_per_arm < 1:
        raise ValueError(f"min_per_arm must be at least 1; got {min_per_arm}")
    treated = pd.Series(_as_treatment(campaign_examples["treated"], name="treated"), index=campaign_examples.index)
    out: dict[str, UpliftModel | None] = {}
    for action in sorted(campaign_examples["action"].dropna().unique().tolist()):
        rows = campaign_examples["action"] == action
        n_t, n_c = int(treated[rows].sum()), int(rows.sum() - treated[rows].sum())
        if min(n_t, n_c) < min_per_arm:
            log.info("action %s: %d treated and %d control rows (< %d per arm): no model",
                     action, n_t, n_c, min_per_arm)
            out[action] = None
            continue
        part = campaign_examples.loc[rows]
        out[action] = UpliftModel(method=method, outcome="binary", seed=seed, params=params).fit(
            part[features], treated[rows].to_numpy(), part[outcome].to_numpy()
        )
    return out


def predict_effects(models: dict[str, UpliftModel | None], X: pd.DataFrame) -> pd.DataFrame:
    """Per customer (rows of X, same index) and action (columns): the estimated REDUCTION IN
    CHURN PROBABILITY the action causes, -(P(churn | treated) - P(churn | control)).

    Sign: positive = the action lowers the churn probability by that much (0.05 = five points
    fewer); negative = the action raises churn (a "sleeping dog": better left alone); near 0 =
    no effect. Actions without a model (None from `action_effects`) get a column of NaN.
    """
    return pd.DataFrame(
        {action: (-m.predict_uplift(X) if m is not None else np.full(len(X), np.nan)) for action, m in models.items()},
        index=X.index,
    )
