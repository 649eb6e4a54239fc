"""One saturation step: a short audited open-model load run at one rate (bench/load's runner)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from bench.load.config import LoadConfig
from bench.load.jit_warmup import WarmupRound
from bench.report.constants import PERCENTILES_TO_REPORT, LagStage, step_dir
from bench.report.cpu_probe import SPEED_CHANGE
from bench.run.runner import LoadRun, run_load
from bench.saturate.search import Search, Slo, StepResult, tossups
from system.config import Settings


def step_result(run: LoadRun, rate: float, slo: Slo, *, step_s: float, recheck: bool) -> StepResult:
    """What a finished run of `step_s` measured seconds says about the SLO (corrected latency,
    lag, validity, audit)."""
    measured = run.summary.total.requests > 0
    quantile = dict(PERCENTILES_TO_REPORT)[slo.percentile]
    latency = run.summary.total.corrected.percentile_interval(quantile)
    lag = [r["p99"] for r in run.lag if r.get("stage") == LagStage.END_TO_END]
    probe = run.cpu_probe
    return StepResult(
        rate=rate,
        achieved_rps=run.verdict.achieved_rps,
        latency_s=latency.value if measured else None,
        latency_low_s=latency.low if measured else None,
        latency_high_s=latency.high if measured else None,
        lag_p99_s=max(lag) if lag else None,
        valid=run.valid,
        audit_passed=run.audit_passed,
        slo=slo,
        idle_ms_before=None if probe is None else probe["idle_before_ms"],
        idle_ms_after=None if probe is None else probe["idle_after_ms"],
        projector_settings=run.projector_settings,
        step_s=step_s,
        recheck=recheck,
    )


def run_step(
    settings: Settings,
    out: Path,
    config: LoadConfig,
    *,
    rate: float,
    slo: Slo,
    stretch: int = 1,
    jit_warmup_s: float = 0.0,
    on_warmup: Callable[[WarmupRound], Any] | None = None,
) -> StepResult:
    """Run one step, `config` at `rate` for `stretch` times its duration (more than 1: a recheck),
    after a JIT warm-up of at most `jit_warmup_s`; raises LoadRunError if the run could not be
    carried out at all."""
    at_rate = msgspec.structs.replace(config, rate=rate, duration_s=config.duration_s * stretch)
    where = step_dir(out, rate, stretch)
    run = run_load(
        at_rate,
        settings,
        where,
        calibration_s=0,
        ceilings=False,
        jit_warmup_s=jit_warmup_s,
        on_warmup=on_warmup,
    )
    return step_result(run, rate, slo, step_s=at_rate.duration_s, recheck=stretch > 1)


def steps_settings(steps: Sequence[StepResult]) -> list[dict[str, str]]:
    """Every distinct set of projector settings the steps' runs recorded (see
    `bench/run/system_settings.py`): one, unless the projectors changed during the search."""
    found: list[dict[str, str]] = []
    for s in steps:
        found += [one for one in s.projector_settings if one not in found]
    return found


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
                "latency_low_seconds": s.latency_low_s,
                "latency_high_seconds": s.latency_high_s,
                "soft": s.soft,
                "step_seconds": s.step_s,
                "recheck": s.recheck,
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


def soft_note(steps: Sequence[StepResult]) -> str | None:
    """A note naming the toss-ups the search went on (`tossups`): their verdicts, and so the
    bracket they set, could come out the other way on a rerun."""
    soft = tossups(steps)
    if not soft:
        return None
    rates = ", ".join(f"{s.rate:g}" for s in soft)
    return (
        f"the SLO lies inside the 95 % interval of the corrected {soft[0].slo.percentile} at"
        f" {rates} req/s: those verdicts are a toss-up at their step length, and so is the"
        " bracket they set; longer --step (or --recheck) narrows the intervals"
    )


def _verdict(s: StepResult) -> str:
    """`met at 60 s (p99 121 ms, interval 105-140 ms)`, or `toss-up at 20 s (...)`."""
    verdict = "toss-up" if s.soft and not s.recheck else "met" if s.met else "missed"
    if s.latency_s is None:
        return f"{verdict} at {s.step_s:g} s (no latency measured)"
    figures = f"{s.slo.percentile} {s.latency_s * 1e3:.0f} ms"
    if s.latency_low_s is not None and s.latency_high_s is not None:
        figures += f", interval {s.latency_low_s * 1e3:.0f}-{s.latency_high_s * 1e3:.0f} ms"
    if s.soft and s.recheck:
        figures += ", still a toss-up"
    return f"{verdict} at {s.step_s:g} s ({figures})"


def recheck_notes(steps: Sequence[StepResult]) -> list[str]:
    """One note per recheck: the toss-up step's verdict, then the longer run's, which counts."""
    short = {s.rate: s for s in steps if not s.recheck}
    return [
        f"rate {s.rate:g}: {_verdict(short[s.rate])} → {_verdict(s)}"
        for s in steps
        if s.recheck and s.rate in short
    ]


def search_notes(steps: Sequence[StepResult]) -> list[str]:
    """What a reader of the search must know about its steps: machine speed, rechecks and the
    toss-ups that still stand."""
    notes = [note for note in (speed_note(steps), soft_note(steps)) if note is not None]
    return notes + recheck_notes(steps)
