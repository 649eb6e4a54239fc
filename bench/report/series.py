"""The series files of a load-run directory that the pictures are drawn from, with their formats.

`timeseries.json` holds the run's per-second series (built by `bench/load/timeseries.py`);
`resources.jsonl` one CPU snapshot per line (sampled by `bench/load/resources.py`). Both are
written while or after the run and read back by the report's plots and the faults timeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMESERIES_FILE = "timeseries.json"
RESOURCES_FILE = "resources.jsonl"


@dataclass(frozen=True)
class Snapshot:
    """Cumulative CPU seconds per process group at one moment (wall clock `at`), when each
    group's root process started (epoch seconds; a change means the service was restarted), and
    the cumulative compile seconds of each group's JVMs."""

    at: float
    cpu: dict[str, float]
    started: dict[str, float] = field(default_factory=dict)
    jit: dict[str, float] = field(default_factory=dict)


def write_timeseries(out: Path, series: dict[str, Any]) -> Path:
    path = out / TIMESERIES_FILE
    path.write_text(json.dumps(series, separators=(",", ":")))
    return path


def read_timeseries(directory: Path) -> dict[str, Any]:
    """A run directory's series ({} when it has none)."""
    path = directory / TIMESERIES_FILE
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def append_snapshot(path: Path, snap: Snapshot) -> None:
    with path.open("a") as f:
        row = {"at": snap.at, "cpu": snap.cpu, "started": snap.started, "jit": snap.jit}
        f.write(json.dumps(row) + "\n")


def read_snapshots(path: Path) -> list[Snapshot]:
    """The snapshots a sampler wrote (empty when the file is missing)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [
        Snapshot(
            float(r["at"]),
            {k: float(v) for k, v in r["cpu"].items()},
            {k: float(v) for k, v in r.get("started", {}).items()},
            {k: float(v) for k, v in r.get("jit", {}).items()},
        )
        for r in rows
    ]
