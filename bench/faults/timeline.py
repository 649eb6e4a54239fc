"""One picture per fault run: requests per second (ok and failed) and the projections' position
lag over the run, with each fault's action (red), its error window (orange) and its recovery
(green line at the moment every service was healthy and every projection caught up).

Drawn from the run directory's `timeseries.json` (the load run's own per-second series) and the
`faults` rows. Per-second counts carry no interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.report.series import read_timeseries


def _marks(ax: Axes, faults: Sequence[Mapping[str, Any]], t0: float, legend: bool) -> None:
    for row in faults:
        start = float(row["at_epoch"]) - t0
        action_end = start + max(float(row.get("action_seconds") or 0), 0.2)
        name = f"fault: {row['service']} {row['action']}"
        ax.axvspan(start, action_end, color="red", alpha=0.25, lw=0, label=name if legend else None)
        window = row.get("error_window")
        if window:
            ax.axvspan(start + window[0], start + window[1], color="orange", alpha=0.25, lw=0,
                       hatch="//", label="client errors" if legend else None)  # fmt: skip
        recovery = row.get("recovery_seconds")
        if recovery is not None:
            ax.axvline(start + float(recovery), color="green", lw=1.5,
                       label=f"recovered (+{recovery:.1f} s)" if legend else None)  # fmt: skip
    ax.grid(True, alpha=0.3)


def fault_timeline(run_dir: Path, faults: Sequence[Mapping[str, Any]], out: Path) -> Path | None:
    """Write the run's timeline PNG to `out` (None when the run has no time series)."""
    series = read_timeseries(run_dir)
    if not series or not faults:
        return None
    t0 = float(series["t0"])
    fig, (rate, lag) = plt.subplots(2, 1, figsize=(10, 5.4), sharex=True)
    x = series["seconds"]
    failures = series.get("failures") or [0] * len(x)
    ok = [max(0, a - f) for a, f in zip(series["achieved_rps"], failures, strict=True)]
    rate.bar(x, ok, width=1.0, align="edge", color="tab:blue", alpha=0.7, label="sent, not failed")
    rate.bar(x, failures, width=1.0, align="edge", bottom=ok, color="tab:red", label="failed")
    _marks(rate, faults, t0, legend=True)
    rate.set(ylabel="requests / s", title=f"{run_dir.name}: requests per second of sending")
    rate.legend(fontsize="x-small", loc="lower left", ncol=3)
    probe = series.get("probe") or {}
    for name, values in sorted((probe.get("position_lag") or {}).items()):
        lag.step(probe["t"], values, where="post", label=name)
    _marks(lag, faults, t0, legend=False)
    lag.set(ylabel="events behind", xlabel="seconds since the first intended start",
            title="position lag (store head - checkpoint), probe once a second")  # fmt: skip
    if probe.get("position_lag"):
        lag.legend(fontsize="x-small", loc="upper right", ncol=3)
    fig.tight_layout()
    path = out / f"timeline_{run_dir.name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
