"""`cqrs-bench projections rebuild NAME | status`: rebuild a read model live, see every position."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from system.bootstrap import open_event_store, open_read_store
from system.config import Settings
from system.projections import PROJECTIONS
from system.projections.rebuild import rebuild

console = Console()
projections_app = typer.Typer(
    help="The read models (Elasticsearch projections).", no_args_is_help=True
)


@projections_app.command("rebuild")
def rebuild_command(
    name: Annotated[str, typer.Argument(help=f"one of {', '.join(PROJECTIONS)}")],
    swap: Annotated[
        bool, typer.Option(help="put the rebuilt index behind the alias when caught up")
    ] = True,
) -> None:
    """Replay the event store into a fresh index and swap the alias, while traffic continues."""
    if name not in PROJECTIONS:
        raise typer.BadParameter(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    report = asyncio.run(rebuild(Settings.from_env(), name, swap=swap))
    console.print(
        f"[green]{report.name}[/green]: {report.events:,} events → {report.docs:,} docs in"
        f" {report.index} ({report.seconds:.1f}s, {report.events_per_s:,.0f} events/s,"
        f" {report.rounds} rounds)"
    )
    if report.replaced:
        console.print(
            f"previous index kept: {', '.join(report.replaced)} (delete it when no longer needed)"
        )


@projections_app.command("status")
def status_command() -> None:
    """Each projection's index, documents, position and how far behind the event store it is."""

    async def collect() -> tuple[int, list[tuple[str, str, int, int]]]:
        settings = Settings.from_env()
        store = open_read_store(settings)
        events = await open_event_store(settings, min_size=1, max_size=1)
        try:
            head = await events.head_position()
            positions = await store.projection_positions(list(PROJECTIONS))
            rows = []
            for name in PROJECTIONS:
                indices = await store.aliased_indices(name)
                docs = 0
                if indices:
                    docs = int((await store.client.count(index=store.alias(name)))["count"])
                rows.append((name, ", ".join(indices) or "-", docs, positions[name]))
            return head, rows
        finally:
            await events.close()
            await store.close()

    head, rows = asyncio.run(collect())
    table = Table(title=f"projections (event store head {head:,})")
    for column in ("projection", "index", "docs", "position", "behind"):
        table.add_column(column)
    for name, index, docs, position in rows:
        table.add_row(name, index, f"{docs:,}", f"{position:,}", f"{head - position:,}")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Attach `projections` to the root CLI."""
    app.add_typer(projections_app, name="projections")
