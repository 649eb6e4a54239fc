"""Optional bearer-token auth: with CQRS_API_TOKEN set, every route but the health checks needs
`Authorization: Bearer <token>` (401 otherwise), and the contract says so."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.own_api import own_api

pytestmark = pytest.mark.e2e

TOKEN = f"t-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def secured_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An api process of this tree on a free port with CQRS_API_TOKEN set."""
    log_dir = tmp_path_factory.mktemp("api")
    with own_api(log_dir, {"CQRS_API_TOKEN": TOKEN}, ready_path="/health/live") as url:
        yield url


ROUTES = [
    ("POST", "/accounts", {"owner_id": "token-test"}),
    ("GET", "/accounts/nobody", None),
    ("GET", "/revenue?from=2026-01-01&to=2026-01-02", None),
    ("GET", "/metrics", None),
    ("GET", "/openapi.json", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_without_the_right_token_every_route_is_a_401(
    secured_api: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = httpx.request(method, f"{secured_api}{path}", json=body, headers=headers)
        assert refused.status_code == 401, (headers, refused.text)
        assert refused.json()["error"] == "unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_with_the_token_every_route_answers(
    secured_api: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answered = httpx.request(method, f"{secured_api}{path}", json=body, headers=headers)
    assert answered.status_code in {200, 201, 404}, answered.text
    if path == "/accounts/nobody":
        assert answered.status_code == 404
    elif path == "/accounts":
        assert answered.status_code == 201


def test_health_needs_no_token_and_the_contract_names_the_scheme(secured_api: str) -> None:
    assert httpx.get(f"{secured_api}/health/live").status_code == 200
    assert httpx.get(f"{secured_api}/health", timeout=10).status_code == 200
    doc = httpx.get(
        f"{secured_api}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "401" in doc["paths"]["/accounts"]["post"]["responses"]
    assert "401" not in doc["paths"]["/health/live"]["get"]["responses"]
