"""The replay cost curve: rehydrate time per stream length and snapshot interval."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt


def replay_curve(data: Mapping[str, Any], out: Path) -> Path | None:
    rows = data.get("replay") or []
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    intervals = sorted({r["snapshot_every"] or 0 for r in rows})
    for k in intervals:
        pts = sorted((r["events"], r["seconds"]) for r in rows if (r["snapshot_every"] or 0) == k)
        label = "snapshots off" if k == 0 else f"snapshot every {k:,}"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    fetch = sorted(
        (r["events"], r["events"] / r["ceiling"])
        for r in rows
        if r["snapshot_every"] is None and r.get("ceiling")
    )
    if fetch:
        ax.plot([p[0] for p in fetch], [p[1] for p in fetch], "k--", label="raw fetch (ceiling)")
    ax.set(xscale="log", yscale="log", xlabel="events in the aggregate", ylabel="rehydrate (s)")
    ax.set_title("Replay cost per snapshot interval")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path = out / "replay_cost.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
