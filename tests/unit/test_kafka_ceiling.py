"""Parsing Kafka's EndToEndLatency output and setting the kafka stage beside it."""

from __future__ import annotations

import pytest

from bench.lag.ceiling import CeilingError, ToolRound, ceiling_row, parse
from bench.report.lag_ceilings import lag_lines

OUTPUT = """\
Topic "cqrs-bench-e2e-latency" does not exist. Will create topic with 1 partition(s)
0\t270.46957799999996
Avg latency: 5.6918 ms
Percentiles: 50th = 2, 99th = 51, 99.9th = 270
"""


def test_parse_reads_percentiles_in_seconds() -> None:
    r = parse(OUTPUT)
    assert (r.p50, r.p99, r.p999) == (0.002, 0.051, 0.27)
    assert r.average == pytest.approx(0.0056918)


def test_parse_refuses_output_without_percentiles() -> None:
    with pytest.raises(CeilingError, match="no percentiles"):
        parse("Exception in thread main: broker not available")


def test_ceiling_row_is_the_median_round_and_never_zero() -> None:
    rounds = [ToolRound(0.0, 0.004, 0.01, 0.0008), ToolRound(0.002, 0.03, 0.05, 0.003)]
    rounds.append(ToolRound(0.001, 0.02, 0.04, 0.002))
    row = ceiling_row(rounds)
    assert row["value"] == 0.001
    assert (row["low"], row["high"]) == (0.001, 0.002)
    assert row["p99"] == 0.02
    assert row["unit"] == "seconds"


def test_lag_lines_set_each_kafka_stage_beside_the_ceiling() -> None:
    lag = [
        {"projection": "order_status", "stage": "kafka", "p50": 0.004, "p99": 0.06},
        {"projection": "order_status", "stage": "index", "p50": 0.1, "p99": 0.2},
    ]
    ceilings = [{"name": "kafka_end_to_end_latency", "value": 0.002, "p99": 0.03}]
    lines = lag_lines(lag, ceilings)
    assert len(lines) == 2
    assert "ceiling p50 2.0 ms, p99 30.0 ms" in lines[0]
    assert lines[1] == (
        "order_status: kafka stage p50 4.0 ms (2.0x the ceiling), p99 60.0 ms (2.0x the ceiling)"
    )
    assert lag_lines(lag, []) == []
