"""A fault schedule as data: `SERVICE:ACTION@SECONDS` specs parsed and validated up front.

ACTION is `kill` (SIGKILL), `pause=S` (SIGSTOP for S seconds, then SIGCONT) or `restart` (a
clean stop, then a start), for any service; and three faults of one service each:
`relay:crash-after-ack` (the relay dies between Kafka's ack of a batch and its outbox mark),
`postgres:hold-tx=S` (a transaction left open S seconds) and `projector:outlive-retention` (the
projector down until Kafka's retention deleted events it had not read). SECONDS count from the
start of the measured phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

SERVICES = ("api", "relay", "projector", "kafka", "elasticsearch", "postgres")
SUPERVISED = ("api", "relay", "projector")
"""Brought back by their supervisor after a kill; the others by the fault runner."""
ActionKind = Literal["kill", "pause", "restart", "crash-after-ack", "hold-tx", "outlive-retention"]
ACTIONS: tuple[ActionKind, ...] = (
    "kill",
    "pause",
    "restart",
    "crash-after-ack",
    "hold-tx",
    "outlive-retention",
)
ONLY_ON: dict[str, str] = {
    "crash-after-ack": "relay",
    "hold-tx": "postgres",
    "outlive-retention": "projector",
}
"""Actions that only one service has."""
WITH_LENGTH = ("pause", "hold-tx")
"""Actions written `ACTION=SECONDS`."""
OPTION = "--fault"


class FaultSpecError(ValueError):
    """A fault spec or plan that cannot run; the message names the option and the bad part."""


@dataclass(frozen=True)
class Fault:
    """One scheduled fault: `service`, `action`, `at` (seconds), `length_s` (pause, hold-tx)."""

    service: str
    action: ActionKind
    at: float
    length_s: float = 0.0

    @property
    def label(self) -> str:
        """The action as written: `kill`, `pause=5`, `restart`, `hold-tx=60`."""
        return f"{self.action}={self.length_s:g}" if self.action in WITH_LENGTH else self.action

    @property
    def spec(self) -> str:
        return f"{self.service}:{self.label}@{self.at:g}"


def _number(text: str, what: str, spec: str, option: str) -> float:
    try:
        value = float(text.strip().removesuffix("s"))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FaultSpecError(f"{option} {spec!r}: {what} must be a number of seconds, got {text!r}")
    return value


def parse_fault(spec: str, option: str = OPTION) -> Fault:
    """One `SERVICE:ACTION@SECONDS`: `relay:kill@10`, `kafka:pause=5@8`, `postgres:restart@5`."""
    head, at_sep, at_text = spec.strip().rpartition("@")
    if not at_sep or not head:
        raise FaultSpecError(
            f"{option} {spec!r}: expected SERVICE:ACTION@SECONDS, e.g. relay:kill@10"
        )
    service, colon, action = head.partition(":")
    service, action = service.strip(), action.strip()
    if not colon or not action:
        raise FaultSpecError(f"{option} {spec!r}: missing ':ACTION' after the service")
    if service not in SERVICES:
        raise FaultSpecError(
            f"{option} {spec!r}: unknown service {service!r}; known: {', '.join(SERVICES)}"
        )
    at = _number(at_text, "the time after '@'", spec, option)
    if at < 0:
        raise FaultSpecError(f"{option} {spec!r}: the time after '@' must not be negative")
    name, eq, arg = action.partition("=")
    if name not in ACTIONS:
        raise FaultSpecError(
            f"{option} {spec!r}: unknown action {name!r}; known: kill, pause=SECONDS, restart,"
            " relay:crash-after-ack, postgres:hold-tx=SECONDS, projector:outlive-retention"
        )
    only = ONLY_ON.get(name)
    if only is not None and service != only:
        raise FaultSpecError(f"{option} {spec!r}: {name} is a fault of {only} only")
    kind: ActionKind = name
    if kind in WITH_LENGTH:
        if not eq:
            raise FaultSpecError(f"{option} {spec!r}: {name} needs its length, e.g. {name}=5")
        length_s = _number(arg, f"the {name} length", spec, option)
        if length_s <= 0:
            raise FaultSpecError(f"{option} {spec!r}: the {name} length must be positive")
        return Fault(service, kind, at, length_s)
    if eq:
        raise FaultSpecError(f"{option} {spec!r}: {name} takes no '=' argument")
    return Fault(service, kind, at)


@dataclass(frozen=True)
class FaultPlan:
    """The faults of one run, in time order."""

    faults: tuple[Fault, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.faults)

    def validate(self, duration_s: float, option: str = OPTION) -> None:
        """Every fault starts inside the measured phase (FaultSpecError otherwise)."""
        for fault in self.faults:
            if fault.at >= duration_s:
                raise FaultSpecError(
                    f"{option} {fault.spec!r}: starts at {fault.at:g}s, not inside the measured"
                    f" {duration_s:g}s (--duration)"
                )

    @property
    def specs(self) -> list[str]:
        return [f.spec for f in self.faults]


def parse_plan(specs: list[str], option: str = OPTION) -> FaultPlan:
    """A plan from repeated specs (FaultSpecError naming `option` and the bad part)."""
    faults = [parse_fault(spec, option) for spec in specs]
    return FaultPlan(tuple(sorted(faults, key=lambda f: f.at)))
