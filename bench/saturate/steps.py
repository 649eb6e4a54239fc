"""One saturation step: a short audited open-model load run at one rate (bench/load's runner)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from bench.load.config import LoadConfig
from bench.report.constants import LagStage
from bench.report.cpu_probe import SPEED_CHANGE
from bench.run.runner import LoadRun, run_load
from bench.saturate.search import Search, Slo, StepResult
from system.config import Settings


def step_dir(out: Path, rate: float) -> Path:
    """Where the step at `rate` writes its load run."""
    return out / "steps" / f"rate-{rate:g}"


def step_result(run: LoadRun, rate: float, slo: Slo) -> StepResult:
    """What a finished run says about the SLO (corrected latency, lag, validity, audit)."""
    corrected = run.summary.total.corrected.summary()
    lag = [r["p99"] for r in run.lag if r.get("stage") == LagStage.END_TO_END]
    probe = run.cpu_probe
    return StepResult(
        rate=rate,
        achieved_rps=run.verdict.achieved_rps,
        latency_s=corrected[slo.percentile] if run.summary.total.requests else None,
        lag_p99_s=max(lag) if lag else None,
        valid=run.valid,
        audit_passed=run.audit_passed,
        slo=slo,
        idle_ms_before=None if probe is None else probe["idle_before_ms"],
        idle_ms_after=None if probe is None else probe["idle_after_ms"],
    )


def run_step(
    settings: Settings, out: Path, config: LoadConfig, *, rate: float, slo: Slo
) -> StepResult:
    """Run one step, `config` at `rate`; raises LoadRunError if the run could not be carried out
    at all."""
    at_rate = msgspec.structs.replace(config, rate=rate)
    run = run_load(at_rate, settings, step_dir(out, rate), calibration_s=0, ceilings=False)
    return step_result(run, rate, slo)


def saturation_rows(search: Search, slo: Slo) -> list[dict[str, Any]]:
    """The `saturation` section: one row per step in the order run, then the answer.

    The answer's interval is its bracket: the highest rate met and the lowest missed above it.
    """
    rows: list[dict[str, Any]] = []
    for index, s in enumerate(search.steps, start=1):
        rows.append(
            {
                "kind": "step",
                "step": index,
                "rate": s.rate,
                "achieved_rps": s.achieved_rps,
                "slo": str(slo),
                "percentile": slo.percentile,
                "latency_seconds": s.latency_s,
                "slo_seconds": slo.seconds,
                "lag_p99_seconds": s.lag_p99_s,
                "valid": s.valid,
                "audit_passed": s.audit_passed,
                "met": s.met,
                "error": s.error,
                "idle_ms_before": s.idle_ms_before,
                "idle_ms_after": s.idle_ms_after,
            }
        )
    found = search.max_rate
    answer: dict[str, Any] = {
        "kind": "max_rate",
        "rate": found or 0.0,
        "slo": str(slo),
        "percentile": slo.percentile,
        "slo_seconds": slo.seconds,
        "met": found is not None,
    }
    if found is not None:
        answer["low"] = found
        answer["high"] = search.missed_at if search.missed_at is not None else found
    rows.append(answer)
    return rows


def speed_note(steps: Sequence[StepResult]) -> str | None:
    """A note when the idle loop measured around the steps spans more than SPEED_CHANGE: the
    steps then ran on machines of different speeds, so the bracket between them is soft."""
    idle = [
        ms for s in steps for ms in (s.idle_ms_before, s.idle_ms_after) if ms is not None and ms > 0
    ]
    if not idle or max(idle) / min(idle) <= SPEED_CHANGE:
        return None
    return (
        f"the machine's speed moved by {max(idle) / min(idle):.2f}x between the steps (idle loop"
        f" {min(idle):.1f} to {max(idle):.1f} ms, bench/report/cpu_probe.py): the bracket is soft,"
        " its steps were not measured on the same machine"
    )
