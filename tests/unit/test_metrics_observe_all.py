"""`observe_all` against prometheus_client's own `observe`, value for value."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from system.metrics import LAG_BUCKETS, observe_all

EDGES = [0.0, -0.5, *LAG_BUCKETS, 31.0, 1e9]
"""Every bucket bound itself (an observation equal to a bound counts in that bucket), below the
first, and past the last finite one."""


def exposition(amounts: list[float], *, batched: bool) -> bytes:
    registry = CollectorRegistry()
    histogram = Histogram("lag_seconds", "test", ["stage"], buckets=LAG_BUCKETS, registry=registry)
    child = histogram.labels("index")
    if batched:
        observe_all(child, amounts)
    else:
        for amount in amounts:
            child.observe(amount)
    return b"\n".join(
        line for line in generate_latest(registry).splitlines() if b"_created" not in line
    )


@pytest.mark.parametrize(
    "amounts",
    [
        EDGES,
        [random.Random(seed).expovariate(20) for seed in range(2_000)],
        [0.05] * 3_000,
    ],
    ids=["bounds", "spread", "one value"],
)
def test_observe_all_exposes_what_observe_would(amounts: list[float]) -> None:
    assert exposition(amounts, batched=True) == exposition(amounts, batched=False)


def test_nothing_observed_leaves_the_histogram_empty() -> None:
    assert exposition([], batched=True) == exposition([], batched=False)
    assert b'lag_seconds_count{stage="index"} 0.0' in exposition([], batched=True)


def test_an_amount_on_a_bound_counts_in_that_bound() -> None:
    assert b'lag_seconds_bucket{le="0.001",stage="index"} 1.0' in exposition([0.001], batched=True)
