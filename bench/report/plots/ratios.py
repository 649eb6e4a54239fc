"""Ratios to ceilings and peers, and every target, each drawn with its 95 % interval."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bench.report.targets import figure_interval

VERDICT_COLOURS = {"MET": "#176b17", "MISSED": "#a31515", "INCONCLUSIVE": "#b07d00"}


def _errors(section: str, rows: Sequence[Mapping[str, Any]], key: str) -> list[list[float]]:
    """Matplotlib's asymmetric error bars from each row's interval of `key` (0 where none)."""
    lows, highs = [], []
    for r in rows:
        interval = figure_interval(section, key, r)
        lows.append(0.0 if interval is None else interval.value - interval.low)
        highs.append(0.0 if interval is None else interval.high - interval.value)
    return [lows, highs]


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def targets_chart(data: Mapping[str, Any], out: Path) -> Path | None:
    """Each target's measured value over its threshold, with the interval, coloured by verdict."""
    rows = data.get("targets") or []
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    for y, r in enumerate(rows):
        t = r["threshold"] or 1.0
        colour = VERDICT_COLOURS[r["verdict"]]
        ax.errorbar(
            r["value"] / t,
            y,
            xerr=[[(r["value"] - r["low"]) / t], [(r["high"] - r["value"]) / t]],
            fmt="o",
            color=colour,
            capsize=4,
        )
    ax.axvline(1.0, color="k", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [f"{r['name']} ({r['verdict']})" for r in rows])
    ax.set_xscale("log")
    ax.set_xlabel("measured / threshold (95% interval); right of the line is better for >=")
    ax.set_title("Targets")
    ax.invert_yaxis()
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return _save(fig, out / "targets.png")


def append_ratio(data: Mapping[str, Any], out: Path) -> Path | None:
    """Append events/s as a fraction of the raw INSERT, per connection count and batch size."""
    rows = [r for r in data.get("append") or [] if r.get("ratio") is not None]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for batch in sorted({r["batch"] for r in rows}):
        for snapshots in sorted({bool(r.get("snapshots")) for r in rows}):
            pts = sorted(
                (r for r in rows if r["batch"] == batch and bool(r.get("snapshots")) == snapshots),
                key=lambda r: r["connections"],
            )
            label = f"batch {batch}" + (", snapshots on" if snapshots else "")
            ax.errorbar(
                [r["connections"] for r in pts],
                [r["ratio"] for r in pts],
                yerr=_errors("append", pts, "ratio"),
                marker="o",
                capsize=3,
                label=label,
            )
    ax.set(xscale="log", xlabel="connections", ylabel="of the raw INSERT (95% interval)")
    ax.set_title("Append throughput against the same-run raw INSERT")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, out / "append_ratio.png")


def _at(row: Mapping[str, Any]) -> str:
    """Where a peer row was measured: " @16", or " @best (16 vs 4)" (ours vs theirs)."""
    concurrency = row.get("concurrency")
    if concurrency is None:
        return ""
    if concurrency == "best":
        return f" @best ({row['ours_concurrency']} vs {row['theirs_concurrency']})"
    return f" @{concurrency}"


def peer_ratios(data: Mapping[str, Any], out: Path) -> Path | None:
    """Ours over each peer's figure, with the ratio's interval (log scale, 1 = parity)."""
    rows = data.get("peers") or []
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.5))
    labels = [f"{r['peer']} {r['workload']}{_at(r)}" for r in rows]
    ax.errorbar(
        [r["ratio"] for r in rows],
        range(len(rows)),
        xerr=_errors("peers", rows, "ratio"),
        fmt="o",
        capsize=4,
    )
    ax.axvline(1.0, color="k", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xscale("log")
    ax.set_xlabel("ours / theirs (95% interval); > 1 is better for us")
    ax.set_title("Peers on the same PostgreSQL")
    ax.invert_yaxis()
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return _save(fig, out / "peers.png")


def ratio_plots(data: Mapping[str, Any], out: Path) -> list[Path | None]:
    """Every ratio picture the results allow."""
    return [targets_chart(data, out), append_ratio(data, out), peer_ratios(data, out)]
