"""Turns failures into the contract's `{error, message, field?}` bodies and HTTP statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from system.domain.errors import (
    ConcurrencyError,
    DomainError,
    InvalidValue,
    NotFound,
    RuleViolation,
)
from system.resilience import DependencyUnavailable

RETRY_AFTER_S = 1
"""What a 503 tells the client to wait before retrying (the `Retry-After` header, seconds)."""


class ApiError(Exception):
    """An HTTP-level failure (bad header, oversize body) with the contract's error fields."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_body(code: str, message: str, field: str | None = None) -> dict[str, str]:
    """The contract's error shape; `field` only when one input is to blame."""
    body = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    return body


def unavailable_body(cause: str, detail: str) -> dict[str, str]:
    """The 503 body: which dependency (or `overload`) refused, and that a retry may succeed."""
    return {
        **error_body("unavailable", f"{cause} is unavailable ({detail}); retry later"),
        "dependency": cause,
    }


def map_error(exc: Exception) -> tuple[int, Mapping[str, str | int]]:
    """Status and body for a failure raised while handling a request; a version conflict adds
    the refused stream (an order's command may conflict on a product's stream), the version the
    append expected and the version it met."""
    match exc:
        case ApiError():
            return exc.status, error_body(exc.code, exc.message, exc.field)
        case DependencyUnavailable():
            return 503, unavailable_body(exc.dependency, exc.detail)
        case ConcurrencyError():
            return 409, {
                **error_body(exc.code, str(exc)),
                "stream_id": exc.aggregate_id,
                "expected_version": exc.expected,
                "actual_version": exc.actual,
            }
        case NotFound():
            return 404, error_body(exc.code, exc.message, exc.field)
        case InvalidValue():
            return 422, error_body(exc.code, exc.message, exc.field)
        case RuleViolation():
            return 409, error_body(exc.code, exc.message, exc.field)
        case DomainError():
            return 422, error_body(exc.code, exc.message, exc.field)
    raise TypeError(f"no HTTP mapping for {type(exc).__name__}")


def field_path(loc: Sequence[int | str]) -> str | None:
    """`("body", "items", 0, "quantity")` → `items[0].quantity`; None for the whole body."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "json_invalid": "invalid_json",
}


def validation_error(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The 422 body for request validation errors, naming the first bad field."""
    if not errors:
        return error_body("invalid_value", "the request is invalid")
    first = errors[0]
    kind = str(first.get("type", ""))
    loc: Sequence[int | str] = first.get("loc", ())
    field = None if kind == "json_invalid" else field_path(loc)
    message = str(first.get("msg", "invalid value"))
    if kind == "json_invalid":
        message = f"the body is not valid JSON: {first.get('ctx', {}).get('error', message)}"
    elif field is not None and kind == "string_pattern_mismatch":
        pattern = first.get("ctx", {}).get("pattern", "")
        message = (
            f"{field}: has a character or a syntax it may not have (control characters, blank"
            f" text and, in ids and headers, anything outside the pattern {pattern})"
        )
    elif field is not None:
        message = f"{field}: {message}"
    if loc and loc[0] == "body" and field is None and kind == "missing":
        message = "the request needs a JSON body"
    elif loc and loc[0] == "body" and field is None and kind not in _CODES:
        message = f"the body must be a JSON object (Content-Type: application/json): {message}"
    code = _CODES.get(kind, "invalid_header" if loc and loc[0] == "header" else "invalid_value")
    return error_body(code, message, field)
