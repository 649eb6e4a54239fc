"""Cores each process used during a load run, per second (`resources.jsonl`), with each
process's mean over the window and its 95 % interval (the `resources` rows) as a band."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bench.report.series import RESOURCES_FILE, read_snapshots

SHOWN = 8
"""The busiest processes drawn (the rest are in the table)."""


def cpu_timeseries(data: Mapping[str, Any], out: Path) -> Path | None:
    """`load_cpu.png`, or None when the run recorded no CPU series."""
    rows = (data.get("resources") or [])[:SHOWN]
    snapshots = read_snapshots(out / RESOURCES_FILE)
    if not rows or len(snapshots) < 2:
        return None
    t0 = snapshots[0].at
    fig, ax = plt.subplots(figsize=(9, 4.5))
    colours = itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for row, colour in zip(rows, colours, strict=False):
        name = row["process"]
        xs, ys = [], []
        for a, b in itertools.pairwise(snapshots):
            same = a.started.get(name) == b.started.get(name)
            if name in a.cpu and name in b.cpu and same and b.at > a.at:
                xs.append(b.at - t0)
                ys.append(max(0.0, b.cpu[name] - a.cpu[name]) / (b.at - a.at))
        ax.plot(xs, ys, color=colour, linewidth=1, label=f"{name} (mean {row['cores']:.2f})")
        ax.axhspan(row["low"], row["high"], color=colour, alpha=0.15)
    ax.set_xlabel("seconds from the first sample")
    ax.set_ylabel("cores (CPU s per s)")
    ax.set_title("CPU per process during the run (bands: 95% interval of each mean)")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    path = out / "load_cpu.png"
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
