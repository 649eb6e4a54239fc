"""`cqrs-bench saturate` at tiny size: short audited steps, a bracket, results and the curve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report.results import load as load_results

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("cqrs-bench"))


def test_saturate_finds_a_bracket_and_draws_the_curve(tmp_path: Path) -> None:
    proc = subprocess.run(
        [CLI, "saturate", "--scenario", "orders", "--slo", "p99=2s", "--step", "4s",
         "--warmup", "1s", "--low", "10", "--high", "40", "--max-steps", "3",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = load_results(tmp_path / "results.json").rows("saturation")
    steps = [r for r in rows if r["kind"] == "step"]
    answer = next(r for r in rows if r["kind"] == "max_rate")
    assert steps[0]["rate"] == 10 and 2 <= len(steps) <= 3
    # the first step met: double; it missed: halve
    assert steps[1]["rate"] == (20 if steps[0]["met"] else 5)
    for s in steps:
        assert s["achieved_rps"] > 0
        assert s["latency_seconds"] is not None and s["latency_seconds"] > 0
        assert s["lag_p99_seconds"] is not None and s["lag_p99_seconds"] > 0
        assert s["met"] == (s["valid"] and s["audit_passed"] and s["latency_seconds"] <= 2.0)
        assert (tmp_path / "steps" / f"rate-{s['rate']:g}" / "results.json").exists()
    met = [s["rate"] for s in steps if s["met"]]
    assert answer["met"] == bool(met)
    if met:
        assert answer["rate"] == max(met)
        assert answer["low"] <= answer["rate"] <= answer["high"]
    assert (tmp_path / "saturation.png").stat().st_size > 1000
    config = load_results(tmp_path / "results.json").config
    assert config["max_steps"] == 3
    (running,) = config["projector_settings"]
    assert set(running) == {"instance_id", "refresh", "refresh_gap_ms", "lag_stamps"}
    assert "Saturation search" in (tmp_path / "report.md").read_text()
    assert "saturation rate at p99=2000ms" in proc.stdout or not met
