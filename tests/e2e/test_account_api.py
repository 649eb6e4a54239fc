"""A bank account over HTTP: commands answer versions, If-Match guards them, history replays."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

Reader = Callable[[str, int], Awaitable[Any]]


async def _command(
    api: httpx.AsyncClient,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    if_match: int | None = None,
    status: int = 200,
) -> Any:
    headers = {} if if_match is None else {"If-Match": str(if_match)}
    response = await api.post(path, json=body, headers=headers)
    assert response.status_code == status, f"POST {path}: {response.status_code} {response.text}"
    return response.json()


async def test_an_account_lives_from_opening_to_closing(
    api: httpx.AsyncClient, read: Reader
) -> None:
    owner = f"owner-{uuid.uuid4().hex[:8]}"
    opened = await _command(api, "/accounts", {"owner_id": owner}, status=201)
    account = f"/accounts/{opened['account_id']}"
    assert opened["version"] == 1
    assert (await _command(api, f"{account}/deposits", {"amount": 1000}))["version"] == 2
    assert (await _command(api, f"{account}/withdrawals", {"amount": 300}))["version"] == 3
    withdrawn = await _command(api, f"{account}/withdrawals", {"amount": 200})
    reversed_ = await _command(api, f"{account}/reversals", {"withdrawal_version": 3})
    assert reversed_["version"] == 5
    assert reversed_["position"] > withdrawn["position"]

    view = await read(account, reversed_["position"])
    assert view["account_id"] == opened["account_id"]
    assert view["owner_id"] == owner
    assert view["balance"] == 1000 - 300 - 200 + 300
    assert view["status"] == "open"

    closed = await _command(api, f"{account}/close", if_match=5)
    assert closed["version"] == 6
    assert (await read(account, closed["position"]))["status"] == "closed"
    refused = await api.post(f"{account}/deposits", json={"amount": 1})
    assert refused.status_code == 409
    assert refused.json()["error"] == "account_closed"


async def test_a_stale_if_match_is_a_conflict_that_names_both_versions(
    api: httpx.AsyncClient,
) -> None:
    opened = await _command(api, "/accounts", {"owner_id": "o"}, status=201)
    account = f"/accounts/{opened['account_id']}"
    await _command(api, f"{account}/deposits", {"amount": 50}, if_match=1)

    stale = await api.post(f"{account}/deposits", json={"amount": 50}, headers={"If-Match": "1"})

    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "version_conflict"
    assert "1" in body["message"] and "2" in body["message"]
    fresh = await _command(api, f"{account}/deposits", {"amount": 50}, if_match=2)
    assert fresh["version"] == 3


async def test_history_rebuilds_the_account_as_of_a_version_or_a_time(
    api: httpx.AsyncClient,
) -> None:
    opened = await _command(api, "/accounts", {"owner_id": "o"}, status=201)
    account = f"/accounts/{opened['account_id']}"
    await _command(api, f"{account}/deposits", {"amount": 700})
    await _command(api, f"{account}/withdrawals", {"amount": 100})
    between = datetime.now(UTC)
    await _command(api, f"{account}/deposits", {"amount": 5000})

    at_version = (await api.get(f"{account}/history", params={"version": 2})).json()
    at_time = await api.get(f"{account}/history", params={"at": between.isoformat()})
    now = (await api.get(f"{account}/history")).json()
    before = await api.get(f"{account}/history", params={"at": "2000-01-01T00:00:00Z"})
    beyond = await api.get(f"{account}/history", params={"version": 9})

    assert (at_version["version"], at_version["balance"]) == (2, 700)
    assert at_time.status_code == 200
    assert (at_time.json()["version"], at_time.json()["balance"]) == (3, 600)
    assert (now["version"], now["balance"]) == (4, 5600)
    assert before.status_code == 404
    assert (beyond.status_code, beyond.json()["field"]) == (422, "version")
