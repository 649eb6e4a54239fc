from __future__ import annotations

from projection_stream import fold

from system.domain.events import (
    Event,
    ProductAdded,
    StockReceived,
    StockReleased,
    StockReserved,
    StockSold,
)
from system.projections.inventory import PROJECTION


def _counts(events: list[Event]) -> tuple[int, int, int, int]:
    doc = fold(PROJECTION, "p1", [ProductAdded(name="Tea", price=250, stock=10), *events])
    assert doc is not None
    return doc["on_hand"], doc["reserved"], doc["sold"], doc["remaining"]


def test_a_new_product_has_its_initial_stock_available() -> None:
    doc = fold(PROJECTION, "p1", [ProductAdded(name="Tea", price=250, stock=10)])
    assert doc is not None
    assert (doc["product_id"], doc["name"], doc["price"]) == ("p1", "Tea", 250)
    assert _counts([]) == (10, 0, 0, 10)


def test_received_stock_adds_to_on_hand_and_remaining() -> None:
    assert _counts([StockReceived(quantity=5)]) == (15, 0, 0, 15)


def test_a_reservation_holds_stock_back() -> None:
    assert _counts([StockReserved(order_id="o1", quantity=3)]) == (10, 3, 0, 7)


def test_a_release_gives_reserved_stock_back() -> None:
    events = [StockReserved(order_id="o1", quantity=3), StockReleased(order_id="o1", quantity=3)]
    assert _counts(events) == (10, 0, 0, 10)


def test_a_sale_turns_reserved_into_sold() -> None:
    events = [StockReserved(order_id="o1", quantity=3), StockSold(order_id="o1", quantity=3)]
    assert _counts(events) == (10, 0, 3, 7)
