"""Contention: many users on few hot accounts, explicit If-Match, conflicts and retries."""

from __future__ import annotations

import random

import orjson
from locust import tag

from bench.load.registry import CONTENTION
from bench.scenarios.base import ScenarioUser


class ContentionUser(ScenarioUser):
    """Writes with the version it believes current; a 409 makes its next two tickets re-read
    the version from the event store (`read version`) and retry (`deposit retry`)."""

    scenario = CONTENTION

    def on_start(self) -> None:
        self.stale: tuple[str, str] | None = None
        self.refreshed = False
        super().on_start()
        for account in self.rt.seed["accounts"]:
            self.rt.versions.setdefault(account["id"], account["version"])

    def choose(self, rng: random.Random) -> str:
        if self.stale is None:
            return super().choose(rng)
        return "retry" if self.refreshed else "read_version"

    def _write(self, op: str, key: str, rng: random.Random, name: str) -> None:
        expected = self.rt.versions.get(key)
        suffix = "deposits" if op == "deposit" else "withdrawals"
        body = {"amount": rng.randint(1, 1_000)}
        ack = self.command(
            f"/accounts/{key}/{suffix}", body, name, aggregate_id=key, expected_version=expected
        )
        self.refreshed = False
        if ack is not None:
            self.rt.versions[key] = max(self.rt.versions.get(key, 0), ack["version"])
            self.stale = None
        else:
            self.stale = (key, op) if self.last_outcome == "conflict" else None

    def _key(self, rng: random.Random) -> str:
        accounts = self.rt.seed["accounts"]
        return str(accounts[self.rt.keys.index(rng)]["id"])

    @tag("command")
    def deposit(self, rng: random.Random) -> None:
        self._write("deposit", self._key(rng), rng, "deposit")

    @tag("command")
    def withdraw(self, rng: random.Random) -> None:
        self._write("withdraw", self._key(rng), rng, "withdraw")

    def read_version(self, rng: random.Random) -> None:
        assert self.stale is not None
        key = self.stale[0]
        status, content = self.query(f"/accounts/{key}/history", "read version")
        if status == 200:
            self.rt.versions[key] = int(orjson.loads(content)["version"])
            self.refreshed = True
        else:
            self.stale = None

    def retry(self, rng: random.Random) -> None:
        assert self.stale is not None
        key, op = self.stale
        self._write(op, key, rng, f"{op} retry")
