"""Request-scoped inputs shared by the routes: the handlers, If-Match, read-your-writes.

Every dependency is `async def` though none awaits: FastAPI runs a plain `def` dependency in
its thread pool, and those hand-offs to a worker thread and back were about a tenth of the
api's samples in py-spy at 150 orders/s, for work of a few microseconds. Made async, the api's
CPU per request fell from 2.08 ms to 1.70-1.75 ms (three 60 s load runs at 150 orders/s after
one before; tests/unit/test_api_async_handlers.py keeps it so).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Query, Request
from fastapi.responses import Response

from system.api.errors import error_body
from system.api.schemas import MAX_POSITION
from system.app.queries import MAX_WAIT_MS, Consistency, StillProcessing
from system.bootstrap import Container
from system.domain.recorded import Metadata

IF_MATCH_PATTERN = r'^\s*(W/)?"?[0-9]{1,9}"?\s*$'
_VERSION = re.compile(r"[0-9]+")


async def container(request: Request) -> Container:
    """The composition root opened by the lifespan."""
    built: Container = request.app.state.container
    return built


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            pattern=IF_MATCH_PATTERN,
            description="the stream version the command expects (optimistic concurrency): 0 to"
            ' 999999999, bare or as an ETag (`3`, `"3"`, `W/"3"`); 409 `version_conflict` if'
            " the stream is at another version",
            examples=["3"],
        ),
    ] = None,
) -> int | None:
    """The version the client expects the stream to be at, from `If-Match`."""
    if if_match is None:
        return None
    found = _VERSION.search(if_match)  # the header's pattern was checked (422 naming it)
    assert found is not None
    return int(found.group(0))


async def provenance(
    correlation_id: Annotated[
        str | None,
        Header(
            alias="X-Correlation-ID",
            min_length=1,
            max_length=100,
            pattern=r"^[\x21-\x7E]{1,100}$",
            description="1-100 visible ASCII characters, stored with the events this command"
            " writes (default: a new uuid4)",
        ),
    ] = None,
) -> Metadata:
    """Metadata stored with every event the command writes."""
    return Metadata(correlation_id=correlation_id or str(uuid.uuid4()))


async def consistency(
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="answer only once the read model reached this global position (a"
            " command's `position`); 202 if it has not within `wait_ms`",
        ),
    ] = None,
    wait_ms: Annotated[
        int,
        Query(ge=0, le=MAX_WAIT_MS, description="how long to wait for `min_position` (ms)"),
    ] = 0,
) -> Consistency | None:
    """Read-your-writes parameters of a query."""
    return None if min_position is None else Consistency(min_position, wait_ms)


Handlers = Annotated[Container, Depends(container)]
ExpectedVersion = Annotated[int | None, Depends(expected_version)]
Provenance = Annotated[Metadata, Depends(provenance)]
ReadAfter = Annotated[Consistency | None, Depends(consistency)]


def json_response(content: Any, status_code: int = 200) -> Response:
    """A JSON response serialised with orjson (read-model documents are plain dicts)."""
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def processing(result: StillProcessing) -> Response:
    """202: the read model has not caught up with the requested position yet."""
    return json_response({"status": "processing", "min_position": result.min_position}, 202)


def not_found(kind: str, identifier: str) -> Response:
    """404 in the contract's error shape."""
    return json_response(error_body("not_found", f"{kind} {identifier!r} does not exist"), 404)
