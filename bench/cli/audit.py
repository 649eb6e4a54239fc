"""`cqrs-bench audit [--since POSITION] [RUN_DIR]`: the consistency audit, standalone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench.audit.checks import Check
from bench.audit.run import AuditInputError, audit_live
from bench.cli.common import fail
from system.config import Settings

console = Console()


def audit_command(
    run_dir: Annotated[
        Path | None,
        typer.Argument(
            metavar="RUN_DIR",
            help="a `cqrs-bench load` run directory: audit the streams it seeded"
            " (seed.json) or sent commands to (samples-*.jsonl), and its 409s",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        int | None,
        typer.Option(
            "--since",
            metavar="POSITION",
            help="audit every stream with an event after this global position"
            " (default 0: every stream); not with RUN_DIR",
            show_default=False,
        ),
    ] = None,
    catch_up_timeout: Annotated[
        float,
        typer.Option(
            "--catch-up-timeout",
            metavar="SECONDS",
            help="how long to wait for the projections to reach the audited streams' last position",
        ),
    ] = 60.0,
) -> None:
    """Check the live stack: every read-model document equals what an independent reference
    model folds from the event store, at its stream's last version and position, applied in
    order; acknowledged commands are stored; balances and stock never went negative; and
    (with RUN_DIR) every 409 was a genuine conflict when it happened.

    Exit status: 0 every check passed; 2 a check failed (named, with its ids); 1 could not run.
    """
    if since is not None and run_dir is not None:
        fail("give --since or RUN_DIR, not both")
    if since is not None and since < 0:
        fail(f"--since must be a position >= 0, got {since}")
    if catch_up_timeout <= 0:
        fail(f"--catch-up-timeout must be > 0 seconds, got {catch_up_timeout:g}")
    settings = Settings.from_env()
    try:
        streams, checks = asyncio.run(
            audit_live(
                settings,
                since=since or 0,
                run_dir=run_dir,
                catch_up_timeout_s=catch_up_timeout,
            )
        )
    except AuditInputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"the stack is not reachable ({exc}); `cqrs-bench status` shows what is down")
    scope = (
        f"run {run_dir}" if run_dir is not None else f"streams written after position {since or 0}"
    )
    console.print(_table(checks, f"audit of {scope} ({streams} streams)"))
    failed = [c for c in checks if not c.passed]
    if failed:
        for check in failed:
            typer.echo(f"FAILED {check.check}: {check.detail}")
        console.print("[bold red]AUDIT FAILED[/bold red]")
        raise typer.Exit(2)
    console.print(f"[green]audit passed: {len(checks)} checks[/green]")


def _table(checks: list[Check], title: str) -> Table:
    table = Table(title=title)
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for c in checks:
        result = "[green]pass[/green]" if c.passed else "[bold red]FAIL[/bold red]"
        table.add_row(c.check, result, c.detail)
    return table


def register(app: typer.Typer) -> None:
    """Attach `audit` to the root CLI."""
    app.command("audit")(audit_command)
