"""CPU time of every stack process during a load run: the `resources` section of results.json.

Cheap by design: the sampler reads `/proc/<pid>/stat` of each service's process tree (Linux) at
the start, every `interval_s` (default 1 s) and at the end; nothing runs inside the services.
A service's CPU is the user+system time of every live process of its tree plus the time of the
children they already reaped (`cutime`/`cstime`), so a PostgreSQL backend that exits mid-run is
still counted. A tree is rooted at the supervisor when there is one (a restarted api, relay or
projector stays in the tree). The locust processes are the runner's own children: their CPU is
the runner's `RUSAGE_CHILDREN` difference over the run, exact even after they exit.

Rows (one per process group): `process` (the `.stack/` directory name: `api`, `projector-2`,
`postgres`, …), `component` (`projector` for every `projector-N`), `cpu_seconds`, `cores`
(mean cores busy over the window, with `low`/`high` from the per-interval samples),
`cpu_ms_per_request` and `cpu_ms_per_event` (with `_low`/`_high`), `window_s`, `requests`,
`events`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import re
import resource
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from bench.report.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, Interval

SERIES_FILE = "resources.jsonl"
LOCUST = "locust"
HARNESS = "harness"
"""The runner process itself (lag probe, sampler)."""
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    """Cumulative CPU seconds per process group at one moment (wall clock `at`)."""

    at: float
    cpu: dict[str, float]


def component(process: str) -> str:
    """The component a process group belongs to: `projector-2` → `projector`."""
    return re.sub(r"-\d+$", "", process)


def stack_roots(stack_dir: Path) -> dict[str, int]:
    """Process group → root PID, for every service under `stack_dir` with a live process."""
    roots: dict[str, int] = {}
    if not stack_dir.is_dir():
        return roots
    for service in sorted(p for p in stack_dir.iterdir() if p.is_dir()):
        for name in ("supervisor.pid", "pid"):
            pid = _read_pid(service / name)
            if pid is not None and Path(f"/proc/{pid}").exists():
                roots[service.name] = pid
                break
    return roots


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _proc_table() -> dict[int, tuple[int, float]]:
    """PID → (parent PID, CPU seconds of the process and its reaped children)."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        table[int(entry.name)] = (int(fields[1]), ticks / _CLK_TCK)
    return table


def tree_cpu(roots: Mapping[str, int], table: Mapping[int, tuple[int, float]]) -> dict[str, float]:
    """CPU seconds of each root's whole process tree in `table` (a pure function)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for name, root in roots.items():
        if root not in table:
            continue
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            total += table[pid][1]
            todo.extend(children.get(pid, ()))
        out[name] = total
    return out


def _own_cpu() -> tuple[float, float]:
    """(this process's CPU seconds, its reaped children's CPU seconds)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def take_snapshot(roots: Mapping[str, int], locust_pids: Sequence[int] = ()) -> Snapshot:
    """CPU seconds of the stack's trees, the harness, and the live locust processes."""
    table = _proc_table()
    cpu = tree_cpu(roots, table)
    own, reaped = _own_cpu()
    cpu[HARNESS] = own
    live = tree_cpu({str(p): p for p in locust_pids}, table)
    cpu[LOCUST] = reaped + sum(live.values())
    return Snapshot(time.time(), cpu)


@dataclass
class ResourceSampler:
    """Samples the stack's CPU every `interval_s` while a run goes; writes `resources.jsonl`."""

    roots: dict[str, int]
    out: Path
    interval_s: float = 1.0
    locust_pids: list[int] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)

    async def sample(self) -> None:
        """Take one snapshot now (off the event loop) and append it to the series file."""
        snap = await asyncio.to_thread(take_snapshot, self.roots, list(self.locust_pids))
        self.snapshots.append(snap)
        with (self.out / SERIES_FILE).open("a") as f:
            f.write(json.dumps({"at": snap.at, "cpu": snap.cpu}) + "\n")

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until `stop` is set, then once more (the end of the window)."""
        while not stop.is_set():
            await self.sample()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)
            except TimeoutError:
                continue
        await self.sample()


async def head_position(pool: asyncpg.Pool) -> int:
    """The event store's last global position (0 when empty): events = its difference."""
    head: int = await pool.fetchval("SELECT coalesce(max(position), 0) FROM events")
    return head


def read_series(path: Path) -> list[Snapshot]:
    """The snapshots a sampler wrote (empty when the file is missing)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [Snapshot(float(r["at"]), {k: float(v) for k, v in r["cpu"].items()}) for r in rows]


def _mean_interval(values: Sequence[float], weights: Sequence[float]) -> Interval:
    """The weighted mean of per-interval values and a seeded percentile-bootstrap interval."""
    total = sum(weights)
    value = sum(v * w for v, w in zip(values, weights, strict=True)) / total
    if len(values) < 2:
        return Interval(value, value, value, 0.0)
    rng = random.Random(BOOTSTRAP_SEED)
    pairs = list(zip(values, weights, strict=True))
    means = []
    for _ in range(BOOTSTRAP_RESAMPLES):
        drawn = rng.choices(pairs, k=len(pairs))
        means.append(sum(v * w for v, w in drawn) / sum(w for _, w in drawn))
    means.sort()
    tail = (1 - CONFIDENCE) / 2
    low = means[int(tail * BOOTSTRAP_RESAMPLES)]
    high = means[min(BOOTSTRAP_RESAMPLES - 1, int((1 - tail) * BOOTSTRAP_RESAMPLES))]
    return Interval(value, min(low, value), max(high, value))


def resource_rows(
    snapshots: Sequence[Snapshot], requests: int, events: int
) -> list[dict[str, Any]]:
    """The `resources` rows from a run's snapshots (first = start, last = end), busiest first.

    `cores` is CPU seconds over the window; its interval comes from the per-interval deltas.
    Per-request and per-event figures divide the same CPU by the window's requests and events.
    """
    if len(snapshots) < 2:
        return []
    first, last = snapshots[0], snapshots[-1]
    window = last.at - first.at
    if window <= 0:
        return []
    rows = []
    for name in sorted(set(first.cpu) & set(last.cpu)):
        cpu = max(0.0, last.cpu[name] - first.cpu[name])
        deltas, spans = [], []
        for a, b in itertools.pairwise(snapshots):
            if name in a.cpu and name in b.cpu and b.at > a.at:
                deltas.append(max(0.0, b.cpu[name] - a.cpu[name]) / (b.at - a.at))
                spans.append(b.at - a.at)
        spread = _mean_interval(deltas, spans) if deltas else None
        cores = cpu / window
        low = min(cores, spread.low) if spread else cores
        high = max(cores, spread.high) if spread else cores
        row: dict[str, Any] = {
            "process": name,
            "component": component(name),
            "cpu_seconds": round(cpu, 3),
            "cores": cores,
            "low": low,
            "high": high,
            "window_s": round(window, 3),
            "requests": requests,
            "events": events,
        }
        for key, count in (("cpu_ms_per_request", requests), ("cpu_ms_per_event", events)):
            scale = 1000 * window / count if count > 0 else None
            row[key] = cores * scale if scale else None
            row[f"{key}_low"] = low * scale if scale else None
            row[f"{key}_high"] = high * scale if scale else None
        rows.append(row)
    return sorted(rows, key=lambda r: -r["cpu_seconds"])

