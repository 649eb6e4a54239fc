"""Fault suites as data: `bench/suites/faults-<name>.toml`, validated before anything runs.

A suite names the workload (`scenario`, `rate` in requests/s, `duration` of the measured phase
in seconds, `seed`) and its `[[runs]]`: each a `name`, the `faults` of that load run, as
`--fault` specs (`bench/faults/plan.py`), and optionally its own `duration` (a fault that lasts
longer than the others, e.g. a transaction held 60 s).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.faults.plan import FaultPlan, FaultSpecError, parse_plan
from bench.load.registry import SCENARIOS

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
PREFIX = "faults-"


class SuiteError(ValueError):
    """A suite that cannot run; the message names the file and the field."""


@dataclass(frozen=True)
class FaultRun:
    """One load run of a suite and its faults."""

    name: str
    plan: FaultPlan
    duration_s: float | None = None
    """The measured phase of this run (None: the suite's)."""


@dataclass(frozen=True)
class FaultSuite:
    name: str
    scenario: str
    rate: float
    duration_s: float
    seed: int
    runs: tuple[FaultRun, ...]


def known_suites() -> list[str]:
    return sorted(p.stem.removeprefix(PREFIX) for p in SUITES_DIR.glob(f"{PREFIX}*.toml"))


def suite_path(name: str) -> Path:
    """The file of suite `name`, or `name` itself when it is a path to a TOML file."""
    if name.endswith(".toml"):
        return Path(name)
    path = SUITES_DIR / f"{PREFIX}{name}.toml"
    if not path.exists():
        raise SuiteError(f"--suite: unknown suite {name!r}; known: {', '.join(known_suites())}")
    return path


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SuiteError(f"{where}: `{key}` must be a {kind.__name__}, got {value!r}")
    return value


def parse_suite(data: dict[str, Any], where: str) -> FaultSuite:
    """A validated suite from its TOML data (`where` names the file in errors)."""
    scenario = _field(data, "scenario", str, where)
    if scenario not in SCENARIOS:
        raise SuiteError(f"{where}: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    rate = _field(data, "rate", float, where)
    duration = _field(data, "duration", float, where)
    if rate <= 0 or duration <= 0:
        raise SuiteError(f"{where}: `rate` and `duration` must be positive")
    seed = int(data.get("seed", 1))
    raw_runs = data.get("runs")
    if not isinstance(raw_runs, list) or not raw_runs:
        raise SuiteError(f"{where}: needs at least one [[runs]] table")
    runs: list[FaultRun] = []
    for i, raw in enumerate(raw_runs):
        at = f"{where}: runs[{i}]"
        name = _field(raw, "name", str, at)
        specs = raw.get("faults")
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            raise SuiteError(f"{at} ({name}): `faults` must be a non-empty list of specs")
        own = _field(raw, "duration", float, f"{at} ({name})") if "duration" in raw else None
        if own is not None and own <= 0:
            raise SuiteError(f"{at} ({name}): `duration` must be positive")
        try:
            plan = parse_plan(specs, option=f"{at} ({name}) faults")
            plan.validate(own or duration, option=f"{at} ({name}) faults")
        except FaultSpecError as exc:
            raise SuiteError(str(exc)) from exc
        if name in {r.name for r in runs}:
            raise SuiteError(f"{at}: run name {name!r} is used twice")
        runs.append(FaultRun(name, plan, own))
    return FaultSuite(str(data.get("name", where)), scenario, rate, duration, seed, tuple(runs))


def load_suite(name: str) -> FaultSuite:
    """Suite `name` (quick, full) or a TOML file, validated (SuiteError otherwise)."""
    path = suite_path(name)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SuiteError(f"{path}: {exc}") from exc
    return parse_suite(data, str(path))
