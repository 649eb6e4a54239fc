"""No route or dependency of the api runs in FastAPI's thread pool (see system/api/deps.py)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from system.api.app import create_app
from system.config import Settings


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _api_routes(routes: Iterable[object]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI 0.165 wraps each included router; its routes are the original router's.
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def sync_calls(app: FastAPI) -> list[str]:
    """The names of the routes and dependencies FastAPI would run in its thread pool."""
    return sorted(
        {
            getattr(call, "__name__", repr(call))
            for route in _api_routes(app.routes)
            for call in _calls(route.dependant)
            if not inspect.iscoroutinefunction(call)
        }
    )


def test_every_route_and_dependency_is_async() -> None:
    app = create_app(Settings())
    assert len(list(_api_routes(app.routes))) > 20  # the included routers were walked
    assert sync_calls(app) == []


def test_a_sync_dependency_is_found() -> None:
    def header_value() -> str:
        return "x"

    app = FastAPI()

    @app.get("/planted")
    async def planted(value: str = Depends(header_value)) -> str:
        return value

    assert sync_calls(app) == ["header_value"]
