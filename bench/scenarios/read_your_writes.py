"""Read-your-writes: a deposit, the balance view searched until it holds the deposit, a read.

Visibility is measured from the command's acknowledgement to the first Elasticsearch search
that finds the account's document at the acknowledged version or later
(`system.readstore.elasticsearch.visibility_search`): what a search sees is what a user's
query sees. Neither the projection's checkpoint nor a realtime GET (which sees writes no
refresh has exposed yet) stands in for it. The searches are probes, not user operations:
they go straight to Elasticsearch and are not counted as requests. The poll interval grows
from POLL_START_S to POLL_MAX_S, which bounds the measurement's resolution.
"""

from __future__ import annotations

import functools
import random
import time

import orjson
import urllib3
from locust import tag

from bench.load.registry import READ_YOUR_WRITES
from bench.report.constants import LagStage
from bench.scenarios.base import WAIT_MS, ScenarioUser
from system.config import Settings
from system.readstore.elasticsearch import visibility_search

VISIBLE_WITHIN_S = 10.0
"""A deposit not found by a search within this time counts as a failed visibility."""
POLL_START_S = 0.002
POLL_MAX_S = 0.02
PROJECTION = "account_balance"


@functools.cache
def _search_target() -> tuple[urllib3.PoolManager, str]:
    """This process's HTTP pool and the balance view's `_search` URL (settings read once)."""
    settings = Settings.from_env()
    url = f"{settings.es_url}/{settings.es_index_prefix}-{PROJECTION}/_search"
    return urllib3.PoolManager(maxsize=32), url


def visible(doc_id: str, version: int) -> bool:
    """Whether a search finds `doc_id` in the balance view at >= `version`."""
    pool, url = _search_target()
    r = pool.request(
        "POST",
        url,
        body=orjson.dumps(visibility_search(doc_id, version)),
        headers={"Content-Type": "application/json"},
        timeout=5.0,
    )
    if r.status != 200:
        raise RuntimeError(f"search answered {r.status}")
    return int(orjson.loads(r.data)["hits"]["total"]["value"]) > 0


def wait_visible(doc_id: str, version: int, deadline: float) -> bool:
    """Search until the doc is found at `version` (True) or `deadline` passes (False)."""
    delay = POLL_START_S
    while True:
        if visible(doc_id, version):
            return True
        remaining = deadline - time.time()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_MAX_S)


class ReadYourWritesUser(ScenarioUser):
    """Records `visibility`: from the command's acknowledgement to the first search that
    finds the deposit, then reads the balance through the API."""

    scenario = READ_YOUR_WRITES

    @tag("command")
    def deposit(self, rng: random.Random) -> None:
        account = rng.choice(self.rt.seed["accounts"])
        path = f"/accounts/{account['id']}"
        body = {"amount": rng.randint(100, 10_000)}
        ack = self.command(f"{path}/deposits", body, "deposit", aggregate_id=account["id"])
        if ack is None:
            return
        acked = time.time()
        error: Exception | None = None
        try:
            if not wait_visible(account["id"], ack["version"], acked + VISIBLE_WITHIN_S):
                error = RuntimeError(f"not found by a search within {VISIBLE_WITHIN_S:g} s")
        except (urllib3.exceptions.HTTPError, RuntimeError) as exc:
            error = exc
        seen = time.time()
        self.environment.events.request.fire(
            request_type="VISIBILITY",
            name=LagStage.VISIBILITY,
            response_time=(seen - acked) * 1000,
            response_length=0,
            exception=error,
            context={**self.ctx, "intended": acked, "outcome": "ok" if error is None else "error"},
            start_time=acked,
        )
        self.query(path, "balance after write", min_position=ack["position"], wait_ms=WAIT_MS)
