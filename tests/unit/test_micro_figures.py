"""Ratios to a ceiling: from rounds measured in pairs when a benchmark has them; the
projector's second ceiling, Kafka's read."""

from __future__ import annotations

from typing import Any

import pytest

from bench.micro.figures import cpu_fields, rate, ratio, ratio_fields
from bench.micro.sections.projection import kafka_fields
from bench.report.intervals import rates_ratio_interval

ROUNDS = [0.010, 0.012, 0.011, 0.030, 0.010]
"""Ours: the fourth round ran while the machine was busy."""
PAIRED = [0.005, 0.006, 0.0055, 0.015, 0.005]
"""The ceiling's work right before each of ours: slowed by the same busy moment."""


def bench(kind: str, seconds: list[float], events: int = 100, **info: Any) -> dict[str, Any]:
    return {"stats": {"data": seconds}, "extra_info": {"kind": kind, "events": events, **info}}


def test_a_busy_moment_shared_by_a_pair_cancels_out_of_the_ratio() -> None:
    ours = bench("append", ROUNDS, paired={"kind": "append_raw", "seconds": PAIRED})
    r = ratio(ours, bench("append_raw", [0.001] * 5))
    assert r is not None
    assert (r.value, r.low, r.high) == pytest.approx((0.5, 0.5, 0.5))
    unpaired = rates_ratio_interval(100, ROUNDS, 100, PAIRED)
    assert unpaired.high - unpaired.low > 0.1


def test_a_paired_ratio_scales_by_the_work_of_each_side() -> None:
    ours = bench("append", ROUNDS, paired={"kind": "append_raw", "seconds": PAIRED}, events=200)
    ceiling = bench("append_raw", [0.001] * 5, events=100)
    r = ratio(ours, ceiling)
    assert r is not None and r.value == pytest.approx(1.0)


def test_the_fields_carry_the_rate_of_the_paired_rounds_as_the_ceiling() -> None:
    ours = bench("append", ROUNDS, paired={"kind": "append_raw", "seconds": PAIRED})
    fields = ratio_fields(ours, bench("append_raw", [0.001] * 5))
    assert fields["ceiling"] == pytest.approx(100 / 0.0055)
    assert fields["ratio"] == pytest.approx(rate(ours).value / fields["ceiling"])


def test_pairs_with_another_ceiling_leave_the_ratio_to_the_rounds_of_both() -> None:
    ours = bench("append", ROUNDS, paired={"kind": "append_raw", "seconds": PAIRED})
    copy = bench("append_copy", [0.0022] * 5)
    r = ratio(ours, copy)
    assert r is not None and r.value == pytest.approx(0.2)
    assert ratio_fields(ours, copy)["ceiling"] == pytest.approx(100 / 0.0022)


def test_each_ceiling_paired_with_the_rounds_gives_its_own_paired_ratio() -> None:
    copied = [t / 2 for t in PAIRED]
    paired = [
        {"kind": "append_raw", "seconds": PAIRED},
        {"kind": "append_copy", "seconds": copied},
    ]
    ours = bench("append", ROUNDS, paired=paired)
    raw = ratio(ours, bench("append_raw", [0.001] * 5))
    copy = ratio(ours, bench("append_copy", [0.0022] * 5))
    assert raw is not None and (raw.value, raw.low, raw.high) == pytest.approx((0.5, 0.5, 0.5))
    assert copy is not None and (copy.value, copy.low, copy.high) == pytest.approx((0.25,) * 3)
    assert ratio_fields(ours, bench("append_copy", [0.0022] * 5))["ceiling"] == pytest.approx(
        100 / 0.00275
    )


def test_kafka_fields_rate_the_projector_against_the_raw_consume_of_its_topic() -> None:
    ours = bench("projection", ROUNDS, path="from_kafka")
    consume = bench("projection_consume", [0.0022] * 5)
    fields = kafka_fields(ours, consume)
    assert fields["kafka_ceiling"] == pytest.approx(100 / 0.0022)
    # 0.0022 s over the median 0.011 s; the bootstrap's medians of ours span 0.010 to 0.030 s
    expected = (0.2, 0.0022 / 0.030, 0.0022 / 0.010)
    got = (fields["kafka_ratio"], fields["kafka_ratio_low"], fields["kafka_ratio_high"])
    assert got == pytest.approx(expected)
    assert fields["kafka_ratio"] == pytest.approx(rate(ours).value / fields["kafka_ceiling"])


def test_no_raw_consume_gives_no_kafka_fields() -> None:
    assert kafka_fields(bench("projection", ROUNDS, path="from_kafka"), None) == {}


def test_cpu_fields_give_each_side_s_median_cpu_per_event_and_their_ratio() -> None:
    paired = {"kind": "append_raw", "seconds": PAIRED, "cpu_seconds": [0.02, 0.03, 0.01, 0.5, 0.02]}
    ours = bench("append", ROUNDS, paired=paired, cpu_seconds=[0.04, 0.05, 0.9, 0.04, 0.03])
    fields = cpu_fields(ours, bench("append_raw", [0.001] * 5))
    assert fields == pytest.approx(
        {
            "cpu_seconds_per_event": 0.04 / 100,
            "ceiling_cpu_seconds_per_event": 0.02 / 100,
            "cpu_ratio": 0.5,
        }
    )


def test_rounds_not_metered_give_no_cpu_fields() -> None:
    metered = {"kind": "append_raw", "seconds": PAIRED, "cpu_seconds": [0.01] * 5}
    unmetered = {"kind": "append_raw", "seconds": PAIRED}
    raw = bench("append_raw", [0.001] * 5)
    assert cpu_fields(bench("append", ROUNDS, paired=unmetered), raw) == {}
    assert cpu_fields(bench("append", ROUNDS, paired=metered), raw) == {}  # ours not metered
    assert cpu_fields(bench("append", ROUNDS, paired=metered, cpu_seconds=[0.01] * 5), None) == {}
