"""A load run's configuration: validated data, handed to locust as its custom arguments."""

from __future__ import annotations

from typing import Literal

import msgspec

from bench.load.keys import Distribution
from bench.load.metrics import EXPORTER_PORT
from bench.load.registry import SCENARIOS
from bench.load.shapes import SHAPES, ShapeName

Model = Literal["open", "closed"]


class LoadConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a locust process needs to generate the run's load, reproducibly."""

    scenario: str
    model: Model
    duration_s: float
    seed: int = 1
    rate: float | None = None
    """Open model: peak target arrivals per second (the shape scales it)."""
    shape: ShapeName = "constant"
    slots: int = 0
    """Open model: concurrent users that take tickets from the timetable (0 = two seconds'
    worth of arrivals, at least 50), so that sends do not wait for responses."""
    users: int = 0
    """Closed model: concurrent users."""
    think_time_s: float = 1.0
    """Closed model: pause between one user's operations."""
    warmup_s: float = 0.0
    workers: int = 0
    keys: int = 8
    """Contention: how many hot accounts the users share."""
    distribution: Distribution = "uniform"
    zipf_s: float = 1.1
    mix: dict[str, int] = msgspec.field(default_factory=dict)
    """Operation weights; empty = the scenario's default mix."""
    lead_s: float = 2.0
    """Seconds between test start and the first intended arrival (users spawn meanwhile)."""
    samples_dir: str = "."
    seed_file: str = ""
    exporter_port: int = EXPORTER_PORT

    def validate(self) -> None:
        """Raise ValueError naming the offending flag."""
        if self.scenario not in SCENARIOS:
            known = ", ".join(SCENARIOS)
            raise ValueError(f"--scenario: unknown scenario {self.scenario!r}; known: {known}")
        if self.duration_s <= 0:
            raise ValueError(f"--duration must be positive, got {self.duration_s:g}")
        if self.warmup_s < 0:
            raise ValueError(f"--warmup must not be negative, got {self.warmup_s:g}")
        if self.model == "open" and (self.rate is None or self.rate <= 0):
            raise ValueError("--rate must be positive for the open model")
        if self.model == "closed" and self.users < 1:
            raise ValueError("--users must be at least 1 for the closed model")
        if self.shape not in SHAPES:
            raise ValueError(f"--shape: unknown shape {self.shape!r}; known: {', '.join(SHAPES)}")
        if self.workers < 0 or self.slots < 0:
            raise ValueError("--workers and --slots must not be negative")
        if self.keys < 1:
            raise ValueError("--keys must be at least 1")
        if self.think_time_s < 0:
            raise ValueError("--think-time must not be negative")
        unknown = set(self.mix) - set(SCENARIOS[self.scenario].mix)
        if unknown:
            known = ", ".join(SCENARIOS[self.scenario].mix)
            raise ValueError(f"--mix: unknown operation(s) {sorted(unknown)}; known: {known}")

    @property
    def effective_mix(self) -> dict[str, int]:
        return self.mix or SCENARIOS[self.scenario].mix

    @property
    def concurrency(self) -> int:
        """Users locust spawns: the open model's slots, or the closed model's users."""
        if self.model == "closed":
            return self.users
        if self.slots:
            return self.slots
        assert self.rate is not None
        return max(50, min(2000, round(2 * self.rate)))

    def to_json(self) -> str:
        return msgspec.json.encode(self).decode()
