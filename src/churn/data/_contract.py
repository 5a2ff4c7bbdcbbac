"""The canonical interaction-history tables (../shared/contract/interaction-history.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from churn.vocab import LIST_CAUSES

ColumnType = Literal["str", "timestamp", "money", "float", "score", "bool"]


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed vocabularies
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)


C = ColumnSpec
SCORE = (0.0, 10.0)

TABLES: dict[str, TableSpec] = {  # by name, in the order of churn.vocab.TABLES
    t.name: t
    for t in (
        TableSpec(
            "customers",
            (
                C("customer_id", "str", True),
                C("name", "str"),
                C("segment", "str"),
                C("region", "str"),
                C("owner", "str"),
                C("signup_date", "timestamp"),
                C("is_key_account", "bool"),
                C("churn_date", "timestamp"),
                # The buyer to call: personal details, masked from the pull on with report.mask_personal.
                C("contact_name", "str"),
                C("email", "str"),
                C("phone", "str"),
            ),
        ),
        TableSpec(
            "orders",
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("amount", "money", True),
                C("order_id", "str"),
                C("quantity", "float"),
                C("discount", "float", bounds=(0.0, 1.0)),
                C("product", "str"),
                C("margin", "money"),
            ),
        ),
        TableSpec(
            "interactions",
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("channel", "str", True, allowed=("visit", "call", "email", "meeting", "event", "other")),
                C("direction", "str", allowed=("outbound", "inbound")),
            ),
        ),
        TableSpec(
            "tickets",
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("category", "str", True, allowed=("quality", "service", "delivery", "price", "billing", "other")),
                C("is_complaint", "bool"),
                C("resolved_ts", "timestamp"),
            ),
        ),
        TableSpec(
            "surveys",
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("score", "score", True, bounds=SCORE),
                C("quality_score", "score", bounds=SCORE),
                C("service_score", "score", bounds=SCORE),
                C("price_score", "score", bounds=SCORE),
            ),
        ),
        TableSpec(
            "campaigns",
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("action", "str", True),
                C("treated", "bool", True),
                C("cost", "money"),
            ),
        ),
        TableSpec(
            "loss_reasons",  # why lost customers left, as recorded (exit survey, lost-reason field, win-back note)
            (
                C("customer_id", "str", True),
                C("ts", "timestamp", True),
                C("cause", "str", True, allowed=LIST_CAUSES),
                C("source", "str"),
            ),
        ),
    )
}
