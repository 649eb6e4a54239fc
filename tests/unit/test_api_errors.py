"""The API's error mapping: each failure becomes the contract's status and error body."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from system.api.errors import ApiError, field_path, map_error, validation_error
from system.api.schemas import AmountBody, PlaceOrderBody
from system.domain.errors import (
    AccountClosed,
    ConcurrencyError,
    IllegalTransition,
    InsufficientFunds,
    InvalidValue,
    NotFound,
)


@pytest.mark.parametrize(
    ("exc", "status", "code", "field"),
    [
        (ConcurrencyError("acc-1", expected=3, actual=5), 409, "version_conflict", None),
        (NotFound("BankAccount", "acc-1"), 404, "not_found", None),
        (InvalidValue("amount must be positive", "amount"), 422, "invalid_value", "amount"),
        (InsufficientFunds("too much", "amount"), 409, "insufficient_funds", "amount"),
        (IllegalTransition("cannot ship a pending order"), 409, "illegal_transition", None),
        (AccountClosed("closed"), 409, "account_closed", None),
        (ApiError(413, "body_too_large", "too big"), 413, "body_too_large", None),
    ],
)
def test_each_failure_maps_to_its_status_code_and_field(
    exc: Exception, status: int, code: str, field: str | None
) -> None:
    got_status, body = map_error(exc)
    assert got_status == status
    assert body["error"] == code
    assert body["message"]
    assert body.get("field") == field


def test_a_version_conflict_names_the_expected_and_actual_versions() -> None:
    _, body = map_error(ConcurrencyError("acc-1", expected=3, actual=5))
    assert "3" in body["message"] and "5" in body["message"]
    assert body["actual_version"] == 5


def test_an_unmapped_exception_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        map_error(RuntimeError("boom"))


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "amount"), "amount"),
        (("body", "items", 0, "quantity"), "items[0].quantity"),
        (("query", "min_position"), "min_position"),
        (("body",), None),
    ],
)
def test_field_paths_read_like_the_json_they_point_at(loc: tuple[Any, ...], path: str) -> None:
    assert field_path(loc) == path


def _errors(model: type[BaseModel], data: object) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [{**e, "loc": ("body", *e["loc"])} for e in caught.value.errors()]


@pytest.mark.parametrize(
    ("model", "data", "code", "field"),
    [
        (AmountBody, {"amount": "10"}, "invalid_value", "amount"),
        (AmountBody, {"amount": 10.5}, "invalid_value", "amount"),
        (AmountBody, {"amount": -1}, "invalid_value", "amount"),
        (AmountBody, {"amount": 10**13}, "invalid_value", "amount"),
        (AmountBody, {}, "missing_field", "amount"),
        (AmountBody, {"amount": 1, "note": "x"}, "unknown_field", "note"),
        (
            PlaceOrderBody,
            {"customer_id": "c", "items": [], "shipping_address": "a"},
            "invalid_value",
            "items",
        ),
        (
            PlaceOrderBody,
            {
                "customer_id": "c",
                "items": [{"product_id": "p", "quantity": 0, "price": 1}],
                "shipping_address": "a",
            },
            "invalid_value",
            "items[0].quantity",
        ),
    ],
)
def test_invalid_bodies_name_the_first_bad_field(
    model: type[BaseModel], data: object, code: str, field: str
) -> None:
    body = validation_error(_errors(model, data))
    assert body["error"] == code
    assert body["field"] == field
    assert body["message"].startswith(field)


def test_malformed_json_is_reported_without_a_field() -> None:
    body = validation_error(
        [
            {
                "type": "json_invalid",
                "loc": ("body", 3),
                "msg": "JSON decode error",
                "ctx": {"error": "Expecting value"},
            }
        ]
    )
    assert body == {
        "error": "invalid_json",
        "message": "the body is not valid JSON: Expecting value",
    }
