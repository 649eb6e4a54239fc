"""Revenue dashboard source: one doc per order (day, total, counted); queries sum per day."""

from __future__ import annotations

from system.domain.events import Event, OrderCancelled, OrderPlaced
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Projection, copy

NAME = "revenue"


def empty(recorded: Recorded[Event]) -> Doc:
    return {"order_id": recorded.aggregate_id, "day": None, "total": 0, "counted": False}


def placed(doc: Doc | None, recorded: Recorded[OrderPlaced]) -> Doc:
    return {
        "order_id": recorded.aggregate_id,
        "day": recorded.recorded_at.date().isoformat(),
        "total": recorded.event.total,
        "counted": True,
    }


def cancelled(doc: Doc | None, recorded: Recorded[OrderCancelled]) -> Doc:
    new = copy(doc)
    new["counted"] = False
    return new


PROJECTION = Projection(
    name=NAME,
    aggregate_type="Order",
    folds={"OrderPlaced": placed, "OrderCancelled": cancelled},
    empty=empty,
    creators=frozenset({"OrderPlaced"}),
)
