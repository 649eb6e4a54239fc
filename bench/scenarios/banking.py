"""Banking: open accounts, deposits, withdrawals, balance reads and time-travel reads."""

from __future__ import annotations

import random
from typing import Any

from locust import tag

from bench.load.registry import BANKING
from bench.scenarios.base import ScenarioUser


class BankingUser(ScenarioUser):
    """Works on the seeded accounts plus the ones it opens (shared within the process)."""

    scenario = BANKING

    def _accounts(self) -> list[dict[str, Any]]:
        return self.rt.pools.setdefault("accounts", list(self.rt.seed["accounts"]))

    def _account(self, rng: random.Random) -> dict[str, Any]:
        accounts = self._accounts()
        return accounts[rng.randrange(len(accounts))]

    def _landed(self, account: dict[str, Any], ack: dict[str, Any] | None) -> None:
        if ack is not None:
            account["version"] = max(account["version"], ack["version"])
            account["position"] = max(account["position"], ack["position"])

    @tag("command")
    def open(self, rng: random.Random) -> None:
        body = {"owner_id": f"owner-{rng.randrange(10**6)}"}
        ack = self.command("/accounts", body, "open account", id_field="account_id")
        if ack is not None:
            account = {"id": ack["aggregate_id"], "version": 1, "position": ack["position"]}
            self._accounts().append(account)

    @tag("command")
    def deposit(self, rng: random.Random) -> None:
        a = self._account(rng)
        body = {"amount": rng.randint(100, 10_000)}
        path = f"/accounts/{a['id']}/deposits"
        self._landed(a, self.command(path, body, "deposit", aggregate_id=a["id"]))

    @tag("command")
    def withdraw(self, rng: random.Random) -> None:
        a = self._account(rng)
        body = {"amount": rng.randint(100, 5_000)}
        path = f"/accounts/{a['id']}/withdrawals"
        self._landed(a, self.command(path, body, "withdraw", aggregate_id=a["id"]))

    @tag("query")
    def balance(self, rng: random.Random) -> None:
        a = self._account(rng)
        self.query(f"/accounts/{a['id']}", "balance", min_position=a["position"])

    @tag("query")
    def history(self, rng: random.Random) -> None:
        a = self._account(rng)
        version = rng.randint(1, a["version"])
        self.query(f"/accounts/{a['id']}/history?version={version}", "balance at version")
