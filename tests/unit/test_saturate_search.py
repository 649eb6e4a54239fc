"""The saturation search: bracketing, bisection, the SLO flag, the section and its curve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.report.plots.saturation import saturation_curve
from bench.report.results import Results
from bench.report.tables import section_table
from bench.saturate.search import Search, Slo, StepResult, parse_slo, saturate
from bench.saturate.steps import (
    saturation_rows,
    search_notes,
    soft_note,
    speed_note,
    steps_settings,
)

SLO = Slo("p99", 0.1)


def system(
    capacity: float, *, invalid_above: float = float("inf")
) -> Callable[[float], StepResult]:
    """A fake system whose p99 exceeds the SLO above `capacity` (invalid above `invalid_above`)."""

    def step(rate: float) -> StepResult:
        latency = 0.05 if rate <= capacity else 0.5
        return StepResult(rate, rate, latency, 0.08, rate <= invalid_above, True, SLO)

    return step


def test_brackets_by_doubling_then_bisects_to_the_tolerance() -> None:
    step = system(130)
    found = saturate(step, low=20, high=1000, tolerance=0.1)
    assert [s.rate for s in found.steps][:4] == [20, 40, 80, 160]
    assert found.max_rate is not None and found.missed_at is not None
    assert found.max_rate <= 130 < found.missed_at
    assert found.missed_at - found.max_rate <= 0.1 * found.max_rate


def test_an_invalid_step_is_a_miss_even_with_good_latency() -> None:
    found = saturate(system(1000, invalid_above=50), low=20, high=1000)
    assert found.max_rate is not None and found.max_rate <= 50
    assert found.steps[2].rate == 80 and not found.steps[2].met


def test_a_failed_audit_is_a_miss() -> None:
    assert not StepResult(10, 10, 0.01, 0.05, True, False, SLO).met
    assert StepResult(10, 10, 0.01, 0.05, True, True, SLO).met


def test_high_met_stops_and_low_missed_finds_nothing() -> None:
    top = saturate(system(1000), low=10, high=40)
    assert [s.rate for s in top.steps] == [10, 20, 40]
    assert (top.max_rate, top.missed_at) == (40, None)
    none = saturate(system(1), low=10, high=40)
    assert [s.rate for s in none.steps] == [10, 5, 2.5, 1.25]
    assert none.max_rate is None


def test_a_missed_start_rate_is_halved_until_one_meets() -> None:
    found = saturate(system(30), low=100, high=400)
    assert [s.rate for s in found.steps][:3] == [100, 50, 25]
    assert found.max_rate is not None and found.missed_at is not None
    assert found.max_rate <= 30 < found.missed_at


@pytest.mark.parametrize(
    ("text", "slo"), [("p99=100ms", Slo("p99", 0.1)), ("p50 = 0.2s", Slo("p50", 0.2))]
)
def test_parse_slo(text: str, slo: Slo) -> None:
    assert parse_slo(text) == slo


@pytest.mark.parametrize("text", ["p99<100ms", "p42=1s", "p99=0ms", "100ms"])
def test_parse_slo_names_the_flag(text: str) -> None:
    with pytest.raises(ValueError, match="--slo"):
        parse_slo(text)


def test_the_section_validates_and_the_curve_is_drawn(tmp_path: Path) -> None:
    found = saturate(system(130), low=20, high=1000)
    results = Results.new("saturate/orders", {})
    for row in saturation_rows(found, SLO):
        results.add("saturation", row)
    rows = results.rows("saturation")
    answer = rows[-1]
    assert answer["kind"] == "max_rate" and answer["rate"] == found.max_rate
    assert answer["low"] == found.max_rate and answer["high"] == found.missed_at
    assert [r["step"] for r in rows[:-1]] == list(range(1, len(found.steps) + 1))
    assert results.write(tmp_path).exists()  # validates against the schema
    path = saturation_curve(results.to_dict(), tmp_path)
    assert path is not None and path.stat().st_size > 1000


def idle_step(rate: float, before: float, after: float) -> StepResult:
    return StepResult(rate, rate, 0.05, 0.08, True, True, SLO, None, before, after)


def test_a_step_on_a_slower_machine_makes_the_bracket_soft(tmp_path: Path) -> None:
    steps = [idle_step(20, 9.0, 9.2), idle_step(40, 18.0, 17.5), idle_step(30, 9.1, 9.0)]
    assert speed_note(steps) == (
        "the machine's speed moved by 2.00x between the steps (idle loop 9.0 to 18.0 ms,"
        " bench/report/cpu_probe.py): the bracket is soft, its steps were not measured on the"
        " same machine"
    )
    rows = saturation_rows(Search(steps, 40, None), SLO)
    assert [(r["idle_ms_before"], r["idle_ms_after"]) for r in rows[:-1]] == [
        (9.0, 9.2),
        (18.0, 17.5),
        (9.1, 9.0),
    ]
    results = Results.new("saturate/orders", {})
    for row in rows:
        results.add("saturation", row)
    assert results.write(tmp_path).exists()  # the idle columns follow the schema
    table = section_table("saturation", results.rows("saturation"))
    assert table.header[-2:] == ["idle loop ms before", "idle loop ms after"]
    assert table.rows[1][-2:] == ["18", "17.5"]


def test_steady_or_unprobed_steps_give_no_speed_note() -> None:
    steady = [idle_step(20, 9.0, 9.4), idle_step(40, 10.5, 11.0), idle_step(30, 9.8, 9.1)]
    assert speed_note(steady) is None
    unprobed = [StepResult(20, 20, 0.05, 0.08, True, True, SLO)]
    assert speed_note(unprobed) is None
    assert speed_note([]) is None


def interval_step(rate: float, p99: float, low: float, high: float) -> StepResult:
    return StepResult(
        rate, rate, p99, 0.08, True, True, SLO, latency_low_s=low, latency_high_s=high
    )


def test_a_step_whose_latency_interval_holds_the_slo_is_soft_and_named(tmp_path: Path) -> None:
    steps = [
        interval_step(20, 0.050, 0.040, 0.070),  # met, clear of the SLO
        interval_step(40, 0.150, 0.120, 0.300),  # missed, clear of it
        interval_step(30, 0.090, 0.060, 0.140),  # met, but a rerun may miss
        interval_step(35, 0.105, 0.095, 0.160),  # missed, but a rerun may meet
    ]
    assert [s.soft for s in steps] == [False, False, True, True]
    assert [s.met for s in steps] == [True, False, True, False]
    assert soft_note(steps) == (
        "the SLO lies inside the 95 % interval of the corrected p99 at 30, 35 req/s: those"
        " verdicts are a toss-up at this step length, and so is the bracket they set; longer"
        " --step narrows the intervals"
    )
    assert soft_note(steps[:2]) is None
    assert soft_note([StepResult(20, 20, 0.1, 0.08, True, True, SLO)]) is None  # no interval
    rows = saturation_rows(Search(steps, 30, 35), SLO)
    assert [r["soft"] for r in rows[:-1]] == [False, False, True, True]
    results = Results.new("saturate/orders", {})
    for row in rows:
        results.add("saturation", row)
    assert results.write(tmp_path).exists()  # the interval columns follow the schema


def test_the_search_keeps_each_distinct_projector_settings_once_and_both_notes() -> None:
    before = {"instance_id": "projector", "refresh": "explicit", "refresh_gap_ms": "0"}
    after = {**before, "refresh_gap_ms": "200"}
    steps = [
        StepResult(20, 20, 0.05, 0.08, True, True, SLO, projector_settings=[before]),
        StepResult(40, 40, 0.05, 0.08, True, True, SLO, projector_settings=[before, after]),
        StepResult(30, 30, 0.05, 0.08, True, True, SLO, projector_settings=[after]),
    ]
    assert steps_settings(steps) == [before, after]
    assert steps_settings([StepResult(20, 20, 0.05, 0.08, True, True, SLO)]) == []
    mixed = [idle_step(20, 9.0, 18.0), interval_step(30, 0.09, 0.06, 0.14)]
    assert search_notes(mixed) == [speed_note(mixed), soft_note(mixed)]
    assert search_notes([StepResult(20, 20, 0.05, 0.08, True, True, SLO)]) == []
