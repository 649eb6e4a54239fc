"""CPU time of every stack process during a load run: the `resources` section of results.json.

Cheap by design: the sampler reads `/proc/<pid>/stat` of each service's process tree (Linux) at
the start, every `interval_s` (default 1 s) and at the end; nothing runs inside the services.
A service's CPU is the user+system time of every live process of its tree plus the time of the
children they already reaped (`cutime`/`cstime`), so a PostgreSQL backend that exits mid-run is
still counted. A tree is rooted at the supervisor when there is one (a restarted api, relay or
projector stays in the tree); the roots are read again at every sample, so a service restarted
by hand (`cqrs-bench up`) is followed too: an interval in which a root changed counts the new
tree's CPU if it started inside the interval, and the row's `restarts` says how often that
happened (the old tree's last second is lost). The locust processes are the runner's own
children: their CPU is the runner's `RUSAGE_CHILDREN` difference over the run, exact even after
they exit.

Rows (one per process group): `process` (the `.stack/` directory name: `api`, `projector-2`,
`postgres`, …), `component` (`projector` for every `projector-N`), `cpu_seconds`, `cores`
(mean cores busy over the window, with `low`/`high` from the per-interval samples),
`cpu_ms_per_request` and `cpu_ms_per_event` (with `_low`/`_high`), `window_s`, `requests`,
`events`; with an idle baseline (`IDLE_S` seconds sampled before the run, no load offered),
`idle_cores` and the marginal cost above idle, `marginal_ms_per_request` and
`marginal_ms_per_event` (with `_low`/`_high`): the figures a capacity model extrapolates.
For a group with JVMs (Kafka, Elasticsearch), `jit_seconds` is how long their JIT compilations took
in the window (`bench/load/jit.py`; wall time): a JVM still warming up shows there.
"""

from __future__ import annotations

import asyncio
import itertools
import math
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

from bench.load.jit import jit_seconds
from bench.report.intervals import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, Interval
from bench.report.series import RESOURCES_FILE, Snapshot, append_snapshot

IDLE_S = 3.0
"""Seconds of idle baseline sampled before a load run (the services' cost with no load), in
1 s intervals of which the quietest counts (a shared machine's bursts fall in some of them)."""
LOCUST = "locust"
HARNESS = "harness"
"""The runner process itself (lag probe, sampler)."""
_CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def _boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


def _proc_table() -> tuple[dict[int, tuple[int, float]], dict[int, float]]:
    """PID → (parent PID, CPU seconds of the process and its reaped children), and PID → the
    process's start (epoch seconds)."""
    table: dict[int, tuple[int, float]] = {}
    starts: dict[int, float] = {}
    boot = _boot_time()
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
        starts[int(entry.name)] = boot + int(fields[19]) / _CLK_TCK
    return table, starts


def tree_members(
    roots: Mapping[str, int], table: Mapping[int, tuple[int, float]]
) -> dict[str, list[int]]:
    """The PIDs of each root's whole process tree in `table` (a pure function; roots not in
    the table are left out)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, list[int]] = {}
    for name, root in roots.items():
        if root not in table:
            continue
        members, todo = [], [root]
        while todo:
            pid = todo.pop()
            members.append(pid)
            todo.extend(children.get(pid, ()))
        out[name] = members
    return out


def tree_cpu(roots: Mapping[str, int], table: Mapping[int, tuple[int, float]]) -> dict[str, float]:
    """CPU seconds of each root's whole process tree in `table` (a pure function)."""
    return members_cpu(tree_members(roots, table), table)


def members_cpu(
    members: Mapping[str, Sequence[int]], table: Mapping[int, tuple[int, float]]
) -> dict[str, float]:
    """CPU seconds of each group's processes."""
    return {name: sum(table[pid][1] for pid in pids) for name, pids in members.items()}


def _own_cpu() -> tuple[float, float]:
    """(this process's CPU seconds, its reaped children's CPU seconds)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def take_snapshot(roots: Mapping[str, int], locust_pids: Sequence[int] = ()) -> Snapshot:
    """CPU seconds of the stack's trees, the harness, and the live locust processes, and the
    compile seconds of the trees' JVMs."""
    table, starts = _proc_table()
    members = tree_members(roots, table)
    cpu = members_cpu(members, table)
    started = {name: starts[pid] for name, pid in roots.items() if name in cpu}
    own, reaped = _own_cpu()
    cpu[HARNESS] = own
    live = tree_cpu({str(p): p for p in locust_pids}, table)
    cpu[LOCUST] = reaped + sum(live.values())
    return Snapshot(time.time(), cpu, started, jit_seconds(members))


@dataclass
class ResourceSampler:
    """Samples the stack's CPU every `interval_s` while a run goes; writes `resources.jsonl`."""

    stack_dir: Path
    out: Path
    interval_s: float = 1.0
    locust_pids: list[int] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)

    async def sample(self) -> None:
        """Take one snapshot now (off the event loop) and append it to the series file."""
        snap = await asyncio.to_thread(self._take)
        self.snapshots.append(snap)
        append_snapshot(self.out / RESOURCES_FILE, snap)

    def _take(self) -> Snapshot:
        return take_snapshot(stack_roots(self.stack_dir), list(self.locust_pids))

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


async def idle_cores(stack_dir: Path, seconds: float = IDLE_S) -> dict[str, float]:
    """Cores each stack process group uses with no load offered: the quietest 1 s interval of
    `seconds`."""
    snaps = [await asyncio.to_thread(take_snapshot, stack_roots(stack_dir))]
    for _ in range(max(1, round(seconds))):
        await asyncio.sleep(1.0)
        snaps.append(await asyncio.to_thread(take_snapshot, stack_roots(stack_dir)))
    out: dict[str, float] = {}
    for a, b in itertools.pairwise(snaps):
        for name in set(a.cpu) - {HARNESS, LOCUST}:
            used, _ = _interval_cpu(name, a, b)
            if used is not None and b.at > a.at:
                out[name] = min(out.get(name, math.inf), used / (b.at - a.at))
    return out


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


def _interval_cpu(name: str, a: Snapshot, b: Snapshot) -> tuple[float | None, bool]:
    """CPU seconds `name` used between two snapshots (None: unknown), and whether its root
    process changed (a restart) in between."""
    if name not in b.cpu:
        return None, False
    before, after = a.started.get(name), b.started.get(name)
    if name in a.cpu and before == after:
        return max(0.0, b.cpu[name] - a.cpu[name]), False
    if after is not None and after >= a.at:
        return b.cpu[name], True  # restarted inside the interval: all of the new tree's CPU
    return None, name in a.cpu


def resource_rows(
    snapshots: Sequence[Snapshot],
    requests: int,
    events: int,
    idle: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """The `resources` rows from a run's snapshots (first = start, last = end), busiest first.

    A group's CPU is the sum of its per-interval CPU (see `_interval_cpu`); `cores` divides it
    by the whole window, its interval comes from the per-interval rates. Per-request and
    per-event figures divide the same CPU by the window's requests and events.
    """
    if len(snapshots) < 2:
        return []
    first, last = snapshots[0], snapshots[-1]
    window = last.at - first.at
    if window <= 0:
        return []
    rows = []
    for name in sorted({n for snap in snapshots for n in snap.cpu}):
        cpu, restarts, deltas, spans = 0.0, 0, [], []
        for a, b in itertools.pairwise(snapshots):
            used, restarted = _interval_cpu(name, a, b)
            restarts += restarted
            if used is not None and b.at > a.at:
                cpu += used
                deltas.append(used / (b.at - a.at))
                spans.append(b.at - a.at)
        if not deltas:
            continue
        spread = _mean_interval(deltas, spans)
        cores = cpu / window
        low, high = min(cores, spread.low), max(cores, spread.high)
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
            "restarts": restarts,
        }
        for key, count in (("cpu_ms_per_request", requests), ("cpu_ms_per_event", events)):
            scale = 1000 * window / count if count > 0 else None
            row[key] = cores * scale if scale else None
            row[f"{key}_low"] = low * scale if scale else None
            row[f"{key}_high"] = high * scale if scale else None
        jit = _jit_delta(name, first, last)
        if jit is not None:
            row["jit_seconds"] = round(jit, 3)
        if idle is not None and name in idle:
            row.update(_marginal(idle[name], (cores, low, high), window, requests, events))
        rows.append(row)
    return sorted(rows, key=lambda r: -r["cpu_seconds"])


def _jit_delta(name: str, first: Snapshot, last: Snapshot) -> float | None:
    """Compile seconds of `name`'s JVMs over the window (None: not JVMs, or restarted in it)."""
    if name not in first.jit or name not in last.jit:
        return None
    if first.started.get(name) != last.started.get(name):
        return None
    return max(0.0, last.jit[name] - first.jit[name])


def _marginal(
    idle: float, cores: tuple[float, float, float], window: float, requests: int, events: int
) -> dict[str, Any]:
    """The CPU above the idle baseline, per request and per event."""
    row: dict[str, Any] = {"idle_cores": idle}
    value, low, high = (max(0.0, c - idle) for c in cores)
    for key, count in (("marginal_ms_per_request", requests), ("marginal_ms_per_event", events)):
        scale = 1000 * window / count if count > 0 else None
        row[key] = value * scale if scale else None
        row[f"{key}_low"] = low * scale if scale else None
        row[f"{key}_high"] = high * scale if scale else None
    return row
