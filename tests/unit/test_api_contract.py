"""The published contract, without services: the rules it states are the rules the api applies."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from system.api import schemas as s
from system.api.app import create_app
from system.api.contract import _drop_null
from system.api.deps import IF_MATCH_PATTERN
from system.api.errors import validation_error
from system.api.idempotent import KEY_PATTERN
from system.config import Settings, owner_dsn


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    contract: dict[str, Any] = create_app(Settings()).openapi()
    return contract


def test_optional_parameters_are_never_documented_as_null(doc: dict[str, Any]) -> None:
    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                assert "null" not in str(parameter["schema"]), parameter


def test_drop_null_keeps_the_value_schema() -> None:
    schema: dict[str, Any] = {"anyOf": [{"type": "string", "pattern": "x"}, {"type": "null"}]}
    _drop_null(schema)
    assert schema == {"type": "string", "pattern": "x"}


def test_every_route_documents_its_statuses(doc: dict[str, Any]) -> None:
    deposit = doc["paths"]["/accounts/{account_id}/deposits"]["post"]["responses"]
    assert set(deposit) == {"200", "404", "409", "413", "422", "503"}
    assert "Retry-After" in deposit["503"]["headers"] and "ETag" in deposit["200"]["headers"]
    order = doc["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert set(order) == {"200", "202", "404", "422", "503"}
    revenue = doc["paths"]["/revenue"]["get"]["responses"]
    assert set(revenue) == {"200", "202", "422", "503"}
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    health = doc["paths"]["/health"]["get"]["responses"]
    assert set(health) == {"200", "503"}


def test_ids_and_numbers_are_bounded(doc: dict[str, Any]) -> None:
    deposit = doc["paths"]["/accounts/{account_id}/deposits"]["post"]
    (path_id,) = [p for p in deposit["parameters"] if p["in"] == "path"]
    assert path_id["schema"]["maxLength"] == 200 and path_id["schema"]["pattern"] == s.ID_PATTERN
    order = doc["paths"]["/orders/{order_id}"]["get"]["parameters"]
    (position,) = [p for p in order if p["name"] == "min_position"]
    assert position["schema"]["maximum"] == 2**63 - 1
    amount = doc["components"]["schemas"]["AmountBody"]["properties"]["amount"]
    assert (amount["type"], amount["minimum"]) == ("integer", 1)


@pytest.mark.parametrize("text", ["a\x00b", "tab\there", "   ", "\x7f", "bell\x07"])
def test_control_characters_and_blank_text_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as refused:
        s.CancelBody(reason=text)
    assert refused.value.errors()[0]["loc"] == ("reason",)


def test_whole_floats_count_as_integers_and_nothing_else_does() -> None:
    assert s.AmountBody.model_validate_json('{"amount": 5.0}').amount == 5
    for bad in ('{"amount": 5.5}', '{"amount": "5"}', '{"amount": true}', '{"amount": 1e30}'):
        with pytest.raises(ValidationError):
            s.AmountBody.model_validate_json(bad)


def test_emails_need_a_local_part_and_a_dotted_domain() -> None:
    assert s.CustomerBody(name="Ada", email="ada@example.com").email == "ada@example.com"
    for bad in ("ada", "@example.com", "ada@example", "a da@example.com", "ada@ex@mple.com"):
        with pytest.raises(ValidationError):
            s.CustomerBody(name="Ada", email=bad)


def test_header_syntaxes() -> None:
    for good in ("3", '"3"', 'W/"3"', " 0 "):
        assert re.match(IF_MATCH_PATTERN, good), good
    for bad in ("latest", "-1", "1234567890", "3.0"):
        assert not re.match(IF_MATCH_PATTERN, bad), bad
    assert re.match(KEY_PATTERN, "k" * 200) and not re.match(KEY_PATTERN, "k" * 201)
    assert not re.match(KEY_PATTERN, "with space") and not re.match(KEY_PATTERN, "")


def test_a_bad_header_is_an_invalid_header_naming_it() -> None:
    body = validation_error(
        [
            {
                "type": "string_pattern_mismatch",
                "loc": ("header", "If-Match"),
                "msg": "bad",
                "ctx": {"pattern": IF_MATCH_PATTERN},
            }
        ]
    )
    assert (body["error"], body["field"]) == ("invalid_header", "If-Match")
    assert body["message"].startswith("If-Match: has a character or a syntax")
    assert IF_MATCH_PATTERN in body["message"]


def test_the_owner_dsn_defaults_to_the_app_dsn_as_cqrs_owner() -> None:
    assert owner_dsn("postgresql://cqrs:pw@db:5432/x") == "postgresql://cqrs_owner:pw@db:5432/x"
    env = {"CQRS_PG_DSN": "postgresql://app:s@h:1/d", "CQRS_PG_OWNER_DSN": "postgresql://o@h/d"}
    assert Settings.from_env(env).pg_owner_dsn == "postgresql://o@h/d"
    assert Settings.from_env({}).pg_owner_dsn.startswith("postgresql://cqrs_owner:")
