"""A dependency fault is 503 with Retry-After, never 500; beyond the in-flight limit, 503 too."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError as EsApiError
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from system.api.app import create_app
from system.api.middleware import InFlightLimit
from system.config import Settings
from system.resilience import DependencyUnavailable


def _es_error(status: int) -> EsApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    return EsApiError(f"status {status}", meta, {})


FAULTS: dict[str, tuple[Exception, str]] = {
    "ours": (
        DependencyUnavailable("postgres", "no pooled connection free within 5.0s"),
        "postgres",
    ),
    "too-many": (asyncpg.TooManyConnectionsError("sorry, too many clients"), "postgres"),
    "statement-timeout": (asyncpg.QueryCanceledError("statement timeout"), "postgres"),
    "refused": (ConnectionRefusedError(111, "refused"), "postgres"),
    "closed": (asyncpg.ConnectionDoesNotExistError("closed mid-operation"), "postgres"),
    "es-429": (_es_error(429), "elasticsearch"),
    "es-503": (_es_error(503), "elasticsearch"),
}


def _raising(exc: Exception) -> Callable[[], Awaitable[None]]:
    async def fail() -> None:
        raise exc

    return fail


def _app() -> FastAPI:
    app = create_app(Settings())
    for name, (exc, _) in FAULTS.items():
        app.add_api_route(f"/fault/{name}", _raising(exc), methods=["GET"])

    async def bug() -> None:
        raise KeyError("a bug")

    app.add_api_route("/fault/bug", bug, methods=["GET"])
    return app


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_a_dependency_fault_answers_503_with_retry_after(name: str) -> None:
    async with _client(_app()) as client:
        response = await client.get(f"/fault/{name}")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["error"] == "unavailable"
    assert body["dependency"] == FAULTS[name][1]


async def test_a_bug_is_still_a_500() -> None:
    async with _client(_app()) as client:
        response = await client.get("/fault/bug")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


async def test_requests_beyond_the_in_flight_limit_are_refused_at_once() -> None:
    release = asyncio.Event()
    both_in = asyncio.Event()
    entered = 0

    async def slow(_: Request) -> Response:
        nonlocal entered
        entered += 1
        if entered == 2:
            both_in.set()
        await release.wait()
        return PlainTextResponse("done")

    async def metrics(_: Request) -> Response:
        return PlainTextResponse("m")

    inner = FastAPI(routes=[Route("/slow", slow), Route("/metrics", metrics)])
    limited = InFlightLimit(inner, limit=2, exempt=["/metrics"])
    async with _client(limited) as client:
        held = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.wait_for(both_in.wait(), 5)
        refused = await client.get("/slow")
        scraped = await client.get("/metrics")
        release.set()
        answered = await asyncio.gather(*held)
        after = await client.get("/slow")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["dependency"] == "overload"
    assert scraped.status_code == 200
    assert [r.status_code for r in answered] == [200, 200]
    assert after.status_code == 200
    assert limited.in_flight == 0


def test_the_in_flight_limit_is_configurable_and_validated() -> None:
    settings = Settings.from_env({"CQRS_API_MAX_IN_FLIGHT": "64"})
    assert settings.api_max_in_flight == 64
    assert dataclasses.replace(settings, api_max_in_flight=1).api_max_in_flight == 1
    with pytest.raises(ValueError, match="CQRS_API_MAX_IN_FLIGHT must be a positive integer"):
        Settings.from_env({"CQRS_API_MAX_IN_FLIGHT": "0"})
    with pytest.raises(ValueError, match="CQRS_PG_STATEMENT_TIMEOUT_S must be a positive number"):
        Settings.from_env({"CQRS_PG_STATEMENT_TIMEOUT_S": "soon"})
