"""Kafka's EndToEndLatency tool runs against the stack's broker and yields the kafka ceiling."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from bench.lag.ceiling import TOOL_GROUP_PREFIX, ceiling_row, measure
from bench.report.constants import KAFKA_CEILING as NAME
from system.config import Settings

pytestmark = pytest.mark.integration


async def groups(settings: Settings) -> set[str]:
    """The tool's consumer groups on the broker, listed by another client than the one that
    deletes them (other clients' groups may come and go meanwhile)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        listed = await admin.list_consumer_groups()
        return {group for group, _ in listed if group.startswith(TOOL_GROUP_PREFIX)}
    finally:
        await admin.close()


async def test_end_to_end_latency_against_the_stack_broker() -> None:
    settings = Settings.from_env()
    before = await groups(settings)
    rounds = await measure(settings, rounds=2, records=100)
    assert await groups(settings) == before  # the tool's two groups are gone
    assert len(rounds) == 2
    for r in rounds:
        assert 0 <= r.p50 <= r.p99 <= r.p999
        assert r.average > 0
    row = ceiling_row(rounds, records=100)
    assert row["name"] == NAME
    assert row["unit"] == "seconds"
    assert 0 < row["low"] <= row["value"] <= row["high"]
    assert row["value"] <= row["p99"]
    assert "acks=all" in row["work"]
