"""Micro-benchmark suites as data (bench/suites/NAME.toml), validated on load."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from bench.micro.conflict_model import key_probabilities
from bench.report.targets import TargetError, TargetSpec, parse_specs

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"


class SuiteError(ValueError):
    """A suite file is missing, malformed, or names a bad key; the message says which."""


TAILS: dict[str, Callable[[int], int]] = {
    "1": lambda k: 1,
    "half": lambda k: k // 2,
    "k-1": lambda k: k - 1,
}
"""How a suite names the events left after a snapshot taken every k (`k-1` is the worst case)."""


@dataclass(frozen=True)
class ReplaySuite:
    """Stream lengths, snapshot intervals and tails of the replay benchmark.

    Every length n is replayed in full (snapshots off). For each interval k <= n (n must be a
    multiple of k), streams of n + r events hold a snapshot at version n, so rehydrating them
    replays a tail of r events, for each r the `tails` name; tailed streams no longer than
    `compare_up_to` are also replayed in full, to compare both at the same length.
    """

    events: list[int]
    snapshot_every: list[int]
    """Intervals measured beside snapshots off."""
    tails: list[str]
    """Events after the snapshot, per interval k: "1", "half" (k // 2) or "k-1"."""
    compare_up_to: int
    """Base lengths whose tailed streams are also replayed with snapshots off (break-even)."""
    rounds: int

    def tails_of(self, every: int) -> list[int]:
        """The distinct tails measured after a snapshot taken every `every` events."""
        return sorted({TAILS[name](every) for name in self.tails})

    def intervals_for(self, events: int) -> list[int]:
        """The intervals whose snapshot a stream of `events` (or more) holds."""
        return [k for k in self.snapshot_every if k <= events]

    def check(self, where: str) -> None:
        """Raise SuiteError naming the first key that cannot give tailed streams."""
        for i, name in enumerate(self.tails):
            if name not in TAILS:
                known = ", ".join(f'"{t}"' for t in TAILS)
                raise SuiteError(f"{where}.tails[{i}]: {name!r} is not one of {known}")
        for i, k in enumerate(self.snapshot_every):
            if k < 2:
                raise SuiteError(f"{where}.snapshot_every[{i}]: an interval of {k} leaves no tail")
            if k > max(self.events):
                raise SuiteError(
                    f"{where}.snapshot_every[{i}]: {k} is longer than every stream in events"
                )
            for j, n in enumerate(self.events):
                if n >= k and n % k:
                    raise SuiteError(
                        f"{where}.events[{j}]: {n} is not a multiple of snapshot_every {k},"
                        " so its snapshot would not sit at its end"
                    )


@dataclass(frozen=True)
class AppendSuite:
    connections: list[int]
    batch: list[int]
    snapshots: list[bool]
    appends_per_round: int
    rounds: int


@dataclass(frozen=True)
class ConflictSuite:
    writers: list[int]
    aggregates: int
    skew: list[str]
    retry: list[bool]
    retry_attempts: int
    commands: int
    """Commands per round, spread over the writers; every round opens fresh accounts."""
    rounds: int


@dataclass(frozen=True)
class ProjectionSuite:
    events: int
    bulk_size: int
    rounds: int


@dataclass(frozen=True)
class SerializationSuite:
    events: int
    rounds: int


@dataclass(frozen=True)
class KafkaSuite:
    messages: int
    rounds: int


@dataclass(frozen=True)
class PeerSuite:
    """Peer comparisons: appends at our connection count and at each side's best, and replays.

    A sweep (`sweep_rounds` rounds of `sweep_appends` at each of `sweep`) proposes each side's
    best concurrency; ours and theirs at `connections` and at those picks then run `rounds`
    alternating rounds of `appends_per_round` each (bench/micro/peer_drivers.py).
    """

    connections: int
    """Ours' connections, and the peer's connections or threads, at "same concurrency"."""
    sweep: list[int]
    """Concurrencies each side is tried at, to find its best."""
    sweep_appends: int
    sweep_rounds: int
    appends_per_round: int
    replay_events: int
    snapshot_every: int
    rounds: int


@dataclass(frozen=True)
class Suite:
    """Everything a micro run measures: sizes, connections, writers, rounds and the seed."""

    name: str
    seed: int
    replay: ReplaySuite
    append: AppendSuite
    conflicts: ConflictSuite
    projection: ProjectionSuite
    serialization: SerializationSuite
    kafka: KafkaSuite
    peers: PeerSuite
    targets: list[TargetSpec] = field(default_factory=list)
    """What the run is judged against (the suite's `[[targets]]`), verdicts from intervals."""

    def as_config(self) -> dict[str, Any]:
        return asdict(self)


def _build(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: expected a table, got {type(data).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SuiteError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(names))})")
    missing = sorted(names - set(data))
    if missing:
        raise SuiteError(f"{where}.{missing[0]}: missing")
    values: dict[str, Any] = {}
    for name in names:
        hint, value, at = hints[name], data[name], f"{where}.{name}"
        if isinstance(hint, type) and hint.__module__ == __name__:
            values[name] = _build(hint, value, at)
        else:
            values[name] = _check(hint, value, at)
    return cls(**values)


def _check(hint: Any, value: Any, where: str) -> Any:
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        if not isinstance(value, list) or not value:
            raise SuiteError(f"{where}: expected a non-empty list, got {value!r}")
        return [_check(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise SuiteError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SuiteError(f"{where}: expected a positive integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise SuiteError(f"{where}: expected a string, got {value!r}")
        return value
    raise SuiteError(f"{where}: unsupported type {hint!r}")


def parse(data: dict[str, Any], source: str = "suite") -> Suite:
    """Validate a suite's data; errors name the bad key (e.g. `quick.append.connections[2]`)."""
    data = dict(data)
    try:
        targets = parse_specs(data.pop("targets", []), source)
    except TargetError as exc:
        raise SuiteError(str(exc)) from None
    suite: Suite = _build(Suite, data, source)
    suite = replace(suite, targets=targets)
    suite.replay.check(f"{source}.replay")
    for i, skew in enumerate(suite.conflicts.skew):
        try:
            key_probabilities(skew, suite.conflicts.aggregates)
        except ValueError as exc:
            raise SuiteError(f"{source}.conflicts.skew[{i}]: {exc}") from None
    return suite


def load_suite(name_or_path: str) -> Suite:
    """A suite by name (bench/suites/NAME.toml) or by path to a TOML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SUITES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.toml")))
        raise SuiteError(f"no suite {name_or_path!r} (known: {known})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, path.stem)
