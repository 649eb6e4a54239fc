"""Latency vs throughput of a saturation search: corrected latency and lag p99 per step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bench.report.rechecks import rechecked

FILE = "saturation.png"
RECHECK = "recheck (its verdict counts)"


def _style(rows: Sequence[Mapping[str, Any]], step: Mapping[str, Any]) -> dict[str, Any]:
    """A step's point: o met, x missed; a recheck a purple D or X; the step a recheck overrode
    hollow and faded."""
    if step.get("recheck"):
        return {"marker": "D" if step["met"] else "X", "color": "tab:purple", "alpha": 1.0}
    faded = rechecked(rows, step)
    return {
        "marker": "o" if step["met"] else "x",
        "color": "tab:blue",
        "markerfacecolor": "none" if faded else "tab:blue",
        "alpha": 0.35 if faded else 1.0,
    }


def saturation_figure(data: Mapping[str, Any]) -> Figure | None:
    """Corrected latency at the SLO's percentile vs achieved rate (steps in rate order) with its
    95 % interval as a bar, the worst end-to-end lag p99 on a second axis, the SLO line, and the
    answer with its bracket (highest rate met to lowest missed) as a band. A recheck is drawn
    apart (`_style`); the step it overrode stays, faded, off the lines."""
    rows = data.get("saturation") or []
    steps = sorted(
        (r for r in rows if r["kind"] == "step" and r.get("latency_seconds") is not None),
        key=lambda r: r["rate"],
    )
    if not steps:
        return None
    answer = next((r for r in rows if r["kind"] == "max_rate"), None)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    counted = [r for r in steps if not rechecked(rows, r)]
    ax.plot(
        [r["achieved_rps"] for r in counted],
        [r["latency_seconds"] * 1e3 for r in counted],
        "-", color="tab:blue", alpha=0.5,
    )  # fmt: skip
    first_recheck = next((r for r in steps if r.get("recheck")), None)
    for r in steps:
        x, y = r["achieved_rps"], r["latency_seconds"] * 1e3
        style = _style(rows, r)
        ax.plot(
            x,
            y,
            linestyle="none",
            markersize=8,
            label=RECHECK if r is first_recheck else None,
            **style,
        )
        name = f"{r['rate']:g}/s" + (" recheck" if r.get("recheck") else "")
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 6), alpha=style["alpha"])
        if r.get("latency_low_seconds") is not None and r.get("latency_high_seconds") is not None:
            ax.vlines(
                x, r["latency_low_seconds"] * 1e3, r["latency_high_seconds"] * 1e3,
                color=style["color"], alpha=0.6 * style["alpha"], linewidth=2,
            )  # fmt: skip
    percentile = steps[0].get("percentile", "p99")
    ax.axhline(steps[0]["slo_seconds"] * 1e3, color="tab:red", linestyle="--", label="SLO")
    if answer is not None and answer.get("met"):
        ax.axvspan(answer["low"], answer["high"], color="tab:green", alpha=0.15)
        ax.axvline(answer["rate"], color="tab:green", label=f"max rate {answer['rate']:g}/s")
    ax.set(
        xlabel="achieved requests/s",
        ylabel=f"corrected {percentile} (ms; o/D met, x/X missed; bar: 95% interval)",
        title=f"Saturation search, SLO {steps[0]['slo']}",
    )
    ax.grid(True, alpha=0.3)
    lagged = [
        (r["achieved_rps"], r["lag_p99_seconds"])
        for r in counted
        if r.get("lag_p99_seconds") is not None
    ]
    if lagged:
        lag_ax = ax.twinx()
        lag_ax.plot(
            [x for x, _ in lagged],
            [lag * 1e3 for _, lag in lagged],
            "s--",
            color="tab:orange",
            label="lag p99 end to end",
        )
        lag_ax.set_ylabel("lag p99 end to end (ms)", color="tab:orange")
        lag_ax.legend(loc="lower right", fontsize="small")
    ax.legend(loc="upper left", fontsize="small")
    ax.margins(x=0.08, y=0.12)
    fig.tight_layout()
    return fig


def saturation_curve(data: Mapping[str, Any], out: Path) -> Path | None:
    """Draw `saturation_figure` into `out`; None when no step measured a latency."""
    fig = saturation_figure(data)
    if fig is None:
        return None
    path = out / FILE
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
