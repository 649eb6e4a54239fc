"""Kafka produce/consume ceilings."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, ceiling_row
from bench.report.results import Results

WORK = {
    "kafka_produce": "aiokafka produce of small records, acks=all",
    "kafka_consume": "aiokafka consume of the produced records",
}


def add(results: Results, benchmarks: list[Bench]) -> None:
    for kind, work in WORK.items():
        for b in by_kind(benchmarks, kind):
            results.add("ceilings", ceiling_row(kind, b, work))
