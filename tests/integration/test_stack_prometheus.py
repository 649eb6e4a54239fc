from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from system.config import Settings

pytestmark = pytest.mark.integration


async def _query(
    client: httpx.AsyncClient, settings: Settings, promql: str
) -> list[dict[str, object]]:
    response = await client.get(f"{settings.prometheus_url}/api/v1/query", params={"query": promql})
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success"
    result: list[dict[str, object]] = body["data"]["result"]
    return result


async def _eventually(
    client: httpx.AsyncClient, settings: Settings, promql: str, wait: float = 30.0
) -> list[dict[str, object]]:
    async with asyncio.timeout(wait):
        while True:
            result = await _query(client, settings, promql)
            if result:
                return result
            await asyncio.sleep(0.5)


async def test_prometheus_scrapes_itself_and_the_pushgateway(settings: Settings) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for job in ("prometheus", "pushgateway"):
            result = await _eventually(client, settings, f'up{{job="{job}"}} == 1')
            assert result[0]["value"][1] == "1"  # type: ignore[index]
        built = await _eventually(client, settings, 'prometheus_build_info{job="prometheus"}')
        assert built[0]["metric"]["version"]  # type: ignore[index]


async def test_a_push_to_the_pushgateway_is_visible_in_prometheus(settings: Settings) -> None:
    run = uuid.uuid4().hex
    body = f'# TYPE cqrs_stack_test_value gauge\ncqrs_stack_test_value{{run="{run}"}} 42.5\n'
    async with httpx.AsyncClient(timeout=5) as client:
        group = f"{settings.pushgateway_url}/metrics/job/cqrs_stack_test/instance/{run}"
        response = await client.put(group, content=body)
        assert response.status_code in (200, 202)
        result = await _eventually(client, settings, f'cqrs_stack_test_value{{run="{run}"}}')
        assert result[0]["value"][1] == "42.5"  # type: ignore[index]
        assert result[0]["metric"]["job"] == "cqrs_stack_test"  # type: ignore[index]  # honor_labels
        await client.delete(
            f"{settings.pushgateway_url}/metrics/job/cqrs_stack_test/instance/{run}"
        )
