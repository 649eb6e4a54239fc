"""A mixed command workload that remembers what was acknowledged, to check the read models.

Each lane owns its customer, products, accounts and orders, so lanes never contend and every
acknowledged command has a known effect on every read model.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from system.app.commands import CommandHandlers
from system.domain import commands as c
from system.domain.events import OrderItem

NEXT_STATUS = {"pending": "confirmed", "confirmed": "shipped", "shipped": "delivered"}


@dataclass
class Order:
    customer_id: str
    customer_name: str
    items: tuple[OrderItem, ...]
    status: str = "pending"
    version: int = 1


@dataclass
class Lane:
    """One worker's aggregates and what its acknowledged commands did to them."""

    rng: random.Random
    customer_id: str = ""
    customer_name: str = ""
    products: dict[str, int] = field(default_factory=dict)
    """product id -> units added or received"""
    accounts: dict[str, tuple[int, int]] = field(default_factory=dict)
    """account id -> (deposits, balance)"""
    orders: dict[str, Order] = field(default_factory=dict)


class Workload:
    """Lanes of commands; `acked` counts acknowledged commands, `last_position` the highest."""

    def __init__(self, commands: CommandHandlers, lanes: int = 10, seed: int = 7) -> None:
        self.commands = commands
        self.lanes = [Lane(random.Random(seed * 1000 + i)) for i in range(lanes)]
        self.acked = 0
        self.last_position = 0
        self.tag = uuid.uuid4().hex[:8]

    async def _run(self, command: c.Command) -> None:
        result = await self.commands.handle(command)
        self.acked += 1
        self.last_position = max(self.last_position, result.position)

    async def setup(self) -> None:
        await asyncio.gather(*(self._setup(i, lane) for i, lane in enumerate(self.lanes)))

    async def _setup(self, index: int, lane: Lane) -> None:
        lane.customer_id = f"cust-{uuid.uuid4()}"
        lane.customer_name = f"Customer {self.tag}-{index}"
        await self._run(
            c.RegisterCustomer(
                customer_id=lane.customer_id, name=lane.customer_name, email="c@example.com"
            )
        )
        for _ in range(2):
            product = f"prod-{uuid.uuid4()}"
            await self._run(c.AddProduct(product_id=product, name="Tea", price=250, stock=10**6))
            lane.products[product] = 10**6
        for _ in range(2):
            account = f"acct-{uuid.uuid4()}"
            await self._run(c.OpenAccount(account_id=account, owner_id=lane.customer_id))
            lane.accounts[account] = (0, 0)

    async def step(self, lane: Lane) -> None:
        """One acknowledged command chosen at random for `lane`."""
        roll = lane.rng.random()
        open_orders = [o for o, order in lane.orders.items() if order.status in NEXT_STATUS]
        if roll < 0.35:
            account = lane.rng.choice(list(lane.accounts))
            amount = lane.rng.randint(1, 1000)
            await self._run(c.Deposit(account_id=account, amount=amount))
            deposits, balance = lane.accounts[account]
            lane.accounts[account] = (deposits + 1, balance + amount)
        elif roll < 0.65 or not open_orders:
            order_id = f"order-{uuid.uuid4()}"
            product = lane.rng.choice(list(lane.products))
            items = (OrderItem(product_id=product, quantity=lane.rng.randint(1, 3), price=250),)
            await self._run(
                c.PlaceOrder(
                    order_id=order_id,
                    customer_id=lane.customer_id,
                    items=items,
                    shipping_address="Dhaka",
                )
            )
            lane.orders[order_id] = Order(lane.customer_id, lane.customer_name, items)
        elif roll < 0.7:
            order_id = lane.rng.choice(
                [o for o in open_orders if lane.orders[o].status in {"pending", "confirmed"}]
                or open_orders
            )
            order = lane.orders[order_id]
            if order.status == "shipped":
                await self._advance(order_id, order)
                return
            await self._run(c.CancelOrder(order_id=order_id, reason="changed mind"))
            order.status, order.version = "cancelled", order.version + 1
        else:
            order_id = lane.rng.choice(open_orders)
            await self._advance(order_id, lane.orders[order_id])

    async def _advance(self, order_id: str, order: Order) -> None:
        command: c.Command
        if order.status == "pending":
            command = c.ConfirmOrder(order_id=order_id)
        elif order.status == "confirmed":
            command = c.ShipOrder(order_id=order_id, tracking_number=f"TRK-{order_id[-6:]}")
        else:
            command = c.DeliverOrder(order_id=order_id)
        await self._run(command)
        order.status, order.version = NEXT_STATUS[order.status], order.version + 1

    async def run(
        self, total: int, rate_per_s: float | None = None, stop: asyncio.Event | None = None
    ) -> None:
        """`total` commands spread over the lanes, paced to `rate_per_s` if given, until `stop`."""
        per_lane = total // len(self.lanes)

        async def lane_loop(lane: Lane) -> None:
            interval = len(self.lanes) / rate_per_s if rate_per_s else 0.0
            loop = asyncio.get_running_loop()
            start = loop.time() + lane.rng.random() * interval
            for i in range(per_lane):
                if stop is not None and stop.is_set():
                    return
                if interval:
                    await asyncio.sleep(max(0.0, start + i * interval - loop.time()))
                await self.step(lane)

        await asyncio.gather(*(lane_loop(lane) for lane in self.lanes))

    # --- what the read models must say

    def expected(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Read model -> doc id -> the fields the acknowledged commands determine."""
        out: dict[str, dict[str, dict[str, Any]]] = {
            name: {}
            for name in (
                "order_status",
                "customer_orders",
                "revenue",
                "inventory",
                "account_balance",
            )
        }
        for lane in self.lanes:
            reserved = dict.fromkeys(lane.products, 0)
            sold = dict.fromkeys(lane.products, 0)
            for order_id, order in lane.orders.items():
                total = sum(i.quantity * i.price for i in order.items)
                out["order_status"][order_id] = {
                    "status": order.status,
                    "customer_name": order.customer_name,
                    "total": total,
                    "version": order.version,
                }
                out["customer_orders"][order_id] = {
                    "customer_id": order.customer_id,
                    "status": order.status,
                    "version": order.version,
                }
                out["revenue"][order_id] = {
                    "total": total,
                    "counted": order.status != "cancelled",
                    "version": order.version,
                }
                for item in order.items:
                    if order.status == "delivered":
                        sold[item.product_id] += item.quantity
                    elif order.status != "cancelled":
                        reserved[item.product_id] += item.quantity
            for product, on_hand in lane.products.items():
                out["inventory"][product] = {
                    "on_hand": on_hand,
                    "reserved": reserved[product],
                    "sold": sold[product],
                    "remaining": on_hand - reserved[product] - sold[product],
                }
            for account, (deposits, balance) in lane.accounts.items():
                out["account_balance"][account] = {
                    "deposits": deposits,
                    "balance": balance,
                    "version": 1 + deposits,
                }
        return out


def mismatches(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """Differences between expected fields and the docs (missing docs included), first 10."""
    found = []
    for doc_id, fields in expected.items():
        doc = actual.get(doc_id)
        if doc is None:
            found.append(f"{doc_id}: missing")
            continue
        diff = {k: (v, doc.get(k)) for k, v in fields.items() if doc.get(k) != v}
        if diff:
            found.append(f"{doc_id}: {diff}")
    return found[:10]
