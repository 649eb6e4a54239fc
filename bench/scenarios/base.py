"""The thin user every scenario builds on: pacing (open or closed) and one-call operations."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import time
import uuid
from typing import Any, ClassVar, Protocol, cast

import gevent
import orjson
from locust import tag
from locust.contrib.fasthttp import FastHttpUser

from bench.load.keys import ticket_rng
from bench.load.pacing import Ticket
from bench.load.registry import Scenario
from bench.scenarios.runtime import Runtime, runtime

IDLE_S = 3600.0
"""A user whose timetable is used up waits this long (locust stops it at the end of the run)."""
WAIT_MS = 5000
"""How long a read-your-writes query may wait for the projection (server side)."""

TRANSPORT_ATTEMPTS = 2
"""A command that got no answer at all (connection lost) is sent once more, with the same
`Idempotency-Key`, so it is applied at most once."""
AUTH = (
    {"Authorization": f"Bearer {os.environ['CQRS_API_TOKEN']}"}
    if os.environ.get("CQRS_API_TOKEN")
    else {}
)
"""The api's bearer token (CQRS_API_TOKEN), sent on every request when set."""

_user_ids = itertools.count()


def weighted(mix: dict[str, int], rng: random.Random) -> str:
    """One operation name drawn from its weights."""
    names = list(mix)
    return rng.choices(names, weights=[mix[n] for n in names])[0]


def operation_task(name: str, method: Any) -> Any:
    """A locust task for operation `name`, tagged with its name and its method's tags
    (`@tag("command")`, `@tag("query")`), so `--tags`/`--exclude-tags` select operations.

    Every task takes the next ticket the same way (`ScenarioUser.step`); the ticket's seeded
    draw picks the operation among those the tags left, by the mix's weights.
    """

    def run(user: ScenarioUser) -> None:
        user.step()

    run.__name__ = name
    run.operation = name  # type: ignore[attr-defined]
    run.locust_tag_set = {name, *getattr(method, "locust_tag_set", ())}  # type: ignore[attr-defined]
    return run


class Settling(Protocol):
    """The typed part of locust's catch_response context manager that we use."""

    status_code: int
    content: bytes | None
    request_meta: dict[str, Any]

    def success(self) -> None: ...

    def failure(self, exc: str) -> None: ...


class ScenarioUser(FastHttpUser):
    """Open model: takes tickets from the timetable; closed model: loops with think time."""

    abstract = True
    scenario: ClassVar[Scenario | None] = None
    """The registry entry this class runs (bench/load/registry.py); None on the bases."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        scenario = cls.__dict__.get("scenario")
        if scenario is not None:
            cls.tasks = [operation_task(op, getattr(cls, op)) for op in scenario.mix]

    def on_start(self) -> None:
        self.rt: Runtime = runtime()
        self.uid = next(_user_ids)
        self.done = 0
        self.ticket: Ticket | None = None
        self.ctx: dict[str, Any] = {}
        self.last_outcome = "ok"
        if self.rt.config.model == "open":
            delay = self._claim()
            if self.ticket is not None:
                gevent.sleep(delay)

    def wait_time(self) -> float:
        if self.rt.config.model == "closed":
            return self.rt.config.think_time_s
        return self._claim()

    def _claim(self) -> float:
        assert self.rt.timetable is not None
        self.ticket = self.rt.timetable.claim(self.rt.worker, self.rt.workers)
        if self.ticket is None:
            return IDLE_S
        return max(0.0, self.ticket.intended - time.time())

    def step(self) -> None:
        """Run one ticket: the operation its seeded draw picks."""
        if self.rt.config.model == "closed":
            now = time.time()
            index = (self.rt.worker << 40) + (self.uid << 24) + self.done
            self.ticket = Ticket(index, now, self.rt.phase_at(now))
        ticket = self.ticket
        if ticket is None:
            return
        self.ticket = None
        self.done += 1
        self.ctx = {"intended": ticket.intended, "phase": ticket.phase}
        rng = ticket_rng(self.rt.config.seed, ticket.seq)
        getattr(self, self.choose(rng))(rng)

    def choose(self, rng: random.Random) -> str:
        """The operation for this ticket (scenarios with follow-ups override this)."""
        enabled = {getattr(t, "operation", None) for t in type(self).tasks}
        mix = {op: w for op, w in self.rt.config.effective_mix.items() if op in enabled}
        return weighted(mix or self.rt.config.effective_mix, rng)

    def command(
        self,
        path: str,
        body: dict[str, Any] | None,
        name: str,
        *,
        aggregate_id: str | None = None,
        id_field: str | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any] | None:
        """POST a command; returns {aggregate_id, version, position} when it was acknowledged.

        A version conflict is reported as its own request type `NAME [409]`, a business-rule
        refusal as `NAME [rejected]`; both are expected outcomes, not failures.
        """
        headers = {"Idempotency-Key": str(uuid.uuid4()), **AUTH}
        if expected_version is not None:
            headers["If-Match"] = str(expected_version)
        context = {**self.ctx, "aggregate_id": aggregate_id, "expected_version": expected_version}
        for attempt in range(1, TRANSPORT_ATTEMPTS + 1):
            with self.client.request(
                "POST", path, json=body, name=name, headers=headers, context=context,
                catch_response=True,
            ) as r:  # fmt: skip
                if r.status_code == 0 and attempt < TRANSPORT_ATTEMPTS:
                    # no answer: the command may have landed; the same key makes the retry safe
                    r.request_meta["name"] = f"{name} [retried]"
                    r.success()
                    continue
                return self._settle_command(cast(Settling, r), name, aggregate_id, id_field)
        return None

    def _settle_command(
        self,
        r: Settling,
        name: str,
        aggregate_id: str | None,
        id_field: str | None,
    ) -> dict[str, Any] | None:
        meta_ctx: dict[str, Any] = r.request_meta["context"]
        status = r.status_code
        self.last_outcome = "ok" if status in (200, 201) else "error"
        if status in (200, 201):
            data = orjson.loads(r.content or b"{}")
            ack = {
                "aggregate_id": data[id_field] if id_field else aggregate_id,
                "version": data["version"],
                "position": data["position"],
            }
            meta_ctx["ack"] = ack
            r.success()
            return ack
        code = _error_code(r.content)
        if status == 409 and code == "version_conflict":
            meta_ctx["outcome"] = self.last_outcome = "conflict"
            meta_ctx.update(_conflict(r.content))
            r.request_meta["name"] = f"{name} [409]"
            r.success()
        elif status == 409:
            meta_ctx["outcome"] = self.last_outcome = "rejected"
            r.request_meta["name"] = f"{name} [rejected]"
            r.success()
        else:
            r.failure(f"{status} {code}")
        return None

    def query(
        self, path: str, name: str, *, min_position: int | None = None, wait_ms: int = 0
    ) -> tuple[int, bytes]:
        """GET a read model; a 202 (still processing) is its own request type `NAME [202]`.

        With `min_position` and no wait, a query never waits for the projection: latency stays
        the API's, and staleness shows as the share of 202s.
        """
        params: dict[str, Any] = {}
        if min_position is not None:
            params = {"min_position": min_position, "wait_ms": wait_ms}
        with self.client.request(
            "GET", path, params=params, name=name, headers=AUTH, context=self.ctx,
            catch_response=True,
        ) as response:  # fmt: skip
            r = cast(Settling, response)
            status = int(r.status_code)
            if status == 200:
                r.success()
            elif status == 202:
                r.request_meta["name"] = f"{name} [202]"
                r.success()
            else:
                r.failure(f"{status} {_error_code(r.content)}")
            return status, bytes(r.content or b"")


class CatalogueReader(ScenarioUser):
    """The read-model queries over seeded products shared by the `orders` and `read-heavy` users."""

    abstract = True

    @tag("query")
    def inventory(self, rng: random.Random) -> None:
        product = rng.choice(self.rt.seed["products"])
        self.query(f"/inventory/{product['id']}", "inventory")

    @tag("query")
    def revenue(self, rng: random.Random) -> None:
        today = dt.datetime.now(dt.UTC).date()
        start = today - dt.timedelta(days=rng.randint(0, 30))
        self.query(f"/revenue?from={start.isoformat()}&to={today.isoformat()}", "revenue")


def _conflict(content: bytes | None) -> dict[str, Any]:
    """What a 409 `version_conflict` body reports: the stream that moved on, the version its
    append expected and the one it met (each None when the body lacks it)."""
    try:
        body = orjson.loads(content or b"{}")
    except orjson.JSONDecodeError:
        body = {}
    body = body if isinstance(body, dict) else {}

    def number(key: str) -> int | None:
        value = body.get(key)
        return value if isinstance(value, int) else None

    stream = body.get("stream_id")
    return {
        "actual_version": number("actual_version"),
        "conflict_expected": number("expected_version"),
        "conflict_stream": stream if isinstance(stream, str) else None,
    }


def _error_code(content: bytes | None) -> str:
    try:
        data = orjson.loads(content or b"{}")
    except orjson.JSONDecodeError:
        return "not-json"
    return str(data.get("error", "")) if isinstance(data, dict) else ""
