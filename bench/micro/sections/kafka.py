"""Kafka produce/consume ceilings: the relay's and the projector's work without them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.micro.figures import Bench, by_kind, ceiling_row
from bench.report.results import Results


def produce_work(info: Mapping[str, Any]) -> str:
    """What the produce ceiling does, from what the benchmark recorded."""
    settings = info["settings"]
    return (
        f"confluent-kafka produce of {info['events']} relay envelopes"
        f" (mean {info['message_bytes']:.0f} B, {info['headers']} headers, key = aggregate id)"
        f" with the relay's producer settings (acks={settings['acks']}, idempotent,"
        f" linger.ms={settings['linger.ms']}), acks awaited per {info['batch']} messages"
    )


def consume_work(info: Mapping[str, Any]) -> str:
    """What the consume ceiling does, from what the benchmark recorded."""
    return (
        f"aiokafka consume of {info['events']} relay envelopes"
        f" (mean {info['message_bytes']:.0f} B) with the projector's consumer"
        f" (assigned partitions, up to {info['batch']} records per getmany), no decoding"
    )


def add(results: Results, benchmarks: list[Bench]) -> None:
    for b in by_kind(benchmarks, "kafka_produce"):
        results.add("ceilings", ceiling_row("kafka_produce", b, produce_work(b["extra_info"])))
    for b in by_kind(benchmarks, "kafka_consume"):
        results.add("ceilings", ceiling_row("kafka_consume", b, consume_work(b["extra_info"])))
