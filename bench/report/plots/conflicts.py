"""Conflict rates measured (95 % Wilson intervals) beside the model's band, retry off and on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt


def _bounds(row: Mapping[str, Any], key: str) -> tuple[float, float, float]:
    """(value, low, high) of a row's figure; the value itself where the row has no interval."""
    value = float(row[key])
    return value, float(row.get(f"{key}_low", value)), float(row.get(f"{key}_high", value))


def _panel(ax: Any, rows: Sequence[Mapping[str, Any]], title: str) -> None:
    for skew in sorted({r["skew"] for r in rows}):
        ordered = sorted((r for r in rows if r["skew"] == skew), key=lambda r: r["writers"])
        writers = [r["writers"] for r in ordered]
        measured = [_bounds(r, "conflict_rate") for r in ordered]
        predicted = [_bounds(r, "predicted_conflict_rate") for r in ordered]
        bars = ax.errorbar(
            writers,
            [m[0] for m in measured],
            yerr=[[m[0] - m[1] for m in measured], [m[2] - m[0] for m in measured]],
            fmt="o",
            capsize=4,
            label=f"{skew} measured",
        )
        colour = bars[0].get_color()
        ax.plot(writers, [p[0] for p in predicted], linestyle="--", color=colour)
        ax.fill_between(
            writers,
            [p[1] for p in predicted],
            [p[2] for p in predicted],
            color=colour,
            alpha=0.2,
            label=f"{skew} model",
        )
    ticks = sorted({r["writers"] for r in rows})
    ax.set(xscale="log", xlabel="writers", title=title)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def conflict_rates(data: Mapping[str, Any], out: Path) -> Path | None:
    """Measured conflict rate per writer count with error bars, the model as a band."""
    rows = data.get("conflicts") or []
    if not rows:
        return None
    panels = [(retry, [r for r in rows if r["retry"] is retry]) for retry in (False, True)]
    panels = [(retry, subset) for retry, subset in panels if subset]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (retry, subset) in zip(axes[0], panels, strict=True):
        _panel(ax, subset, f"retry {'on' if retry else 'off'}")
    axes[0][0].set_ylabel("conflicts / attempt (95% interval)")
    fig.suptitle("Conflict rate: measured (points, Wilson interval) vs model (band)")
    path = out / "conflict_rate.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
