"""Conflict rates measured beside the model's prediction."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt


def conflict_rates(data: Mapping[str, Any], out: Path) -> Path | None:
    rows = [r for r in data.get("conflicts") or [] if not r["retry"]]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for skew in sorted({r["skew"] for r in rows}):
        pts = sorted(
            (r["writers"], r["conflict_rate"], r["predicted_conflict_rate"])
            for r in rows
            if r["skew"] == skew
        )
        line = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{skew}")
        ax.plot(
            [p[0] for p in pts],
            [p[2] for p in pts],
            linestyle="--",
            color=line[0].get_color(),
            label=f"{skew} predicted",
        )
    ax.set(xscale="log", xlabel="writers", ylabel="conflict rate (conflicts / attempt)")
    ax.set_title("Conflict rate, measured (solid) vs model (dashed), retry off")
    ax.grid(True, alpha=0.3)
    ax.legend()
    path = out / "conflict_rate.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
