"""The fault matrix: every run of a suite as its own load run, then one report of them all.

Each run goes to `<out>/<run>[-<repetition>]/` (a complete load run directory). The matrix's
own `results.json` holds every fault row (with its `run`) and every run's audit rows (named
`<run>: <check>`); `report.md`/`report.html` show them with a timeline picture per run and,
over repetitions, the median and max recovery of each fault.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.faults.recovery import all_healthy
from bench.faults.suite import FaultRun, FaultSuite
from bench.faults.timeline import fault_timeline
from bench.load.config import LoadConfig
from bench.report import html, markdown
from bench.report.environment import gather_environment
from bench.report.results import Results
from bench.run.runner import LoadRun, LoadRunError, run_load
from system.config import Settings

HEALTHY_WAIT_S = 120.0
"""How long the matrix waits for the stack to be healthy before each run."""


@dataclass
class MatrixRun:
    """One load run of the matrix, or why it could not run."""

    name: str
    out: Path
    run: LoadRun | None = None
    error: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.run is not None and self.run.audit_passed and self.error is None


def config_of(suite: FaultSuite, fault_run: FaultRun | None = None) -> LoadConfig:
    return LoadConfig(
        scenario=suite.scenario,
        model="open",
        duration_s=(fault_run and fault_run.duration_s) or suite.duration_s,
        seed=suite.seed,
        rate=suite.rate,
    )


async def _wait_healthy(settings: Settings) -> bool:
    deadline = time.monotonic() + HEALTHY_WAIT_S
    while time.monotonic() < deadline:
        if await all_healthy(settings):
            return True
        await asyncio.sleep(1.0)
    return False


def run_one(suite: FaultSuite, fault_run: FaultRun, settings: Settings, out: Path) -> MatrixRun:
    """One load run of the suite with `fault_run`'s faults."""
    done = MatrixRun(fault_run.name, out)
    if not asyncio.run(_wait_healthy(settings)):
        done.error = f"the stack was not healthy within {HEALTHY_WAIT_S:g}s before the run"
        return done
    try:
        done.run = run_load(
            config_of(suite, fault_run), settings, out, calibration_s=0, faults=fault_run.plan
        )
    except (LoadRunError, OSError) as exc:
        done.error = str(exc)
        return done
    data = json.loads(done.run.results_path.read_text())
    done.faults = [{"run": out.name, **row} for row in data.get("faults") or []]
    return done


def run_matrix(
    suite: FaultSuite,
    settings: Settings,
    out: Path,
    *,
    repeat: int = 1,
    say: Callable[[str], None] = print,
) -> list[MatrixRun]:
    """Every run of `suite`, `repeat` times, each into its own directory under `out`."""
    runs: list[MatrixRun] = []
    for r in range(repeat):
        for fault_run in suite.runs:
            name = fault_run.name if repeat == 1 else f"{fault_run.name}-{r + 1}"
            say(f"{name}: {', '.join(fault_run.plan.specs)}")
            done = run_one(suite, fault_run, settings, out / name)
            runs.append(done)
            say(f"{name}: {_outcome(done)}")
    return runs


def _outcome(done: MatrixRun) -> str:
    if done.error:
        return f"could not run: {done.error}"
    recoveries = ", ".join(
        f"{f['service']} {f['action']} {f['recovery_seconds']}s" for f in done.faults
    )
    return f"audit {'passed' if done.passed else 'FAILED'}; recovery {recoveries}"


def recovery_summary(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per fault (service, action): repetitions, median and max recovery, errors in all."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["service"], row["action"]), []).append(row)
    summary = []
    for (service, action), group in groups.items():
        times = [r["recovery_seconds"] for r in group if r["recovery_seconds"] is not None]
        errors: dict[str, int] = {}
        for r in group:
            for status, n in r["errors"].items():
                errors[status] = errors.get(status, 0) + n
        summary.append(
            {
                "service": service,
                "action": action,
                "repetitions": len(group),
                "recovered": len(times),
                "median_s": statistics.median(times) if times else None,
                "max_s": max(times) if times else None,
                "errors": errors,
            }
        )
    return summary


def summary_lines(summary: Sequence[dict[str, Any]]) -> list[str]:
    """The recovery summary as a Markdown table."""
    out = [
        "## Recovery over repetitions",
        "",
        "| fault | runs | recovered | median s | max s | errors (all runs) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in summary:
        median = "-" if s["median_s"] is None else f"{s['median_s']:.2f}"
        top = "-" if s["max_s"] is None else f"{s['max_s']:.2f}"
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(s["errors"].items())) or "none"
        out.append(
            f"| {s['service']} {s['action']} | {s['repetitions']} | {s['recovered']} |"
            f" {median} | {top} | {errors} |"
        )
    return [*out, ""]


def write_matrix_report(
    suite: FaultSuite, runs: Sequence[MatrixRun], settings: Settings, out: Path
) -> Results:
    """results.json, report.md and report.html of the matrix, with a timeline per run."""
    results = Results.new(
        f"faults/{suite.name}",
        {
            "scenario": suite.scenario,
            "rate": suite.rate,
            "duration_s": suite.duration_s,
            "runs": {r.name: r.plan.specs for r in suite.runs},
        },
    )
    images: list[str] = []
    for done in runs:
        for row in done.faults:
            results.add("faults", row)
        if done.error:
            results.add("audit", {"check": f"{done.name}: ran", "passed": False,
                                  "detail": done.error})  # fmt: skip
            results.notes.append(f"{done.name} could not run: {done.error}")
        for check in done.run.checks if done.run is not None else []:
            results.add("audit", {**check.row(), "check": f"{done.name}: {check.check}"})
        picture = fault_timeline(done.out, done.faults, out)
        if picture is not None:
            images.append(picture.name)
    results.environment = asyncio.run(gather_environment(settings))
    results.finish()
    out.mkdir(parents=True, exist_ok=True)
    results.write(out)
    data = results.to_dict()
    summary = summary_lines(recovery_summary(data.get("faults") or []))
    (out / "report.md").write_text(markdown.render(data, images) + "\n" + "\n".join(summary))
    (out / "report.html").write_text(html.render(data, images, []))
    return results
