"""A load run's summary rows: the `load` row, the per-request table and the conflict counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.load.calibrate import Calibration
from bench.load.config import LoadConfig
from bench.load.health import ScheduleVerdict, health_fields
from bench.load.latency import RequestStats, Summary
from bench.load.samples import LOCUST_COUNTS


def locust_conflicts(out: Path) -> int:
    """409s as locust's own statistics counted them (request types named `... [409]`)."""
    path = out / LOCUST_COUNTS
    if not path.exists():
        return 0
    counts: dict[str, int] = json.loads(path.read_text())
    return sum(n for name, n in counts.items() if name.endswith("[409]"))


def load_row(
    config: LoadConfig,
    summary: Summary,
    verdict: ScheduleVerdict,
    calibration: Calibration | None = None,
) -> dict[str, Any]:
    """The run's `load` row: counts, latency raw and corrected, generator health, calibration.

    `corrected` includes the never-sent requests (`unsent`), censored at the end of the run.
    """
    total = summary.total
    return {
        "scenario": config.scenario,
        "model": config.model,
        "target_rps": verdict.target_rps,
        "achieved_rps": verdict.achieved_rps,
        "duration_s": config.duration_s,
        "requests": total.requests,
        "failures": total.outcomes["error"],
        "conflicts": total.outcomes["conflict"],
        "latency_seconds": total.raw.summary(),
        "corrected": total.corrected.summary() if config.model == "open" else None,
        **health_fields(summary, verdict),
        "calibration": calibration.row() if calibration is not None else None,
        "by_request": by_request(summary, open_model=config.model == "open"),
    }


def by_request(summary: Summary, *, open_model: bool) -> list[dict[str, Any]]:
    """Per request name: count, failures, p50/p99 raw and (open model) corrected."""

    def pick(h: Any) -> dict[str, float]:
        full = h.summary()
        return {"p50": full["p50"], "p99": full["p99"]}

    return [
        {
            "request": name,
            "requests": stats.requests,
            "failures": stats.outcomes["error"],
            "latency_seconds": pick(stats.raw),
            "corrected": pick(stats.corrected) if open_model else None,
        }
        for name, stats in sorted(summary.by_request.items())
    ]


def request_table(summary: Summary) -> dict[str, Any]:
    """Per-request-type counts by outcome and latencies (written as requests.json)."""

    def one(stats: RequestStats) -> dict[str, Any]:
        return {
            "requests": stats.requests,
            "outcomes": dict(stats.outcomes),
            "latency_seconds": stats.raw.summary(),
            "corrected": stats.corrected.summary(),
        }

    return {
        "total": one(summary.total),
        "by_request": {k: one(v) for k, v in sorted(summary.by_request.items())},
    }
