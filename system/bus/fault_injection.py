"""Fault-injection hooks of the relay, for the fault matrix only: off unless configured.

`CQRS_RELAY_CRASH_AFTER_ACK=N` (`Settings.relay_crash_after_ack`) wraps the relay's outbox in
`CrashAfterAckOutbox`: once Kafka has acknowledged the relay's Nth batch, the process exits
abruptly (`os._exit`, no cleanup, as a kill would) instead of marking that batch published.
The rows stay unmarked, so the next relay publishes them again: Kafka then holds each of
those events twice, which the projectors must apply once. Off, the relay uses the plain
`PostgresOutbox` and the hook costs nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import asyncpg

from system.eventstore.outbox import PostgresOutbox

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 86
"""The exit status of a relay the hook ended (its supervisor records it as the last exit)."""


class CrashAfterAckOutbox(PostgresOutbox):
    """Fault-injection hook: the `after`-th mark (called once Kafka acked the batch) never
    runs; the process exits abruptly instead."""

    def __init__(self, pool: asyncpg.Pool, after: int) -> None:
        super().__init__(pool)
        self.after = after
        self.marks = 0

    async def mark_published(self, positions: Sequence[int], acked: Sequence[float]) -> None:
        self.marks += 1
        if self.marks >= self.after:
            log.critical(
                "fault injection (CQRS_RELAY_CRASH_AFTER_ACK=%d): Kafka acked positions %d..%d"
                " (%d events); exiting before marking them published",
                self.after,
                min(positions),
                max(positions),
                len(positions),
            )
            logging.shutdown()
            os._exit(CRASH_EXIT_CODE)
        await super().mark_published(positions, acked)


def relay_outbox(pool: asyncpg.Pool, crash_after_ack: int | None) -> PostgresOutbox:
    """The relay's outbox: the plain one, or with the crash-after-ack hook when configured."""
    if crash_after_ack is None:
        return PostgresOutbox(pool)
    log.warning("fault injection armed: exiting after Kafka acks batch %d", crash_after_ack)
    return CrashAfterAckOutbox(pool, crash_after_ack)
