"""Read-heavy: the query side alone, on the data set the run seeded first."""

from __future__ import annotations

import random

from locust import tag

from bench.load.registry import READ_HEAVY
from bench.scenarios.base import CatalogueReader


class ReadHeavyUser(CatalogueReader):
    """Reads seeded accounts, orders, customers and products (all projected before the run)."""

    scenario = READ_HEAVY

    @tag("query")
    def balance(self, rng: random.Random) -> None:
        account = rng.choice(self.rt.seed["accounts"])
        self.query(f"/accounts/{account['id']}", "balance")

    @tag("query")
    def order(self, rng: random.Random) -> None:
        order = rng.choice(self.rt.seed["orders"])
        self.query(f"/orders/{order['id']}", "order status")

    @tag("query")
    def customer_orders(self, rng: random.Random) -> None:
        customer = rng.choice(self.rt.seed["customers"])
        self.query(f"/customers/{customer['id']}/orders", "customer orders")
