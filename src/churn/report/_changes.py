"""What changed since the previous scoring run: who is newly at risk, who no longer is, who came back and who
was lost, per owner and in total; and a few figures per run for the trend over the archived runs.

Each customer is in one state per run: "at_risk" (high or medium risk, not lapsed), "lapsed" (the win-back
list), "safe" (scored, neither) or absent (not scored: no longer an active customer). Between two runs:

- recovered: lapsed before, not lapsed now (ordered again);
- lost: not lapsed before, lapsed now or no longer scored;
- new_at_risk: at risk now, safe or absent before;
- no_longer_at_risk: at risk before, safe now;
- still_at_risk: at risk in both runs.

A customer falls in at most one of them (the list above is the order they are tried in). The owner is the
current one (the previous one for customers no longer scored).
"""

from __future__ import annotations

import pandas as pd

from churn.vocab import LIFECYCLE_STAGES, NO_OWNER, at_risk_flags, lapsed_flags

TREND_RUNS = 8  # runs in the trend, this one included: the report needs the TREND_RUNS - 1 before it
NOT_LISTED = "not listed"  # a customer a run did not score (new to the list, or no longer active)
CHANGES = ("new_at_risk", "no_longer_at_risk", "recovered", "lost", "still_at_risk")
RUN_COLUMNS = ("customer_id", "risk_band", "owner", "expected_loss")  # plus `lapsed` when the run has it


def customer_states(run: pd.DataFrame) -> pd.DataFrame:
    """customer_id (index) -> state ("at_risk", "lapsed", "safe"), owner and expected_loss for one run's list."""
    missing = [c for c in RUN_COLUMNS if c not in run.columns]
    if missing:
        raise ValueError(f"a retention list has no column(s) {missing}")
    lapsed, risky = lapsed_flags(run), at_risk_flags(run)
    state = pd.Series("safe", index=run.index).mask(risky, "at_risk").mask(lapsed, "lapsed")
    return pd.DataFrame({"state": state.to_numpy(), "owner": run["owner"].astype("string").fillna(NO_OWNER).to_numpy(),
                         "expected_loss": pd.to_numeric(run["expected_loss"], errors="coerce").fillna(0.0).to_numpy()},
                        index=pd.Index(run["customer_id"].astype("string").to_numpy(), name="customer_id"))


def runs_before(runs: dict[str, pd.DataFrame], as_of: str) -> dict[str, pd.DataFrame]:
    """The archived runs (by as-of date) from before `as_of`: the latest is "the last run"."""
    return {date: run for date, run in runs.items() if date < str(as_of)}


def changes_since(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """One row per customer whose state changed or who stayed at risk: customer_id, owner, change (`CHANGES`),
    before and now (states; "gone" when not scored), expected_loss now (before, for customers gone)."""
    before, now = customer_states(previous), customer_states(current)
    ids = before.index.union(now.index)
    b = before["state"].reindex(ids).fillna("gone")
    n = now["state"].reindex(ids).fillna("gone")
    change = pd.Series(pd.NA, index=ids, dtype="string")
    rules = [
        ("recovered", (b == "lapsed") & n.isin(["at_risk", "safe"])),
        ("lost", b.isin(["at_risk", "safe"]) & n.isin(["lapsed", "gone"])),
        ("new_at_risk", (n == "at_risk") & b.isin(["safe", "gone"])),
        ("no_longer_at_risk", (b == "at_risk") & (n == "safe")),
        ("still_at_risk", (b == "at_risk") & (n == "at_risk")),
    ]
    for name, mask in rules:
        change = change.mask(change.isna() & mask, name)
    owner = now["owner"].reindex(ids).fillna(before["owner"].reindex(ids))
    loss = now["expected_loss"].reindex(ids).fillna(before["expected_loss"].reindex(ids))
    out = pd.DataFrame({"customer_id": ids.astype("string"), "owner": owner.to_numpy(), "change": change.to_numpy(),
                        "before": b.to_numpy(), "now": n.to_numpy(), "expected_loss": loss.to_numpy()})
    return out[out["change"].notna()].reset_index(drop=True)


def lifecycle_flows(previous: pd.DataFrame | None, current: pd.DataFrame, since: str | None = None) -> dict:
    """Customers per lifecycle stage now, and how they moved since the previous run (of the date `since`):
    {"stages": {stage: n}, "flows": {before: {now: n}}, "since": date} over `churn.vocab.LIFECYCLE_STAGES`, with
    "not listed" for customers not scored in a run (new to the list, or no longer active); only moves are in
    `flows`, not customers who stayed. Without a previous run, or one from before stages: no flows, `since` None."""
    stages = current["lifecycle_stage"].astype("string").value_counts()
    out = {"stages": {s: int(stages.get(s, 0)) for s in LIFECYCLE_STAGES}, "flows": {}, "since": None}
    if previous is None or "lifecycle_stage" not in previous.columns:
        return out
    out["since"] = since
    before = previous.set_index(previous["customer_id"].astype("string"))["lifecycle_stage"].astype("string")
    now = current.set_index(current["customer_id"].astype("string"))["lifecycle_stage"].astype("string")
    ids = before.index.union(now.index)
    moves = pd.DataFrame({"before": before.reindex(ids).fillna(NOT_LISTED), "now": now.reindex(ids).fillna(NOT_LISTED)})
    moves = moves[moves["before"] != moves["now"]]
    for (b, n), count in moves.value_counts(["before", "now"], sort=False).items():
        out["flows"].setdefault(str(b), {})[str(n)] = int(count)
    return out


def change_counts(changes: pd.DataFrame) -> pd.DataFrame:
    """Customers per owner (rows, largest movement first, NO_OWNER last) and change (`CHANGES` columns), with a
    "total" row last."""
    table = pd.crosstab(changes["owner"], changes["change"]).reindex(columns=list(CHANGES), fill_value=0)
    table = table.astype(int)
    moved = table.drop(columns="still_at_risk").sum(axis=1)
    order = sorted(table.index, key=lambda o: (o == NO_OWNER, -moved[o], str(o).casefold()))
    table = table.loc[order]
    table.loc["total"] = table.sum()
    return table


def run_figures(runs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per run (as-of date, oldest first): customers scored, at risk and lapsed, and the value at risk."""
    rows = []
    for as_of in sorted(runs):
        states = customer_states(runs[as_of])
        risky = states["state"] == "at_risk"
        rows.append({"as_of": as_of, "scored": len(states), "at_risk": int(risky.sum()),
                     "lapsed": int((states["state"] == "lapsed").sum()),
                     "value_at_risk": float(states.loc[risky, "expected_loss"].sum())})
    return pd.DataFrame(rows, columns=["as_of", "scored", "at_risk", "lapsed", "value_at_risk"])
