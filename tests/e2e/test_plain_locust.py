"""Plain `locust -f bench/scenarios/locustfile.py` against the stack: defaults, tags, workers."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load.locust_process import free_port
from system.config import Settings

pytestmark = pytest.mark.e2e

LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = str(Path(__file__).resolve().parents[2] / "bench" / "scenarios" / "locustfile.py")


def stats(prefix: Path) -> dict[str, tuple[int, int]]:
    """Request name → (requests, failures) from locust's own CSV."""
    with Path(f"{prefix}_stats.csv").open() as f:
        return {
            r["Name"]: (int(r["Request Count"]), int(r["Failure Count"])) for r in csv.DictReader(f)
        }


def locust(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOCUST, "-f", LOCUSTFILE, "--csv", str(cwd / "st"), "--only-summary", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_headless_with_defaults_makes_requests_without_errors(
    tmp_path: Path, settings: Settings
) -> None:
    done = locust(
        tmp_path, "--headless", "-u", "4", "-r", "4", "-t", "15s", "--host", settings.api_url,
        "--exporter-port", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    counts = stats(tmp_path / "st")
    total, failures = counts.pop("Aggregated")
    assert total >= 40, counts  # orders at the default 10 req/s, after seeding and lead time
    assert failures == 0, counts
    assert "place order" in counts and "inventory" in counts
    (run,) = (tmp_path / "reports").iterdir()
    assert (run / "seed.json").exists()
    assert list(run.glob("samples-*.jsonl"))


def test_tags_master_and_workers_and_custom_arguments(tmp_path: Path, settings: Settings) -> None:
    """Two workers get the scenario, rate and seed from the master; --tags keeps queries only."""
    port = str(free_port())
    workers = [
        subprocess.Popen(
            [LOCUST, "-f", LOCUSTFILE, "--worker", "--master-port", port],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        done = locust(
            tmp_path, "--master", "--master-bind-port", port, "--expect-workers", "2",
            "--headless", "-u", "6", "-r", "6", "-t", "12s", "--host", settings.api_url,
            "--scenario", "read-heavy", "--rate", "20", "--seed", "7", "--tags", "query",
            "--exporter-port", "0",
        )  # fmt: skip
    finally:
        for w in workers:
            w.wait(timeout=30)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = stats(tmp_path / "st")
    total, failures = counts.pop("Aggregated")
    # 20 req/s for 12 s less the workers' start: on a loaded 2-core box about 90-200 requests;
    # what matters is that both workers ran the master's scenario without a failure.
    assert failures == 0 and total >= 40, counts
    assert set(counts) <= {"balance", "order status", "customer orders", "inventory", "revenue"}
    (run,) = (tmp_path / "reports").iterdir()
    assert len(list(run.glob("samples-*.jsonl"))) == 2
