from __future__ import annotations

from projection_stream import fold, recorded

from system.domain.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderItem,
    OrderPlaced,
    OrderShipped,
)
from system.projections.order_status import PROJECTION

ITEMS = (
    OrderItem(product_id="p1", quantity=2, price=150),
    OrderItem(product_id="p2", quantity=1, price=700),
)
PLACED = OrderPlaced(
    customer_id="c1", customer_name="Rahim", items=ITEMS, shipping_address="Dhaka", total=1000
)


def test_placing_an_order_creates_a_pending_view_with_the_customers_name() -> None:
    doc = fold(PROJECTION, "o1", [PLACED])
    assert doc is not None
    assert doc["order_id"] == "o1"
    assert doc["customer_name"] == "Rahim"
    assert doc["status"] == "pending"
    assert doc["total"] == 1000
    assert doc["item_count"] == 2
    assert doc["items"][0] == {"product_id": "p1", "quantity": 2, "price": 150}
    assert doc["placed_at"] == doc["last_updated"]
    assert (doc["version"], doc["position"]) == (1, 10)


def test_ship_and_deliver_move_the_status_and_stamp_each_milestone() -> None:
    doc = fold(
        PROJECTION,
        "o1",
        [
            PLACED,
            OrderConfirmed(),
            OrderShipped(tracking_number="TRK-1"),
            OrderDelivered(items=ITEMS),
        ],
    )
    assert doc is not None
    assert doc["status"] == "delivered"
    assert doc["tracking_number"] == "TRK-1"
    assert doc["confirmed_at"] < doc["shipped_at"] < doc["delivered_at"] == doc["last_updated"]
    assert doc["cancelled_at"] is None
    assert doc["version"] == 4


def test_cancelling_records_when() -> None:
    doc = fold(PROJECTION, "o1", [PLACED, OrderCancelled(reason="changed mind", items=ITEMS)])
    assert doc is not None
    assert doc["status"] == "cancelled"
    assert doc["cancelled_at"] == doc["last_updated"]


def test_folding_does_not_mutate_the_previous_doc() -> None:
    doc = fold(PROJECTION, "o1", [PLACED])
    assert doc is not None
    before = dict(doc)
    PROJECTION.apply(doc, recorded("o1", 2, OrderConfirmed()))
    assert doc == before


def test_a_stream_without_its_creation_event_still_projects_onto_an_empty_view() -> None:
    doc = PROJECTION.apply(None, recorded("o1", 1, OrderConfirmed()))
    assert (doc["order_id"], doc["status"], doc["customer_name"], doc["version"]) == (
        "o1",
        "confirmed",
        None,
        1,
    )


def test_timestamps_are_the_events_record_times() -> None:
    doc = fold(PROJECTION, "o1", [PLACED])
    assert doc is not None
    assert doc["placed_at"] == recorded("o1", 1, PLACED).recorded_at.isoformat()
    assert doc["placed_at"].startswith("2025-03-02T00:00:00")
