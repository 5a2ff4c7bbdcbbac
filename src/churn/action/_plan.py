"""Retention decisions: who gets which action, within a budget and the team's capacity.

The retention list says who is at risk, why, and the playbook's action for each customer. This
module turns it into a plan worth the most money (pure functions: DataFrames and a typed config
in, DataFrames and dicts out; no file I/O, no MLflow):

- `action_options`: every action a customer may get, with its cost, its effect (the absolute
  reduction in churn probability) and its expected net value;
- `choose_actions`: at most one action per customer, maximising the total expected value
  retained under a total budget and per-owner (or per-team) channel capacities: an exact
  mixed-integer program (`scipy.optimize.milp`, HiGHS) or a greedy heuristic;
- `assign_holdout`: a reproducible random control group among the chosen customers, not
  contacted, so the effect of each action can be measured later (`churn effect`; the
  `campaigns` table's `treated = false`);
- `compare_with_risk_ranking`: the plan against "contact the riskiest customers with their
  playbook action until the budget is spent", on the same budget and capacity;
- `decide`: the three steps above for a whole retention list;
- `with_measured_effects` / `effect_sources`: measured relative effects (past campaigns,
  `churn effect`) in place of the config's priors, and which source each action's effect has.

Allowed actions (the "ladder" rule). A customer's segment is `key_account` when
`is_key_account`, else its `value_tier`; the segments are ordered key_account > high > medium >
low (`churn.vocab.SEGMENTS`). A customer may get the playbook's action for its own segment and
primary cause, or the cause its need profile steers it to (`churn.action.acting_causes`), and its
lifecycle stage where the playbook has rules for it (`lifecycle:`), the "playbook action", plus the action the
playbook names for the same cause (and stage) in
every LOWER segment whose cost is not above the playbook action's cost. A high-value customer with
a price problem may thus get pricing_offer (its own), price_callback (medium) or auto_price_email
(low); a low-value one only auto_price_email. Never a dearer or a higher-tier action: the
playbook's service levels stay a ceiling, the optimiser may only step down. The playbook's
`no_action` (monitor) is never an option: not choosing is the same thing. Risk bands do not gate
the options: a low-risk customer is simply worth little (its effect is small).

Effects and value. For each option,

    effect = uplift estimate, when an `effects` frame gives one (not NaN), else
             churn_probability * prior, prior = effect_by_cause[action][primary_cause] (the loss cause, even
                                              where the need steered the action)
                                              or effects[action] from the config
    expected_retained_value = effect * forecast_value - cost

`effect` is an ABSOLUTE reduction in churn probability (0.05 = five points fewer), the unit of
`churn.action.predict_effects`; the config's priors are RELATIVE (the share of the customer's risk
the action removes: 0.25 = a quarter). `forecast_value` is the listing's `forecast_value_12m` when
present (NaN falls back to `value_12m`), else `value_12m`; `value_if_retained_12m` (the forecast
for a customer who stays, see `churn.score.customer_value`) takes the forecast's place when present;
missing values count as 0.

Capacity. `capacity` maps a name to {channel: most actions of that channel in this run}. An
option draws on one "capacity pool": when its playbook `owner_role` has an entry (e.g.
"inside sales": {call: 300}) the pool is that whole team; otherwise the pool is the customer's
`owner` (the account manager), with the owner's own entry if there is one, else `default`.
Channels a pool's entry does not list are unlimited; fractional limits are rounded down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from churn.action._playbook import acting_causes, lifecycle_of, rule_action
from churn.config import DecideConfig
from churn.vocab import (
    CONTACTED,
    HELD_OUT,
    KEY_ACCOUNT,
    LIST_CAUSES,
    NO_OWNER,
    NOT_CONTACTED,
    SEGMENTS,
    lapsed_flags,
)

log = logging.getLogger(__name__)

STATUSES = (CONTACTED, *NOT_CONTACTED)
OPTION_COLUMNS = ("customer_id", "owner", "action", "channel", "cost", "expected_retained_value")
VALUE_COLUMNS = ("value_if_retained_12m", "forecast_value_12m", "value_12m")
LISTING_COLUMNS = ("customer_id", "owner", "is_key_account", "value_tier", "primary_cause", "churn_probability")


# --------------------------------------------------------------------------- options

def allowed_actions(playbook, segment: str, cause: str, stage: str | None = None) -> list[str]:
    """The ladder rule (module docstring): the playbook action first, then cheaper lower-tier ones (for the
    customer's lifecycle stage: `churn.action.rule_action`)."""
    own = rule_action(playbook, segment, cause, stage)
    names = [own]
    for lower in SEGMENTS[SEGMENTS.index(segment) + 1:]:
        name = rule_action(playbook, lower, cause, stage)
        if name not in names and playbook.actions[name].cost <= playbook.actions[own].cost:
            names.append(name)
    return [n for n in names if n != playbook.no_action]


def action_options(listing: pd.DataFrame, playbook, cfg: DecideConfig,
                   effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (customer, allowed action): customer_id, owner, action, channel, owner_role,
    cost, playbook_action (the playbook's own action for the customer), churn_probability,
    forecast_value, effect (absolute reduction in churn probability), effect_source ("uplift" or
    "prior"), expected_retained_value = effect * forecast_value - cost.

    `effects` (optional): index customer_id, one column per action, absolute reductions in churn
    probability (as `churn.action.predict_effects` returns); a value that is not NaN replaces the
    prior. Columns naming no playbook action are ignored (logged).
    """
    _require(listing, LISTING_COLUMNS, "listing")
    if not any(c in listing.columns for c in VALUE_COLUMNS):
        raise ValueError(f"listing lacks a value column: one of {list(VALUE_COLUMNS)}")
    ids = listing["customer_id"].astype("string")
    if ids.isna().any():
        raise ValueError("listing has customers without a customer_id")
    if ids.duplicated().any():
        raise ValueError(f"listing has duplicate customer_id(s) {ids[ids.duplicated()].unique()[:5].tolist()}")
    p = pd.to_numeric(listing["churn_probability"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("listing.churn_probability must be a probability in [0, 1] for every customer")
    segment = np.where(listing["is_key_account"].fillna(False).astype(bool).to_numpy(), KEY_ACCOUNT,
                       listing["value_tier"].astype("object").to_numpy())
    cause = listing["primary_cause"].astype("object").to_numpy()
    known = ~pd.isna(cause)
    bad_seg = sorted({str(s) for s in segment} - set(SEGMENTS))
    bad_cause = sorted({str(c) for c in cause[known]} - set(LIST_CAUSES))
    if bad_seg or bad_cause:
        raise ValueError(f"listing has unknown value_tier(s) {bad_seg} or primary_cause(s) {bad_cause}")
    unknown_priors = sorted((set(cfg.effects) | set(cfg.effect_by_cause)) - set(playbook.actions))
    if unknown_priors:
        raise ValueError(f"decide.effects names action(s) {unknown_priors} that the playbook does not define")

    value = _forecast_value(listing)
    # A customer not yet explained (no primary cause: `churn.score.explain_customers` names it on demand) gets the
    # options of every cause (`primary_cause` the one assumed, `cause_known` false), each at its value for that
    # cause: a plan that chooses none of them is the plan its true cause would give; one that chooses it asks for
    # its cause (`decide`'s attrs["needs_causes"]).
    rows = np.arange(len(listing))
    idx = np.concatenate([rows[known], np.tile(rows[~known], len(LIST_CAUSES))])
    assumed = np.concatenate([cause[known], np.repeat(np.array(LIST_CAUSES, dtype=object), (~known).sum())])
    steering = pd.DataFrame({"primary_cause": assumed}) if "need_profile" not in listing.columns else \
        pd.DataFrame({"primary_cause": assumed, "need_profile": listing["need_profile"].to_numpy()[idx]})
    acting = acting_causes(steering, playbook)  # the ladder answers the need-steered cause; effects the true one
    stage = np.array([s if s in (playbook.lifecycle or {}) else "" for s in lifecycle_of(listing)], dtype=object)
    base = pd.DataFrame({
        "row": idx,
        "customer_id": ids.to_numpy()[idx],
        "owner": listing["owner"].astype("string").fillna(NO_OWNER).to_numpy()[idx],
        "segment": segment[idx],
        "primary_cause": assumed,
        "cause_known": known[idx],
        "acting_cause": acting,
        # a stage with rules of its own, else "" (the general rules)
        "stage": stage[idx],
        "churn_probability": p[idx],
        "forecast_value": value[idx],
    })
    ladder = pd.DataFrame(
        [(seg, c, stage, name, k == 0) for seg in SEGMENTS for c in LIST_CAUSES
         for stage in ("", *(playbook.lifecycle or {}))
         for k, name in enumerate(allowed_actions(playbook, seg, c, stage or None))],
        columns=["segment", "acting_cause", "stage", "action", "playbook_action"],
    )
    out = base.merge(ladder, on=["segment", "acting_cause", "stage"], how="inner", sort=False).drop(
        columns=["acting_cause", "stage"])
    out = out.sort_values(["row", "playbook_action"], ascending=[True, False], kind="stable", ignore_index=True)
    acts = playbook.actions
    # looked up once per action and per (action, cause): a Python call per option cost seconds at 1M customers
    action_code, action_names = pd.factorize(out["action"].to_numpy(dtype=object))
    out["channel"] = np.array([acts[a].channel for a in action_names], dtype=object)[action_code]
    out["owner_role"] = np.array([acts[a].owner_role for a in action_names], dtype=object)[action_code]
    out["cost"] = np.array([acts[a].cost for a in action_names], dtype="float64")[action_code]
    cause_code, cause_names = pd.factorize(out["primary_cause"].to_numpy(dtype=object))
    prior = np.array([[cfg.effect_by_cause.get(a, {}).get(c, cfg.effects.get(a, np.nan)) for c in cause_names]
                      for a in action_names], dtype="float64").reshape(len(action_names), len(cause_names))
    prior = prior[action_code, cause_code]
    effect = out["churn_probability"].to_numpy() * prior
    source = np.full(len(out), "prior", dtype=object)
    if effects is not None:
        uplift = _lookup_effects(effects, out, set(acts))
        given = ~np.isnan(uplift)
        effect = np.where(given, uplift, effect)
        source[given] = "uplift"
    if np.isnan(effect).any():
        missing = sorted(out.loc[np.isnan(effect), "action"].unique().tolist())
        raise ValueError(f"no effect for action(s) {missing}: give decide.effects a prior for each "
                         "(or an uplift estimate for every customer)")
    out["effect"] = effect
    out["effect_source"] = pd.array(source, dtype="string")
    out["expected_retained_value"] = effect * out["forecast_value"].to_numpy() - out["cost"].to_numpy()
    cols = ["customer_id", "owner", "action", "channel", "owner_role", "cost", "playbook_action",
            "primary_cause", "cause_known", "churn_probability", "forecast_value", "effect", "effect_source",
            "expected_retained_value"]
    out = out[cols]
    for c in ("customer_id", "owner", "action", "channel", "owner_role", "primary_cause"):
        out[c] = out[c].astype("string")
    return out


def _forecast_value(listing: pd.DataFrame) -> np.ndarray:
    # The first of value_if_retained_12m / forecast_value_12m present, with value_12m where it is
    # missing (a customer BG/NBD gives up on still has its past year's value if it stays).
    value = pd.Series(np.nan, index=listing.index, dtype="float64")
    first = next((c for c in VALUE_COLUMNS[:2] if c in listing.columns), None)
    for col in ([first] if first else []) + ["value_12m"] * ("value_12m" in listing.columns):
        value = value.fillna(pd.to_numeric(listing[col], errors="coerce").astype("float64"))
    return value.fillna(0.0).to_numpy(dtype="float64")


def _lookup_effects(effects: pd.DataFrame, out: pd.DataFrame, actions: set[str]) -> np.ndarray:
    ignored = sorted(set(map(str, effects.columns)) - actions)
    if ignored:
        log.warning("effects column(s) %s name no playbook action: ignored", ignored)
    frame = effects.copy()
    frame.index = frame.index.astype("string")
    frame.columns = [str(c) for c in frame.columns]
    if frame.index.duplicated().any():
        raise ValueError("effects has duplicate customer_id(s) in its index")
    result = np.full(len(out), np.nan)
    rows = frame.index.get_indexer(out["customer_id"].to_numpy())
    for action in set(frame.columns) & actions:
        at = (out["action"].to_numpy() == action) & (rows >= 0)
        col = pd.to_numeric(frame[action], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        result[at] = col[rows[at]]
    return result


# --------------------------------------------------------------------------- choosing

def _require(frame: pd.DataFrame, columns, where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{where} is missing column(s) {missing}")


def _pools(opts: pd.DataFrame, cfg: DecideConfig) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per option: its capacity pool code (-1: unlimited); per pool: its limit and a label."""
    owner = opts["owner"].astype("string").fillna(NO_OWNER).to_numpy(dtype=object)
    role = (opts["owner_role"].astype("string").fillna("").to_numpy(dtype=object)
            if "owner_role" in opts.columns else np.full(len(opts), "", dtype=object))
    channel = opts["channel"].astype("string").fillna("").to_numpy(dtype=object)
    team = np.array([_is_team(r, cfg.capacity) for r in role], dtype=bool)
    holder = np.where(team, role, owner)
    keys = pd.DataFrame({"team": team, "holder": holder, "channel": channel})
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    pool_of = np.full(len(opts), -1, dtype=np.int64)
    limits, labels = [], []
    default = cfg.capacity.get("default", {})
    for k, (is_team, who, ch) in enumerate(uniques):
        entry = cfg.capacity[who] if is_team else cfg.capacity.get(who, default)
        if ch in entry:
            pool_of[codes == k] = len(limits)
            limits.append(math.floor(entry[ch] + 1e-9))
            labels.append(f"{who} (team) / {ch}" if is_team else f"{who} / {ch}")
    return pool_of, np.array(limits, dtype=np.int64), labels


def _is_team(owner_role: str, capacity: dict) -> bool:
    """An action draws on its owner_role's team pool when the capacity names that role, else on the owner's."""
    return owner_role in capacity


def _check_options(options: pd.DataFrame) -> pd.DataFrame:
    _require(options, OPTION_COLUMNS, "options")
    opts = options.reset_index(drop=True)
    cost = pd.to_numeric(opts["cost"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    value = pd.to_numeric(opts["expected_retained_value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(cost).any() or np.isnan(value).any() or np.isinf(value).any():
        raise ValueError("options.cost and options.expected_retained_value must be numbers (no NaN)")
    if (cost < 0).any():
        raise ValueError("options.cost must be >= 0")
    if opts["customer_id"].isna().any():
        raise ValueError("options has rows without a customer_id")
    return opts


def _exact_plan(value, cost, cust, pool, limits, cfg: DecideConfig) -> tuple[np.ndarray, dict]:
    """The optimal plan: the greedy plan when it retains its bound (no plan can retain more) or comes within
    `cfg.greedy_within` of it, else the solver's (`_milp`), never behind the greedy plan."""
    greedy, bounded = _greedy(value, cost, cust, pool, limits, cfg.budget)
    retained = float(value[greedy].sum())
    bound = bounded["upper_bound"]
    if retained >= bound - 1e-9 * max(1.0, abs(bound)):
        # at 1M customers the win-back section's plan: proven optimal in 0.4 s, where the solver took 23 s
        return greedy, bounded | {"optimal": True, "mip_gap": 0.0, "greedy_expected_value": retained,
                                  "solver_status": f"{bounded['solver_status']}: retains the bound, optimal"}
    within, setting = ((cfg.mip_rel_gap, "decide.mip_rel_gap") if cfg.greedy_within is None
                       else (cfg.greedy_within, "decide.greedy_within"))
    if retained >= bound - within * abs(bound):
        # No plan retains more than the bound (a linear relaxation's: fractions of actions allowed), so the plan is
        # proven within the tolerance the solver would stop at (by default). At 1M customers the win-back plan came
        # within 1.2e-5 of its bound; HiGHS, which cannot start from it, ran 112 s past its 60 s time limit and
        # stopped at a worse plan.
        return greedy, bounded | {"optimal": True, "greedy_expected_value": retained, "solver_status": (
            f"{bounded['solver_status']}: within {within:g} of the bound ({setting}), optimal within that gap")}
    take, info = _milp(value, cost, cust, pool, limits, cfg.budget, cfg)
    # The greedy plan costs under a second: the plan when the solver found none, and kept when the solver
    # stopped (gap or time limit) at something worse, so the exact solver is never behind the heuristic.
    if take is None:
        log.warning("milp found no plan (%s): falling back to the greedy plan", info["solver_status"])
        take, info = greedy, info | {k: bounded[k] for k in ("solver", "upper_bound", "mip_gap")} | {
            "solver_status": f"milp failed ({info['solver_status']}); {bounded['solver_status']}"}
    elif retained > value[take].sum() + 1e-9 * max(1.0, abs(value[take].sum())):
        take = greedy
        info["solver_status"] += "; the greedy plan was better and is kept"
    info["greedy_expected_value"] = retained
    return take, info


def _milp(value, cost, cust, pool, limits, budget, cfg) -> tuple[np.ndarray | None, dict]:
    """The exact plan (HiGHS), or None when the solver found none within its time limit."""
    n = len(value)
    rows, cols, data, ub = [], [], [], []
    m = 0
    # one action per customer (customers with a single candidate are bounded by x <= 1 already)
    counts = np.bincount(cust)
    multi = np.flatnonzero(counts[cust] > 1)
    if len(multi):
        row_of = np.full(len(counts), -1)
        need = np.flatnonzero(counts > 1)
        row_of[need] = np.arange(len(need))
        rows.append(row_of[cust[multi]])
        cols.append(multi)
        data.append(np.ones(len(multi)))
        ub.append(np.ones(len(need)))
        m += len(need)
    if budget is not None and cost.sum() > budget:
        rows.append(np.full(n, m))
        cols.append(np.arange(n))
        data.append(cost)
        ub.append(np.array([budget], dtype="float64"))
        m += 1
    in_pool = np.flatnonzero(pool >= 0)
    if len(in_pool):
        used = np.bincount(pool[in_pool], minlength=len(limits))
        binding = np.flatnonzero(used > limits)  # a pool with no more candidates than its limit cannot bind
        if len(binding):
            row_of = np.full(len(limits), -1)
            row_of[binding] = m + np.arange(len(binding))
            sel = in_pool[np.isin(pool[in_pool], binding)]
            rows.append(row_of[pool[sel]])
            cols.append(sel)
            data.append(np.ones(len(sel)))
            ub.append(limits[binding].astype("float64"))
            m += len(binding)
    constraints = []
    if m:
        A = sparse.csr_array((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n))
        constraints = [LinearConstraint(A, -np.inf, np.concatenate(ub))]
    # No presolve: on this problem (one budget row over every option, a row per customer and per pool) HiGHS's
    # presolve ran past the time limit, which it does not check: at 100,000 customers (70,813 options) 23 s and
    # no plan at all in 60 s, so the greedy plan was kept, retaining 864,295; without it the proven optimum,
    # 1,226,354, in 12 s. The demo's plans are the same either way (checked), 0.5 s instead of 1.4 s.
    res = milp(c=-value, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=constraints,
               options={"time_limit": cfg.time_limit_seconds, "mip_rel_gap": cfg.mip_rel_gap, "disp": False,
                        "presolve": False})
    info = {"solver": "milp", "solver_status": str(res.message), "optimal": bool(res.status == 0),
            "mip_gap": _num(getattr(res, "mip_gap", None)),
            "upper_bound": _num(-res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else None,
            "n_constraints": int(m)}
    return (None if res.x is None else res.x > 0.5), info


def _greedy(value, cost, cust, pool, limits, budget) -> tuple[np.ndarray, dict]:
    """Three greedy passes, the best plan kept: upgrades along each customer's best-value-per-cost options
    (`_upgrade_pass`, which also bounds what any plan could retain), best value per unit of cost first, and
    largest value first (ties: the other key), each taking what still fits. Per cost alone fails when one cheap
    action per customer blocks a dearer, far better one (at 100,000 customers it retained 30% less than the
    optimum); value alone fails on a tight budget. `mip_gap` is the best plan's distance to the bound."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cost > 0, value / np.where(cost > 0, cost, 1), np.inf)
    take, bound = _upgrade_pass(value, cost, cust, pool, limits, budget)
    plans = {"upgrades by value per cost": (float(value[take].sum()), take)}
    for name, order in (("value per cost", np.lexsort((-value, -ratio))), ("value", np.lexsort((-ratio, -value)))):
        take = _greedy_pass(order, cost, cust, pool, limits, budget)
        plans[name] = (float(value[take].sum()), take)
    best = max(plans, key=lambda k: plans[k][0])
    retained = plans[best][0]
    return plans[best][1], {"solver": "greedy", "solver_status": f"greedy: {best} first (the best of three orders)",
                            "optimal": None, "upper_bound": bound,
                            "mip_gap": max(0.0, float((bound - retained) / bound)) if bound > 0 else 0.0}


def _upgrade_steps(value, cost, cust) -> tuple[np.ndarray, ...]:
    """Each customer's options on the upper convex hull of (cost, value) seen from (0, 0), as steps from one to
    the next: (customer, option, previous option or -1, extra cost, extra value), along a customer's hull in
    falling value per extra cost. Options costing more for no more value are never on it."""
    order = np.lexsort((-value, cost, cust))  # by customer, then cheapest, then most valuable
    steps = []
    bounds = np.flatnonzero(np.diff(cust[order])) + 1
    # A customer with one option has it as its only step: those steps made at once, the hulls walked only for
    # customers with several (at 1M customers 615,440 with 770,231 options: most have one).
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    sizes = np.diff(np.append(starts, len(order)))
    single = order[starts[sizes == 1]]
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        group = order[start:start + size]
        hull: list[int] = []
        for j in group:
            if hull and value[j] <= value[hull[-1]]:
                continue  # costs as much or more for no more value
            while hull:  # keep the hull concave: drop a point that j's line from the one before passes over
                base_c, base_v = (cost[hull[-2]], value[hull[-2]]) if len(hull) > 1 else (0.0, 0.0)
                if (value[j] - base_v) * (cost[hull[-1]] - base_c) >= (value[hull[-1]] - base_v) * (cost[j] - base_c):
                    hull.pop()
                else:
                    break
            hull.append(j)
        previous = -1
        for j in hull:
            dc = cost[j] - (cost[previous] if previous >= 0 else 0.0)
            dv = value[j] - (value[previous] if previous >= 0 else 0.0)
            steps.append((cust[j], j, previous, dc, dv))
            previous = j
    walked = np.array(steps, dtype="float64").reshape(-1, 5)  # (customer, option, previous option, dc, dv)
    k = np.concatenate([walked[:, 0].astype(np.int64), cust[single].astype(np.int64)])
    at = np.argsort(k, kind="stable")  # in customer order, each customer's steps along its hull (ties go by it)
    return (k[at], np.concatenate([walked[:, 1].astype(np.int64), single])[at],
            np.concatenate([walked[:, 2].astype(np.int64), np.full(len(single), -1, dtype=np.int64)])[at],
            np.concatenate([walked[:, 3], cost[single].astype("float64")])[at],
            np.concatenate([walked[:, 4], value[single].astype("float64")])[at])


def _upgrade_pass(value, cost, cust, pool, limits, budget) -> tuple[np.ndarray, float]:
    """The multiple-choice knapsack's greedy: every customer's hull steps (`_upgrade_steps`) in falling value per
    extra cost, each taken when it fits (money and the new action's pool) and follows the customer's current
    action. Returns the plan and the optimum of the linear relaxation without capacity pools (the same steps
    until the money runs out, the first that does not fit in part): no plan can retain more."""
    k, j, prev, dc, dv = _upgrade_steps(value, cost, cust)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dc > 0, dv / np.where(dc > 0, dc, 1), np.inf)
    order = np.lexsort((np.arange(len(k)), -ratio))
    if budget is None:
        bound = float(dv.sum())
    else:
        spent = np.cumsum(dc[order])
        whole = int(np.searchsorted(spent, budget, side="right"))
        bound = float(dv[order][:whole].sum())
        if whole < len(order):
            left = budget - (spent[whole - 1] if whole else 0.0)
            bound += dv[order][whole] * left / dc[order][whole]
    current = np.full(cust.max() + 1 if len(cust) else 0, -1, dtype=np.int64)
    used = np.zeros(len(limits), dtype=np.int64)
    left = np.inf if budget is None else float(budget)
    tol = 1e-9 * max(1.0, abs(left)) if budget is not None else 0.0
    for s in order:
        customer, option, before = k[s], j[s], prev[s]
        if current[customer] != before or dc[s] > left + tol:
            continue
        moves = before < 0 or pool[option] != pool[before]
        if moves and pool[option] >= 0 and used[pool[option]] >= limits[pool[option]]:
            continue
        if moves:
            if before >= 0 and pool[before] >= 0:
                used[pool[before]] -= 1
            if pool[option] >= 0:
                used[pool[option]] += 1
        left -= dc[s]
        current[customer] = option
    take = np.zeros(len(value), dtype=bool)
    take[current[current >= 0]] = True
    return take, float(bound)


def _greedy_pass(order, cost, cust, pool, limits, budget) -> np.ndarray:
    take = np.zeros(len(cost), dtype=bool)
    done = np.zeros(cust.max() + 1 if len(cust) else 0, dtype=bool)
    used = np.zeros(len(limits), dtype=np.int64)
    left = np.inf if budget is None else float(budget)
    tol = 1e-9 * max(1.0, abs(left)) if budget is not None else 0.0
    for j in order:
        if done[cust[j]] or cost[j] > left + tol or (pool[j] >= 0 and used[pool[j]] >= limits[pool[j]]):
            continue
        take[j] = True
        done[cust[j]] = True
        left -= cost[j]
        if pool[j] >= 0:
            used[pool[j]] += 1
    return take


def _repair(take, value, cost, pool, limits, budget) -> np.ndarray:
    """Guard against solver tolerances: drop the least valuable chosen options until every limit holds."""
    take = take.copy()
    used = np.bincount(pool[take & (pool >= 0)], minlength=len(limits))

    def over_budget() -> bool:
        return budget is not None and cost[take].sum() > budget + 1e-9 * max(1.0, budget)

    for j in np.flatnonzero(take)[np.argsort(value[take], kind="stable")]:
        if not over_budget() and (used <= limits).all():
            break
        if (pool[j] >= 0 and used[pool[j]] > limits[pool[j]]) or (over_budget() and cost[j] > 0):
            take[j] = False
            if pool[j] >= 0:
                used[pool[j]] -= 1
            log.warning("dropped an option to keep the plan within budget and capacity (solver tolerance)")
    return take


def choose_actions(options: pd.DataFrame, cfg: DecideConfig) -> pd.DataFrame:
    """At most one action per customer, maximising the total expected_retained_value with the total
    cost <= cfg.budget and, per capacity pool and channel, the count <= its capacity. Only options
    worth more than cfg.min_value are candidates.

    One row per customer of `options`: customer_id, owner, chosen_action (None when not chosen),
    channel, cost and expected_retained_value of the chosen action (0 when none), effect,
    capacity_pool, best_action / best_value (the customer's most valuable candidate, whatever the
    limits), and status:
      - "chosen";
      - "not worth its cost": no option worth more than min_value, net of its cost;
      - "owner at capacity": some option was worth it, but the pool of every such option is full;
      - "below budget line": worth it and a pool had room, but the money went to better uses.
    Sorted: chosen first by value, then the rest by best_value. `result.attrs["summary"]`: solver,
    solver_status, optimal, mip_gap, upper_bound (the most any plan could retain, from the milp's
    dual bound), greedy_expected_value (milp only: what the greedy plan would retain), budget,
    budget_used, expected_value_retained, n_customers, n_candidates, n_chosen, by_status,
    by_channel, seconds.
    """
    t0 = time.perf_counter()
    opts = _check_options(options)
    customers, first = np.unique(opts["customer_id"].astype("string").to_numpy(dtype=object), return_index=True)
    customers = customers[np.argsort(first)]  # first-seen order
    cust_all = pd.Index(customers).get_indexer(opts["customer_id"].astype("string").to_numpy(dtype=object))
    value_all = opts["expected_retained_value"].to_numpy(dtype="float64")
    cand = np.flatnonzero(value_all > cfg.min_value)
    pool_all, limits, labels = _pools(opts, cfg)
    value, cost = value_all[cand], opts["cost"].to_numpy(dtype="float64")[cand]
    cust, pool = cust_all[cand], pool_all[cand]

    if len(cand) == 0:
        take, info = np.zeros(0, dtype=bool), {"solver": cfg.solver, "solver_status": "no candidates",
                                                 "optimal": True, "mip_gap": 0.0, "upper_bound": 0.0}
    elif cfg.solver == "milp" and len(cand) > cfg.milp_up_to:
        take, info = _greedy(value, cost, cust, pool, limits, cfg.budget)
        info["solver_status"] = (f"{len(cand):,} candidate options, more than decide.milp_up_to "
                                 f"({cfg.milp_up_to:,}): {info['solver_status']}")
    elif cfg.solver == "milp":
        take, info = _exact_plan(value, cost, cust, pool, limits, cfg)
    else:
        take, info = _greedy(value, cost, cust, pool, limits, cfg.budget)
    take = _repair(take, value, cost, pool, limits, cfg.budget)

    chosen_opt = np.full(len(customers), -1, dtype=np.int64)
    chosen_opt[cust[take]] = cand[take]
    used = np.bincount(pool[take & (pool >= 0)], minlength=len(limits))
    full = used >= limits
    has_cand = np.zeros(len(customers), dtype=bool)
    has_cand[cust] = True
    # a candidate with room: no pool, or a pool not yet full
    room = pool < 0
    room[~room] = ~full[pool[~room]]
    has_room = np.zeros(len(customers), dtype=bool)
    has_room[cust[room]] = True
    status = np.where(chosen_opt >= 0, "chosen",
                      np.where(~has_cand, "not worth its cost",
                               np.where(~has_room, "owner at capacity", "below budget line")))
    # what each option alone says of its customer when not chosen (`decide` compares them across assumed causes)
    room_all = pool_all < 0
    room_all[~room_all] = ~full[pool_all[~room_all]]
    option_status = np.where(value_all <= cfg.min_value, "not worth its cost",
                             np.where(room_all, "below budget line", "owner at capacity"))

    # each customer's best option, regardless of limits (candidates only)
    best = np.full(len(customers), -1, dtype=np.int64)
    if len(cand):
        top = pd.Series(value).groupby(cust).idxmax()
        best[top.index.to_numpy()] = cand[top.to_numpy()]

    picked = chosen_opt >= 0
    idx = np.where(picked, chosen_opt, 0)
    col = lambda name: opts[name].to_numpy(dtype=object)  # noqa: E731
    pool_label = np.array([labels[k] if k >= 0 else None for k in pool_all], dtype=object)
    out = pd.DataFrame({
        "customer_id": pd.array(customers, dtype="string"),
        "owner": pd.array(np.where(picked, col("owner")[idx], col("owner")[first[np.argsort(first)]]), dtype="string"),
        "chosen_action": pd.Series(np.where(picked, col("action")[idx], None), dtype=object),
        "channel": pd.array(np.where(picked, col("channel")[idx], None), dtype="string"),
        "cost": np.where(picked, opts["cost"].to_numpy(dtype="float64")[idx], 0.0),
        "effect": (np.where(picked, opts["effect"].to_numpy(dtype="float64")[idx], 0.0)
                   if "effect" in opts.columns else np.nan),
        "expected_retained_value": np.where(picked, value_all[idx], 0.0),
        "status": pd.array(status, dtype="string"),
        "capacity_pool": pd.array(np.where(picked, pool_label[idx], None), dtype="string"),
        "best_action": pd.array(np.where(best >= 0, col("action")[np.maximum(best, 0)], None), dtype="string"),
        "best_value": np.where(best >= 0, value_all[np.maximum(best, 0)], np.nan),
    })
    sort_key = np.where(picked, out["expected_retained_value"], out["best_value"].fillna(-np.inf))
    out = (out.assign(_chosen=picked, _key=sort_key)
              .sort_values(["_chosen", "_key", "customer_id"], ascending=[False, False, True], kind="stable")
              .drop(columns=["_chosen", "_key"]).reset_index(drop=True))
    chosen_rows = out[out["status"] == "chosen"]
    summary = {
        **info,
        "budget": cfg.budget,
        "budget_used": float(chosen_rows["cost"].sum()),
        "expected_value_retained": float(chosen_rows["expected_retained_value"].sum()),
        "n_customers": int(len(out)),
        "n_candidates": int(len(cand)),
        "n_chosen": int(len(chosen_rows)),
        "by_status": {s: int((out["status"] == s).sum()) for s in STATUSES},
        "by_channel": {str(k): int(v) for k, v in chosen_rows["channel"].value_counts().sort_index().items()},
        "seconds": round(time.perf_counter() - t0, 3),
    }
    out.attrs["summary"] = summary
    out.attrs["option_status"] = option_status
    return out


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# --------------------------------------------------------------------------- holdout

def assign_holdout(customer_ids: pd.Series, share: float, seed: int) -> pd.Series:
    """True for the customers held out (not contacted): exactly floor(share * n + 0.5) of the n
    customers (half rounds up), those with the smallest seeded hash of their customer_id (BLAKE2b
    of "seed:customer_id"). Reproducible for a seed, independent of row order; the same index as
    `customer_ids`, name "holdout"."""
    if not 0 <= share <= 1:
        raise ValueError(f"holdout share must be in [0, 1]; got {share}")
    ids = pd.Series(customer_ids).astype("string")
    if ids.isna().any():
        raise ValueError("assign_holdout: customer_ids has missing values")
    if ids.duplicated().any():
        raise ValueError(f"assign_holdout: duplicate customer_id(s) {ids[ids.duplicated()].unique()[:5].tolist()}")
    n = len(ids)
    k = int(math.floor(share * n + 0.5))
    keys = np.array([int.from_bytes(hashlib.blake2b(f"{seed}:{c}".encode(), digest_size=8).digest(), "big")
                     for c in ids], dtype=np.uint64)
    order = np.lexsort((ids.to_numpy(dtype=object).astype(str), keys))  # ties (never seen) by id
    out = np.zeros(n, dtype=bool)
    out[order[:k]] = True
    return pd.Series(out, index=ids.index, name="holdout")


# --------------------------------------------------------------------------- baseline

def compare_with_risk_ranking(options: pd.DataFrame, listing: pd.DataFrame, cfg: DecideConfig,
                              plan: pd.DataFrame | None = None) -> dict:
    """The optimiser against the usual rule: go down the list by churn_probability (highest first;
    ties by customer_id) and contact each customer with its playbook action (the option with
    `playbook_action`, whatever its value) when it still fits the budget and its capacity pool,
    until the budget is spent. Same budget, capacity and options for both.

    Returns {"budget", "optimiser": {...}, "risk_ranking": {...}, "gain", "gain_share"}, each side
    with expected_value_retained, cost and n_contacted. `plan`: the result of
    `choose_actions(options, cfg)` when already at hand (it is not solved again).
    """
    opts = _check_options(options)
    _require(opts, ("playbook_action",), "options")
    _require(listing, ("customer_id", "churn_probability"), "listing")
    prob = pd.Series(pd.to_numeric(listing["churn_probability"], errors="coerce").to_numpy(dtype="float64"),
                     index=listing["customer_id"].astype("string").to_numpy())
    plan = choose_actions(opts, cfg) if plan is None else plan

    own = opts[opts["playbook_action"].astype(bool)].copy()
    own["customer_id"] = own["customer_id"].astype("string")
    missing = sorted(set(own["customer_id"]) - set(prob.index))
    if missing:
        raise ValueError(f"listing lacks customer(s) {missing[:5]} that the options have")
    own["_p"] = prob.reindex(own["customer_id"].to_numpy()).to_numpy()
    own = own.sort_values(["_p", "customer_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    pool, limits, _ = _pools(own, cfg)
    cost, value = own["cost"].to_numpy(dtype="float64"), own["expected_retained_value"].to_numpy(dtype="float64")
    # A customer without a cause (`action_options`) has a playbook action per cause: the walk cannot know which it
    # takes, so it skips it and names it when one of them could fit what is left (left is then too large, if
    # anything: the customers named are a superset of those an explained walk reaches).
    known = own["cause_known"].to_numpy(dtype=bool) if "cause_known" in own.columns else np.ones(len(own), bool)
    cheapest = own.groupby("customer_id")["cost"].transform("min").to_numpy(dtype="float64")
    ids = own["customer_id"].to_numpy(dtype=object)
    needs_causes: set[str] = set()
    used = np.zeros(len(limits), dtype=np.int64)
    left = np.inf if cfg.budget is None else float(cfg.budget)
    take = np.zeros(len(own), dtype=bool)
    for j in range(len(own)):
        if left <= 0 and cost[j] > 0:
            break
        if not known[j]:
            if cheapest[j] <= left + 1e-9:
                needs_causes.add(ids[j])
            continue
        if cost[j] > left + 1e-9 or (pool[j] >= 0 and used[pool[j]] >= limits[pool[j]]):
            continue
        take[j] = True
        left -= cost[j]
        if pool[j] >= 0:
            used[pool[j]] += 1
    s = plan.attrs["summary"]
    opt = {"expected_value_retained": s["expected_value_retained"], "cost": s["budget_used"],
           "n_contacted": s["n_chosen"], "solver": s["solver"]}
    base = {"expected_value_retained": float(value[take].sum()), "cost": float(cost[take].sum()),
            "n_contacted": int(take.sum())}
    gain = opt["expected_value_retained"] - base["expected_value_retained"]
    return {"budget": cfg.budget, "optimiser": opt, "risk_ranking": base, "gain": gain,
            "gain_share": gain / abs(base["expected_value_retained"]) if base["expected_value_retained"] else None,
            "needs_causes": sorted(needs_causes)}


# --------------------------------------------------------------------------- all together

SECTION_KEYS = ("budget", "budget_used", "expected_value_retained", "planned_budget", "planned_value", "n_customers",
                "n_chosen", "n_holdout", "holdout_value", "by_status", "by_channel")


def decide(listing: pd.DataFrame, playbook, cfg: DecideConfig, effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """The contact plan for a whole list (`_decide_section` for each part): one row per listing customer, in the
    listing's order, with the columns of `choose_actions` plus `holdout` and `holdout_action`.

    Lapsed customers (a true `lapsed` column, `churn.score.lapsed_customers`) are lost rather than at risk: when
    the playbook has win-back actions they are planned apart, with those actions (`winback_playbook`), their
    own budget (`cfg.winback_budget`) and their own random holdout, after the customers who can still be kept
    and with the capacity those leave. attrs["summary"]: the retention plan's summary (as `_decide_section`'s)
    and `winback`: the win-back plan's figures (`SECTION_KEYS`), or None when nobody is lapsed.

    Customers without a primary cause (left unexplained by the score, `explain.all_up_to`) have the options of
    every cause (`action_options`). attrs["needs_causes"]: those of them the plan chose or held out, or the risk
    ranking may reach: explain them and decide again, until it is empty. Then the plan's options are all true ones,
    chosen among more (the unexplained customers' options of every cause), so it retains at least what the plan
    with every cause known would (within the solver's gap), and the risk ranking walks the same customers.
    """
    from churn.action._playbook import winback_playbook

    lapsed = lapsed_flags(listing).to_numpy()
    if not lapsed.any() or playbook.winback is None:
        out = _decide_section(listing, playbook, cfg, effects)
        out.attrs["summary"]["winback"] = None
        return out
    keep = _decide_section(listing[~lapsed].reset_index(drop=True), playbook, cfg, effects)
    back_cfg = cfg.model_copy(update={"budget": cfg.winback_budget, "capacity": _capacity_left(cfg, keep, playbook)})
    back = _decide_section(listing[lapsed].reset_index(drop=True), winback_playbook(playbook), back_cfg, effects)
    out = pd.concat([keep, back], ignore_index=True)
    order = pd.Series(np.arange(len(listing)), index=listing["customer_id"].astype("string").to_numpy())
    out = out.iloc[np.argsort(order.reindex(out["customer_id"].to_numpy()).to_numpy(), kind="stable")]
    out = out.reset_index(drop=True)
    summary = dict(keep.attrs["summary"])
    summary["winback"] = {k: back.attrs["summary"][k] for k in SECTION_KEYS}
    out.attrs["summary"] = summary
    out.attrs["needs_causes"] = sorted({*keep.attrs["needs_causes"], *back.attrs["needs_causes"]})
    return out


def _capacity_left(cfg: DecideConfig, plan: pd.DataFrame, playbook) -> dict[str, dict[str, float]]:
    """The capacity (`cfg.capacity`) the contacts of `plan` leave, pool by pool (as `_pools` draws them)."""
    if not cfg.capacity:
        return cfg.capacity
    left = {who: dict(limits) for who, limits in cfg.capacity.items()}
    default = cfg.capacity.get("default", {})
    contacted = plan[plan["status"] == CONTACTED]
    for owner, name in zip(contacted["owner"], contacted["chosen_action"], strict=True):
        action = playbook.actions[name]
        team = _is_team(action.owner_role, cfg.capacity)
        who = action.owner_role if team else (NO_OWNER if pd.isna(owner) else str(owner))
        entry = left.setdefault(who, dict(default))
        if action.channel in entry:
            entry[action.channel] = max(0.0, entry[action.channel] - 1)
    return left


def _decide_section(listing: pd.DataFrame, playbook, cfg: DecideConfig,
                    effects: pd.DataFrame | None = None) -> pd.DataFrame:
    """Options, choice and holdout for one part of a retention list: one row per listing customer (the
    columns of `choose_actions` plus `holdout` and `holdout_action`).

    The random holdout is drawn among the customers the plan chooses (`cfg.holdout_share` of them,
    `assign_holdout`): each held-out customer keeps the action it would have got as
    `holdout_action`, status "holdout", cost and value 0, so every action has its own control
    group for `churn effect`. Customers the playbook offers nothing are "not worth its cost".

    attrs["summary"]: the plan's summary with budget_used / expected_value_retained / n_chosen for
    the customers actually contacted, planned_budget / planned_value for the plan before the
    holdout, n_holdout, holdout_value (expected value forgone to measure the actions), holdout_share,
    seed, and the comparison with risk ranking (the plan before the holdout against contacting the
    riskiest first, same budget and capacity).
    """
    options = action_options(listing, playbook, cfg, effects)
    plan = choose_actions(options, cfg)
    ids = listing["customer_id"].astype("string")
    out = pd.DataFrame({"customer_id": pd.array(ids.to_numpy(), dtype="string")})
    out = out.merge(plan, on="customer_id", how="left", sort=False)
    chosen = (out["status"] == "chosen").fillna(False).to_numpy(dtype=bool)
    holdout = np.zeros(len(out), dtype=bool)
    holdout[chosen] = assign_holdout(out.loc[chosen, "customer_id"], cfg.holdout_share, cfg.seed).to_numpy()
    action = out["chosen_action"].astype(object).where(out["chosen_action"].notna(), None)
    out["holdout"] = holdout
    out["holdout_action"] = pd.array(np.where(holdout, action, None), dtype="string")
    out["chosen_action"] = pd.Series(np.where(holdout, None, action), dtype=object)
    held_value = float(out.loc[holdout, "expected_retained_value"].sum())
    held_cost = float(out.loc[holdout, "cost"].sum())
    out.loc[holdout, ["cost", "expected_retained_value"]] = 0.0
    out["status"] = out["status"].astype("string").mask(out["holdout"], HELD_OUT).fillna("not worth its cost")
    out["owner"] = out["owner"].fillna(listing["owner"].astype("string").reset_index(drop=True))
    out["cost"] = out["cost"].fillna(0.0)
    out["expected_retained_value"] = out["expected_retained_value"].fillna(0.0)
    # The plan's figures are recounted for the customers actually contacted; the plan itself (before
    # the holdout) is what compare_with_risk_ranking judges.
    planned = plan.attrs["summary"]
    contacted = out["status"] == "chosen"
    summary = dict(planned)
    summary.update(
        planned_budget=planned["budget_used"], planned_value=planned["expected_value_retained"],
        budget_used=planned["budget_used"] - held_cost, expected_value_retained=planned["expected_value_retained"] - held_value,
        n_chosen=int(contacted.sum()), n_customers=int(len(out)), n_holdout=int(holdout.sum()), holdout_value=held_value,
        holdout_share=cfg.holdout_share, seed=cfg.seed,
        by_status={s: int((out["status"] == s).sum()) for s in (*STATUSES, HELD_OUT)},
        by_channel={str(k): int(v) for k, v in out.loc[contacted, "channel"].value_counts().sort_index().items()},
        options_by_effect_source={str(k): int(v) for k, v in options["effect_source"].value_counts().items()},
        versus_risk_ranking=compare_with_risk_ranking(options, listing, cfg, plan) if len(options) else None,
    )
    ranked = summary["versus_risk_ranking"].pop("needs_causes") if summary["versus_risk_ranking"] else []
    out.attrs["needs_causes"] = sorted(set(_needing_causes(options, plan, out)) | set(ranked))
    out.attrs["summary"] = summary
    return out


def _needing_causes(options: pd.DataFrame, plan: pd.DataFrame, out: pd.DataFrame) -> list[str]:
    """The customers without a cause (options of every cause, `cause_known` false) whose decision depends on it:
    those the plan chose (or held out), and those whose status (not worth its cost, owner at capacity, below
    budget line) differs from one assumed cause to another. (Those the risk ranking may reach:
    `compare_with_risk_ranking`.)"""
    unknown = ~options["cause_known"].to_numpy(dtype=bool)
    if not unknown.any():
        return []
    ids = options["customer_id"].astype("string").to_numpy(dtype=object)
    planned = ((out["status"] == "chosen") | out["holdout"]).to_numpy(dtype=bool)
    chosen = set(out.loc[planned, "customer_id"]) & set(ids[unknown])
    rank = pd.Series(plan.attrs["option_status"]).map(
        {"not worth its cost": 0, "owner at capacity": 1, "below budget line": 2}).to_numpy()
    by_cause = (pd.DataFrame({"customer_id": ids[unknown], "cause": options["primary_cause"].to_numpy(dtype=object)[unknown],
                              "rank": rank[unknown]})
                .groupby(["customer_id", "cause"])["rank"].max().unstack("cause")
                .reindex(columns=list(LIST_CAUSES)).fillna(0))  # a cause with no option: not worth its cost
    differs = by_cause.min(axis=1) != by_cause.max(axis=1)
    return sorted(chosen | set(by_cause.index[differs.to_numpy()]))


def with_measured_effects(cfg: DecideConfig, campaigns: dict | None, runs: dict | None) -> DecideConfig:
    """The config with measured relative effects in place of the priors: first the campaigns
    table's (`campaigns["priors"]`, per action, from `churn.action.uplift_effects`), then our own
    runs' (`runs` = {"effects": {action: x}, "effect_by_cause": {action: {cause: x}}}, from
    `churn effect`). A measured action effect also replaces that action's per-cause priors, unless
    a cause was measured too."""
    for measured in ({"effects": (campaigns or {}).get("priors", {}), "effect_by_cause": {}}, runs or {}):
        effects, by_measured_cause = measured.get("effects", {}), measured.get("effect_by_cause", {})
        if not effects and not by_measured_cause:
            continue
        by_cause = {a: c for a, c in cfg.effect_by_cause.items() if a not in effects}
        for a, c in by_measured_cause.items():
            by_cause[a] = {**by_cause.get(a, {}), **c}
        cfg = cfg.model_copy(update={"effects": {**cfg.effects, **effects}, "effect_by_cause": by_cause})
    return cfg


def effect_sources(cfg: DecideConfig, campaigns: dict | None, runs: dict | None) -> dict:
    """Per action: the relative effect a plan uses and where it comes from (the arguments of
    `with_measured_effects`; an action with a per-customer uplift model says so)."""
    out = {a: {"relative_effect": e, "source": "prior (config)"} for a, e in cfg.effects.items()}
    for source, priors in (("campaigns table", (campaigns or {}).get("priors", {})),
                           ("measured runs (churn effect)", (runs or {}).get("effects", {}))):
        out |= {a: {"relative_effect": e, "source": source} for a, e in priors.items()}
    for a in (campaigns or {}).get("actions", []):
        if a.get("model"):
            out[a["action"]] = {"relative_effect": None, "source": "per-customer uplift model (campaigns table)"}
    return out


def apply_plan(listing: pd.DataFrame, plan: pd.DataFrame, playbook) -> pd.DataFrame:
    """The retention list with the plan's columns (`DECISION_COLUMNS`): `contact` (the action chosen within
    budget and capacity, empty if none) with its playbook `contact_label`, `contact_channel` and
    `contact_cost` (0 when there is no contact: the plan's own cost, which may differ from the playbook
    action's `action_cost` in the list), `decision` (chosen / holdout / why not), `holdout`,
    `holdout_action` (the action a held-out customer would have got), `expected_retained_value`.

    The contact columns are the plan's: summed they give the budget used, owner by owner."""
    by_id = plan.set_index("customer_id")
    ids = listing["customer_id"].astype("string")
    out = listing.copy()
    contact = by_id["chosen_action"].reindex(ids).astype("string")
    out["contact"] = contact.to_numpy()
    out["contact_label"] = contact.map(lambda a: playbook.actions[a].label, na_action="ignore").astype("string").to_numpy()
    out["contact_channel"] = contact.map(lambda a: playbook.actions[a].channel, na_action="ignore").astype("string").to_numpy()
    out["contact_cost"] = by_id["cost"].reindex(ids).fillna(0.0).where(contact.notna().to_numpy(), 0.0).to_numpy()
    out["decision"] = by_id["status"].reindex(ids).astype("string").to_numpy()
    out["holdout"] = by_id["holdout"].reindex(ids).fillna(False).astype(bool).to_numpy()
    out["holdout_action"] = by_id["holdout_action"].reindex(ids).astype("string").to_numpy()
    out["expected_retained_value"] = by_id["expected_retained_value"].reindex(ids).fillna(0.0).round(2).to_numpy()
    return out
