"""Seed data a scenario needs before its load starts (over HTTP, not measured)."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

SEED_CONCURRENCY = 16
CATCH_UP_WAIT_MS = 10_000


class SeedError(RuntimeError):
    """The system under test refused the seed data."""


class Seeder:
    """Creates accounts, customers, products and orders with a bounded number in flight."""

    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.position = 0
        self._slots = asyncio.Semaphore(SEED_CONCURRENCY)

    async def post(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        async with self._slots:
            r = await self.client.post(path, json=body)
        if r.status_code not in (200, 201):
            raise SeedError(f"seeding: POST {path} answered {r.status_code}: {r.text[:300]}")
        data: dict[str, Any] = r.json()
        self.position = max(self.position, int(data["position"]))
        return data

    async def account(self, balance: int) -> dict[str, Any]:
        opened = await self.post("/accounts", {"owner_id": f"seed-{self.rng.randrange(10**9)}"})
        account_id = opened["account_id"]
        landed = opened
        if balance:
            landed = await self.post(f"/accounts/{account_id}/deposits", {"amount": balance})
        return {"id": account_id, "version": landed["version"], "position": landed["position"]}

    async def customer(self, i: int) -> dict[str, Any]:
        body = {"name": f"Customer {i}", "email": f"customer{i}@example.com"}
        data = await self.post("/customers", body)
        return {"id": data["customer_id"], "position": data["position"]}

    async def product(self, i: int, stock: int) -> dict[str, Any]:
        price = self.rng.randint(100, 20_000)
        data = await self.post(
            "/products", {"name": f"Product {i}", "price": price, "stock": stock}
        )
        return {"id": data["product_id"], "price": price, "position": data["position"]}

    async def order(self, customer: dict[str, Any], product: dict[str, Any]) -> dict[str, Any]:
        item = {"product_id": product["id"], "quantity": 1, "price": product["price"]}
        body = {"customer_id": customer["id"], "items": [item], "shipping_address": "1 Seed St"}
        data = await self.post("/orders", body)
        return {"id": data["order_id"], "customer_id": customer["id"], "position": data["position"]}

    async def caught_up(self, paths: list[str]) -> None:
        """Wait until each read model answering `paths` reached the seed's last position."""
        for path in paths:
            params = {"min_position": self.position, "wait_ms": CATCH_UP_WAIT_MS}
            r = await self.client.get(path, params=params)
            if r.status_code != 200:
                raise SeedError(
                    f"seeding: the read side did not catch up with position {self.position}"
                    f" ({path} answered {r.status_code}); is the projector running?"
                )


async def _gather(n: int, make: Callable[[int], Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(make(i) for i in range(n))))


async def seed(scenario: str, api_url: str, seed_value: int, keys: int) -> dict[str, Any]:
    """The scenario's seed data as JSON-able ids (written beside the results as seed.json)."""
    rng = random.Random(seed_value)
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        s = Seeder(client, rng)
        data: dict[str, Any] = {}
        if scenario == "contention":
            data["accounts"] = await _gather(keys, lambda _: s.account(10**9))
        elif scenario in ("banking", "read-your-writes"):
            data["accounts"] = await _gather(50, lambda _: s.account(100_000))
        elif scenario in ("orders", "read-heavy"):
            data["customers"] = await _gather(50, s.customer)
            data["products"] = await _gather(20, lambda i: s.product(i, 10**6))
        if scenario == "orders":
            await s.caught_up(
                [
                    f"/inventory/{data['products'][-1]['id']}",
                    f"/customers/{data['customers'][-1]['id']}/orders",
                ]
            )
        if scenario == "read-heavy":
            data["accounts"] = await _gather(50, lambda _: s.account(100_000))
            customers, products = data["customers"], data["products"]
            data["orders"] = await _gather(
                100, lambda i: s.order(customers[i % len(customers)], products[i % len(products)])
            )
            await s.caught_up(
                [
                    f"/accounts/{data['accounts'][-1]['id']}",
                    f"/orders/{data['orders'][-1]['id']}",
                    f"/customers/{customers[0]['id']}/orders",
                    f"/inventory/{products[0]['id']}",
                ]
            )
        data["position"] = s.position
        return data


def seeded_ids(seed: dict[str, Any]) -> list[str]:
    """Every aggregate id in a seed document."""
    return [item["id"] for value in seed.values() if isinstance(value, list) for item in value]


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.load.seeding SCENARIO API_URL`: seed and print the seed document."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("scenario")
    parser.add_argument("api_url")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keys", type=int, default=8)
    args = parser.parse_args(argv)
    try:
        data = asyncio.run(seed(args.scenario, args.api_url, args.seed, args.keys))
    except (httpx.HTTPError, SeedError) as exc:
        sys.exit(f"could not seed {args.scenario} at {args.api_url}: {exc}")
    print(json.dumps(data))


if __name__ == "__main__":
    main()
