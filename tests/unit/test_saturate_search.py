"""The saturation search: bracketing, bisection, rechecks, the SLO flag, the section, its curve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.report.constants import step_dir
from bench.report.plots.saturation import saturation_curve
from bench.report.readme_saturation import saturation_block
from bench.report.reference_runs import Reference
from bench.report.results import Results
from bench.report.tables import section_table
from bench.saturate.search import (
    Search,
    Slo,
    StepResult,
    check_recheck,
    met_at,
    parse_slo,
    saturate,
    tossups,
)
from bench.saturate.steps import (
    saturation_rows,
    search_notes,
    soft_note,
    speed_note,
    steps_settings,
)

SLO = Slo("p99", 0.1)
STEP = 20.0


Step = Callable[[float, int], StepResult]


def system(capacity: float, *, invalid_above: float = float("inf")) -> Step:
    """A fake system whose p99 exceeds the SLO above `capacity` (invalid above `invalid_above`)."""

    def step(rate: float, stretch: int) -> StepResult:
        latency = 0.05 if rate <= capacity else 0.5
        valid = rate <= invalid_above
        return StepResult(rate, rate, latency, 0.08, valid, True, SLO, step_s=STEP * stretch)

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
    assert not StepResult(10, 10, 0.01, 0.05, True, False, SLO, step_s=STEP).met
    assert StepResult(10, 10, 0.01, 0.05, True, True, SLO, step_s=STEP).met


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
    return StepResult(rate, rate, 0.05, 0.08, True, True, SLO, None, before, after, step_s=STEP)


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
    unprobed = [StepResult(20, 20, 0.05, 0.08, True, True, SLO, step_s=STEP)]
    assert speed_note(unprobed) is None
    assert speed_note([]) is None


def interval_step(rate: float, p99: float, low: float, high: float, stretch: int = 1) -> StepResult:
    return StepResult(
        rate, rate, p99, 0.08, True, True, SLO, latency_low_s=low, latency_high_s=high,
        step_s=STEP * stretch, recheck=stretch > 1,
    )  # fmt: skip


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
        " verdicts are a toss-up at their step length, and so is the bracket they set; longer"
        " --step (or --recheck) narrows the intervals"
    )
    assert soft_note(steps[:2]) is None
    assert (
        soft_note([StepResult(20, 20, 0.1, 0.08, True, True, SLO, step_s=STEP)]) is None
    )  # no interval
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
        StepResult(20, 20, 0.05, 0.08, True, True, SLO, step_s=STEP, projector_settings=[before]),
        StepResult(
            40, 40, 0.05, 0.08, True, True, SLO, step_s=STEP, projector_settings=[before, after]
        ),
        StepResult(30, 30, 0.05, 0.08, True, True, SLO, step_s=STEP, projector_settings=[after]),
    ]
    assert steps_settings(steps) == [before, after]
    assert steps_settings([StepResult(20, 20, 0.05, 0.08, True, True, SLO, step_s=STEP)]) == []
    mixed = [idle_step(20, 9.0, 18.0), interval_step(30, 0.09, 0.06, 0.14)]
    assert search_notes(mixed) == [speed_note(mixed), soft_note(mixed)]
    assert search_notes([StepResult(20, 20, 0.05, 0.08, True, True, SLO, step_s=STEP)]) == []


def planted(tossups: dict[float, tuple[StepResult, StepResult]], calls: list[int]) -> Step:
    """`system(130)`, except that each rate in `tossups` gives its (short, recheck) steps; every
    stretch asked is kept in `calls`."""
    plain = system(130)

    def step(rate: float, stretch: int) -> StepResult:
        calls.append(stretch)
        if rate in tossups:
            return tossups[rate][stretch > 1]
        return plain(rate, stretch)

    return step


TOSSUP_MISSED = (  # met at 20 s but a toss-up; missed when rerun three times as long
    interval_step(80, 0.095, 0.071, 0.130),
    interval_step(80, 0.121, 0.105, 0.140, stretch=3),
)
TOSSUP_MET = (  # missed at 20 s but a toss-up; met when rerun three times as long
    interval_step(160, 0.105, 0.090, 0.200),
    interval_step(160, 0.080, 0.070, 0.095, stretch=3),
)


def test_a_tossup_whose_recheck_misses_lowers_the_bracket(tmp_path: Path) -> None:
    calls: list[int] = []
    found = saturate(planted({80: TOSSUP_MISSED}, calls), low=20, high=1000, recheck=3)
    assert [(s.rate, s.recheck, s.step_s) for s in found.steps] == [
        (20, False, 20), (40, False, 20), (80, False, 20), (80, True, 60),
        (60, False, 20), (70, False, 20), (75, False, 20),
    ]  # fmt: skip
    assert calls == [1, 1, 1, 3, 1, 1, 1]
    assert (found.max_rate, found.missed_at) == (75, 80)
    assert met_at(found.steps, 80) is False and met_at(found.steps, 75) is True
    assert tossups(found.steps) == []  # the rechecked toss-up no longer decides anything
    assert search_notes(found.steps) == [
        "rate 80: toss-up at 20 s (p99 95 ms, interval 71-130 ms) → missed at 60 s (p99 121 ms,"
        " interval 105-140 ms)"
    ]
    rows = saturation_rows(found, SLO)
    assert [(r["step"], r["recheck"], r["step_seconds"]) for r in rows[2:4]] == [
        (3, False, 20),
        (4, True, 60),
    ]
    results = Results.new("saturate/orders", {})
    for row in rows:
        results.add("saturation", row)
    assert results.write(tmp_path).exists()  # step_seconds and recheck follow the schema
    unchecked = saturate(planted({80: TOSSUP_MISSED}, []), low=20, high=1000, recheck=0)
    assert (unchecked.max_rate, unchecked.missed_at) == (130, 140)


def test_a_tossup_whose_recheck_meets_raises_the_bracket() -> None:
    found = saturate(planted({160: TOSSUP_MET}, []), low=20, high=1000, recheck=3)
    assert [(s.rate, s.recheck) for s in found.steps][3:6] == [
        (160, False),
        (160, True),
        (320, False),
    ]
    assert found.max_rate == 160 and found.missed_at is not None and found.missed_at > 160
    assert (
        "rate 160: toss-up at 20 s (p99 105 ms, interval 90-200 ms) → met at 60 s"
        in (search_notes(found.steps)[0])
    )


def test_recheck_0_never_rechecks_and_the_tossup_stands() -> None:
    calls: list[int] = []
    plants = {80: TOSSUP_MISSED, 160: TOSSUP_MET}
    found = saturate(planted(plants, calls), low=20, high=1000, recheck=0)
    assert set(calls) == {1} and not any(s.recheck for s in found.steps)
    assert (found.max_rate, found.missed_at) == (130, 140)
    assert [s.rate for s in tossups(found.steps)] == [80, 160]
    assert len(search_notes(found.steps)) == 1  # the toss-ups, no recheck


def test_rechecks_do_not_count_against_max_steps() -> None:
    found = saturate(planted({80: TOSSUP_MISSED}, []), low=20, high=1000, max_steps=3, recheck=3)
    assert [(s.rate, s.step_s) for s in found.steps] == [(20, 20), (40, 20), (80, 20), (80, 60)]
    assert (found.max_rate, found.missed_at) == (40, 80)


def test_a_soft_recheck_is_still_a_tossup_and_named() -> None:
    steps = [TOSSUP_MISSED[0], interval_step(80, 0.11, 0.09, 0.12, stretch=3)]
    assert tossups(steps) == [steps[1]]
    assert search_notes(steps)[-1].endswith("→ missed at 60 s (p99 110 ms, interval 90-120 ms,"
                                             " still a toss-up)")  # fmt: skip
    with pytest.raises(ValueError, match="no step ran at 5"):
        met_at(steps, 5)


@pytest.mark.parametrize("stretch", [1, -1])
def test_check_recheck_refuses_one_and_negatives(stretch: int) -> None:
    with pytest.raises(ValueError, match="--recheck"):
        check_recheck(stretch)
    with pytest.raises(ValueError, match="--recheck"):
        saturate(system(100), low=10, high=20, recheck=stretch)


@pytest.mark.parametrize("stretch", [0, 2, 5])
def test_check_recheck_takes_off_or_a_real_stretch(stretch: int) -> None:
    check_recheck(stretch)


def test_a_recheck_writes_beside_its_step() -> None:
    out = Path("/runs/s")
    assert step_dir(out, 23.4) == out / "steps" / "rate-23.4"
    assert step_dir(out, 23.4, 3) == out / "steps" / "rate-23.4-x3"


def test_the_readme_marks_rechecked_steps_and_names_recheck_in_the_command() -> None:
    found = saturate(planted({80: TOSSUP_MISSED}, []), low=20, high=1000, recheck=3)
    config = {"scenario": "orders", "slo": str(SLO), "step_s": STEP, "warmup_s": 2.0,
              "low": 20.0, "high": 1000.0, "max_steps": 12, "recheck": 3,
              "jit_warmup_s": 180.0}  # fmt: skip
    data = {"config": config, "saturation": saturation_rows(found, SLO)}
    ref = Reference("saturate-orders", data)
    assert ref.command.endswith("--max-steps 12 --recheck 3 --jit-warmup 3m")
    block = "\n".join(saturation_block([ref]))
    assert "A recheck reran the toss-up step before it" in block
    assert "| saturate-orders | 3 | 80 | 80.0 | 95 ms (71 ms to 130 ms) | 80 ms | yes |" in block
    assert "| **yes** (toss-up, rechecked) |" in block
    assert "| saturate-orders | 4 (recheck, 60 s) | 80 |" in block
    old_config = {k: v for k, v in config.items() if k not in ("recheck", "jit_warmup_s")}
    old = Reference("old", {"config": old_config, "saturation": []})
    assert old.command.endswith("--recheck 0 --jit-warmup 0")


def test_a_step_that_cannot_meet_is_no_tossup_and_is_not_rechecked() -> None:
    def step(rate: float, stretch: int) -> StepResult:
        # the SLO inside the latency's interval, but the generator fell behind: a clear miss
        return StepResult(
            rate, rate * 0.8, 0.09, 0.08, False, True, SLO,
            latency_low_s=0.05, latency_high_s=0.2, step_s=STEP * stretch,
        )  # fmt: skip

    found = saturate(step, low=20, high=20, max_steps=1, recheck=3)
    assert [s.recheck for s in found.steps] == [False] and not found.steps[0].soft
    assert tossups(found.steps) == []
