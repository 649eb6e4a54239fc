"""Targets as data, judged from intervals: MET, MISSED or INCONCLUSIVE."""

from __future__ import annotations

import pytest

from bench.micro.suite import SuiteError, load_suite, parse
from bench.report.intervals import Interval
from bench.report.targets import TargetSpec, evaluate, judge


def spec(op: str = ">=", threshold: float = 1.0, **extra: object) -> TargetSpec:
    return TargetSpec(
        name="t",
        goal="g",
        section="peers",
        figure="ratio",
        op=op,  # type: ignore[arg-type]
        threshold=threshold,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("low", "value", "high", "verdict"),
    [(1.1, 1.2, 1.3, "MET"), (0.7, 0.8, 0.9, "MISSED"), (0.9, 1.05, 1.2, "INCONCLUSIVE")],
)
def test_at_least_is_met_only_when_the_whole_interval_is_above(
    low: float, value: float, high: float, verdict: str
) -> None:
    assert judge(spec(), Interval(value, low, high))[0] == verdict


def test_at_most_mirrors_at_least() -> None:
    assert judge(spec("<=", 2.0), Interval(1.5, 1.0, 1.9))[0] == "MET"
    assert judge(spec("<=", 2.0), Interval(2.5, 2.1, 2.9))[0] == "MISSED"
    assert judge(spec("<=", 2.0), Interval(1.9, 1.5, 2.1))[0] == "INCONCLUSIVE"


def test_within_needs_the_whole_interval_inside_the_tolerance() -> None:
    within = spec("within", 1.0, tolerance=0.25)
    assert judge(within, Interval(1.0, 0.8, 1.2))[0] == "MET"
    assert judge(within, Interval(1.0, 0.7, 1.2))[0] == "INCONCLUSIVE"
    assert judge(within, Interval(2.0, 1.5, 2.5))[0] == "MISSED"


def test_an_interval_wider_than_max_halfwidth_is_inconclusive_even_far_above() -> None:
    verdict, reason = judge(spec(max_halfwidth=0.25), Interval(9.57, 3.0, 12.0))
    assert verdict == "INCONCLUSIVE"
    assert "wider than ±25%" in reason


def test_over_divides_two_rows_with_corner_intervals() -> None:
    quotient = spec("<=", 2.0, where={"events": 1000}, over={"events": 10})
    quotient = TargetSpec(**{**quotient.__dict__, "section": "replay", "figure": "seconds"})
    sections = {
        "replay": [
            {"events": 10, "seconds": 1.0, "seconds_low": 0.9, "seconds_high": 1.1},
            {"events": 1000, "seconds": 1.5, "seconds_low": 1.4, "seconds_high": 1.6},
        ]
    }
    (row,), notes = evaluate([quotient], sections)
    assert not notes
    assert row["value"] == 1.5
    assert row["low"] == pytest.approx(1.4 / 1.1)
    assert row["high"] == pytest.approx(1.6 / 0.9)
    assert row["verdict"] == "MET"


def test_every_suite_file_states_its_targets() -> None:
    for name in ("tiny", "quick", "full"):
        names = {t.name for t in load_suite(name).targets}
        assert {"replay", "append", "message-db append"} <= names


def test_a_malformed_target_names_its_key() -> None:
    data = {"name": "x", "targets": [{"name": "t", "goal": "g", "section": "replay"}]}
    with pytest.raises(SuiteError, match=r"x\.targets\[0\]\.figure: missing"):
        parse(data, "x")
    bad_op = [
        {"name": "t", "goal": "g", "section": "replay", "figure": "f", "op": "~", "threshold": 1}
    ]
    with pytest.raises(SuiteError, match=r"x\.targets\[0\]\.op"):
        parse({"targets": bad_op}, "x")
