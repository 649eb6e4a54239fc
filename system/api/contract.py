"""The published contract (`/openapi.json`): FastAPI's document plus what it cannot infer.

Added here: the ops routes' bodies, `Retry-After` on every 503 and `ETag` on command answers,
the 503 of `/health` (degraded or overloaded), and, when `CQRS_API_TOKEN` is set, the bearer
security scheme with a 401 on every route but the health checks.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

OPEN = ("/health", "/health/live")
_ERROR = {"$ref": "#/components/schemas/ErrorBody"}
_RETRY_AFTER = {
    "description": "seconds to wait before retrying",
    "schema": {"type": "integer", "minimum": 1},
}
_ETAG = {"description": 'the stream\'s new version, quoted (`"3"`)', "schema": {"type": "string"}}


class Health(BaseModel):
    """Each backing service's status: `ok`, or what failed."""

    status: Literal["ok", "degraded"]
    components: dict[str, str]


class Live(BaseModel):
    """The process is up."""

    status: Literal["ok"]


def _drop_null(schema: dict[str, Any]) -> None:
    """An optional parameter is absent or a value, never `null`: keep only the value's schema."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        kept = [option for option in options if option != {"type": "null"}]
        del schema["anyOf"]
        if len(kept) == 1:
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept


def contract(app: FastAPI, *, secured: bool) -> dict[str, Any]:
    """The OpenAPI document of `app`, built once and cached on it."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                _drop_null(parameter["schema"])
            responses = operation["responses"]
            if path == "/health":
                responses["503"]["content"]["application/json"]["schema"] = {
                    "anyOf": [{"$ref": "#/components/schemas/Health"}, _ERROR]
                }
            if "503" in responses:
                responses["503"].setdefault("headers", {})["Retry-After"] = _RETRY_AFTER
            if method == "post":
                for status in ("200", "201"):
                    if status in responses:
                        responses[status].setdefault("headers", {})["ETag"] = _ETAG
            if secured and path not in OPEN:
                responses["401"] = {
                    "description": "missing or wrong `Authorization: Bearer <token>`",
                    "content": {"application/json": {"schema": _ERROR}},
                }
            if secured and path in OPEN:
                operation["security"] = []
    if secured:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    app.openapi_schema = doc
    return doc
