"""Overload: a server slower than the offered rate makes the run INVALID (exit 3), and the
requests the generator never sent are in the corrected percentiles, censored at the end."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load.pacing import read_unsent
from bench.load.samples import read_samples, sample_files
from bench.report.constants import LagStage
from bench.report.results import load as load_results
from tests.e2e.own_api import own_api

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("cqrs-bench"))
DELAY_MS = 200
RATE = 30
SLOTS = 2
DURATION_S = 8


@pytest.fixture
def slow_api(tmp_path: Path) -> Iterator[str]:
    with own_api(tmp_path, {"CQRS_API_TEST_DELAY_MS": str(DELAY_MS)}) as url:
        yield url


def percentile(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def test_an_overloaded_run_is_invalid_and_its_corrected_latency_counts_the_unsent(
    tmp_path: Path, slow_api: str
) -> None:
    # Two senders, 200 ms per request: at most ~10 req/s get out of the 30 req/s offered, so
    # about two thirds of the timetable is still waiting when the run time ends.
    out = tmp_path / "run"
    proc = subprocess.run(
        [CLI, "load", "--out", str(out), "--scenario", "banking", "--rate", str(RATE),
         "--slots", str(SLOTS), "--duration", str(DURATION_S), "--calibration", "2",
         "--no-ceilings"],
        env={**os.environ, "CQRS_API_URL": slow_api},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "INVALID: the generator fell behind" in output

    data = load_results(out).to_dict()
    (row,) = data["load"]
    assert row["valid"] is False
    assert "unsent" in row["invalid_reason"]
    assert row["scheduled"] == RATE * DURATION_S
    assert row["unsent"] > 0.5 * row["scheduled"], row
    assert row["requests"] + row["unsent"] == row["scheduled"]
    assert all(r["passed"] for r in data["audit"]), data["audit"]

    first = (out / "report.md").read_text().splitlines()[0]
    assert first.startswith("INVALID: the generator fell behind:"), first
    assert f"{row['invalid_reason']}" in first
    assert "<title>INVALID " in (out / "report.html").read_text()

    # The corrected figures are those of every scheduled request: the sent ones from their
    # samples, the never-sent ones censored at the moment their locust process stopped.
    sent = [
        s.corrected
        for s in read_samples(sample_files(out))
        if s.phase == "measured" and s.request != LagStage.VISIBILITY
    ]
    censored = [max(0.0, r.stopped_at - t) for r in read_unsent(out) for t in r.intended]
    assert len(censored) == row["unsent"]
    everything = sent + censored
    for key, q in (("p50", 0.5), ("p99", 0.99)):
        assert row["corrected"][key] == pytest.approx(percentile(everything, q), rel=0.01)
    assert percentile(sent, 0.5) != pytest.approx(row["corrected"]["p50"], rel=0.05)
    # A bound from the run alone: the unsent are the timetable's last `unsent` tickets, so 1 %
    # of all scheduled waited at least (unsent - 1 % of scheduled) / rate seconds.
    bound = (row["unsent"] - 0.01 * row["scheduled"]) / RATE
    assert row["corrected"]["p99"] >= bound

    calibration = row["calibration"]
    assert calibration["route"] == "/health/live"
    assert calibration["target_rps"] == RATE
    assert calibration["requests"] > 0
    assert calibration["latency_seconds"]["p50"] >= DELAY_MS / 1000


@pytest.mark.parametrize(
    ("route", "request_name"), [("/health/live", "health live"), ("/health", "health")]
)
def test_calibrate_reports_the_generator_floor_on_the_route_asked(
    tmp_path: Path, route: str, request_name: str
) -> None:
    out = tmp_path / "calibration"
    with own_api(tmp_path, {"CQRS_API_TEST_DELAY_MS": "0"}) as url:
        proc = subprocess.run(
            [CLI, "calibrate", "--rate", "20", "--duration", "3", "--route", route,
             "--out", str(out)],
            env={**os.environ, "CQRS_API_URL": url},
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "send lag p99 ms" in proc.stdout
    row = json.loads((out / "calibration.json").read_text())
    assert row["route"] == route
    assert row["requests"] + row["unsent"] == 60
    assert row["unsent"] == 0
    assert row["failures"] == 0
    samples = list(read_samples(sample_files(out)))
    assert {s.request for s in samples} == {request_name}
    assert {s.status for s in samples} == {200}
    lags = [max(0.0, s.send_lag) for s in samples]
    assert row["send_lag_seconds"]["max"] == pytest.approx(max(lags), rel=0.01, abs=2e-6)
