"""The open model's schedule: shapes as data, evenly spaced arrivals, worker slices."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bench.load.pacing import Timetable, read_unsent, write_unsent
from bench.load.shapes import Segment, mean_rate, phases, rate_at, timetable


def test_constant_shape_spaces_arrivals_evenly_at_the_rate() -> None:
    offsets = timetable(phases("constant", 50, 2))
    assert len(offsets) == 100
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offsets)}
    assert gaps == {0.02}
    assert offsets[0] == 0.0


def test_phase_changes_neither_lose_nor_double_arrivals() -> None:
    plan = [Segment(1.5, 3.0), Segment(1.0, 10.0), Segment(0.5, 1.0)]
    offsets = timetable(plan)
    assert len(offsets) == int(1.5 * 3 + 10 + 0.5)
    assert offsets == sorted(offsets)
    assert sum(1 for t in offsets if 1.5 <= t < 2.5) == 10


def test_step_shape_climbs_to_the_rate_in_equal_steps() -> None:
    plan = phases("step", 40, 8)
    assert [p.rate for p in plan] == [10, 20, 30, 40]
    assert rate_at(plan, 7.9) == 40
    assert rate_at(plan, 8.0) == 0


def test_spike_triples_the_rate_in_the_middle_tenth() -> None:
    plan = phases("spike", 10, 100)
    assert rate_at(plan, 50) == 30
    assert rate_at(plan, 10) == rate_at(plan, 90) == 10
    assert mean_rate(plan) == pytest.approx(12.0)


def test_soak_ramps_at_half_rate_then_holds() -> None:
    plan = phases("soak", 20, 100)
    assert rate_at(plan, 5) == 10
    assert rate_at(plan, 50) == 20


def test_a_shape_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        phases("constant", 0, 10)


def test_workers_take_interleaved_slices_that_cover_the_timetable_once() -> None:
    offsets = timetable(phases("constant", 10, 3))
    tables = [Timetable(offsets, epoch=100.0, warmup_s=1.0) for _ in range(3)]
    claimed = []
    for worker, table in enumerate(tables):
        while (ticket := table.claim(worker, 3)) is not None:
            claimed.append(ticket)
    assert sorted(t.seq for t in claimed) == list(range(30))
    assert {t.intended for t in claimed} == {100.0 + o for o in offsets}
    assert sum(t.phase == "warmup" for t in claimed) == 10


def test_tickets_no_request_carried_are_the_unsent_ones_of_the_slice() -> None:
    offsets = timetable(phases("constant", 10, 3))
    table = Timetable(offsets, epoch=100.0, warmup_s=1.0)
    mine = list(table.tickets(1, 2))
    assert [t.seq for t in mine] == list(range(1, 30, 2))
    sent = {t.intended for t in mine[:8]}
    record = table.unsent(1, 2, sent, stopped_at=103.0)
    # 15 tickets in the slice, 5 of them in the warm-up second (all sent): 10 measured.
    assert record.scheduled == 10
    assert record.intended == [t.intended for t in mine[8:]]
    assert record.warmup == 0
    assert record.stopped_at == 103.0


def test_tickets_due_after_the_stop_were_never_scheduled() -> None:
    """An open-ended timetable (plain locust stopped from the web UI) is cut at the stop."""
    table = Timetable(timetable(phases("constant", 10, 3600)), epoch=100.0, warmup_s=0.0)
    record = table.unsent(0, 1, set(), stopped_at=102.0)
    assert record.scheduled == 21
    assert record.intended[-1] == 102.0


def test_unsent_warmup_tickets_are_counted_apart_from_the_measured_ones() -> None:
    table = Timetable(timetable(phases("constant", 10, 2)), epoch=0.0, warmup_s=1.0)
    record = table.unsent(0, 1, set(), stopped_at=2.0)
    assert (record.scheduled, len(record.intended), record.warmup) == (10, 10, 10)


def test_unsent_records_round_trip_through_the_run_directory(tmp_path: Path) -> None:
    table = Timetable(timetable(phases("constant", 5, 2)), epoch=50.0, warmup_s=0.0)
    for worker in (0, 1):
        write_unsent(
            tmp_path / f"unsent-{worker}-1.json", table.unsent(worker, 2, set(), stopped_at=53.0)
        )
    records = read_unsent(tmp_path)
    assert [r.worker for r in records] == [0, 1]
    assert sum(r.scheduled for r in records) == 10
    assert sorted(t for r in records for t in r.intended) == [50.0 + i / 5 for i in range(10)]
