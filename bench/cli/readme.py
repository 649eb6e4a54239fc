"""`cqrs-bench readme [--check]`: the README's figures, regenerated from the reference runs."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.report.readme import README, ReadmeError, render
from bench.report.reference_runs import REFERENCE, references
from bench.report.results import ResultsInvalid

console = Console()


def readme(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="change nothing; exit 1 (with a diff) when the README is stale"
        ),
    ] = False,
    path: Annotated[Path, typer.Option("--readme", help="the README to rewrite")] = README,
    reference: Annotated[
        Path, typer.Option("--reference", help="the folder of committed reference runs")
    ] = REFERENCE,
) -> None:
    """Rewrite the README's figure blocks from reports/reference/*/results.json.

    Every figure in the README comes from a committed reference run, with its command. After a
    new reference run (copy a `make bench` run directory into reports/reference/), run this and
    commit both.
    """
    try:
        current = path.read_text()
        wanted = render(current, references(reference))
    except (OSError, ReadmeError, ResultsInvalid) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if wanted == current:
        console.print(f"{path.name} is up to date with {reference}")
        return
    if check:
        diff = difflib.unified_diff(
            current.splitlines(),
            wanted.splitlines(),
            "README (committed)",
            "README (generated)",
            lineterm="",
        )
        print("\n".join(diff))
        console.print(
            f"[red]{path.name} differs from the reference runs: run `cqrs-bench readme`[/red]"
        )
        raise typer.Exit(1)
    path.write_text(wanted)
    console.print(f"rewrote the figures of {path}")


def register(app: typer.Typer) -> None:
    """Attach `readme` to the root CLI."""
    app.command("readme")(readme)
