"""What several command groups share: failing with a clear message, a stack that is up, and
where a run writes when --out does not say."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from system.config import Settings

console = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Print `error: message` and exit with status 1."""
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def ensure_stack(settings: Settings) -> None:
    """Bring the stack up (idempotent: healthy services are left alone), or fail saying why."""
    from bench.stack import lifecycle as stack
    from bench.stack.process import StackError

    stack.load_services()
    try:
        asyncio.run(stack.bring_up(settings))
    except StackError as exc:
        fail(f"the stack is not up: {exc}")


def default_run_dir(kind: str) -> Path:
    """`reports/<kind>-<UTC time>`: a run's directory when --out does not name one."""
    return Path("reports") / f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
