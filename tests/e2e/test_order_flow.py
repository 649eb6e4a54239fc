"""An order's life over HTTP, seen in every read model through read-your-writes (no sleeping)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

Reader = Callable[[str, int], Awaitable[Any]]


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> Any:
    response = await api.post(path, json=body)
    assert response.status_code in {200, 201}, f"POST {path}: {response.text}"
    return response.json()


async def _revenue_of(read: Reader, day: str, position: int) -> tuple[int, int]:
    days = (await read(f"/revenue?from={day}&to={day}", position))["days"]
    assert [d["day"] for d in days] == [day]
    return days[0]["revenue"], days[0]["orders"]


async def test_an_order_shows_up_everywhere_and_moves_to_delivered(
    api: httpx.AsyncClient, read: Reader
) -> None:
    name = f"Ada {uuid.uuid4().hex[:8]}"
    customer = await _post(api, "/customers", {"name": name, "email": "ada@example.com"})
    keyboard = await _post(api, "/products", {"name": "Keyboard", "price": 2500, "stock": 10})
    mouse = await _post(api, "/products", {"name": "Mouse", "price": 1000, "stock": 5})
    day = datetime.now(UTC).date().isoformat()
    revenue_before, orders_before = await _revenue_of(read, day, mouse["position"])
    placed = await _post(
        api,
        "/orders",
        {
            "customer_id": customer["customer_id"],
            "items": [
                {"product_id": keyboard["product_id"], "quantity": 2, "price": 2500},
                {"product_id": mouse["product_id"], "quantity": 1, "price": 1000},
            ],
            "shipping_address": "1 Analytical Engine Way",
        },
    )
    order_id, position = placed["order_id"], placed["position"]
    assert placed["version"] == 1

    view = await read(f"/orders/{order_id}", position)
    assert (view["status"], view["customer_name"], view["total"]) == ("pending", name, 6000)
    history = await read(f"/customers/{customer['customer_id']}/orders", position)
    assert [(o["order_id"], o["customer_name"]) for o in history["orders"]] == [(order_id, name)]
    stock = await read(f"/inventory/{keyboard['product_id']}", position)
    assert (stock["reserved"], stock["sold"], stock["remaining"]) == (2, 0, 8)
    assert view["placed_at"].startswith(day)
    # Lower bounds: other clients of a shared stack may place orders on the same day meanwhile.
    revenue, orders = await _revenue_of(read, day, position)
    assert revenue >= revenue_before + 6000 and orders >= orders_before + 1

    confirmed = await _post(api, f"/orders/{order_id}/confirm")
    assert (await read(f"/orders/{order_id}", confirmed["position"]))["status"] == "confirmed"
    shipped = await _post(api, f"/orders/{order_id}/ship", {"tracking_number": "1Z999"})
    view = await read(f"/orders/{order_id}", shipped["position"])
    assert (view["status"], view["tracking_number"]) == ("shipped", "1Z999")
    delivered = await _post(api, f"/orders/{order_id}/deliver")
    assert delivered["version"] == 4

    assert (await read(f"/orders/{order_id}", delivered["position"]))["status"] == "delivered"
    history = await read(f"/customers/{customer['customer_id']}/orders", delivered["position"])
    assert history["orders"][0]["status"] == "delivered"
    stock = await read(f"/inventory/{keyboard['product_id']}", delivered["position"])
    assert (stock["reserved"], stock["sold"], stock["remaining"]) == (0, 2, 8)
    revenue_now, orders_now = await _revenue_of(read, day, delivered["position"])
    assert revenue_now >= revenue and orders_now >= orders


async def test_a_cancelled_order_frees_its_reserved_stock(
    api: httpx.AsyncClient, read: Reader
) -> None:
    customer = await _post(api, "/customers", {"name": "Bo", "email": "bo@example.com"})
    product = await _post(api, "/products", {"name": "Lamp", "price": 4000, "stock": 3})
    placed = await _post(
        api,
        "/orders",
        {
            "customer_id": customer["customer_id"],
            "items": [{"product_id": product["product_id"], "quantity": 3, "price": 4000}],
            "shipping_address": "2 Side St",
        },
    )

    cancelled = await _post(api, f"/orders/{placed['order_id']}/cancel", {"reason": "changed mind"})

    view = await read(f"/orders/{placed['order_id']}", cancelled["position"])
    assert view["status"] == "cancelled"
    stock = await read(f"/inventory/{product['product_id']}", cancelled["position"])
    assert (stock["reserved"], stock["remaining"]) == (0, 3)
