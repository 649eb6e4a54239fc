"""A load run over time: rate, latency, lag by stage, consumer and position lag (per second).

Drawn from the run directory's `timeseries.json` (`bench/load/timeseries.py`: the same raw
samples, lag records and probe readings as the run's figures), with the warm-up shaded and each
fault of the results' `faults` section (a row with `at`, and `recovery_seconds` if known) as a
red span. Per-second percentiles carry no interval (a second holds too few values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.report.constants import LagStage
from bench.report.series import read_timeseries

STAGE_COLOURS: dict[str, str] = {
    LagStage.RELAY: "tab:blue",
    LagStage.KAFKA: "tab:orange",
    LagStage.INDEX: "tab:green",
    LagStage.REFRESH: "tab:purple",
    LagStage.END_TO_END: "black",
}
PROBE_LABEL = "lag-probe.jsonl, once a second"


def _epoch(at: Any, t0: float) -> float | None:
    """A fault's start as seconds from t0: epoch seconds, seconds into the run, or ISO-8601."""
    if isinstance(at, bool) or at is None:
        return None
    if isinstance(at, (int, float)):
        return float(at) - t0 if at > 1e9 else float(at)
    try:
        return datetime.fromisoformat(str(at)).timestamp() - t0
    except ValueError:
        return None


def fault_spans(faults: Sequence[Mapping[str, Any]], t0: float) -> list[tuple[float, float, str]]:
    """(start, end, label) in seconds from t0 for each fault row with a readable `at`."""
    spans = []
    for row in faults:
        # `at_epoch` (the fault runner's wall clock) is exact; `at` counts from the measured
        # start, which is after the lead time and warm-up, not from t0.
        start = _epoch(row.get("at_epoch", row.get("at")), t0)
        if start is None:
            continue
        recovery = row.get("recovery_seconds")
        end = start + (float(recovery) if isinstance(recovery, (int, float)) else 0.5)
        label = " ".join(str(row[k]) for k in ("service", "action") if row.get(k))
        spans.append((start, end, label or "fault"))
    return spans


def _markers(ax: Axes, series: Mapping[str, Any], faults: list[tuple[float, float, str]]) -> None:
    warmup = series.get("warmup_end")
    if warmup:
        ax.axvspan(0, warmup, color="0.85", alpha=0.6, label="warm-up", lw=0)
    for start, end, label in faults:
        ax.axvspan(start, end, color="red", alpha=0.15, lw=0, label=f"fault: {label}")
        ax.axvline(start, color="red", lw=0.8)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("seconds since the first intended start")


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _rate(series: Mapping[str, Any], faults: list[tuple[float, float, str]], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = series["seconds"]
    if series.get("target_rps") is not None:
        ax.step(x, series["target_rps"], where="post", color="0.4", ls="--", label="target")
    ax.step(x, series["achieved_rps"], where="post", color="tab:blue", label="achieved (sent)")
    if any(series.get("failures") or []):
        ax.bar(x, series["failures"], color="tab:red", alpha=0.6, label="failures", align="edge")
    _markers(ax, series, faults)
    ax.set(ylabel="requests per second", title="Achieved vs target rate, per second")
    ax.legend(fontsize="small", loc="lower right")
    return _save(fig, out / "load_rate.png")


def _latency(series: Mapping[str, Any], faults: list[tuple[float, float, str]], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x, lat = series["seconds"], series["latency"]
    ax.plot(x, lat["p50"], color="tab:blue", label="p50 raw (from the send)")
    ax.plot(x, lat["p99"], color="tab:blue", lw=2, alpha=0.6, label="p99 raw")
    if series.get("target_rps") is not None:
        ax.plot(x, lat["corrected_p50"], color="tab:orange", ls="--", label="p50 corrected")
        ax.plot(x, lat["corrected_p99"], color="tab:orange", lw=2, ls="--", label="p99 corrected")
    _markers(ax, series, faults)
    ax.set(yscale="log", ylabel="latency (s)", title="Latency per second of intended start")
    ax.legend(fontsize="small", loc="upper right")
    return _save(fig, out / "load_latency.png")


def _lag(
    series: Mapping[str, Any], faults: list[tuple[float, float, str]], out: Path
) -> Path | None:
    lag: Mapping[str, Mapping[str, Mapping[str, list[float | None]]]] = series.get("lag") or {}
    if not lag:
        return None
    fig, axes = plt.subplots(len(lag), 1, figsize=(10, 2.6 * len(lag)), sharex=True, squeeze=False)
    x = series["seconds"]
    for ax, (projection, stages) in zip(axes[:, 0], sorted(lag.items()), strict=True):
        for stage, values in stages.items():
            colour = STAGE_COLOURS.get(stage, "tab:gray")
            ax.plot(x, values["p99"], color=colour, lw=1.6, label=f"{stage} p99")
            ax.plot(x, values["p50"], color=colour, lw=0.8, ls=":", label=f"{stage} p50")
        _markers(ax, series, faults)
        ax.set(yscale="log", ylabel="lag (s)", title=f"{projection}: lag by stage (commit second)")
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")
    axes[0, 0].legend(fontsize="x-small", ncol=5, loc="upper right")
    return _save(fig, out / "load_lag_stages.png")


def _backlog(
    series: Mapping[str, Any], faults: list[tuple[float, float, str]], out: Path
) -> Path | None:
    probe = series.get("probe") or {}
    if not probe.get("t"):
        return None
    fig, (consumer, position) = plt.subplots(2, 1, figsize=(10, 5.2), sharex=True)
    for ax, key, unit in (
        (consumer, "consumer_lag", "messages (high watermark - committed)"),
        (position, "position_lag", "events (store head - checkpoint)"),
    ):
        for name, values in sorted(probe[key].items()):
            ax.step(probe["t"], values, where="post", label=name)
        _markers(ax, series, faults)
        ax.set(ylabel=unit.split(" ")[0], title=f"{key.replace('_', ' ')}: {unit}, {PROBE_LABEL}")
        ax.legend(fontsize="x-small", ncol=3, loc="upper right")
    consumer.set_xlabel("")
    return _save(fig, out / "load_consumer_position_lag.png")


def load_timeseries(data: Mapping[str, Any], out: Path) -> list[Path]:
    """Every time-series picture the run directory's series allow (none for other runs)."""
    if not data.get("load"):
        return []
    series = read_timeseries(out)
    if not series:
        return []
    faults = fault_spans(data.get("faults") or [], float(series["t0"]))
    made = [
        _rate(series, faults, out),
        _latency(series, faults, out),
        _lag(series, faults, out),
        _backlog(series, faults, out),
    ]
    return [p for p in made if p is not None]
