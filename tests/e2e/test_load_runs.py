"""`cqrs-bench load` against the real stack: rates, coordinated omission, conflicts, lag, audit."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.load.samples import read_samples, sample_files
from bench.report.results import load as load_results
from system.config import Settings
from tests.e2e.own_api import own_api

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("cqrs-bench"))
DELAY_MS = 200


def run_load(out: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `cqrs-bench load` to completion; the results document (the run must have audited).

    Without the ceilings (25 s a run): tests/integration/test_kafka_e2e_latency.py and
    test_es_ceiling.py measure them."""
    proc = subprocess.run(
        [CLI, "load", "--out", str(out), "--no-ceilings", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (out / "results.json").exists(), (
        f"no results ({proc.returncode}):\n{proc.stderr[-3000:]}"
    )
    data = load_results(out).to_dict()
    data["exit_code"] = proc.returncode
    data["output"] = proc.stdout + proc.stderr
    return data


def audit_failures(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in data["audit"] if not row["passed"]]


def lag_row(data: dict[str, Any], projection: str, stage: str) -> dict[str, Any]:
    return next(r for r in data["lag"] if r["projection"] == projection and r["stage"] == stage)


def test_open_model_keeps_a_fixed_rate_within_5_percent_and_the_audit_passes(
    tmp_path: Path,
) -> None:
    data = run_load(
        tmp_path, "--scenario", "orders", "--rate", "30", "--duration", "20", "--jit-warmup", "10s"
    )
    (row,) = data["load"]
    assert row["model"] == "open"
    assert row["target_rps"] == 30
    assert abs(row["achieved_rps"] - 30) <= 1.5, data["output"]
    assert row["requests"] >= 570
    assert row["corrected"]["p99"] >= row["latency_seconds"]["p99"] * 0.99
    assert audit_failures(data) == [], data["output"]
    # Exit 3 (the generator fell behind, `valid: false`) is the machine's verdict, not the
    # system's; a busy CI box gave it once at 30 req/s. The status must match the verdict.
    assert data["exit_code"] == (0 if row["valid"] else 3), data["output"]
    stages = {r["stage"] for r in data["lag"] if r["projection"] == "order_status"}
    assert stages == {"relay", "kafka", "index", "refresh", "end_to_end"}
    for produced in ("locust_stats.csv", "locust.html", "requests.json", "report.md"):
        assert (tmp_path / produced).exists()
    configured = Settings.from_env()  # what the stack's projector was started with
    assert data["config"]["projector_settings"] == [
        {
            "instance_id": "projector",
            "lag_stamps": str(configured.lag_stamps).lower(),
            "refresh": configured.projection_refresh,
            "refresh_gap_ms": str(configured.projection_refresh_gap_ms),
        }
    ]
    assert (
        "| projector settings | instance_id=projector, lag_stamps="
        in (tmp_path / "report.md").read_text()
    )
    samples = list(read_samples(sample_files(tmp_path)))
    assert len([s for s in samples if s.request != "visibility"]) == row["requests"]
    resources = {r["process"]: r for r in data["resources"]}  # each process's CPU (/proc)
    for name in ("api", "postgres", "relay", "kafka", "elasticsearch", "locust"):
        assert resources[name]["cpu_seconds"] > 0, (name, resources.get(name))
    api = resources["api"]
    assert api["requests"] >= row["requests"] and api["events"] > 0
    assert api["cpu_ms_per_request"] > 0 and api["low"] <= api["cores"] <= api["high"]
    assert "idle_cores" in api and api["marginal_ms_per_request"] is not None
    jvms = {name for name, r in resources.items() if "jit_seconds" in r}
    assert jvms == {"kafka", "elasticsearch"}  # the JVMs, and nothing else
    # The JIT warm-up: one round (its 10 s limit is spent by the first), at the run's rate,
    # before and apart from the measured run (whose samples above are the run's own).
    warmup = data["config"]["jit_warmup"]
    (first,) = warmup["rounds"]
    assert set(first["jit_seconds"]) == {"kafka", "elasticsearch"}
    assert first["load_seconds"] == 10 and first["seconds"] > 10 and warmup["limit_s"] == 10
    warmed = (tmp_path / "jit-warmup" / "round-1" / "locust_stats.csv").read_text().splitlines()
    total = next(r for r in csv.DictReader(warmed) if r["Name"] == "Aggregated")
    assert 250 <= int(total["Request Count"]) <= 330  # 30/s for 10 s
    assert any(n.startswith("JIT warm-up: 1 round(s), ") for n in data["notes"]), data["notes"]


@pytest.fixture
def slow_api(tmp_path: Path) -> Iterator[str]:
    """A second API process on a free port that sleeps DELAY_MS before every request."""
    with own_api(tmp_path, {"CQRS_API_TEST_DELAY_MS": str(DELAY_MS)}) as url:
        yield url


def predicted_corrected_p99(intended: list[float], service_s: float, slots: int) -> float:
    """p99 of (finish - intended) for a FIFO queue of `slots` senders busy `service_s` each."""
    free = [intended[0]] * slots
    waits = []
    for t in sorted(intended):
        i = min(range(slots), key=free.__getitem__)
        start = max(t, free[i])
        free[i] = start + service_s
        waits.append(free[i] - t)
    waits.sort()
    return waits[int(0.99 * len(waits)) - 1]


def test_a_slowed_server_shows_in_corrected_latency_as_the_injected_delay_predicts(
    tmp_path: Path, slow_api: str
) -> None:
    # One sender, 6 req/s offered, 200 ms per request: at most ~4.8/s get through, so the
    # schedule slips and requests wait for the sender; only the corrected figures see that.
    out = tmp_path / "run"
    data = run_load(
        out,
        "--scenario", "banking", "--rate", "6", "--slots", "1", "--duration", "10",
        env={"CQRS_API_URL": slow_api},
    )  # fmt: skip
    (row,) = data["load"]
    raw, corrected = row["latency_seconds"], row["corrected"]
    delay = DELAY_MS / 1000
    assert delay <= raw["p50"] <= delay + 0.1, raw
    assert corrected["p99"] > raw["p99"] + 0.5, (raw, corrected)
    samples = list(read_samples(sample_files(out)))
    mean_service = sum(s.latency for s in samples) / len(samples)
    predicted = predicted_corrected_p99([s.intended for s in samples], mean_service, 1)
    assert corrected["p99"] == pytest.approx(predicted, rel=0.2)
    assert "schedule not kept" in " ".join(data.get("notes", []))


def api_conflicts(settings: Settings) -> int:
    text = httpx.get(f"{settings.api_url}/metrics", timeout=10).text
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("cqrs_command_conflicts_total")
        )
    )


def test_contention_conflicts_are_counted_identically_by_locust_the_api_and_the_audit(
    tmp_path: Path, settings: Settings
) -> None:
    before = api_conflicts(settings)
    data = run_load(
        tmp_path,
        "--scenario", "contention", "--users", "16", "--think-time", "0.05",
        "--duration", "10", "--zipf", "1.2", "--keys", "4",
    )  # fmt: skip
    after = api_conflicts(settings)
    (row,) = data["load"]
    assert row["conflicts"] > 0
    counted = after - before
    check = next(r for r in data["audit"] if r["check"] == "conflicts_counted_identically")
    assert check["passed"], check["detail"]
    assert check["detail"] == (
        f"409 conflicts: samples {counted} ({counted} genuine), locust {counted},"
        f" API metric {counted}"
    )
    assert audit_failures(data) == []


def test_read_your_writes_visibility_median_lies_where_the_stage_stamps_predict(
    tmp_path: Path,
) -> None:
    data = run_load(tmp_path, "--scenario", "read-your-writes", "--rate", "10", "--duration", "10")
    visibility = lag_row(data, "account_balance", "visibility")
    end_to_end = lag_row(data, "account_balance", "end_to_end")
    # Visible = searchable (end_to_end after the commit) minus the ack's head start, plus
    # the query's polling slack.
    low, high = 0.5 * end_to_end["p50"] - 0.02, end_to_end["p99"] + 0.1
    assert low <= visibility["p50"] <= high, (visibility, end_to_end)
    assert audit_failures(data) == []


def test_the_audit_fails_the_run_when_a_read_model_doc_vanishes(
    tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [CLI, "load", "--out", str(out), "--scenario", "read-heavy", "--rate", "10",
         "--duration", "8", "--no-ceilings"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "seed.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    victim = json.loads((out / "seed.json").read_text())["accounts"][0]["id"]
    index = f"{settings.es_index_prefix}-account_balance"
    doc = httpx.get(f"{settings.es_url}/{index}/_doc/{victim}", timeout=10).json()
    # Versioned like the projector's writes, so the same version can put the doc back after.
    where = (
        f"{settings.es_url}/{index}/_doc/{victim}"
        f"?version={doc['_version']}&version_type=external_gte&refresh=true"
    )
    r = httpx.delete(where, timeout=10)
    assert r.status_code == 200, r.text
    try:
        output, _ = proc.communicate(timeout=300)
    finally:
        restored = httpx.put(where, json=doc["_source"], timeout=10)
    assert restored.status_code in (200, 201), restored.text
    assert proc.returncode == 2, output
    assert "AUDIT FAILED" in output
    data = load_results(out).to_dict()
    (failed,) = audit_failures(data)
    assert failed["check"] == "read_model_account_balance_matches_reference"
    assert victim in failed["detail"]


def test_a_distributed_run_with_two_workers_shares_one_timetable(tmp_path: Path) -> None:
    data = run_load(
        tmp_path, "--scenario", "orders", "--rate", "20", "--duration", "10", "--workers", "2"
    )
    (row,) = data["load"]
    assert abs(row["achieved_rps"] - 20) <= 1.0, data["output"]
    samples = [s for s in read_samples(sample_files(tmp_path)) if s.phase == "measured"]
    assert {s.worker for s in samples} == {0, 1}
    by_worker = [sum(s.worker == w for s in samples) for w in (0, 1)]
    assert abs(by_worker[0] - by_worker[1]) <= 1
    assert audit_failures(data) == [], data["output"]
