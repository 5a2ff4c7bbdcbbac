"""The retention playbook: actions by segment (key account or value tier) and loss cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from churn.vocab import KEY_ACCOUNT, LIFECYCLE_STAGES, LIST_CAUSES, LIST_COLUMNS, NEEDS, SEGMENTS, lapsed_flags


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    label: str
    channel: str
    owner_role: str
    cost: float


class Playbook(BaseModel):
    """`actions` by name; `rules[segment][cause]` names the action (segment: key_account or a value tier)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    actions: dict[str, Action]
    rules: dict[str, dict[str, str]]
    no_action: str = "monitor"
    # The win-back action for lapsed customers by segment, whatever the cause; None: lapsed customers get
    # the retention rules like everyone else.
    winback: dict[str, str] | None = None
    # A standing need steers the action: needs[need][cause] is the cause whose action a customer of that need
    # profile gets when at risk for `cause` (a price-sensitive customer drifting away gets the price-led action).
    needs: dict[str, dict[str, str]] | None = None
    # lifecycle[stage][segment][cause]: the action for customers in that lifecycle stage in place of `rules`, for the
    # segments and causes listed (onboarding for new customers drifting away, say). Lapsed customers have `winback`.
    lifecycle: dict[str, dict[str, dict[str, str]]] | None = None

    @field_validator("lifecycle")
    @classmethod
    def _lifecycle_words(cls, lifecycle: dict | None) -> dict | None:
        for stage, by_segment in (lifecycle or {}).items():
            if stage not in LIFECYCLE_STAGES or stage == "lapsed":
                raise ValueError(f"playbook lifecycle.{stage}: use one of {list(LIFECYCLE_STAGES[:-1])} (lapsed "
                                 "customers get the winback actions)")
            for segment, by_cause in by_segment.items():
                if segment not in SEGMENTS:
                    raise ValueError(f"playbook lifecycle.{stage}.{segment}: not a segment; use {list(SEGMENTS)}")
                unknown = sorted(set(by_cause) - set(LIST_CAUSES))
                if unknown:
                    raise ValueError(f"playbook lifecycle.{stage}.{segment} names unknown cause(s) {unknown}")
        return lifecycle

    @field_validator("needs")
    @classmethod
    def _need_words(cls, needs: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]] | None:
        for need, steer in (needs or {}).items():
            if need not in NEEDS:
                raise ValueError(f"playbook needs.{need}: not a need; use one of {list(NEEDS)}")
            unknown = sorted((set(steer) | set(steer.values())) - set(LIST_CAUSES))
            if unknown:
                raise ValueError(f"playbook needs.{need} names unknown cause(s) {unknown}; use {list(LIST_CAUSES)}")
        return needs

    @field_validator("rules")
    @classmethod
    def _complete(cls, rules: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for seg in SEGMENTS:
            missing = [c for c in LIST_CAUSES if c not in rules.get(seg, {})]
            if missing:
                raise ValueError(f"playbook rules.{seg} has no action for cause(s) {missing}")
        return rules

    @field_validator("winback")
    @classmethod
    def _every_segment(cls, winback: dict[str, str] | None) -> dict[str, str] | None:
        if winback is not None:
            missing = [seg for seg in SEGMENTS if seg not in winback]
            if missing:
                raise ValueError(f"playbook winback has no action for segment(s) {missing}")
        return winback

    @model_validator(mode="after")
    def _known_actions(self) -> Playbook:
        used = {a for seg in self.rules.values() for a in seg.values()} | {self.no_action} | set((self.winback or {}).values())
        used |= {a for by_segment in (self.lifecycle or {}).values() for by_cause in by_segment.values()
                 for a in by_cause.values()}
        unknown = sorted(used - set(self.actions))
        if unknown:
            raise ValueError(f"playbook uses undefined action(s) {unknown}")
        return self



def load_playbook(path: str | Path) -> Playbook:
    """The retention playbook (see configs/playbook.yaml), checked against the vocabulary."""
    return Playbook.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def winback_playbook(playbook: Playbook) -> Playbook:
    """The playbook lapsed customers are served by: the win-back action of their segment for every cause (so the
    contact plan's ladder steps down through the lower segments' win-back actions)."""
    if playbook.winback is None:
        return playbook
    rules = {seg: dict.fromkeys(LIST_CAUSES, playbook.winback[seg]) for seg in SEGMENTS}
    return playbook.model_copy(update={"rules": rules, "winback": None})


def rule_action(playbook: Playbook, segment: str, cause: str, stage: object = None) -> str:
    """The playbook's action for a segment, acting cause and lifecycle stage: the stage's own rule
    (`playbook.lifecycle`) where it has one, else `rules`."""
    by_stage = (playbook.lifecycle or {}).get(stage) if isinstance(stage, str) else None
    return (by_stage or {}).get(segment, {}).get(cause) or playbook.rules[segment][cause]


def lifecycle_of(frame: pd.DataFrame) -> np.ndarray:
    """Each row's lifecycle stage, or None (a list without the column)."""
    if "lifecycle_stage" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return frame["lifecycle_stage"].astype("object").where(frame["lifecycle_stage"].notna(), None).to_numpy()


def action_needs(playbook: Playbook) -> dict[str, str]:
    """The need each of the playbook's actions answers (action -> price, service or quality), from the rules and
    the lifecycle rules naming it for that cause; an action named for two needs answers neither."""
    named: dict[str, set[str]] = {}
    rules = [*playbook.rules.values(), *(r for stage in (playbook.lifecycle or {}).values() for r in stage.values())]
    for by_cause in rules:
        for cause, action in by_cause.items():
            if cause in NEEDS:
                named.setdefault(action, set()).add(cause)
    return {action: next(iter(needs)) for action, needs in named.items() if len(needs) == 1}


def acting_causes(frame: pd.DataFrame, playbook: Playbook) -> np.ndarray:
    """The cause each customer's action answers: its primary cause, or the one its need profile steers it to
    (`playbook.needs`; a frame without `need_profile` is not steered)."""
    cause = frame["primary_cause"].astype("object").to_numpy()
    if not playbook.needs or "need_profile" not in frame.columns:
        return cause
    need = frame["need_profile"].astype("object").to_numpy()
    return np.array([playbook.needs.get(n, {}).get(c, c) if isinstance(n, str) else c
                     for n, c in zip(need, cause, strict=True)], dtype=object)


def playbook_actions(frame: pd.DataFrame, playbook: Playbook, act_on: list[str]) -> pd.DataFrame:
    """The playbook's action (action, action_label, channel, owner_role, action_cost) for each customer row:
    by segment (key account or value tier), primary cause (or the cause its need profile steers it to,
    `acting_causes`) and lifecycle stage (`playbook.lifecycle`), for customers in the `act_on` risk bands; lapsed
    customers (a true `lapsed` column) get the win-back action of their segment when the playbook has one."""
    segment = np.where(frame["is_key_account"].astype(bool), KEY_ACCOUNT, frame["value_tier"])
    lapsed = lapsed_flags(frame).to_numpy()
    winback = playbook.winback or {}
    names = [
        (winback[seg] if gone and winback else rule_action(playbook, seg, cause, stage)) if band in act_on
        else playbook.no_action
        for seg, cause, stage, band, gone in zip(segment, acting_causes(frame, playbook), lifecycle_of(frame),
                                                 frame["risk_band"], lapsed, strict=True)
    ]
    acts = [playbook.actions[n] for n in names]
    return pd.DataFrame(
        {
            "action": names,
            "action_label": [a.label for a in acts],
            "channel": [a.channel for a in acts],
            "owner_role": [a.owner_role for a in acts],
            "action_cost": [a.cost for a in acts],
        },
        index=frame.index,
    )


def service_policy(playbook: Playbook) -> pd.DataFrame:
    """The differentiated service the playbook defines, one row per segment (key account, then value tiers),
    lifecycle stage and need profile ("none" first): the action for each loss cause (`churn.vocab.LIST_CAUSES`, as
    the need steers it) and the win-back action for a lapsed customer (`winback`). `lifecycle_stage` is None on
    the rows for every stage the playbook has no rules of its own for, then one block per stage that has."""
    rows = []
    for seg in SEGMENTS:
        for stage in (None, *(playbook.lifecycle or {})):
            for need in ("none", *NEEDS):
                steer = (playbook.needs or {}).get(need, {})
                row = {"segment": seg, "lifecycle_stage": stage, "need_profile": need}
                row |= {cause: rule_action(playbook, seg, steer.get(cause, cause), stage) for cause in LIST_CAUSES}
                row["winback"] = (playbook.winback or {}).get(seg) if stage is None else None
                rows.append(row)
    return pd.DataFrame(rows)


def with_playbook_actions(listing: pd.DataFrame, playbook: Playbook, *, act_on: list[str]) -> pd.DataFrame:
    """The scored list with each customer's playbook action, in the retention list's column order."""
    return listing.join(playbook_actions(listing, playbook, act_on))[LIST_COLUMNS]
