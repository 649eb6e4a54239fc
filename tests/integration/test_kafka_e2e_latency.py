"""Kafka's EndToEndLatency tool runs against the stack's broker and yields the kafka ceiling."""

from __future__ import annotations

import pytest

from bench.lag.ceiling import ceiling_row, measure
from bench.report.constants import KAFKA_CEILING as NAME
from system.config import Settings

pytestmark = pytest.mark.integration


async def test_end_to_end_latency_against_the_stack_broker() -> None:
    rounds = await measure(Settings.from_env(), rounds=2, records=100)
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
