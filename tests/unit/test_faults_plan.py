"""The fault plan parser and the fault suites: good specs become data, bad ones are refused
naming the option and the bad part."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults.plan import Fault, FaultSpecError, parse_fault, parse_plan
from bench.faults.suite import SuiteError, known_suites, load_suite, parse_suite


def test_each_action_parses() -> None:
    assert parse_fault("relay:kill@10") == Fault("relay", "kill", 10.0)
    assert parse_fault("kafka:pause=5@8.5") == Fault("kafka", "pause", 8.5, 5.0)
    assert parse_fault(" postgres:restart@3s ") == Fault("postgres", "restart", 3.0)
    assert parse_fault("kafka:pause=5@8.5").spec == "kafka:pause=5@8.5"


def test_a_plan_is_in_time_order() -> None:
    plan = parse_plan(["api:kill@9", "relay:kill@2"])
    assert [f.at for f in plan.faults] == [2.0, 9.0]
    assert plan.specs == ["relay:kill@2", "api:kill@9"]
    assert not parse_plan([])


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("relay:kill", "SERVICE:ACTION@SECONDS"),
        ("redis:kill@3", "unknown service 'redis'"),
        ("relay@3", "missing ':ACTION'"),
        ("relay:explode@3", "unknown action 'explode'"),
        ("relay:kill@soon", "the time after '@'"),
        ("relay:kill@-1", "must not be negative"),
        ("kafka:pause@3", "pause needs its length"),
        ("kafka:pause=0@3", "must be positive"),
        ("kafka:pause=x@3", "the pause length"),
        ("relay:kill=2@3", "takes no '=' argument"),
        ("relay:kill@inf", "the time after '@'"),
    ],
)
def test_bad_specs_are_refused_naming_the_option_and_the_part(spec: str, names: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_fault(spec)
    assert str(caught.value).startswith(f"--fault {spec!r}"), caught.value
    assert names in str(caught.value)


def test_a_fault_outside_the_measured_phase_is_refused() -> None:
    plan = parse_plan(["relay:kill@2", "api:kill@30"])
    plan.validate(31)
    with pytest.raises(FaultSpecError, match=r"--fault 'api:kill@30'.*--duration"):
        plan.validate(20)


def test_the_shipped_suites_are_valid() -> None:
    assert {"quick", "full"} <= set(known_suites())
    quick = load_suite("quick")
    services = {f.service for run in quick.runs for f in run.plan.faults}
    assert services == {"api", "relay", "projector", "kafka", "elasticsearch", "postgres"}
    assert len(load_suite("full").runs) > len(quick.runs)


def test_bad_suites_name_the_file_and_field(tmp_path: Path) -> None:
    good = {"scenario": "banking", "rate": 20, "duration": 10, "runs": [
        {"name": "a", "faults": ["relay:kill@3"]}]}  # fmt: skip
    assert parse_suite(good, "s.toml").runs[0].plan.specs == ["relay:kill@3"]
    with pytest.raises(SuiteError, match=r"s.toml: unknown scenario 'nope'"):
        parse_suite({**good, "scenario": "nope"}, "s.toml")
    with pytest.raises(SuiteError, match=r"s.toml: `rate` must be a float"):
        parse_suite({**good, "rate": "fast"}, "s.toml")
    late = {**good, "runs": [{"name": "a", "faults": ["relay:kill@30"]}]}
    with pytest.raises(SuiteError, match=r"runs\[0\] \(a\) faults 'relay:kill@30'"):
        parse_suite(late, "s.toml")
    twice = {**good, "runs": [good["runs"][0], good["runs"][0]]}  # type: ignore[index]
    with pytest.raises(SuiteError, match="used twice"):
        parse_suite(twice, "s.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("runs = [")
    with pytest.raises(SuiteError, match=r"broken\.toml"):
        load_suite(str(broken))
    with pytest.raises(SuiteError, match="--suite: unknown suite 'nope'"):
        load_suite("nope")
