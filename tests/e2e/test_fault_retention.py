"""A projector down longer than a tiny Kafka retention: retention deletes messages it had not
read; when it comes back it detects the gap (committed offset below the log start offset),
counts and logs it, rebuilds the projection from the event store and resumes; the audit is
clean and the topic's own retention is back."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from bench.faults.kafka_retention import (
    MAX_CHECK_INTERVAL_MS,
    PROJECTION,
    check_interval_ms,
    outlive_retention,
    topic_overrides,
)
from bench.stack.registry import service_paths
from system.bus.envelope import topic_for
from system.config import Settings
from system.projections import PROJECTIONS
from tests.e2e.fault_probes import PROJECTOR_METRICS, metric
from tests.e2e.outage_support import CLI, Traffic, audit_since, head, wait_healthy

pytestmark = pytest.mark.e2e

GAPS = "cqrs_projection_retention_gaps_total"
REBUILT = re.compile(r"rebuilt into (?P<index>\S+) \(.*?\), dropped (?P<dropped>.+?) \(it had")


async def _short_retention_checks(settings: Settings) -> None:
    """A broker started before the stack set its retention check to seconds is restarted once
    (`cqrs-bench restart kafka` writes the current server.properties)."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    if await asyncio.to_thread(check_interval_ms, admin) <= MAX_CHECK_INTERVAL_MS:
        return
    restart = await asyncio.create_subprocess_exec(CLI, "restart", "kafka")
    assert await restart.wait() == 0
    assert await asyncio.to_thread(check_interval_ms, admin) <= MAX_CHECK_INTERVAL_MS


async def _logged(log: Path, offset: int, text: str, timeout_s: float = 180.0) -> str:
    """What `log` got after `offset` once it holds `text` (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        data = await asyncio.to_thread(log.read_bytes)
        written = data[offset:].decode(errors="replace")
        if text in written or time.monotonic() > deadline:
            return written
        await asyncio.sleep(1.0)


async def _gaps_counted(timeout_s: float = 180.0) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            counted = await metric(PROJECTOR_METRICS, GAPS, projection=PROJECTION)
        except OSError:
            counted = 0.0
        if counted > 0 or time.monotonic() > deadline:
            return counted
        await asyncio.sleep(1.0)


@pytest.mark.timeout(900)
@pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning")
async def test_a_projector_down_past_retention_finds_the_gap_rebuilds_and_loses_nothing(
    stack: Settings,
) -> None:
    await _short_retention_checks(stack)
    topic = topic_for(PROJECTIONS[PROJECTION].aggregate_type, stack.kafka_topic_prefix)
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    overrides = await asyncio.to_thread(topic_overrides, admin, topic)
    log = service_paths(stack, "projector").log
    log_size = log.stat().st_size
    since = await head(stack)
    try:
        async with Traffic(stack) as traffic:
            await traffic.until_ok(10)
            found = await outlive_retention(stack)
            await traffic.until_ok(20, timeout_s=120)
    finally:
        await wait_healthy(stack, timeout_s=180)
    assert await asyncio.to_thread(topic_overrides, admin, topic) == overrides
    print(f"log start offsets {found.starts} passed the committed offsets {found.committed}")
    assert found.passed()
    assert await _gaps_counted() >= 1, f"{GAPS} did not count the gap"
    written = await _logged(log, log_size, f"{PROJECTION}: rebuilt into")
    assert f"{PROJECTION}: retention gap on {topic}" in written
    assert f"{PROJECTION}: rebuilt into" in written
    assert "repairing the retention gap failed" not in written
    rebuilt = REBUILT.search(written)
    assert rebuilt is not None, written[-2000:]
    async with httpx.AsyncClient(base_url=stack.es_url, timeout=10.0) as es:
        alias = (await es.get(f"/_alias/{stack.es_index_prefix}-{PROJECTION}")).json()
        assert list(alias) == [rebuilt["index"]], alias
        for dropped in rebuilt["dropped"].split(", "):
            assert (await es.head(f"/{dropped}")).status_code == 404, dropped
    assert traffic.statuses["500"] == 0, traffic.statuses
    await audit_since(since)
