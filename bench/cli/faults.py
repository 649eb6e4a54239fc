"""`cqrs-bench faults`: the fault matrix (every fault of a suite in its own load run)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.cli.common import console, ensure_stack, fail

EXIT_AUDIT_FAILED = 2


def faults(
    suite: Annotated[
        str,
        typer.Option(
            help="quick (each service once, about 4 minutes), full, or a TOML file shaped like"
            " bench/suites/faults-quick.toml"
        ),
    ] = "quick",
    repeat: Annotated[int, typer.Option(help="run the whole suite this many times")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="matrix directory (one sub-directory per run)")
    ] = None,
) -> None:
    """Inject each fault of a suite into its own short load run; report recovery and errors.

    Each run is `cqrs-bench load` with `--fault` (see its help): the audit must pass (nothing
    acknowledged lost, nothing applied twice, no read model went back), and each fault's
    recovery is the time until every service was healthy and every projection had caught up
    with the store head at the fault. Writes results.json, report.md and report.html with a
    timeline picture per run and, over --repeat, the median and max recovery per fault.

    Exit status: 0 every run passed its audit and recovered, 2 an audit failed or a fault did
    not recover, 1 a run could not be carried out.
    """
    from bench.faults.suite import SuiteError, load_suite
    from bench.run.fault_matrix import run_matrix, write_matrix_report
    from system.config import Settings

    if repeat < 1:
        fail(f"--repeat must be at least 1, got {repeat}")
    try:
        loaded = load_suite(suite)
    except SuiteError as exc:
        fail(str(exc))
    settings = Settings.from_env()
    ensure_stack(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    matrix_dir = out or Path("reports") / f"faults-{loaded.name}-{stamp}"
    runs = run_matrix(loaded, settings, matrix_dir, repeat=repeat, say=console.print)
    write_matrix_report(loaded, runs, settings, matrix_dir)
    Console().print((matrix_dir / "report.md").read_text())
    Console().print(f"report: {matrix_dir / 'report.md'}")
    if any(r.error for r in runs):
        raise typer.Exit(1)
    unrecovered = [f for r in runs for f in r.faults if f["recovery_seconds"] is None]
    if unrecovered or not all(r.passed for r in runs):
        raise typer.Exit(EXIT_AUDIT_FAILED)


def register(app: typer.Typer) -> None:
    """Attach `faults` to the root CLI."""
    app.command()(faults)
