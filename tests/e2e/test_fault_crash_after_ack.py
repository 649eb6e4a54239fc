"""The relay killed between Kafka's ack of a batch and its outbox mark (its fault-injection
hook, armed for one process): the supervisor brings it back, the batch goes to Kafka a second
time, and the projections apply each of those events once (duplicates counted, audit clean)."""

from __future__ import annotations

import re
import time

import pytest

from bench.faults.relay_hook import crash_after_ack
from bench.stack.registry import service_paths
from bench.stack.supervisor import read_state
from system.bus.fault_injection import CRASH_EXIT_CODE
from system.config import Settings
from tests.e2e.fault_probes import PROJECTOR_METRICS, copies_in_kafka, metric
from tests.e2e.outage_support import Traffic, audit_since, head, statuses, wait_healthy

pytestmark = pytest.mark.e2e

CRASHED = re.compile(r"Kafka acked positions (\d+)\.\.(\d+) \((\d+) events\); exiting before")


@pytest.mark.timeout(600)
@pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning")
async def test_a_relay_killed_between_ack_and_mark_publishes_again_and_nothing_applies_twice(
    stack: Settings,
) -> None:
    since, started = await head(stack), time.time()
    duplicates = await metric(PROJECTOR_METRICS, "cqrs_projection_duplicates_total")
    log = service_paths(stack, "relay").log
    log_size = log.stat().st_size
    try:
        async with Traffic(stack) as traffic:
            await traffic.until_ok(10)
            supervisor = await crash_after_ack(stack)
            relay = (await wait_healthy(stack, timeout_s=60))["relay"]
            await traffic.until_ok(20)
    finally:
        await wait_healthy(stack, timeout_s=120)
    state = read_state(service_paths(stack, "relay").root) or {}
    assert relay.supervisor_pid == supervisor and state["restarts"] == 1, state
    assert state["last_exit"]["code"] == CRASH_EXIT_CODE, state
    assert traffic.statuses["500"] == 0, traffic.statuses
    crash = CRASHED.search(log.read_bytes()[log_size:].decode(errors="replace"))
    assert crash is not None, "the relay's log does not name the batch it left unmarked"
    first, last = int(crash[1]), int(crash[2])
    copies = await copies_in_kafka(stack, started - 5, range(first, last + 1))
    assert copies and min(copies.values()) >= 2, f"positions {first}..{last} in Kafka: {copies}"
    await audit_since(since)
    after = await metric(PROJECTOR_METRICS, "cqrs_projection_duplicates_total")
    assert after > duplicates, "the projector counted no duplicate"
    assert (await statuses(stack))["relay"].healthy
