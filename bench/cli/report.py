"""`cqrs-bench report` and `compare`: render a run again, compare two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.report.compare import compare_files
from bench.report.files import write_report
from bench.report.results import ResultsInvalid

console = Console(stderr=True)


def report(
    run: Annotated[Path, typer.Argument(help="a run directory or its results.json")],
) -> None:
    """Render report.md, report.html and plots again from a results.json."""
    try:
        for path in write_report(run):
            print(path)
    except ResultsInvalid as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def compare(
    baseline: Annotated[Path, typer.Argument(help="run directory or results.json")],
    contender: Annotated[Path, typer.Argument(help="run directory or results.json")],
) -> None:
    """Per-figure differences between two runs, and whether each is beyond noise."""
    try:
        print(compare_files(baseline, contender))
    except (ResultsInvalid, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Attach `report` and `compare` to the root CLI."""
    app.command()(report)
    app.command()(compare)
