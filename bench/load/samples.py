"""Raw samples: one JSON line per operation (intended start, sent, finished, outcome)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

import msgspec

Outcome = Literal["ok", "conflict", "rejected", "processing", "error"]
Phase = Literal["warmup", "measured"]

SAMPLES_GLOB = "samples-*.jsonl"
LOCUST_COUNTS = "locust-requests.json"
"""Requests per request type as locust's own statistics counted them, written on exit."""


class Sample(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One operation; times are epoch seconds. `intended` equals `sent` in the closed model."""

    request: str
    intended: float
    sent: float
    finished: float
    outcome: Outcome
    status: int
    phase: Phase = "measured"
    worker: int = 0
    aggregate_id: str | None = None
    version: int | None = None
    position: int | None = None
    expected_version: int | None = None
    actual_version: int | None = None
    conflict_stream: str | None = None
    """409 only: the stream the api says moved on, and the version its append expected."""
    conflict_expected: int | None = None
    """On a 409 version conflict: the stream version the failed command saw (the API says)."""

    @property
    def latency(self) -> float:
        """Service latency as the client saw it, from the actual send."""
        return self.finished - self.sent

    @property
    def corrected(self) -> float:
        """Latency from the intended start: includes any wait the schedule could not keep."""
        return self.finished - self.intended

    @property
    def send_lag(self) -> float:
        return self.sent - self.intended


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Sample)


class SampleWriter:
    """Appends samples to one JSONL file (one per locust process)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("ab")

    def write(self, sample: Sample) -> None:
        self._file.write(_encoder.encode(sample) + b"\n")

    def close(self) -> None:
        self._file.close()


def read_samples(paths: Iterable[Path]) -> Iterator[Sample]:
    """Every sample in the given files, file by file."""
    for path in paths:
        with path.open("rb") as f:
            for line in f:
                if line.strip():
                    yield _decoder.decode(line)


def sample_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(SAMPLES_GLOB))


def measured_window(samples: Iterable[Sample]) -> tuple[float, float] | None:
    """[first send, last finish] of the measured (not warm-up) operations; None if none.

    Events committed in it are the run's: those of the lead time and warm-up are left out.
    """
    measured = [s for s in samples if s.phase == "measured"]
    if not measured:
        return None
    return min(s.sent for s in measured), max(s.finished for s in measured)
