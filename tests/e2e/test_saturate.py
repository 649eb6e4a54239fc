"""`cqrs-bench saturate` at tiny size: short audited steps, a bracket, results and the curve;
a toss-up step rechecked by a longer run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load.options import config_from_flags
from bench.report.constants import step_dir
from bench.report.results import load as load_results
from bench.saturate.search import Slo, StepResult, saturate
from bench.saturate.steps import run_step, saturation_rows
from system.config import Settings

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("cqrs-bench"))


def test_saturate_finds_a_bracket_and_draws_the_curve(tmp_path: Path) -> None:
    proc = subprocess.run(
        [CLI, "saturate", "--scenario", "orders", "--slo", "p99=2s", "--step", "4s",
         "--warmup", "1s", "--low", "10", "--high", "40", "--max-steps", "3",
         "--jit-warmup", "5s", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = load_results(tmp_path / "results.json").rows("saturation")
    runs = [r for r in rows if r["kind"] == "step"]
    steps = [r for r in runs if not r["recheck"]]  # a toss-up's recheck follows its step
    answer = next(r for r in rows if r["kind"] == "max_rate")
    assert steps[0]["rate"] == 10 and 2 <= len(steps) <= 3
    # the first step met: double; it missed: halve
    assert steps[1]["rate"] == (20 if steps[0]["met"] else 5)
    for s in runs:
        assert s["step_seconds"] == (12 if s["recheck"] else 4)
        assert s["achieved_rps"] > 0
        assert s["latency_seconds"] is not None and s["latency_seconds"] > 0
        assert s["lag_p99_seconds"] is not None and s["lag_p99_seconds"] > 0
        assert s["met"] == (s["valid"] and s["audit_passed"] and s["latency_seconds"] <= 2.0)
        stretch = 3 if s["recheck"] else 1
        assert (step_dir(tmp_path, s["rate"], stretch) / "results.json").exists()
    verdicts = {s["rate"]: s["met"] for s in runs}  # a recheck's verdict overrides its step's
    met = [rate for rate, ok in verdicts.items() if ok]
    assert answer["met"] == bool(met)
    if met:
        assert answer["rate"] == max(met)
        assert answer["low"] <= answer["rate"] <= answer["high"]
    assert (tmp_path / "saturation.png").stat().st_size > 1000
    config = load_results(tmp_path / "results.json").config
    assert config["max_steps"] == 3 and config["recheck"] == 3 and config["jit_warmup_s"] == 5
    # Only the first step warms the JVMs first, in one round cut to the 5 s limit.
    warmed = [
        load_results(
            step_dir(tmp_path, s["rate"], 3 if s["recheck"] else 1) / "results.json"
        ).config.get("jit_warmup")
        for s in runs
    ]
    assert warmed[0] is not None and len(warmed[0]["rounds"]) == 1
    assert warmed[1:] == [None] * (len(runs) - 1)
    assert "JIT warm-up round of" in proc.stdout
    (running,) = config["projector_settings"]
    assert set(running) == {"instance_id", "refresh", "refresh_gap_ms", "lag_stamps"}
    assert "Saturation search" in (tmp_path / "report.md").read_text()
    assert "saturation rate at p99=2000ms" in proc.stdout or not met


def _measured_span(run_dir: Path) -> float:
    """Seconds from the first to the last intended start of a load run's measured requests."""
    starts = [
        sample["intended"]
        for path in run_dir.glob("samples-*.jsonl")
        for sample in map(json.loads, path.read_text().splitlines())
        if sample.get("phase") != "warmup"
    ]
    return max(starts) - min(starts)


def test_a_recheck_step_runs_stretch_times_as_long_in_its_own_directory(
    tmp_path: Path, stack: Settings
) -> None:
    config = config_from_flags(
        "orders", duration="2s", warmup="1s", seed=1, rate=10, duration_flag="--step"
    )
    probe = run_step(stack, tmp_path, config, rate=10, slo=Slo("p50", 1.0))
    low, high = probe.latency_low_s, probe.latency_high_s
    assert low is not None and high is not None and low < high, probe
    # the real 2-s step, judged against an SLO inside its own interval: a toss-up. Taken as
    # valid: a generator that fell behind on a busy box would make it a plain miss, and what
    # this test checks is the recheck's run, not the probe's
    slo = Slo("p50", (low + high) / 2)
    tossup = dataclasses.replace(probe, slo=slo, valid=True, audit_passed=True)
    assert tossup.soft

    def step(rate: float, stretch: int) -> StepResult:
        if stretch == 1:
            return tossup
        return run_step(stack, tmp_path, config, rate=rate, slo=slo, stretch=stretch)

    search = saturate(step, low=10, high=10, max_steps=1, recheck=2)
    short, long = search.steps
    assert short is tossup
    assert (long.rate, long.recheck, long.step_s) == (10, True, 4.0)
    assert search.max_rate == (10 if long.met else None)  # the longer run's verdict counts
    assert step_dir(tmp_path, 10, 2) == tmp_path / "steps" / "rate-10-x2"
    (load,) = load_results(step_dir(tmp_path, 10, 2) / "results.json").rows("load")
    assert load["duration_s"] == 4.0 and 36 <= load["requests"] <= 44
    spans = [_measured_span(step_dir(tmp_path, 10, stretch)) for stretch in (1, 2)]
    assert spans[0] == pytest.approx(2.0, abs=0.3) and spans[1] == pytest.approx(4.0, abs=0.3)
    rows = saturation_rows(search, slo)
    assert [(r["recheck"], r["step_seconds"]) for r in rows[:2]] == [(False, 2.0), (True, 4.0)]
