"""Snapshot replay with tails: the suite's streams, the tail-cost fit and the break-even."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from bench.micro.streams import ReplayStream, replay_streams
from bench.micro.suite import SUITES_DIR, SuiteError, load_suite, parse
from bench.report.analysis import break_even, fitted_break_even, full_replay_length, tail_cost
from bench.report.tables import break_even_lines

FIXED, PER_EVENT = 3e-4, 2e-6
"""A snapshot read costs as much as 150 tail events in the synthetic runs below."""


def row(events: int, every: int | None, seconds: float, tail: int, spread: float = 0.02) -> Any:
    return {
        "events": events,
        "snapshot_every": every,
        "tail_events": tail,
        "seconds": seconds,
        "seconds_low": seconds * (1 - spread),
        "seconds_high": seconds * (1 + spread),
    }


def synthetic(full_per_event: float = 1.5e-6, spread: float = 0.02) -> list[dict[str, Any]]:
    """Full replays cost 1e-4 + `full_per_event` per event; snapshot rows FIXED + PER_EVENT·tail."""
    rows = []
    for n in (10, 100, 1000, 10000):
        for k in (10, 100, 1000):
            if k > n:
                continue
            for tail in (1, k // 2, k - 1):
                length = n + tail
                rows.append(row(length, k, FIXED + PER_EVENT * tail, tail, spread))
                rows.append(row(length, None, 1e-4 + full_per_event * length, length, spread))
    return rows


def test_the_fit_recovers_the_fixed_and_per_event_cost_of_a_tail() -> None:
    cost = tail_cost(synthetic())
    assert cost is not None
    assert cost.fixed.value == pytest.approx(FIXED, rel=1e-6)
    assert cost.per_event.value == pytest.approx(PER_EVENT, rel=1e-6)
    assert cost.fixed.low <= FIXED <= cost.fixed.high
    assert cost.snapshot_in_events == pytest.approx(150, rel=1e-3)


def test_the_fit_ignores_rows_that_loaded_no_snapshot() -> None:
    rows = synthetic()
    rows.append(row(10, 100, 1.0, 10))  # interval longer than the stream: a full replay
    cost = tail_cost(rows)
    assert cost is not None and cost.per_event.value == pytest.approx(PER_EVENT, rel=1e-6)


def test_the_fit_gives_wide_intervals_to_scattered_rows() -> None:
    rows = synthetic()
    for i, r in enumerate(r for r in rows if r["snapshot_every"]):
        r["seconds"] *= 1.3 if i % 2 else 0.7
        r["seconds_low"], r["seconds_high"] = r["seconds"] * 0.98, r["seconds"] * 1.02
    cost = tail_cost(rows)
    tight = tail_cost(synthetic())
    assert cost is not None and tight is not None
    assert cost.per_event.relative_halfwidth > 5 * tight.per_event.relative_halfwidth


def test_no_fit_without_two_distinct_tails() -> None:
    assert tail_cost([row(11, 10, 3e-4, 1), row(101, 10, 3e-4, 1), row(1001, 10, 3e-4, 1)]) is None


def test_break_even_is_where_a_snapshot_and_its_tail_beat_the_full_replay() -> None:
    found = {(b.snapshot_every, b.tail_events): b for b in break_even(synthetic())}
    worst10 = found[(10, 9)]
    # 3e-4 + 9 * 2e-6 = 1e-4 + 1.5e-6 * L at L = 145: the medians cross between 109 and 1009
    assert [n for n, _ in worst10.compared] == [19, 109, 1009, 10009]
    assert worst10.events is not None and 109 < worst10.events < 1009
    assert worst10.faster_from == 1009
    assert dict(worst10.compared)[19] == "slower"


def test_break_even_says_when_the_difference_is_inside_the_noise() -> None:
    rows = synthetic(spread=0.5)
    worst10 = next(b for b in break_even(rows) if (b.snapshot_every, b.tail_events) == (10, 9))
    assert 109 in worst10.within_noise
    assert "inside the noise at 19, 109" in " ".join(break_even_lines(rows))


def test_break_even_is_none_when_snapshots_never_pay() -> None:
    rows = synthetic(full_per_event=1e-9)
    assert all(b.events is None and b.faster_from is None for b in break_even(rows))
    assert "tail 9: median not faster than a full replay up to 10,009 events" in " ".join(
        break_even_lines(rows)
    )


def test_the_report_states_the_cost_of_the_tail_and_the_worst_tail_per_interval() -> None:
    text = " ".join(break_even_lines(synthetic()))
    assert "rehydrate ≈ 300.0 µs" in text and "2.0 µs" in text
    assert "every 1,000 (2.30 ms): 1,465 events" in text


def test_the_fitted_break_even_reads_the_worst_tail_cost_off_the_full_replay_curve() -> None:
    rows = synthetic()
    cost = tail_cost(rows)
    assert cost is not None
    fits = {f.snapshot_every: f for f in fitted_break_even(rows, cost)}
    # 3e-4 + 9 * 2e-6 = 1e-4 + 1.5e-6 * L at L = 145; 3e-4 + 99 * 2e-6 at L = 265
    assert fits[10].events == pytest.approx(145, rel=0.05)
    assert fits[100].events is not None and 240 < fits[100].events < 290
    assert fits[10].low is not None and fits[10].high is not None
    assert fits[10].low <= fits[10].events <= fits[10].high


def test_a_slow_short_full_replay_is_noise_and_a_stream_pays_only_from_its_first_snapshot() -> None:
    rows = synthetic()
    noisy = [*rows, row(10, None, 5e-3, 10)]
    assert full_replay_length(noisy, 3.18e-4) == pytest.approx(full_replay_length(rows, 3.18e-4))
    cost = tail_cost(rows)
    assert cost is not None
    slow = [r | {"seconds": 1.0} if r["snapshot_every"] is None else r for r in rows]
    # every full replay costs more: from the shortest one measured (11 events), or from k
    assert [f.events for f in fitted_break_even(slow, cost)] == [11.0, 100.0, 1000.0]
    fast = [r | {"seconds": 1e-6} if r["snapshot_every"] is None else r for r in rows]
    assert all(f.events is None for f in fitted_break_even(fast, cost))


def test_each_tailed_stream_holds_its_snapshot_at_the_suite_length() -> None:
    streams = replay_streams(load_suite("quick").replay)
    assert [s.tail for s in streams[100]] == [0, 1, 5, 9, 50, 99]
    assert [s.tail for s in streams[1000]] == [0, 1, 5, 9, 50, 99, 500, 999]
    assert ReplayStream(100, 99).events == 199
    assert ReplayStream(100, 99).snapshot_version == 100
    assert ReplayStream(100, 0).snapshot_version == 0


def test_the_tiny_suite_measures_tails_one_and_k_minus_one() -> None:
    replay = load_suite("tiny").replay
    for k in replay.snapshot_every:
        assert {1, k - 1} <= set(replay.tails_of(k))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tails": ["1", "most"]}, r"tiny\.replay\.tails\[1\]: 'most' is not one of"),
        ({"events": [10, 150]}, r"tiny\.replay\.events\[1\]: 150 is not a multiple of .* 100"),
        ({"snapshot_every": [10, 5000]}, r"tiny\.replay\.snapshot_every\[1\]: 5000 is longer"),
        ({"snapshot_every": [1]}, r"tiny\.replay\.snapshot_every\[0\]: an interval of 1"),
    ],
)
def test_a_replay_suite_that_cannot_leave_tails_names_the_key(
    change: dict[str, Any], message: str
) -> None:
    data = tomllib.loads((SUITES_DIR / "tiny.toml").read_text())
    data["replay"] |= change
    with pytest.raises(SuiteError, match=message):
        parse(data, "tiny")
