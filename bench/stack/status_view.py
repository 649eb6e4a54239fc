"""How `cqrs-bench status` draws the stack: one row per service, supervised ones with their
restarts and last exit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from rich.table import Table

from bench.stack.process import rss_bytes


class Row(Protocol):
    """What a status row shows (`bench.stack.lifecycle.ServiceStatus`)."""

    name: str
    version: str | None
    url: str
    healthy: bool
    pid: int | None
    restarts: int | None
    last_exit: dict[str, object] | None


def status_table(rows: Sequence[Row]) -> Table:
    """The rows as a table, with the total resident memory."""
    table = Table(title="cqrs-bench stack")
    for col in ("service", "version", "address", "healthy", "pid", "rss", "restarts"):
        table.add_column(col, overflow="fold")
    table.add_column("last exit", overflow="fold")
    total = 0
    for r in rows:
        rss = rss_bytes(r.pid) if r.pid else 0
        total += rss
        table.add_row(
            r.name,
            r.version or "-",
            r.url,
            "[green]yes[/green]" if r.healthy else "[red]no[/red]",
            str(r.pid or "-"),
            f"{rss / 2**20:.0f} MiB" if rss else "-",
            "-" if r.restarts is None else str(r.restarts),
            describe_exit(r.last_exit),
        )
    table.add_section()
    table.add_row("total", "", "", "", "", f"{total / 2**20:.0f} MiB", "", "")
    return table


def describe_exit(last_exit: dict[str, object] | None, now: float | None = None) -> str:
    """`SIGKILL 42s ago (up 3.1s)`, `code 1 …`, or `-`."""
    if not last_exit:
        return "-"
    how = f"{last_exit['signal']}" if last_exit.get("signal") else f"code {last_exit.get('code')}"
    at = last_exit.get("at")
    uptime = last_exit.get("uptime_s")
    ago = (now or time.time()) - at if isinstance(at, int | float) else None
    parts = [how]
    if ago is not None:
        parts.append(f"{ago:.0f}s ago")
    if isinstance(uptime, int | float):
        parts.append(f"(up {uptime:.1f}s)")
    return " ".join(parts)
