"""ASGI middleware: request metrics by route template, the body size limit, the in-flight limit,
the test-only delay."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from system.api.errors import RETRY_AFTER_S, error_body, unavailable_body
from system.metrics import API_UNAVAILABLE

HTTP_REQUESTS = Counter(
    "cqrs_http_requests_total",
    "HTTP requests answered by the API, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "cqrs_http_request_duration_seconds",
    "Time from receiving a request to sending the end of its response.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The matched route's path template (never an id), or `unmatched`.

    The router records the route in the scope; a request refused before routing (413) is
    matched against `routes` here.
    """
    route = scope.get("route")
    if route is None:
        route = next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)
    return str(getattr(route, "path", "unmatched"))


class HttpMetrics:
    """Counts and times every HTTP request, labelled by route template, method and status."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route, method = route_template(scope, self.routes), scope["method"]
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)


class BodyLimit:
    """Rejects a body over `max_bytes` with 413 before anything parses it.

    Checks the declared Content-Length first, then counts while reading (chunked bodies), and
    hands the application the buffered body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_body(
            "body_too_large", f"the request body must be at most {self.max_bytes} bytes"
        )
        await JSONResponse(body, status_code=413)(scope, receive, send)


class InFlightLimit:
    """Answers 503 with Retry-After once `limit` requests are in flight, instead of queueing.

    A frozen dependency then costs at most `limit` waiting requests (each bounded by its own
    timeouts), not an unbounded pile. `exempt` paths (liveness, metrics) are never refused.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt: Sequence[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = frozenset(exempt)
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            API_UNAVAILABLE.labels("overload").inc()
            body = unavailable_body("overload", f"{self.limit} requests already in flight")
            headers = {"Retry-After": str(RETRY_AFTER_S)}
            await JSONResponse(body, status_code=503, headers=headers)(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class BearerAuth:
    """With a token configured, answers 401 to any request without `Authorization: Bearer
    <token>`, except on the `exempt` paths (health checks)."""

    def __init__(self, app: ASGIApp, token: str, exempt: Sequence[str] = ()) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, self.expected):
            body = error_body(
                "unauthorized", "send `Authorization: Bearer <token>` (CQRS_API_TOKEN)"
            )
            headers = {"WWW-Authenticate": 'Bearer realm="cqrs-bench"'}
            await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class TestDelay:
    """Test-only: sleeps `delay_s` before every request (CQRS_API_TEST_DELAY_MS).

    Lets the load tests make the server slow on purpose, to prove that latency is corrected for
    coordinated omission. Never set it for a benchmark.
    """

    __test__ = False

    def __init__(self, app: ASGIApp, delay_s: float) -> None:
        self.app = app
        self.delay_s = delay_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.delay_s)
        await self.app(scope, receive, send)
