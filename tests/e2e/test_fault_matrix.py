"""The quick fault matrix through the real CLI: each of api, relay, projector (SIGKILL), Kafka
and Elasticsearch (paused 5 s) and PostgreSQL (restarted) hit once during its own short load
run. Every fault recovers by itself and its recovery time is reported, every run's audit passes
(nothing acknowledged lost or applied twice, no read model went back), no client saw a 500, and
the report holds the table and a timeline per run. The stack is left healthy.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from bench.faults.suite import load_suite
from system.config import Settings
from tests.e2e.outage_support import CLI, wait_healthy

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
async def test_the_quick_fault_matrix_recovers_and_loses_nothing(
    stack: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "matrix"
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [CLI, "faults", "--suite", "quick", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=840,
        )
    finally:
        await wait_healthy(stack, timeout_s=180)
    print(done.stdout[-4000:])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    data = json.loads((out / "results.json").read_text())
    suite = load_suite("quick")
    rows = data["faults"]
    expected = [(r.name, f.service, f.label) for r in suite.runs for f in r.plan.faults]
    assert [(r["run"], r["service"], r["action"]) for r in rows] == expected
    for row in rows:
        assert row["recovered"] and row["recovery_seconds"] > 0, row
        assert row["at"] >= 0 and isinstance(row["errors"], dict), row
        assert "500" not in row["errors"], f"a dependency fault answered 500: {row}"
    audit = data["audit"]
    assert audit and all(a["passed"] for a in audit), [a for a in audit if not a["passed"]]
    probed = [a for a in audit if a["check"].endswith("read_models_never_went_back")]
    assert len(probed) == len(suite.runs)
    report = (out / "report.md").read_text()
    for run in suite.runs:
        assert (out / f"timeline_{run.name}.png").stat().st_size > 10_000
        assert f"timeline_{run.name}.png" in report
    assert "Recovery over repetitions" in report
