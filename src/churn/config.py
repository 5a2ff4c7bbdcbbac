"""Typed configuration: one section per stage (source, validate, labels, features, train, evaluate, ...).

The whole file is loaded once at the entry point (CLI, Prefect flow, DVC stage) and each
stage function receives only its own section.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from churn.vocab import AT_RISK_BANDS, CAUSES, LIST_CAUSES, TABLES

# A table churn creates and writes (the published list): letters, digits and `_`, not starting with a digit, at
# most 63 characters (PostgreSQL's limit), optionally `schema.table`; no part may name the databases' own
# catalogues (`pg_...`, `sqlite_...`, `information_schema`), which a plain name could otherwise shadow or reach.
# Anything else (quotes, `;`, spaces, comments) is refused before a connection is opened; the name is also
# quoted whenever it reaches SQL.
WRITTEN_TABLE_NAME = re.compile(r"[^\W\d]\w{0,62}(\.[^\W\d]\w{0,62})?")
CATALOGUE_NAMES = ("pg_", "sqlite_", "information_schema")


def written_table_problem(name: str) -> str | None:
    """Why `name` cannot be a table churn writes, or None when it can."""
    if not WRITTEN_TABLE_NAME.fullmatch(name):
        return "is not a plain table name: letters, digits and _ (not first), at most 63 characters, optionally schema.table"
    catalogue = [part for part in name.split(".") if part.lower().startswith(CATALOGUE_NAMES)]
    if catalogue:
        return f"names the database's own catalogue ({catalogue[0]!r}): choose another name"
    return None


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableMapping(Section):
    """How one canonical table is read from the source.

    Exactly one of `table` (a database table or a file name in a folder) or `query`
    (SQL returning canonical columns) may be set; neither means the canonical name.
    `columns` maps canonical column -> source column.
    """

    table: str | None = Field(None, min_length=1)
    query: str | None = Field(None, min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)
    # What the table's customer_id holds: the customer's id, or the account's name as the customers table
    # writes it (CRM exports that link records by account name: 客户名称, Account Name).
    customer_by: Literal["id", "name"] = "id"
    # A canonical column the export does not hold, the same for every row: `channel: call` for Zoho's Calls.
    constants: dict[str, str] = Field(default_factory=dict)
    # The export's own words for a canonical column's values (a CRM picklist), source value -> canonical value:
    # `channel: {电话: call, 拜访: visit}`. Values not listed are kept as they are; validation sets aside those
    # outside the contract's vocabulary, with their value.
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_of(self) -> TableMapping:
        if self.table and self.query:
            raise ValueError("set either `table` or `query`, not both")
        both = sorted(set(self.constants) & set(self.columns))
        if both:
            raise ValueError(f"column(s) {both} are both mapped from the export and set as constants: keep one")
        return self


class SourceConfig(Section):
    """Where the interaction history comes from: a SQLAlchemy URL or a folder of files. `${NAME}` in the
    location is read from the environment when connecting (keep passwords out of this file)."""

    location: str = "sqlite:///data/demo/history.db"
    # A table is one mapping, or several whose rows are appended (Zoho's Calls and Meetings both become
    # interactions); `parts(name)` gives the list either way.
    tables: dict[str, TableMapping | list[TableMapping]] = Field(default_factory=dict)
    # A connection that fails or drops mid-pull is tried again this many times (the pull starts over), waiting
    # pull_retry_delay_seconds, then twice that, ... (at most 60 s); then the run fails naming the source.
    pull_retries: int = Field(2, ge=0)
    pull_retry_delay_seconds: float = Field(5.0, ge=0)

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, v: dict[str, TableMapping | list[TableMapping]]) -> dict[str, TableMapping | list[TableMapping]]:
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown canonical table(s) {unknown}; expected some of {list(TABLES)}")
        for name, mapping in v.items():
            parts = mapping if isinstance(mapping, list) else [mapping]
            if not parts:
                raise ValueError(f"{name}: an empty list of mappings; map at least one export, or leave the table out")
            if len({part.customer_by for part in parts}) > 1:
                raise ValueError(f"{name}: every part must link customers the same way (customer_by: id or name)")
            if name == "customers" and parts[0].customer_by == "name":
                raise ValueError("customers: customer_by: name is for the tables that refer to customers; map the "
                                 "customers table's own id (or its name) as customer_id")
        return v

    def parts(self, name: str) -> list[TableMapping]:
        """The mappings of canonical table `name` (its rows appended); [] when the table is not mapped."""
        mapping = self.tables.get(name)
        if mapping is None:
            return []
        return mapping if isinstance(mapping, list) else [mapping]


class ValidateConfig(Section):
    """Contract checks: values that cannot be right, and the share of bad rows per table above which the
    run stops."""

    max_bad_share: float = Field(0.05, ge=0, le=1)
    example_rows: int = 3
    min_time: dt.date = dt.date(1990, 1, 1)  # earlier timestamps are set aside (1800, 0001: export defaults)
    max_amount: float = Field(1e9, gt=0)  # money beyond +-this is set aside (1e308, typos in the millions)


class LabelsConfig(Section):
    """Churn definition and the cutoffs used to build training examples."""

    definition: Literal["inactivity", "explicit"] = "inactivity"
    horizon_days: int = Field(90, gt=0)
    active_days: int = Field(180, gt=0)
    cutoff_step_days: int = Field(30, gt=0)
    train_cutoffs: int = Field(6, ge=1)


class FeaturesConfig(Section):
    """Point-in-time feature windows (days before the cutoff)."""

    windows: list[int] = Field(default_factory=lambda: [30, 90, 180, 365])
    trend_window: int = 90
    # BG/NBD's expected orders are counted over this many days after the cutoff; null: labels.horizon_days
    rhythm_days: int | None = Field(None, gt=0)
    # An order line is bought on promotion when its discount is this far above the customer's median (a year)
    promo_gap: float = Field(0.05, gt=0, lt=1)
    # A history table whose rows joined to their customers' cutoffs are more than this many is read in customer
    # ranges of about this size, so memory stays bounded by a range, not the history (20M order rows, 1M customers,
    # one cutoff: one range 4.4 GB peak; ranges of 2M rows, two at a time, 1.45 GB; training's 11 cutoffs: 12.3 ->
    # 8.2 GB). Other ranges give the same features but for the last bit of a few float sums, added in the order
    # DuckDB's join yields their rows (at 1M customers 481 of 7.4M examples in 3 features, 5e-14 relative at most)
    partition_rows: int = Field(2_000_000, gt=0)
    # Customer ranges computed at once, each on its own single-threaded DuckDB connection (memory: one range each)
    workers: int = Field(2, ge=1)

    @field_validator("windows")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        if not v or any(w <= 0 for w in v):
            raise ValueError("windows must be positive day counts")
        return sorted(set(v))


class SearchConfig(Section):
    """Hyperparameter search: a small grid, scored by temporal cross-validation on the train
    cutoffs (each fold validates on a later cutoff than it trains on, horizon gap respected),
    stopped when the time budget is spent."""

    enabled: bool = False
    budget_seconds: float = 60.0
    folds: int = Field(2, ge=1)
    # Each fold fits on the examples of a fixed share of its customers when it has more than this (None: all of
    # them): at 1M customers a fit on a fold's 4M examples took 35-60 s, so the grid got through two of its 16
    # points in the budget. The chosen parameters are then fitted on every example.
    fit_examples: int | None = Field(500_000, ge=1)
    grid: dict[str, list[float]] = Field(
        default_factory=lambda: {"num_leaves": [3, 7, 15, 31], "learning_rate": [0.03, 0.06], "min_child_samples": [20, 50]}
    )

    @field_validator("grid")
    @classmethod
    def _tunable(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        allowed = {"num_leaves", "learning_rate", "min_child_samples", "n_estimators", "subsample",
                   "colsample_bytree", "reg_lambda"}
        unknown = sorted(set(v) - allowed)
        if unknown:
            raise ValueError(f"search.grid has unknown parameter(s) {unknown}; tunable: {sorted(allowed)}")
        return v


class TrainConfig(Section):
    """LightGBM and calibration settings; the seed lives here."""

    seed: int = 42
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    calibration: Literal["isotonic", "platt"] = "isotonic"
    # Past this many examples a fit is calibrated on a held-out share of its customers (`calibration_share`, its
    # booster fitted on the others) instead of three more fits of 2/3 of the examples for out-of-fold scores: at 1M
    # customers those took 470 s of `churn train`, and a tenth of millions of examples calibrates as well. None:
    # always out-of-fold.
    calibration_held_out_past: int | None = Field(2_000_000, ge=1)
    calibration_share: float = Field(0.1, gt=0.0, lt=1.0)
    # Reweight churners to balance the classes while fitting; calibration on out-of-fold
    # predictions maps the scores back to true probabilities.
    balance_classes: bool = False
    # Once the holdout has judged the specification (parameters, calibration), fit the registered model again on
    # every complete label window, the holdout's included, so that it has seen the freshest behaviour.
    refit: bool = True
    # A history with too few complete windows for a later-time holdout (the fit cutoffs hold no churner or no
    # customer) is judged on this share of its customers instead, held out of the fit: weaker evidence, and said.
    customer_split_holdout: float = Field(0.3, gt=0.0, lt=1.0)
    search: SearchConfig = Field(default_factory=SearchConfig)


class GradeRule(Section):
    auc_gain: float  # ROC-AUC points over the best baseline
    lift_gain: float  # relative top-10% lift gain over the best baseline (0.1 = 10% better)


class EvaluateConfig(Section):
    """Grades and the promotion rule."""

    grade_a: GradeRule = GradeRule(auc_gain=0.03, lift_gain=0.10)
    grade_b: GradeRule = GradeRule(auc_gain=0.01, lift_gain=0.0)
    min_gain_over_baseline: float = 0.0  # ROC-AUC the model must add to the best baseline to be promoted
    auc_tolerance: float = 0.005  # a new champion may be this much worse than the old on ROC-AUC ...
    brier_tolerance: float = 0.002  # ... and on Brier score, on the same holdout
    max_calibration_gap: float = 0.02  # |mean predicted - observed churn rate| on the holdout


class BacktestConfig(Section):
    """`churn backtest`: the default spacing of as-of dates, and whether each date runs the search."""

    every: str = "30d"  # spacing of as-of dates: days (30d) or months (1m)
    search: bool = False  # the grid search per date multiplies the run time; off by default
    # Which label windows the model at each date learns from: every complete one (the latest ends at the date),
    # or only those that end one horizon earlier (the model churn registered before it refit on the latest
    # window, kept to measure what the refit brings).
    windows: Literal["all_complete", "before_latest"] = "all_complete"
    start: dt.date | None = None  # the dates `churn stage backtest` (DVC) uses
    end: dt.date | None = None


class KnownCausesConfig(Section):
    """Loss causes learnt from why past customers left (the optional `loss_reasons` table): a LightGBM cause
    model on the features of lost customers whose reason was recorded, its probabilities weighed with the evidence
    method's z-scores (`with_evidence`). Used when there are at least `min_reasons` such customers and
    `min_per_cause` of each cause; otherwise the evidence method. A cause is
    named when its probability is at least `min_probability` and leads the runner-up by `min_margin`;
    otherwise the cause is unclear. It names the list's causes only when, on the holdout's lost customers with a
    recorded reason (`min_judged` of them at least), it names as many right as the evidence method, or, weighed,
    the evidence method alone is not significantly better (`evidence_significance`). See docs/loss_causes.md."""

    enabled: bool = True
    min_reasons: int = Field(100, ge=1)
    min_per_cause: int = Field(10, ge=1)
    # a reason recorded up to this many days after a churn window's end explains that window's loss
    recorded_within_days: int = Field(180, ge=0)
    min_probability: float = Field(0.4, ge=0, le=1)
    min_margin: float = Field(0.1, ge=0, le=1)
    # the cause model's probabilities weighed with the evidence method's (times a softmax of each cause's evidence
    # z-score, normalised): the recorders' habits and the risk model's filing of features err differently. False:
    # the cause model alone, which needs no TreeSHAP when scoring
    with_evidence: bool = True
    # the cause model names the list's causes only when, on at least this many lost customers of the holdout with
    # a recorded reason, it names as many right as the evidence method
    min_judged: int = Field(30, ge=1)
    # ... or, weighed with the evidence (which it holds), unless the evidence method alone names significantly more
    # of them right: an exact one-sided binomial test on the customers the two name differently, p below this
    evidence_significance: float = Field(0.05, gt=0, le=1)
    n_estimators: int = Field(300, ge=1)
    learning_rate: float = Field(0.03, gt=0)
    num_leaves: int = Field(7, ge=2)
    min_child_samples: int = Field(20, ge=1)


class ComplaintCausesConfig(Section):
    """A cause model learnt from what lost customers complained about (`churn.model.learn_from_complaints`): each
    churned training example labelled with the cause the customer complained about most in the trend window, learnt
    from its other features, its probabilities weighing the evidence method's (and the recorded-reason cause
    model's). On by default: in the causes benchmark it raised both worlds at 5,000 and 20,000 customers and lowered
    none (docs/loss_causes.md: the 20,000-customer demo 0.735 -> 0.770 with recorded reasons, 0.703 -> 0.749
    without). Uses `known_causes`' LightGBM settings."""

    enabled: bool = True
    min_customers: int = Field(100, ge=1)  # lost customers who complained about one cause most
    min_per_cause: int = Field(10, ge=1)
    # set aside when the holdout's recorded reasons say naming without it is significantly better (one-sided p)
    significance: float = Field(0.05, gt=0, le=1)


class ExplainConfig(Section):
    """Feature -> loss-cause map (fnmatch globs on feature names) and when a cause is clear.

    Features listed under `symptoms` say *that* a customer is leaving (orders falling, long
    silence) but not *why*: they never pick the cause. A cause is named when its evidence stands
    out from the scored population by `min_evidence_z` standard deviations and leads the runner-up
    by `min_margin_z`; otherwise the cause is unclear (`other`). See docs/loss_causes.md.
    """

    causes: dict[str, list[str]]
    symptoms: list[str]
    min_evidence_z: float = Field(0.25, ge=0)
    min_margin_z: float = Field(0.1, ge=0)
    stated_first: bool = True  # the cause a customer complained about most in the trend window comes first
    known_causes: KnownCausesConfig = KnownCausesConfig()
    from_complaints: ComplaintCausesConfig = ComplaintCausesConfig()
    # TreeSHAP costs ~0.4 ms a customer: past `all_up_to` scored customers the evidence method explains those at
    # risk or lapsed, plus the customers the contact plan reaches (`churn stage decide` explains them on demand),
    # each against the evidence of a seeded sample of `reference_customers` scored customers instead of everyone
    # (unless those at risk, lapsed and sampled are more than half the list: then everyone, docs/loss_causes.md).
    all_up_to: int = Field(50_000, ge=0)
    reference_customers: int = Field(20_000, gt=1)
    seed: int = 0

    @field_validator("causes")
    @classmethod
    def _known_causes(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(v) - set(CAUSES))
        if unknown:
            raise ValueError(f"unknown cause(s) {unknown}; causes are {list(CAUSES)}")
        return v


class LapsedRule(Section):
    """When a customer counts as lapsed (lost, for a manager) rather than at risk: no order for `gap_multiple`
    times their usual gap between orders and at least `min_days`, or for `after_days` whatever their rhythm.
    Lapsed customers go to the win-back list with the playbook's win-back actions and their own budget."""

    gap_multiple: float | None = Field(2.0, gt=0)  # None: the usual gap does not count
    min_days: int = Field(90, ge=0)
    after_days: int | None = Field(180, gt=0)  # None: no silence is long enough on its own


class LifecycleRule(Section):
    """A customer's lifecycle stage at the as-of date, the first that applies: `lapsed` (the lapsed rule above);
    `new`: first known for fewer than `new_days` (signup or first order); `growing` / `declining`: revenue over the
    last trend window (features.trend_window, 90 days) against the window before moved by at least `trend` on the
    features' trend scale, (last - previous) / (last + previous): 0.2 means the last window brought at least 1.5
    times (growing) or at most 2/3 (declining) of the one before; `mature`: the others."""

    new_days: int = Field(180, gt=0)
    trend: float = Field(0.2, gt=0, lt=1)


class NeedRule(Section):
    """A customer's need profile (price-, service- or quality-sensitive, or none) from the signs its history
    holds (`churn.score.need_profiles`): a survey sub-score `survey_gap` points below the customer's other two;
    `min_complaints` complaints in the need's categories within 365 days, at least half of its complaints; tickets
    resolved in `slow_resolution_days` or more on average (service); returns of `returns_share` or more of what
    was bought (quality); lines bought on promotion `promo_lift` times the size of the others, over at least
    `min_promo_lines` of them (price); after past campaign contacts whose action answers the need, `campaign_lift`
    times as much bought in the `campaign_window_days` after as before, over `min_campaign_contacts` contacts. The
    profile is the need with the most signs, at least `min_signs`, and alone in front."""

    survey_gap: float = Field(1.0, gt=0)
    min_complaints: int = Field(2, ge=1)
    slow_resolution_days: float = Field(7.0, gt=0)
    returns_share: float = Field(0.03, gt=0, lt=1)
    promo_lift: float = Field(1.4, gt=1)
    min_promo_lines: int = Field(3, ge=1)
    campaign_lift: float = Field(1.3, gt=1)
    min_campaign_contacts: int = Field(1, ge=1)
    campaign_window_days: int = Field(90, gt=0)
    min_signs: int = Field(2, ge=1)


class ScoreConfig(Section):
    """Risk bands, value tiers and the retention list."""

    risk_bands: dict[str, float] = Field(default_factory=lambda: {"high": 0.5, "medium": 0.25})
    # Pareto cut points on cumulative share of trailing-12-month value, largest customers first.
    value_tier_cuts: dict[str, float] = Field(default_factory=lambda: {"high": 0.6, "medium": 0.9})
    act_on_risk_bands: list[str] = Field(default_factory=lambda: list(AT_RISK_BANDS))
    playbook: str = "playbook.yaml"  # relative to the config file
    lapsed: LapsedRule = Field(default_factory=LapsedRule)
    lifecycle: LifecycleRule = Field(default_factory=LifecycleRule)
    needs: NeedRule = Field(default_factory=NeedRule)


class KeyAccountRules(Section):
    """Which customers are key accounts; the first rule that matches names the reason.

    1. `use_flag`: the customers table's `is_key_account` flag ("flag").
    2. `top_revenue_share`: the largest customers making up the first X of trailing 12-month
       revenue (Pareto cut, as `actions.value_tiers`): "top 20% of 12-month revenue".
    3. `segments`: customers whose segment is one of these (case-insensitive): "segment hospital".
    """

    use_flag: bool = True
    top_revenue_share: float | None = Field(None, gt=0, le=1)
    segments: list[str] = Field(default_factory=list)

    @field_validator("segments")
    @classmethod
    def _no_blank_segments(cls, segments: list[str]) -> list[str]:
        if any(not s.strip() for s in segments):
            raise ValueError("key-account segments must not be blank")
        return segments


class ValueConfig(Section):
    """Customer value: the 12-month forecast behind value tiers, and the key-account rules."""

    # margin_if_retained: tiers by the 12-month margin forecast for a customer who stays (what is at stake);
    # forecast_margin: by the plain forecast, which already discounts a customer's chance of having left, so a
    # large account that is leaving falls to a low tier; trailing: by the last 12 months' margin (value_12m).
    # The forecasts fall back to the trailing value when the models cannot be fitted.
    tier_by: Literal["margin_if_retained", "forecast_margin", "trailing"] = "margin_if_retained"
    horizon_days: int = Field(365, gt=0)
    margin_rate: float | None = Field(None, ge=0, le=1)  # for customers without a known margin
    key_accounts: KeyAccountRules = Field(default_factory=KeyAccountRules)


class EffectsConfig(Section):
    """What retention actions achieve: uplift models on the `campaigns` table's randomised past
    actions (used instead of the decide priors, per action) and `churn effect`'s measurements."""

    use_campaigns: bool = True
    # relative: each action's measured relative effect (held-out minus treated churn, as a share of
    # the held-out churn) replaces its prior, so a customer's effect = its churn probability x that
    # share. two_model / x_learner: per-customer uplift models on top, for the actions whose
    # average effect is proven (needs thousands of campaign rows per action to beat noise).
    method: Literal["relative", "two_model", "x_learner"] = "relative"
    min_per_arm: int = Field(50, ge=1)  # fewer treated or held-out rows for an action: keep its prior
    confidence: float = Field(0.9, gt=0, lt=1)
    seed: int = 0
    # Per-customer uplift is noisy: estimates are clipped to [-max_effect, max_effect] (absolute
    # reduction in churn probability) before they reach the budget optimiser.
    max_effect: float = Field(0.5, gt=0, le=1)


class DecideConfig(Section):
    """Budget, capacity, holdout and prior effects of the retention decisions."""

    budget: float | None = None  # total money for the run's retention contacts; None = unlimited
    winback_budget: float | None = None  # money for win-back contacts of lapsed customers; None = unlimited
    # {owner | owner role | "default": {channel: max actions in this run}}; see the module docstring
    capacity: dict[str, dict[str, float]] = Field(default_factory=dict)
    holdout_share: float = Field(0.1, ge=0, le=0.5)
    seed: int = 0
    # prior effect per action: the share of the customer's churn risk it removes (0.25 = a quarter)
    effects: dict[str, float] = Field(default_factory=dict)
    effect_by_cause: dict[str, dict[str, float]] = Field(default_factory=dict)  # action -> cause -> prior
    min_value: float = Field(0.0, ge=0)  # an action must be worth more than this, net of its cost
    solver: Literal["milp", "greedy"] = "milp"
    time_limit_seconds: float = Field(60.0, gt=0)  # milp: stop and keep the best plan found so far
    # milp: past this many candidate options the greedy plan with its bound and gap (HiGHS did not keep its time
    # limit at 1,000,000 customers: over 6 minutes in its first LP)
    milp_up_to: int = Field(250_000, gt=0)
    mip_rel_gap: float = Field(1e-4, ge=0)  # milp: stop when proven within this share of the optimum (HiGHS default)
    # milp: a greedy plan within this share of its bound (the linear relaxation's) is kept without the solver; None:
    # within mip_rel_gap, the tolerance the solver stops at, so asking the solver for the exact optimum (0) asks it of
    # the greedy plan too. At 1M customers the win-back plan came within 1.2e-5, and HiGHS, without it as a start,
    # ran 112 s past its 60 s limit to a worse plan.
    greedy_within: float | None = Field(None, ge=0, lt=1)

    @field_validator("budget", "winback_budget")
    @classmethod
    def _budget(cls, v: float | None) -> float | None:
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise ValueError(f"budget must be a finite amount >= 0 (or null for unlimited); got {v}")
        return v

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        bad = {f"{who}.{ch}": n for who, limits in v.items() for ch, n in limits.items() if not n >= 0}
        if bad:
            raise ValueError(f"capacity limits must be >= 0 (leave a channel out for unlimited); got {bad}")
        return v

    @field_validator("effects")
    @classmethod
    def _effects(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {a: e for a, e in v.items() if not -1 <= e <= 1}
        if bad:
            raise ValueError(f"prior effects are shares of the churn risk, between -1 and 1; got {bad}")
        return v

    @field_validator("effect_by_cause")
    @classmethod
    def _effect_by_cause(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        unknown = sorted({c for by in v.values() for c in by} - set(LIST_CAUSES))
        if unknown:
            raise ValueError(f"effect_by_cause has unknown cause(s) {unknown}; causes are {list(LIST_CAUSES)}")
        bad = {f"{a}.{c}": e for a, by in v.items() for c, e in by.items() if not -1 <= e <= 1}
        if bad:
            raise ValueError(f"prior effects are shares of the churn risk, between -1 and 1; got {bad}")
        return v


class ReportConfig(Section):
    """The managers' report (HTML) and workbook (Excel) written next to the retention list."""

    language: Literal["en", "zh"] = "en"
    mask_personal: bool = False  # masked from the pull on: no output holds the originals
    excel: bool = True
    # The currency of every amount (a code: CNY, USD, EUR, ...), shown beside each one; None shows bare numbers.
    currency: str | None = Field(None, max_length=8)
    # A list of at most this many customers is shown whole in the report and the workbook; a longer one shows the
    # customers a manager acts on (at risk, lapsed or in the contact plan). The CSV and Parquet lists hold everyone.
    list_all_up_to: int = Field(20_000, ge=0)


class MonitorConfig(Section):
    """Watching the model in use: drift of each scoring run against the training reference."""

    # A feature (or the score, or the customer mix) alarms when its population stability index or its
    # Jensen-Shannon distance (base 2) against the training reference passes these.
    psi_alarm: float = Field(0.25, gt=0)
    js_alarm: float = Field(0.15, gt=0, le=1)
    bins: int = Field(10, ge=2, le=100)  # quantile bins of the reference for numeric features
    # ... merged where an edge is closer to the one below than this share of its size (a feature bunched in a
    # sliver of its range, like BG/NBD's P(alive) near 1, would otherwise alarm on shifts of no consequence)
    min_bin_width: float = Field(0.01, ge=0, lt=1)
    fail_on_drift: bool = False  # true: a scoring run with an alarm exits non-zero, naming the features
    # Drift is also measured within each value of these columns (a price change in one region) that has at least
    # `min_group_customers` customers in the reference and in the run (fewer: too noisy to alarm on).
    drift_by: list[str] = ["region"]
    min_group_customers: int = Field(500, ge=50)
    # Realised performance (`churn monitor`): a past run alerts when its realised ROC-AUC is more than this
    # below the holdout ROC-AUC its model was promoted with.
    auc_margin: float = Field(0.05, ge=0, le=1)


class PublishConfig(Section):
    """Publish the retention list to a database table (url null: not published).
    CHURN_PUBLISH_URL in the environment wins; `${NAME}` in the URL is read from the environment."""

    url: str | None = None
    table: str = "retention_actions"
    chunksize: int = Field(5000, gt=0)
    # A connection that fails or drops is tried again this many times, waiting retry_delay_seconds, then twice
    # that, ... (at most 60 s); each attempt is one transaction, so a retried publish never duplicates rows.
    retries: int = Field(2, ge=0)
    retry_delay_seconds: float = Field(5.0, ge=0)

    @field_validator("table")
    @classmethod
    def _plain_table_name(cls, v: str) -> str:
        problem = written_table_problem(v)
        if problem:
            raise ValueError(f"publish table {v!r} {problem}")
        return v


class TrackingConfig(Section):
    """MLflow: MLFLOW_TRACKING_URI in the environment wins over `uri`."""

    uri: str = "sqlite:///mlflow.db"
    experiment: str = "churn"
    registered_model: str = "churn"


class ScheduleConfig(Section):
    """Cron schedules used by `churn serve`, and the time limits of every flow run."""

    scoring_cron: str = "0 6 * * 1"
    training_cron: str = "0 3 1 * *"
    timezone: str = "UTC"
    # A flow run (and each of its stages) that takes longer is stopped and marked failed, so a hung source or
    # disk shows as a failed run instead of one left Running.
    flow_timeout_minutes: int = Field(240, gt=0)
    task_timeout_minutes: int = Field(120, gt=0)
    # A run waits this long for another run using the same work folder (one at a time: they share its files).
    wait_for_other_run_minutes: float = Field(60, ge=0)


class EngineConfig(Section):
    """Where the heavy steps run: this machine (`local`) or a Dask cluster (`dask`, `pip install "churn[dask]"`).
    With Dask the validated history is written in `partitions` parts by a hash of the customer id, each part's
    features computed on a worker (the same to the bit as the local engine's). The local engine never imports
    Dask."""

    kind: Literal["local", "dask"] = "local"
    # A running Dask scheduler, e.g. tcp://scheduler:8786 (its workers must read the work folder). Null with kind
    # dask: a LocalCluster on this machine, bound to 127.0.0.1 without a dashboard, closed when the step ends.
    scheduler: str | None = Field(None, min_length=1)
    partitions: int = Field(16, ge=1)
    # The LocalCluster's workers (one thread each: DuckDB and LightGBM use their own) and each one's memory limit.
    local_workers: int = Field(2, ge=1)
    memory_per_worker: str = "4GiB"


class DemoShiftConfig(Section):
    """`churn demo --weeks N`: the deliberate shift the weekly runs' monitoring has to catch."""

    region: str = "East"
    factor: float = Field(3.0, gt=0)  # the region's order sizes multiplied by this ...
    days_before_last_run: int = Field(35, ge=1)  # ... from this many days before the last weekly run


class DemoConfig(Section):
    """The sample pharmaceutical distributor written by `churn demo`."""

    seed: int = 7
    n_customers: int = Field(5000, ge=50)
    start: dt.date = dt.date(2023, 10, 1)
    end: dt.date = dt.date(2026, 10, 1)
    inject_errors: bool = True
    # How busy customers are: a multiplier on the rates of orders, rep contacts and tickets but for a cause's own
    # complaints (1: the demo's ~150 order lines, ~100 contacts and ~11 tickets a customer over three years; 0.13
    # gives the ~20 order lines and ~2 tickets a customer of a large history)
    activity: float = Field(1.0, gt=0, le=10)
    shift: DemoShiftConfig = Field(default_factory=DemoShiftConfig)


class Config(Section):
    as_of: dt.date | None = None
    source: SourceConfig = Field(default_factory=SourceConfig)
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    explain: ExplainConfig
    value: ValueConfig = Field(default_factory=ValueConfig)
    score: ScoreConfig = Field(default_factory=ScoreConfig)
    effects: EffectsConfig = Field(default_factory=EffectsConfig)
    decide: DecideConfig = Field(default_factory=DecideConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    demo: DemoConfig = Field(default_factory=DemoConfig)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _rhythm_over_the_horizon(cls, data):
        # BG/NBD's expected orders are counted over the churn horizon unless the features section says otherwise.
        if isinstance(data, dict) and isinstance(data.get("features", {}), dict):
            features = dict(data.get("features") or {})
            if features.get("rhythm_days") is None:
                labels = data.get("labels") or {}
                horizon = labels.get("horizon_days") if isinstance(labels, dict) else None
                features["rhythm_days"] = horizon if horizon is not None else LabelsConfig().horizon_days
                data = {**data, "features": features}
        return data


def load_config(path: str | Path = "configs/params.yaml", **overrides: object) -> Config:
    """Read the YAML config; `overrides` are dotted keys, e.g. {"labels.horizon_days": 60}.

    A config may start with `extends: <other file>` (relative to itself) and override only what
    differs, e.g. a source mapping in configs/sources/.
    """
    raw = _read_raw(Path(path))
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(path, err) from None


class ConfigError(ValueError):
    """A config that breaks the schema: names the file and every setting at fault, without a traceback."""

    def __init__(self, path: str | Path, err: ValidationError):
        self.errors = err.errors(include_url=False)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            f" (got {_short(e['input'])})" for e in self.errors)
        super().__init__(f"config {path} is not valid: {problems}")


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"config file {path} not found (run from the project root or pass --config)")
    if path.resolve() in seen:
        raise ValueError(f"config {path} extends itself through {[str(p) for p in seen]}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"config {path} is not valid YAML: {' '.join(str(err).split())}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config {path} must be a mapping of sections (train:, score:, ...), not {type(raw).__name__}")
    # The playbook is named relative to the file that names it, so configs work from any folder.
    if isinstance(raw.get("score"), dict) and "playbook" in raw["score"]:
        raw["score"]["playbook"] = str(path.parent / raw["score"]["playbook"])
    base_name = raw.pop("extends", None)
    if base_name is None:
        raw.setdefault("score", {}).setdefault("playbook", str(path.parent / "playbook.yaml"))
        return raw
    return _merge(_read_raw(path.parent / base_name, (*seen, path.resolve())), raw)


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out
