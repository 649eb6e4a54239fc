"""`cqrs-bench micro` and `install-peers`: the micro-benchmark suites and their peers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.micro.peers import PeerNotInstalled, install_peers
from bench.micro.run import MicroRunError, PostgresUnreachable, run_micro
from bench.micro.suite import SuiteError, load_suite
from bench.report.results import ResultsInvalid
from system.config import Settings

console = Console(stderr=True)


def micro(
    suite: Annotated[str, typer.Option(help="quick, full, tiny, or a suite file")] = "quick",
    out: Annotated[
        Path | None, typer.Option(help="run directory (default reports/<run-id>)")
    ] = None,
    push_metrics: Annotated[
        bool, typer.Option("--push/--no-push", help="to the Pushgateway")
    ] = True,
) -> None:
    """Run the micro-benchmarks; write results.json, report.md/.html and plots."""
    try:
        chosen = load_suite(suite)
    except SuiteError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        run = run_micro(
            suite,
            chosen,
            Settings.from_env(),
            out,
            push_metrics=push_metrics,
            console=console,
            warn=lambda text: console.print(f"[yellow]{text}[/yellow]"),
        )
    except PostgresUnreachable as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except (MicroRunError, ResultsInvalid) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(f"report: {run.out / 'report.md'}  ({run.out / 'report.html'}, {run.results_path})")
    if run.pytest_exit_code != 0:
        failed = run.failed
        console.print(f"[red]{len(failed)} micro benchmark(s) failed: {', '.join(failed)}[/red]")
        raise typer.Exit(1)


def install_peers_command() -> None:
    """Install the peers the micro suite compares against (message-db's SQL via npm)."""
    try:
        version = install_peers(Settings.from_env())
    except PeerNotInstalled as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(f"eventsourcing: installed; message-db {version}: installed in database message_store")


def register(app: typer.Typer) -> None:
    """Attach `micro` and `install-peers` to the root CLI."""
    app.command()(micro)
    app.command("install-peers")(install_peers_command)
