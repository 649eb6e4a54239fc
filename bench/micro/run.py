"""A micro run: pytest over bench/micro, then results.json, the report and the push."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.export.pushgateway import push
from bench.micro.assemble import add_sections, add_targets
from bench.micro.suite import Suite
from bench.report.cpu_probe import CpuProbe, changed
from bench.report.environment import (
    collect_environment,
    new_run_id,
    postgres_version,
)
from bench.report.files import write_report
from bench.report.results import Results
from system.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MICRO_DIR = ROOT / "bench" / "micro"


class MicroRunError(Exception):
    """The run produced no benchmark data; the message says where to look."""


class PostgresUnreachable(MicroRunError):
    """PostgreSQL did not answer, so the run did not start."""


@dataclass(frozen=True)
class MicroRun:
    """Where a micro run wrote its results, and which benchmarks failed."""

    out: Path
    results_path: Path
    pytest_exit_code: int
    failed: list[str]


def _collect(suite: str) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(MICRO_DIR),
            f"--suite={suite}",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(1 for line in out.stdout.splitlines() if "::" in line)


def run_pytest(
    suite: str, json_path: Path, log_path: Path, console: Console
) -> tuple[int, list[str]]:
    """Run the micro suites with a progress bar; returns pytest's exit code and failed tests."""
    total = _collect(suite)
    failed: list[str] = []
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(MICRO_DIR),
        f"--suite={suite}",
        "-v",
        "-p",
        "no:cacheprovider",
        f"--benchmark-json={json_path}",
        "--benchmark-columns=median,iqr,rounds",
        "--benchmark-sort=name",
    ]
    with (
        log_path.open("w", buffering=1) as log,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task(f"micro suite {suite}", total=total)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if "::" in line and any(w in line for w in (" PASSED", " FAILED", " ERROR")):
                name = line.split(" ", 1)[0].split("::", 1)[-1]
                progress.update(task, advance=1, description=name[:60])
                if " FAILED" in line or " ERROR" in line:
                    failed.append(name)
        code = proc.wait()
    return code, failed


def run_micro(
    suite: str,
    chosen: Suite,
    settings: Settings,
    out: Path | None,
    *,
    push_metrics: bool,
    console: Console,
    warn: Callable[[str], None],
) -> MicroRun:
    """Run suite `chosen` (named `suite` on pytest's command line) into `out` (default
    reports/<run-id>): results.json, report.md/.html and plots, then push the figures. The
    machine's speed is probed around and during pytest (cpu-probe.jsonl, bench/report/cpu_probe.py).

    Raises PostgresUnreachable before starting, MicroRunError when pytest wrote no benchmark
    data, ResultsInvalid when the results do not match the schema.
    """
    if asyncio.run(postgres_version(settings.pg_dsn)) is None:
        raise PostgresUnreachable(
            f"PostgreSQL not reachable at {settings.pg_dsn}: run `cqrs-bench up`"
        )
    run_id = new_run_id()
    out = out or ROOT / "reports" / run_id
    out.mkdir(parents=True, exist_ok=True)
    results = Results.new(chosen.name, chosen.as_config(), run_id=run_id)
    json_path = out / "pytest-benchmark.json"
    probe = CpuProbe()
    probe.start(out)
    try:
        code, failed = run_pytest(suite, json_path, out / "pytest.log", console)
    finally:
        speed = probe.stop()
    if not json_path.is_file():
        raise MicroRunError(f"pytest wrote no benchmark data; see {out / 'pytest.log'}")
    add_sections(results, json.loads(json_path.read_text())["benchmarks"])
    add_targets(results, chosen.targets)
    results.notes.extend(f"FAILED: {name} (see pytest.log)" for name in failed)
    results.environment = collect_environment(settings)
    results.environment["cpu_probe"] = speed
    if (note := changed(speed)) is not None:
        results.notes.append(note)
    results.finish()
    path = results.write(out)
    write_report(path)
    if push_metrics:
        try:
            push(results.to_dict(), settings.pushgateway_url)
        except OSError as exc:
            warn(f"Pushgateway not reached ({exc}); figures not pushed")
    return MicroRun(out=out, results_path=path, pytest_exit_code=code, failed=failed)
