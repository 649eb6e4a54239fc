"""A saturation search as one run: its steps, results.json (section `saturation`) and report."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load.config import LoadConfig
from bench.load.jit_warmup import WarmupRound
from bench.report.environment import gather_environment
from bench.report.files import write_report
from bench.report.results import Results
from bench.saturate.search import Search, Slo, StepResult, saturate
from bench.saturate.steps import run_step, saturation_rows, search_notes, steps_settings
from system.config import Settings


@dataclass(frozen=True)
class SaturationRun:
    """The search's steps and verdict, and where its results were written."""

    search: Search
    results_path: Path


def run_saturation(
    settings: Settings,
    run_dir: Path,
    config: LoadConfig,
    *,
    slo: Slo,
    low: float,
    high: float,
    tolerance: float,
    max_steps: int,
    recheck: int,
    show: Callable[[StepResult], StepResult],
    jit_warmup_s: float = 0.0,
    on_warmup: Callable[[WarmupRound], Any] | None = None,
) -> SaturationRun:
    """Search the highest rate meeting `slo` (see `saturate`), one audited load run of `config`
    (an open model; each step sets its rate, a recheck stretches its duration `recheck` times)
    per step, each passed through `show` as it ends; write results.json and the report into
    `run_dir`. The first step warms the JVMs for at most `jit_warmup_s` first
    (`bench/load/jit_warmup.py`; its rounds are in that step's results.json).

    Raises ValueError for a bad search bracket, LoadRunError or OSError when a step cannot run.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    results = Results.new(
        f"saturate/{config.scenario}",
        {
            "scenario": config.scenario,
            "slo": str(slo),
            "step_s": config.duration_s,
            "warmup_s": config.warmup_s,
            "low": low,
            "high": high,
            "tolerance": tolerance,
            "max_steps": max_steps,
            "recheck": recheck,
            "jit_warmup_s": jit_warmup_s,
            "seed": config.seed,
        },
    )
    one = functools.partial(run_step, settings, run_dir, config, slo=slo, on_warmup=on_warmup)
    warmups = itertools.chain((jit_warmup_s,), itertools.repeat(0.0))
    search = saturate(
        lambda rate, stretch: show(one(rate=rate, stretch=stretch, jit_warmup_s=next(warmups))),
        low=low,
        high=high,
        tolerance=tolerance,
        max_steps=max_steps,
        recheck=recheck,
    )
    results.config["projector_settings"] = steps_settings(search.steps)
    for row in saturation_rows(search, slo):
        results.add("saturation", row)
    if search.max_rate is not None and search.missed_at is None:
        results.notes.append(f"--high {high:g} met the SLO: the saturation rate lies above it")
    results.notes += search_notes(search.steps)
    results.environment = asyncio.run(gather_environment(settings))
    results.finish()
    path = results.write(run_dir)
    write_report(results, run_dir)
    return SaturationRun(search=search, results_path=path)
