"""Open-model pacing: a timetable of intended starts that free users claim in order."""

from __future__ import annotations

from typing import NamedTuple

from bench.load.samples import Phase


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

    def claim(self, worker: int, workers: int) -> Ticket | None:
        """The next unclaimed ticket of this worker's slice (index ≡ worker mod workers)."""
        index = self._next * workers + worker
        if index >= len(self._offsets):
            return None
        self._next += 1
        offset = self._offsets[index]
        phase: Phase = "warmup" if offset < self._warmup_s else "measured"
        return Ticket(index, self._epoch + offset, phase)
