"""Lag rows: exact percentiles of per-event stages, from events committed in the window only."""

from __future__ import annotations

from typing import Any

import pytest

from bench.lag.stamps import (
    EventStamps,
    explode,
    in_window,
    lag_rows,
    quantile,
    with_acks,
)
from bench.load.samples import Sample, measured_window


def stamps(
    projection: str, origin: float, step: float, position: int = 1, observed: bool = False
) -> EventStamps:
    return EventStamps(
        projection=projection,
        position=position,
        origin=origin,
        observed=observed,
        acked_at=origin + step,
        consumed_at=origin + 2 * step,
        indexed_at=origin + 3 * step,
        searchable_at=origin + 4 * step,
    )


def record(projection: str, consumed: float, events: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "projection": projection,
        "consumed_at": consumed,
        "indexed_at": consumed + 0.01,
        "searchable_at": consumed + 0.02,
        "events": {
            "position": [p for p, _ in events],
            "origin": [o for _, o in events],
            "observed": [False for _ in events],
        },
    }


def test_nearest_rank_quantile_returns_one_of_the_values() -> None:
    values = [float(v) for v in range(1, 101)]
    assert quantile(values, 0.5) == 50.0
    assert quantile(values, 0.99) == 99.0
    assert quantile(values, 1.0) == 100.0
    assert quantile([], 0.5) == 0.0


def test_stage_lags_are_differences_of_stamps_per_projection() -> None:
    events = [stamps("inventory", 100.0 + i, 0.01 * (i + 1), i) for i in range(100)]
    events.append(stamps("revenue", 5.0, 0.5))
    rows = {(r["projection"], r["stage"]): r for r in lag_rows(events)}
    assert set(rows) == {
        (p, s)
        for p in ("inventory", "revenue")
        for s in ("relay", "kafka", "index", "refresh", "end_to_end")
    }
    relay = rows["inventory", "relay"]
    assert relay["p50"] == pytest.approx(0.50)
    assert relay["p99"] == pytest.approx(0.99)
    assert relay["max"] == pytest.approx(1.00)
    assert rows["inventory", "end_to_end"]["max"] == pytest.approx(4.0)
    assert rows["revenue", "kafka"]["p50"] == pytest.approx(0.5)
    assert {r["origin"] for r in rows.values()} == {"committed"}
    assert {r["clock_anomalies"] for r in rows.values()} == {0}


def test_relay_and_kafka_meet_at_the_ack_joined_by_position() -> None:
    [event] = explode([record("order_status", 10.0, [(7, 9.0)])])
    assert event.acked_at is None
    rows = {r["stage"]: r for r in lag_rows([event])}
    assert "relay" not in rows and "kafka" not in rows
    [acked] = with_acks([event], {7: 9.25, 8: 99.0})
    rows = {r["stage"]: r for r in lag_rows([acked])}
    assert rows["relay"]["p50"] == pytest.approx(0.25)
    assert rows["kafka"]["p50"] == pytest.approx(0.75)
    assert rows["end_to_end"]["p50"] == pytest.approx(1.02)


def test_an_event_in_two_records_keeps_its_first_consumption() -> None:
    later = record("revenue", 20.0, [(1, 9.0), (2, 9.5)])
    first = record("revenue", 10.0, [(1, 9.0)])
    events = {e.position: e for e in explode([later, first])}
    assert events[1].consumed_at == 10.0
    assert events[2].consumed_at == 20.0
    assert len(explode([later, first, record("inventory", 30.0, [(1, 9.0)])])) == 3


def test_only_events_committed_inside_the_window_count() -> None:
    events = [stamps("inventory", t, 0.1, i) for i, t in enumerate((9.9, 10.0, 15.0, 20.0, 20.1))]
    kept = in_window(events, 10.0, 20.0)
    assert [e.origin for e in kept] == [10.0, 15.0, 20.0]


def test_the_window_spans_the_measured_operations_only() -> None:
    def sample(sent: float, finished: float, phase: str) -> Sample:
        return Sample(
            request="place order", intended=sent, sent=sent, finished=finished,
            outcome="ok", status=201, phase=phase,  # type: ignore[arg-type]
        )  # fmt: skip

    samples = [
        sample(1.0, 1.5, "warmup"),
        sample(5.0, 5.2, "measured"),
        sample(9.0, 9.7, "measured"),
    ]
    assert measured_window(samples) == (5.0, 9.7)
    assert measured_window(samples[:1]) is None


def test_negative_stages_are_counted_and_enter_percentiles_as_zero() -> None:
    events = [stamps("order_status", 100.0 + i, 0.1, i) for i in range(10)]
    skewed = EventStamps(**{**events[0].__dict__, "acked_at": events[0].consumed_at + 0.05})
    events[0] = skewed
    rows = {r["stage"]: r for r in lag_rows(events)}
    assert rows["kafka"]["clock_anomalies"] == 1
    assert rows["relay"]["clock_anomalies"] == 0
    assert rows["kafka"]["p50"] == pytest.approx(0.1)
    assert min(r["p50"] for r in rows.values()) >= 0.0
    assert lag_rows([skewed])[1]["p50"] == 0.0


def test_rows_say_when_lag_counts_from_the_relays_first_sight() -> None:
    observed = [stamps("inventory", 1.0, 0.1, 1, observed=True)]
    assert {r["origin"] for r in lag_rows(observed)} == {"observed"}
    mixed = [*observed, stamps("inventory", 2.0, 0.1, 2)]
    assert {r["origin"] for r in lag_rows(mixed)} == {"mixed"}
