"""Orders: place → confirm → ship → deliver (some cancelled), with the order read models."""

from __future__ import annotations

import random
from typing import Any

from locust import tag

from bench.load.registry import ORDERS
from bench.scenarios.base import CatalogueReader

NEXT = {"confirm": "placed", "ship": "confirmed", "deliver": "shipped", "cancel": "placed"}
"""Lifecycle operation → the pool of orders it takes from."""
AFTER = {"confirm": "confirmed", "ship": "shipped", "deliver": "delivered"}


class OrdersUser(CatalogueReader):
    """Moves orders through their lifecycle; a step with no order waiting places one instead."""

    scenario = ORDERS

    def choose(self, rng: random.Random) -> str:
        op = super().choose(rng)
        source = NEXT.get(op)
        if source is not None and not self.rt.pools.get(source):
            return "place"
        if op in ("order", "customer_orders") and not self.rt.pools.get("recent"):
            return "place"
        return op

    def _pool(self, name: str) -> list[dict[str, Any]]:
        return self.rt.pools.setdefault(name, [])

    def _take(self, name: str, rng: random.Random) -> dict[str, Any]:
        pool = self._pool(name)
        return pool.pop(rng.randrange(len(pool)))

    def _remember(self, order: dict[str, Any], ack: dict[str, Any]) -> None:
        order["version"], order["position"] = ack["version"], ack["position"]
        recent = self._pool("recent")
        recent.append(order)
        if len(recent) > 1000:
            del recent[:500]

    @tag("command")
    def place(self, rng: random.Random) -> None:
        customer = rng.choice(self.rt.seed["customers"])
        products = rng.sample(self.rt.seed["products"], k=rng.randint(1, 3))
        items = [
            {"product_id": p["id"], "quantity": rng.randint(1, 3), "price": p["price"]}
            for p in products
        ]
        body = {
            "customer_id": customer["id"],
            "items": items,
            "shipping_address": f"{rng.randint(1, 999)} Main St",
        }
        ack = self.command("/orders", body, "place order", id_field="order_id")
        if ack is not None:
            order = {"id": ack["aggregate_id"], "customer_id": customer["id"]}
            self._remember(order, ack)
            self._pool("placed").append(order)

    def _step(self, op: str, rng: random.Random, body: dict[str, Any] | None) -> None:
        order = self._take(NEXT[op], rng)
        ack = self.command(
            f"/orders/{order['id']}/{op}", body, f"{op} order", aggregate_id=order["id"]
        )
        if ack is not None:
            self._remember(order, ack)
            if op in AFTER and AFTER[op] != "delivered":
                self._pool(AFTER[op]).append(order)

    @tag("command")
    def confirm(self, rng: random.Random) -> None:
        self._step("confirm", rng, None)

    @tag("command")
    def ship(self, rng: random.Random) -> None:
        self._step("ship", rng, {"tracking_number": f"1Z{rng.randrange(10**12):012d}"})

    @tag("command")
    def deliver(self, rng: random.Random) -> None:
        self._step("deliver", rng, None)

    @tag("command")
    def cancel(self, rng: random.Random) -> None:
        self._step("cancel", rng, {"reason": "customer changed their mind"})

    @tag("query")
    def order(self, rng: random.Random) -> None:
        o = rng.choice(self._pool("recent"))
        self.query(f"/orders/{o['id']}", "order status", min_position=o["position"])

    @tag("query")
    def customer_orders(self, rng: random.Random) -> None:
        o = rng.choice(self._pool("recent"))
        path = f"/customers/{o['customer_id']}/orders"
        self.query(path, "customer orders", min_position=o["position"])
