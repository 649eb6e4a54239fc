"""Replay cost: rehydrate time against the tail after a snapshot, and against stream length."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.report.analysis import seconds_interval, tail_cost

Row = Mapping[str, Any]


def _errorbars(
    ax: Axes, rows: Sequence[Row], x: str, label: str, marker: str, joined: bool = True
) -> None:
    """Median rehydrate times with their 95 % intervals as error bars."""
    rows = sorted(rows, key=lambda r: r[x])
    times = [seconds_interval(r) for r in rows]
    ax.errorbar(
        [r[x] for r in rows],
        [t.value for t in times],
        yerr=[[t.value - t.low for t in times], [t.high - t.value for t in times]],
        marker=marker,
        linestyle="-" if joined else "none",
        capsize=3,
        label=label,
    )


def _by_tail(ax: Axes, rows: Sequence[Row]) -> None:
    with_snapshot = [r for r in rows if r["snapshot_every"] and r["tail_events"] < r["events"]]
    for k in sorted({r["snapshot_every"] for r in with_snapshot}):
        mine = [r for r in with_snapshot if r["snapshot_every"] == k]
        _errorbars(ax, mine, "tail_events", f"snapshot every {k:,}", "o", joined=False)
    cost = tail_cost(rows)
    if cost is not None:
        lo = max(1, min(r["tail_events"] for r in with_snapshot))
        hi = max(lo, max(r["tail_events"] for r in with_snapshot))
        tails = [lo * (hi / lo) ** (i / 49) for i in range(50)]
        ax.plot(tails, [cost.at(t) for t in tails], "k-", lw=1, label="fit: fixed + c·tail")
        ax.fill_between(
            tails,
            [cost.fixed.low + cost.per_event.low * t for t in tails],
            [cost.fixed.high + cost.per_event.high * t for t in tails],
            color="k",
            alpha=0.1,
            label="fit 95% interval",
        )
    ax.set(xscale="log", xlabel="events replayed after the snapshot (tail)", ylabel="rehydrate (s)")
    ax.set_title("With a snapshot: cost of the tail")


def _by_length(ax: Axes, rows: Sequence[Row]) -> None:
    full = [r for r in rows if r["snapshot_every"] is None]
    if full:
        _errorbars(ax, full, "events", "snapshots off (full replay)", "s")
    for k in sorted({r["snapshot_every"] for r in rows if r["snapshot_every"]}):
        worst = [r for r in rows if r["snapshot_every"] == k and r["tail_events"] == k - 1]
        if worst:
            _errorbars(ax, worst, "events", f"every {k:,}, worst tail ({k - 1:,})", "o")
    fetch = sorted((r["events"], r["events"] / r["ceiling"]) for r in full if r.get("ceiling"))
    if fetch:
        ax.plot([p[0] for p in fetch], [p[1] for p in fetch], "k--", label="raw fetch (ceiling)")
    ax.set(xscale="log", yscale="log", xlabel="events in the aggregate", ylabel="rehydrate (s)")
    ax.set_title("Against stream length")


def replay_curve(data: Mapping[str, Any], out: Path) -> Path | None:
    rows = data.get("replay") or []
    if not rows:
        return None
    fig, (by_tail, by_length) = plt.subplots(1, 2, figsize=(12, 4.8))
    _by_tail(by_tail, rows)
    _by_length(by_length, rows)
    for ax in (by_tail, by_length):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    path = out / "replay_cost.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
