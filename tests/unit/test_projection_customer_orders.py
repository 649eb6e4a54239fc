from __future__ import annotations

from projection_stream import fold

from system.domain.events import OrderCancelled, OrderConfirmed, OrderItem, OrderPlaced
from system.projections.customer_orders import PROJECTION

ITEMS = (OrderItem(product_id="p1", quantity=1, price=500),)
PLACED = OrderPlaced(
    customer_id="c9", customer_name="Karim", items=ITEMS, shipping_address="Khulna", total=500
)


def test_an_order_enters_its_customers_history_with_the_name() -> None:
    doc = fold(PROJECTION, "o7", [PLACED])
    assert doc is not None
    assert {k: doc[k] for k in ("order_id", "customer_id", "customer_name", "status", "total")} == {
        "order_id": "o7",
        "customer_id": "c9",
        "customer_name": "Karim",
        "status": "pending",
        "total": 500,
    }
    assert doc["placed_at"]


def test_the_history_follows_the_orders_status() -> None:
    doc = fold(
        PROJECTION, "o7", [PLACED, OrderConfirmed(), OrderCancelled(reason="x", items=ITEMS)]
    )
    assert doc is not None
    assert doc["status"] == "cancelled"
    assert doc["version"] == 3
