"""Idempotent commands: `Idempotency-Key` on every POST.

The first successful answer to a key is stored with the command's events (same statement,
`system/eventstore/idempotency.py`); a retry with the same key and the same request gets that
answer byte for byte (status and body, `Idempotent-Replayed: true`) and appends nothing; the same
key with another request (method, path or JSON body) is a 422 naming the header. A refused
command (4xx) stores nothing, so its retry runs again. Keys are kept 24 h, then pruned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request, Response

from system.api.deps import Handlers, Provenance
from system.api.errors import ApiError
from system.app.commands import CommandResult, KeyedCommand
from system.bootstrap import Container
from system.domain import commands as c
from system.domain.errors import ConcurrencyError, DomainError
from system.domain.recorded import Metadata
from system.ports import KeyTaken, StoredAnswer

KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[\x21-\x7E]{1,200}$"
"""1 to 200 visible ASCII characters (no space): e.g. a uuid4 chosen by the client."""

Render = Callable[[CommandResult], dict[str, Any]]


@dataclass(frozen=True)
class CommandContext:
    """What every command route needs besides its command: handlers, provenance, the key."""

    root: Container
    meta: Metadata
    key: str | None
    request_hash: str


async def command_context(
    request: Request,
    root: Handlers,
    meta: Provenance,
    key: Annotated[
        str | None,
        Header(
            alias=KEY_HEADER,
            pattern=KEY_PATTERN,
            description="1-200 visible ASCII characters (e.g. a uuid4). A retry with the same"
            " key and request gets the first answer (same status and body) and writes nothing;"
            " the same key with another request is a 422. Kept at least 24 h.",
            examples=["5f0c6f7e-2b1d-4c1e-9d7a-0b9f3d2e8a11"],
        ),
    ] = None,
) -> CommandContext:
    """The command's context; the request hash covers method, path and the JSON body."""
    digest = ""
    if key is not None:
        raw = await request.body()
        try:
            body = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS) if raw else b""
        except orjson.JSONDecodeError:
            body = raw
        identity = f"{request.method} {request.url.path}\n".encode() + body
        digest = hashlib.sha256(identity).hexdigest()
    return CommandContext(root=root, meta=meta, key=key, request_hash=digest)


Command = Annotated[CommandContext, Depends(command_context)]


def _answer(status: int, body: bytes, *, replayed: bool = False) -> Response:
    response = Response(body, status_code=status, media_type="application/json")
    response.headers["ETag"] = f'"{orjson.loads(body)["version"]}"'
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _replay(ctx: CommandContext, stored: StoredAnswer) -> Response:
    if stored.request_hash != ctx.request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"{KEY_HEADER} {ctx.key!r} was first used with another request (method, path or"
            " body); send a new key for a new request",
            KEY_HEADER,
        )
    return _answer(stored.status, stored.body, replayed=True)


async def execute(
    ctx: CommandContext, command: c.Command, status: int, render: Render | None = None
) -> Response:
    """Handle `command` and answer `status` with `render(result)` (default: where it landed)."""

    def rendered(result: CommandResult) -> tuple[int, bytes]:
        body = {"version": result.version, "position": result.position}
        if render is not None:
            body = {**render(result), **body}
        return status, orjson.dumps(body)

    commands = ctx.root.commands
    if ctx.key is None:
        return _answer(*rendered(await commands.handle(command, ctx.meta)))
    keyed = KeyedCommand(key=ctx.key, request_hash=ctx.request_hash, render=rendered)
    try:
        result = await commands.handle(command, ctx.meta, keyed)
    except (KeyTaken, ConcurrencyError, DomainError):
        # A retry, run again rather than looked up first (one round trip less for every
        # first try): its append failed on the stored key, or the first try's events moved
        # the stream or changed what the command may do. Either way, its answer is stored.
        stored = await ctx.root.events.stored_answer(ctx.key)
        if stored is None:
            raise
        return _replay(ctx, stored)
    return _answer(*rendered(result))
