"""The published contract, fuzzed: Schemathesis generates requests from the running api's
`/openapi.json` (valid ones and, per operation, invalid ones) and checks every answer against it.

Every operation gets `EXAMPLES` valid and `EXAMPLES // 2` invalid requests (at least 1,000 in
all). Each answer is held to every Schemathesis check: no 5xx, a documented status, content type
and headers, a body matching its schema, valid data accepted (2xx, 404, 409: never 422) and
invalid data refused (4xx). Four documented rules a JSON schema cannot state are honoured by
the generator: an `Idempotency-Key` is fresh for every request, a history asks for `at` or
`version` (not both), `/revenue`'s `to` is not before `from` (and at most 366 days after), and
`wait_ms` is capped at 20 ms so read-your-writes waits keep the run short.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from system.config import Settings

EXAMPLES = 50
MIN_REQUESTS = 1_000


@dataclass
class Tally:
    requests: int = 0
    checks: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def _honour_cross_field_rules(case: Any) -> None:
    headers = case.headers or {}
    if "Idempotency-Key" in headers:  # a key names one request: reused on another it is a 422
        headers["Idempotency-Key"] = str(uuid.uuid4())
    query = case.query or {}
    if "wait_ms" in query and isinstance(query["wait_ms"], int):
        query["wait_ms"] = min(query["wait_ms"], 20)
    if "at" in query and "version" in query:
        del query["at"]
    if case.operation.path == "/revenue":
        start = dt.date.fromisoformat(query["from"])
        end = dt.date.fromisoformat(query["to"])
        if not start <= end <= start + dt.timedelta(days=366):
            query["to"] = min(start + dt.timedelta(days=(end - start).days % 367), dt.date.max)
            query["to"] = query["to"].isoformat()


def _fuzz(schema: Any, mode: GenerationMode, examples: int, tally: Tally, base: str) -> None:
    checks = CHECKS.get_all()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if mode is GenerationMode.POSITIVE:
                _honour_cross_field_rules(case)
            response = case.call(base_url=base, session=session, timeout=30)
            tally.requests += 1
            tally.checks += len(checks)
            tally.by_status[response.status_code] = tally.by_status.get(response.status_code, 0) + 1
            case.validate_response(response, checks=checks)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # nothing of this operation can be made invalid (no parameters, no body)
            assert mode is GenerationMode.NEGATIVE, operation.label


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_its_published_contract(
    stack: Settings, tally: Tally, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")
    examples = EXAMPLES if mode is GenerationMode.POSITIVE else EXAMPLES // 2
    _fuzz(schema, mode, examples, tally, stack.api_url)


def test_the_fuzzer_sent_enough_requests(tally: Tally) -> None:
    print(f"contract fuzz: {tally.requests} requests, {tally.checks} checks, {tally.by_status}")
    assert tally.requests >= MIN_REQUESTS, tally
    assert not any(status >= 500 for status in tally.by_status), tally
