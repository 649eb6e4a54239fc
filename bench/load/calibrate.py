"""The generator's own floor: the same locust machinery at a rate, against the api's liveness.

`GET /health/live` is the api's cheapest route (it touches no backing service), so its send lag
and latency are the generator's (scheduling, the HTTP client, the loopback) plus the server's
fixed cost per request. `/health` itself opens a Kafka client on every call: at 200 req/s its
latency is Kafka's connection cost, not the generator's, so it is only offered for comparison.
Every load run starts with a short calibration at its own rate (`CALIBRATION_S`), and its
report shows it beside the latency table; `cqrs-bench calibrate` runs one on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.config import LoadConfig
from bench.load.health import ScheduleVerdict, judge
from bench.load.latency import Summary, summarize
from bench.load.locust_process import STOP_TIMEOUT_S, LocustProcesses, free_port, run_time_s
from bench.load.pacing import UNSENT_GLOB, read_unsent
from bench.load.registry import CALIBRATION
from bench.load.samples import read_samples, sample_files

SCENARIO = CALIBRATION.name
ROUTES = {"/health/live": "live", "/health": "health"}
"""Routes a calibration may send, to the calibration user's operation for each."""
ROUTE = "/health/live"
CALIBRATION_S = 5.0
"""Seconds of calibration at the start of every load run (`--calibration` changes it)."""
CLOSED_MODEL_MAX_RPS = 200.0
"""A closed-model run is calibrated at users / think time, at most this."""
FILE = "calibration.json"


def clear_run_files(out: Path) -> None:
    """Create `out`, or remove the samples and unsent records an earlier run left in it."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*sample_files(out), *out.glob(UNSENT_GLOB)]:
        stale.unlink()


class CalibrationError(RuntimeError):
    """The calibration could not be carried out (locust failed or recorded nothing)."""


@dataclass(frozen=True)
class Calibration:
    """What a calibration measured."""

    rate_rps: float
    duration_s: float
    workers: int
    summary: Summary
    verdict: ScheduleVerdict
    route: str = ROUTE

    @property
    def not_ok(self) -> int:
        """Requests the route did not answer with 200 (a 404: an api older than the route)."""
        total = self.summary.total
        return total.requests - total.outcomes["ok"]

    def row(self) -> dict[str, Any]:
        """The `calibration` object of a load row (results.json) and of calibration.json."""
        total = self.summary.total
        return {
            "route": self.route,
            "target_rps": self.rate_rps,
            "achieved_rps": self.verdict.achieved_rps,
            "duration_s": self.duration_s,
            "workers": self.workers,
            "requests": total.requests,
            "failures": self.not_ok,
            "unsent": self.verdict.unsent,
            "send_lag_seconds": {
                "p50": self.verdict.send_lag_p50,
                "p99": self.verdict.send_lag_p99,
                "max": self.verdict.send_lag_max,
            },
            "latency_seconds": total.raw.summary(),
            "corrected": total.corrected.summary(),
            "kept_schedule": self.verdict.valid,
        }


def calibration_rate(config: LoadConfig) -> float:
    """The rate a load run is calibrated at: its peak rate, or what its closed users offer."""
    if config.model == "open" and config.rate is not None:
        return config.rate
    offered = config.users / max(config.think_time_s, 1e-3)
    return min(CLOSED_MODEL_MAX_RPS, max(1.0, offered))


def calibration_config(
    rate: float, duration_s: float, out: Path, workers: int = 0, route: str = ROUTE
) -> LoadConfig:
    """An open-model run of the calibration scenario: GET `route` at `rate` for `duration_s`."""
    if route not in ROUTES:
        raise CalibrationError(f"--route must be one of {', '.join(ROUTES)}, got {route!r}")
    return LoadConfig(
        scenario=SCENARIO,
        model="open",
        rate=rate,
        duration_s=duration_s,
        workers=workers,
        mix={ROUTES[route]: 1},
        samples_dir=str(out),
        exporter_port=free_port(),
    )


async def calibrate(
    api_url: str,
    rate: float,
    duration_s: float,
    out: Path,
    env: dict[str, str],
    *,
    workers: int = 0,
    route: str = ROUTE,
) -> Calibration:
    """Run locust on `api_url``route` at `rate` for `duration_s`; writes `out`/calibration.json."""
    config = calibration_config(rate, duration_s, out, workers, route)
    try:
        config.validate()
    except ValueError as exc:
        raise CalibrationError(str(exc)) from exc
    clear_run_files(out)
    locust = await LocustProcesses.start(config, api_url, out, env)
    code = await locust.wait(run_time_s(config) + STOP_TIMEOUT_S + 60)
    if code != 0:
        raise CalibrationError(f"calibration locust exited with {code}; see {out}/locust.log")
    samples = list(read_samples(sample_files(out)))
    if not samples:
        raise CalibrationError(f"calibration recorded no samples; see {out}/locust.log")
    summary = summarize(samples, read_unsent(out))
    verdict = judge(summary, duration_s=duration_s, target_rps=rate)
    calibration = Calibration(rate, duration_s, workers, summary, verdict, route)
    (out / FILE).write_text(json.dumps(calibration.row(), indent=2) + "\n")
    return calibration
