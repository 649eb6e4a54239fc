"""Idempotent commands over HTTP: a retry with the same `Idempotency-Key` gets the first answer,
byte for byte, and appends nothing; the same key on another request is a 422 naming the header."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

KEY = "Idempotency-Key"


async def _events(db: asyncpg.Connection, correlation: str) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM events WHERE metadata->>'correlation_id' = $1", correlation
    )
    return count


async def _account(api: httpx.AsyncClient) -> str:
    opened = await api.post("/accounts", json={"owner_id": "idempotency"})
    assert opened.status_code == 201, opened.text
    account_id: str = opened.json()["account_id"]
    return account_id


async def test_the_same_key_three_times_appends_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    key, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {KEY: key, "X-Correlation-ID": correlation}
    answers = [
        await api.post("/accounts", json={"owner_id": "idem-open"}, headers=headers)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[1].content == answers[0].content == answers[2].content
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert answers[2].headers["ETag"] == answers[0].headers["ETag"] == '"1"'
    assert await _events(db, correlation) == 1


async def test_a_retried_deposit_moves_the_balance_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    account = await _account(api)
    key, correlation = f"deposit-{uuid.uuid4()}", str(uuid.uuid4())
    headers = {KEY: key, "X-Correlation-ID": correlation}
    path = f"/accounts/{account}/deposits"
    first = await api.post(path, json={"amount": 70}, headers=headers)
    # the same JSON with other spacing and key order is the same request
    again = await api.post(
        path, content=b'{ "amount" : 70 }', headers={**headers, "Content-Type": "application/json"}
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert await _events(db, correlation) == 1
    state = await api.get(f"/accounts/{account}/history")
    assert state.json()["balance"] == 70


async def test_the_same_key_on_another_request_is_a_422(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    account = await _account(api)
    key, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {KEY: key, "X-Correlation-ID": correlation}
    path = f"/accounts/{account}/deposits"
    assert (await api.post(path, json={"amount": 5}, headers=headers)).status_code == 200
    for other in (
        api.post(path, json={"amount": 6}, headers=headers),
        api.post(f"/accounts/{account}/withdrawals", json={"amount": 5}, headers=headers),
    ):
        refused = await other
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == KEY
        assert refused.json()["error"] == "idempotency_key_reused"
    assert await _events(db, correlation) == 1


async def test_a_malformed_key_is_a_422_naming_the_header(api: httpx.AsyncClient) -> None:
    for bad in ("", "x" * 201, "with space"):
        refused = await api.post("/accounts", json={"owner_id": "o"}, headers={KEY: bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["field"] == KEY


async def test_concurrent_retries_with_one_key_append_once(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Eight copies of one keyed request at once, for a new stream (products: each copy mints
    its own id, so only the key stops a second product) and for one existing stream."""
    account = await _account(api)
    cases = [
        ("/products", {"name": "p", "price": 3, "stock": 1}, 201),
        (f"/accounts/{account}/deposits", {"amount": 9}, 200),
    ]
    for path, body, status in cases:
        correlation = str(uuid.uuid4())
        headers = {KEY: str(uuid.uuid4()), "X-Correlation-ID": correlation}
        answers = await asyncio.gather(
            *(api.post(path, json=body, headers=headers) for _ in range(8))
        )
        assert [a.status_code for a in answers] == [status] * 8, [a.text for a in answers]
        assert len({a.content for a in answers}) == 1
        assert await _events(db, correlation) == 1
    state = await api.get(f"/accounts/{account}/history")
    assert state.json()["balance"] == 9


async def test_a_retry_the_domain_would_now_refuse_replays_the_first_answer(
    api: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """A retry runs again before its key is looked up: the first try's withdrawal emptied the
    account, so the retry's own withdrawal is refused, and the refusal finds the stored answer."""
    account = await _account(api)
    deposit = await api.post(
        f"/accounts/{account}/deposits", json={"amount": 10}, headers={KEY: str(uuid.uuid4())}
    )
    assert deposit.status_code == 200, deposit.text
    key, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    headers = {KEY: key, "X-Correlation-ID": correlation}
    path = f"/accounts/{account}/withdrawals"
    first = await api.post(path, json={"amount": 10}, headers=headers)
    again = await api.post(path, json={"amount": 10}, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await _events(db, correlation) == 1
    assert (await api.get(f"/accounts/{account}/history")).json()["balance"] == 0
