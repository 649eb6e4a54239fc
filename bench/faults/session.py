"""A load run's faults: the schedule carried out beside the workload, measured, reported.

`FaultSession.start()` is called once locust runs. The measured phase starts `lead + warm-up`
seconds after locust's runner creates its first samples file (it does so right after fixing the
timetable's epoch), so fault times are anchored there. Each fault: the store head is read, the
action done, then the stack polled until it recovered (`bench/faults/recovery.py`). Faults run
one after the other; one due while another is still recovering waits for it. The version probe
runs throughout. `finish()` waits for the last recovery; `rows(samples)` gives the `faults`
section.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.audit.checks import Check
from bench.faults.actions import FaultError, inject
from bench.faults.plan import Fault, FaultPlan
from bench.faults.recovery import (
    Poll,
    error_window,
    errors_by_status,
    recovered_at,
    store_head,
    wait_recovered,
)
from bench.faults.versions import VersionProbe
from bench.load.config import LoadConfig
from bench.load.samples import SAMPLES_GLOB, Sample
from bench.report.results import Results
from system.bootstrap import open_read_store
from system.config import Settings
from system.readstore.elasticsearch import ElasticsearchReadStore

RECOVERY_LIMIT_S = 120.0
"""A fault not recovered after this long is reported with `recovery_seconds: null`."""
ANCHOR_TIMEOUT_S = 120.0

__all__ = ["FaultPlan", "FaultSession"]


@dataclass
class Injected:
    """What happened to one fault."""

    fault: Fault
    started: float = 0.0
    """Epoch seconds when the action began."""
    done: float = 0.0
    """Epoch seconds when the action was over."""
    head: int = 0
    polls: list[Poll] = field(default_factory=list)
    error: str | None = None

    @property
    def recovered(self) -> float | None:
        return recovered_at(self.polls, self.done) if self.error is None else None

    def row(self, measured_start: float, samples: list[Sample]) -> dict[str, Any]:
        """The fault's row of results.json's `faults` section."""
        end = self.recovered
        window_end = end if end is not None else (self.polls[-1].t if self.polls else self.done)
        return {
            "service": self.fault.service,
            "action": self.fault.label,
            "at": round(self.started - measured_start, 3),
            "planned_at": self.fault.at,
            "at_epoch": round(self.started, 3),
            "action_seconds": round(self.done - self.started, 3),
            "recovery_seconds": round(end - self.started, 3) if end is not None else None,
            "recovered": end is not None,
            "head_at_fault": self.head,
            "errors": errors_by_status(samples, self.started, window_end),
            "error_window": _relative(
                error_window(samples, self.started, window_end), self.started
            ),
            **({"error": self.error} if self.error else {}),
        }


def _relative(window: tuple[float, float] | None, t0: float) -> list[float] | None:
    return None if window is None else [round(window[0] - t0, 3), round(window[1] - t0, 3)]


@dataclass
class FaultSession:
    """The faults of one run and the version probe (see the module docstring)."""

    plan: FaultPlan
    settings: Settings
    out: Path
    lead_s: float
    warmup_s: float
    measured_start: float = 0.0
    injected: list[Injected] = field(default_factory=list)
    probe: VersionProbe | None = None
    failure: str | None = None
    """Why the schedule stopped early (then not every fault ran)."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def of(
        cls, plan: FaultPlan | None, settings: Settings, out: Path, config: LoadConfig
    ) -> FaultSession:
        """The session of a run (it does nothing for an empty plan); FaultSpecError, a
        ValueError naming `--fault`, when a fault does not fit the run."""
        plan = plan or FaultPlan()
        plan.validate(config.duration_s)
        return cls(plan, settings, out, config.lead_s, config.warmup_s)

    def start(self, seeded: list[str]) -> None:
        """Begin the schedule and the version probe (call once locust started)."""
        if not self.plan:
            return
        # asyncpg's pools log each failed reconnect with a traceback while PostgreSQL is down:
        # expected here, and the run's faults rows say what happened.
        logging.getLogger("asyncpg.pool").setLevel(logging.CRITICAL)
        self.probe = VersionProbe(self.settings, seeded)
        self._tasks = [
            asyncio.create_task(self._schedule()),
            asyncio.create_task(self.probe.run(self._stop)),
        ]

    async def finish(self) -> None:
        """Wait for the schedule's last recovery, then stop the version probe."""
        if not self._tasks:
            return
        try:
            await self._tasks[0]
        except FaultError as exc:
            self.failure = str(exc)
        self._stop.set()
        await self._tasks[1]

    def rows(self, samples: list[Sample]) -> list[dict[str, Any]]:
        return [i.row(self.measured_start, samples) for i in self.injected]

    def checks(self) -> list[Check]:
        """The version probe's audit row."""
        return [self.probe.tracker.check()] if self.probe is not None else []

    def notes(self) -> list[str]:
        """What the report must say about the faults: failures, no recovery, probe gaps."""
        out = [f"the fault schedule stopped: {self.failure}"] if self.failure else []
        out += [
            f"fault {i.fault.spec} could not be carried out: {i.error}"
            for i in self.injected
            if i.error
        ]
        out += [
            f"fault {i.fault.spec}: not recovered within {RECOVERY_LIMIT_S:g}s"
            for i in self.injected
            if i.error is None and i.recovered is None
        ]
        if self.probe is not None and self.probe.failed_reads:
            out.append(
                f"the version probe could not read {self.probe.failed_reads} times (faults on)"
            )
        return out

    def record(self, results: Results, samples: list[Sample]) -> None:
        """Add the `faults` rows, the plan and the notes to a run's results."""
        if not self.plan:
            return
        results.config["faults"] = self.plan.specs
        for row in self.rows(samples):
            results.add("faults", row)
        results.notes.extend(self.notes())

    async def _anchor(self) -> float:
        """The measured phase's start (epoch seconds), from the first samples file."""
        deadline = time.monotonic() + ANCHOR_TIMEOUT_S
        while not any(self.out.glob(SAMPLES_GLOB)):
            if time.monotonic() > deadline:
                raise FaultError(f"locust wrote no samples file in {self.out}")
            await asyncio.sleep(0.05)
        return time.time() + self.lead_s + self.warmup_s

    async def _schedule(self) -> None:
        self.measured_start = await self._anchor()
        read_store = open_read_store(self.settings)
        try:
            for fault in self.plan.faults:
                await asyncio.sleep(max(0.0, self.measured_start + fault.at - time.time()))
                self.injected.append(await self._one(fault, read_store))
        finally:
            await read_store.close()

    async def _one(self, fault: Fault, read_store: ElasticsearchReadStore) -> Injected:
        done = Injected(fault, started=time.time())
        try:
            done.head = await store_head(self.settings)
        except Exception as exc:  # a fault before this one left PostgreSQL down
            done.error = f"store head not readable before the fault: {exc}"
            return done
        done.started = time.time()
        try:
            await inject(fault, self.settings)
        except Exception as exc:  # reported in the row, the run goes on
            done.error = f"{type(exc).__name__}: {exc}"
        done.done = time.time()
        done.polls = await wait_recovered(self.settings, read_store, done.head, RECOVERY_LIMIT_S)
        return done
