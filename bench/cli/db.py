"""`cqrs-bench db migrate` and `cqrs-bench events ID`: create the event store, look inside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from system.bootstrap import migrate_event_store, open_event_store
from system.config import Settings
from system.domain import AGGREGATES
from system.domain.codec import decode_event

console = Console()
db_app = typer.Typer(help="The event store's database.", no_args_is_help=True)


@db_app.command("migrate")
def migrate_command() -> None:
    """Create or update the event store's tables (idempotent).

    Connects as the owner role (CQRS_PG_OWNER_DSN, default: CQRS_PG_DSN's server as
    `cqrs_owner`) and grants the application role of CQRS_PG_DSN only what it uses.
    """

    async def run() -> None:
        await migrate_event_store(Settings.from_env())

    asyncio.run(run())
    console.print("[green]event store schema is up to date[/green]")


def parse_until(text: str) -> datetime:
    """ISO-8601 time; a bare date means the end of that day; no offset means UTC."""
    moment = datetime.fromisoformat(text)
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time.max)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def events_command(
    aggregate_id: Annotated[str, typer.Argument(help="The stream (aggregate id) to print.")],
    until: Annotated[
        str | None,
        typer.Option(
            help="Only events recorded at or before this ISO-8601 time"
            " (UTC if no offset; a bare date means the end of that day).",
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option(min=1, help="Only events up to this version (1 or more).")
    ] = None,
) -> None:
    """Print a stream's events and the state they fold to (optionally as of a time or version)."""
    until_time = parse_until(until) if until else None

    async def run() -> None:
        store = await open_event_store(Settings.from_env(), min_size=1, max_size=1)
        try:
            recorded = await store.load(aggregate_id, until_version=version, until_time=until_time)
        finally:
            await store.close()
        if not recorded:
            console.print(f"[yellow]no events for {aggregate_id!r} within the bounds[/yellow]")
            raise typer.Exit(1)
        table = Table(title=f"{recorded[0].aggregate_type} {aggregate_id}")
        for column in ("version", "position", "recorded at", "event", "data", "metadata"):
            table.add_column(column)
        aggregate = AGGREGATES[recorded[0].aggregate_type](aggregate_id)
        for event in recorded:
            aggregate.apply(decode_event(event.event_type, event.data))
            table.add_row(
                str(event.version),
                str(event.position),
                event.recorded_at.isoformat(timespec="milliseconds"),
                event.event_type,
                event.data.decode(),
                msgspec.json.encode(event.metadata).decode(),
            )
        console.print(table)
        console.print(f"state at version {aggregate.version}:")
        console.print_json(msgspec.json.encode(aggregate.state).decode())

    asyncio.run(run())


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.command("events")(events_command)
