"""The HTTP API: app factory, lifespan (opens the composition root), error handlers, ops routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from system.api import commands, queries
from system.api.contract import Health, Live, contract
from system.api.deps import Handlers, json_response
from system.api.errors import (
    RETRY_AFTER_S,
    ApiError,
    error_body,
    map_error,
    validation_error,
)
from system.api.middleware import BearerAuth, BodyLimit, HttpMetrics, InFlightLimit, TestDelay
from system.bootstrap import Container, bootstrap, unavailable_dependency
from system.config import Settings
from system.domain.errors import ConcurrencyError, DomainError
from system.metrics import API_UNAVAILABLE
from system.ports import KEEP_ANSWERS_S
from system.resilience import DependencyUnavailable
from system.runtime import freeze_startup_objects

MAX_BODY_BYTES = 64 * 1024
TEST_DELAY_ENV = "CQRS_API_TEST_DELAY_MS"
NEVER_REFUSED = ("/health/live", "/metrics")
"""Paths the in-flight limit lets through: liveness and scraping must work under overload."""
OPEN_PATHS = ("/health", "/health/live")
"""Paths that need no bearer token (CQRS_API_TOKEN): probes from anywhere."""
PRUNE_EVERY_S = 600.0
"""How often the api forgets idempotency keys older than `KEEP_ANSWERS_S`."""
logger = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


async def _mapped(_: Request, exc: Exception) -> Response:
    status, body = map_error(exc)
    response = json_response(body, status)
    if isinstance(exc, DependencyUnavailable):
        API_UNAVAILABLE.labels(exc.dependency).inc()
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def _invalid_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return json_response(validation_error(exc.errors()), 422)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8 JSON
        body = error_body("invalid_json", f"the body is not valid UTF-8 JSON ({exc.detail})")
        return json_response(body, 422)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = json_response(error_body(code, str(exc.detail)), exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this answer, so the server logs the traceback once.
    unavailable = unavailable_dependency(exc)
    if unavailable is not None:
        return await _mapped(request, unavailable)
    return json_response(error_body("internal", f"internal error ({type(exc).__name__})"), 500)


def create_app(settings: Settings, *, test_delay_ms: float = 0.0) -> FastAPI:
    """The API for `settings`; `test_delay_ms` > 0 slows every request (load-test use only)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings) as container:
            app.state.container = container
            freeze_startup_objects()
            pruner = asyncio.create_task(_prune_keys(container))
            try:
                yield
            finally:
                pruner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruner

    app = FastAPI(
        title="cqrs-bench system under test",
        version="1",
        summary="Commands answer with the new version and global position; queries read the "
        "read models and can wait for a position (read-your-writes).",
        lifespan=lifespan,
    )
    app.include_router(commands.router)
    app.include_router(queries.router)
    add_ops_routes(app)
    for error in (ApiError, DomainError, ConcurrencyError, DependencyUnavailable):
        app.add_exception_handler(error, _mapped)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    if test_delay_ms > 0:
        app.add_middleware(TestDelay, delay_s=test_delay_ms / 1000)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(InFlightLimit, limit=settings.api_max_in_flight, exempt=NEVER_REFUSED)
    if settings.api_token:
        app.add_middleware(BearerAuth, token=settings.api_token, exempt=OPEN_PATHS)
    app.add_middleware(HttpMetrics, routes=[*commands.router.routes, *queries.router.routes])
    app.openapi = lambda: contract(app, secured=bool(settings.api_token))  # type: ignore[method-assign]
    return app


async def _prune_keys(container: Container) -> None:
    """Drop expired idempotency keys every PRUNE_EVERY_S (keys live at least 24 h)."""
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            await container.events.prune_answers(KEEP_ANSWERS_S)
        except Exception:
            logger.exception("pruning idempotency keys failed; retrying in %ss", PRUNE_EVERY_S)


def add_ops_routes(app: FastAPI) -> None:
    """/health, /health/live and /metrics, with every answer they give in the contract."""
    unavailable = {"model": Health, "description": "a backing service is not ok (Retry-After)"}
    app.add_api_route(
        "/health",
        health,
        methods=["GET"],
        tags=["ops"],
        response_model=Health,
        responses={503: unavailable},
    )
    app.add_api_route("/health/live", live, methods=["GET"], tags=["ops"], response_model=Live)
    app.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        tags=["ops"],
        response_class=PlainTextResponse,
        responses={
            200: {
                "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                "description": "Prometheus text exposition (version 0.0.4)",
            }
        },
    )


async def health(root: Handlers) -> Response:
    """200 with each backing service's status when all are `ok`, else 503 with Retry-After."""
    components = await root.health()
    healthy = all(status == "ok" for status in components.values())
    body = {"status": "ok" if healthy else "degraded", "components": components}
    response = json_response(body, 200 if healthy else 503)
    if not healthy:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def live() -> Response:
    """200 without asking any backing service: the process is up (liveness).

    The api's cheapest route: `cqrs-bench calibrate` sends it to measure the load generator's
    own floor (`/health` opens a Kafka client per call, so it measures Kafka as well).
    """
    return json_response({"status": "ok"}, 200)


async def metrics() -> Response:
    """Prometheus exposition of every `cqrs_` metric of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory`: settings and the test-only delay from the environment."""
    return create_app(Settings.from_env(), test_delay_ms=float(os.environ.get(TEST_DELAY_ENV, "0")))
