"""Open-model pacing: a timetable of intended starts that free users claim in order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import msgspec

from bench.load.samples import Phase

UNSENT_GLOB = "unsent-*.json"


class Ticket(NamedTuple):
    """One scheduled operation: its global index (which seeds its choices) and intended start."""

    seq: int
    intended: float
    phase: Phase


class Timetable:
    """This process's share of the intended starts, claimed in order by whichever user is free."""

    def __init__(self, offsets: list[float], epoch: float, warmup_s: float) -> None:
        self._offsets = offsets
        self._epoch = epoch
        self._warmup_s = warmup_s
        self._next = 0

    def _ticket(self, index: int) -> Ticket:
        offset = self._offsets[index]
        phase: Phase = "warmup" if offset < self._warmup_s else "measured"
        return Ticket(index, self._epoch + offset, phase)

    def claim(self, worker: int, workers: int) -> Ticket | None:
        """The next unclaimed ticket of this worker's slice (index ≡ worker mod workers)."""
        index = self._next * workers + worker
        if index >= len(self._offsets):
            return None
        self._next += 1
        return self._ticket(index)

    def tickets(self, worker: int, workers: int) -> Iterator[Ticket]:
        """Every ticket of this worker's slice, claimed or not."""
        return (self._ticket(i) for i in range(worker, len(self._offsets), workers))

    def unsent(self, worker: int, workers: int, sent: set[float], stopped_at: float) -> Unsent:
        """The slice's tickets due before `stopped_at` that no request carried (`sent` holds
        the intended starts seen); tickets due after the stop were never part of the run."""
        scheduled, warmup = 0, 0
        missed: list[float] = []
        for ticket in self.tickets(worker, workers):
            if ticket.intended > stopped_at:
                break
            measured = ticket.phase == "measured"
            scheduled += measured
            if ticket.intended in sent:
                continue
            if measured:
                missed.append(ticket.intended)
            else:
                warmup += 1
        return Unsent(
            worker=worker,
            stopped_at=stopped_at,
            scheduled=scheduled,
            intended=missed,
            warmup=warmup,
        )


class Unsent(msgspec.Struct, frozen=True, kw_only=True):
    """What one locust process scheduled but never sent (`unsent-<worker>-<pid>.json`).

    `stopped_at` is when its run time ended and sending stopped (epoch seconds): the moment a
    never-sent request is censored at.
    """

    worker: int
    stopped_at: float
    scheduled: int
    """Measured tickets of this process's slice."""
    intended: list[float]
    """Intended starts of the measured tickets that were never sent."""
    warmup: int = 0
    """Warm-up tickets never sent (not part of any figure)."""


def write_unsent(path: Path, record: Unsent) -> None:
    path.write_bytes(msgspec.json.encode(record))


def read_unsent(directory: Path) -> list[Unsent]:
    """Every process's record in a run directory (none for the closed model)."""
    return [
        msgspec.json.decode(p.read_bytes(), type=Unsent)
        for p in sorted(directory.glob(UNSENT_GLOB))
    ]
