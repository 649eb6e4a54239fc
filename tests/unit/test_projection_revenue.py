from __future__ import annotations

from projection_stream import T0, fold

from system.domain.events import OrderCancelled, OrderDelivered, OrderItem, OrderPlaced
from system.projections.revenue import PROJECTION

ITEMS = (OrderItem(product_id="p1", quantity=4, price=250),)
PLACED = OrderPlaced(
    customer_id="c1", customer_name="A", items=ITEMS, shipping_address="Sylhet", total=1000
)


def test_a_placed_order_counts_on_the_utc_day_it_was_placed() -> None:
    doc = fold(PROJECTION, "o1", [PLACED])
    assert doc is not None
    # T0 is 23:59:59 UTC; version 1 is recorded one second later, on the next day.
    assert doc["day"] == "2025-03-02"
    assert T0.date().isoformat() == "2025-03-01"
    assert (doc["total"], doc["counted"]) == (1000, True)


def test_a_cancelled_order_stops_counting() -> None:
    doc = fold(PROJECTION, "o1", [PLACED, OrderCancelled(reason="x", items=ITEMS)])
    assert doc is not None
    assert doc["counted"] is False


def test_events_that_do_not_change_revenue_still_advance_the_version() -> None:
    doc = fold(PROJECTION, "o1", [PLACED, OrderDelivered(items=ITEMS)])
    assert doc is not None
    assert (doc["counted"], doc["version"]) == (True, 2)
