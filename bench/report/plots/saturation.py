"""Latency vs throughput of a saturation search: corrected latency and lag p99 per step."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

FILE = "saturation.png"


def saturation_curve(data: Mapping[str, Any], out: Path) -> Path | None:
    """Corrected latency at the SLO's percentile vs achieved rate (steps in rate order) with its
    95 % interval as a bar, the worst end-to-end lag p99 on a second axis, the SLO line, and the
    answer with its bracket (highest rate met to lowest missed) as a band."""
    rows = data.get("saturation") or []
    steps = sorted(
        (r for r in rows if r["kind"] == "step" and r.get("latency_seconds") is not None),
        key=lambda r: r["rate"],
    )
    if not steps:
        return None
    answer = next((r for r in rows if r["kind"] == "max_rate"), None)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    achieved = [r["achieved_rps"] for r in steps]
    latency_ms = [r["latency_seconds"] * 1e3 for r in steps]
    ax.plot(achieved, latency_ms, "-", color="tab:blue", alpha=0.5)
    for r, x, y in zip(steps, achieved, latency_ms, strict=True):
        ax.plot(x, y, "o" if r["met"] else "x", color="tab:blue", markersize=8)
        ax.annotate(f"{r['rate']:g}/s", (x, y), textcoords="offset points", xytext=(4, 6))
        if r.get("latency_low_seconds") is not None and r.get("latency_high_seconds") is not None:
            ax.vlines(
                x, r["latency_low_seconds"] * 1e3, r["latency_high_seconds"] * 1e3,
                color="tab:blue", alpha=0.6, linewidth=2,
            )  # fmt: skip
    percentile = steps[0].get("percentile", "p99")
    ax.axhline(steps[0]["slo_seconds"] * 1e3, color="tab:red", linestyle="--", label="SLO")
    if answer is not None and answer.get("met"):
        ax.axvspan(answer["low"], answer["high"], color="tab:green", alpha=0.15)
        ax.axvline(answer["rate"], color="tab:green", label=f"max rate {answer['rate']:g}/s")
    ax.set(
        xlabel="achieved requests/s",
        ylabel=f"corrected {percentile} (ms; o met, x missed; bar: 95% interval)",
        title=f"Saturation search, SLO {steps[0]['slo']}",
    )
    ax.grid(True, alpha=0.3)
    lagged = [(x, r["lag_p99_seconds"]) for r, x in zip(steps, achieved, strict=True)]
    lagged = [(x, lag) for x, lag in lagged if lag is not None]
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
    path = out / FILE
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
