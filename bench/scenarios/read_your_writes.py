"""Read-your-writes: a deposit, then the balance view asked until it shows the deposit."""

from __future__ import annotations

import random
import time

from bench.load.samples import VISIBILITY
from bench.scenarios.base import WAIT_MS, ScenarioUser

POLLS = 20
"""A deposit still invisible after this many waits of WAIT_MS counts as a failed visibility."""


class ReadYourWritesUser(ScenarioUser):
    """Records `visibility`: from the command's acknowledgement to the first query that sees it."""

    def deposit(self, rng: random.Random) -> None:
        account = rng.choice(self.rt.seed["accounts"])
        path = f"/accounts/{account['id']}"
        body = {"amount": rng.randint(100, 10_000)}
        ack = self.command(f"{path}/deposits", body, "deposit", aggregate_id=account["id"])
        if ack is None:
            return
        acked = time.time()
        status = 0
        for _ in range(POLLS):
            status, _content = self.query(
                path, "balance after write", min_position=ack["position"], wait_ms=WAIT_MS
            )
            if status != 202:
                break
        visible = time.time()
        self.environment.events.request.fire(
            request_type="VISIBILITY",
            name=VISIBILITY,
            response_time=(visible - acked) * 1000,
            response_length=0,
            exception=None if status == 200 else RuntimeError(f"not visible ({status})"),
            context={**self.ctx, "intended": acked, "outcome": "ok" if status == 200 else "error"},
            start_time=acked,
        )
