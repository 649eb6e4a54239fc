"""The body limit answers 413 before the app parses anything; metrics label by route template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from prometheus_client import REGISTRY
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from system.api.middleware import BodyLimit, HttpMetrics

LIMIT = 1024


async def _echo_size(scope: Scope, receive: Receive, send: Send) -> None:
    body = await Request(scope, receive).body()
    await PlainTextResponse(str(len(body)))(scope, receive, send)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 256):
        yield b"x" * 256


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    async with _client(BodyLimit(_echo_size, LIMIT)) as client:
        response = await client.post("/", content=b"x" * LIMIT)
    assert (response.status_code, response.text) == (200, str(LIMIT))


async def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    async with _client(BodyLimit(_echo_size, LIMIT)) as client:
        response = await client.post("/", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


async def test_a_chunked_body_is_refused_once_it_grows_past_the_limit() -> None:
    async with _client(BodyLimit(_echo_size, LIMIT)) as client:
        response = await client.post("/", content=_chunks(4 * LIMIT))
    assert response.status_code == 413


async def test_requests_are_counted_by_route_template_never_by_id() -> None:
    async def ok(_: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/things/{thing_id}", ok, methods=["POST"])]
    metered = HttpMetrics(BodyLimit(_echo_size, LIMIT), routes)
    labels = {"route": "/things/{thing_id}", "method": "POST", "status": "413"}
    before = REGISTRY.get_sample_value("cqrs_http_requests_total", labels) or 0.0

    async with _client(metered) as client:
        await client.post("/things/42", content=b"x" * (LIMIT + 1))

    assert REGISTRY.get_sample_value("cqrs_http_requests_total", labels) == before + 1
