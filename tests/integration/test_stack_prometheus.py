from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from bench.stack.projectors import instance_port
from system.config import Settings

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("cqrs-bench"))


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


def _cli(*args: str) -> None:
    done = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


async def _projector_targets(client: httpx.AsyncClient, settings: Settings) -> dict[str, str]:
    """instance_id -> scrape URL of the projector job's active targets."""
    response = await client.get(f"{settings.prometheus_url}/api/v1/targets")
    response.raise_for_status()
    return {
        t["labels"].get("instance_id", "?"): t["scrapeUrl"]
        for t in response.json()["data"]["activeTargets"]
        if t["labels"]["job"] == "projector"
    }


async def _projector_up(
    client: httpx.AsyncClient, settings: Settings, expected: set[str], wait: float = 60.0
) -> dict[str, str]:
    """Wait until the projector job's targets are `expected` and each is scraped up."""
    async with asyncio.timeout(wait):
        while True:
            targets = await _projector_targets(client, settings)
            result = await _query(client, settings, 'up{job="projector"} == 1')
            up = {str(r["metric"].get("instance_id")) for r in result}  # type: ignore[attr-defined]
            if set(targets) == expected and up >= expected:
                return targets
            await asyncio.sleep(0.5)


async def test_prometheus_scrapes_every_projector_instance_as_they_are_scaled(
    settings: Settings,
) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        config = (await client.get(f"{settings.prometheus_url}/api/v1/status/config")).json()
        assert "projector-targets.json" in config["data"]["yaml"], (
            "Prometheus runs a config without the projector targets file:"
            " `cqrs-bench restart prometheus`"
        )
        try:
            await asyncio.to_thread(_cli, "up", "--projectors", "2")
            targets = await _projector_up(client, settings, {"projector", "projector-2"})
            assert targets == {
                "projector": f"http://127.0.0.1:{instance_port(1)}/metrics",
                "projector-2": f"http://127.0.0.1:{instance_port(2)}/metrics",
            }
        finally:
            await asyncio.to_thread(_cli, "up", "--projectors", "1")
        assert await _projector_up(client, settings, {"projector"}) == {
            "projector": f"http://127.0.0.1:{instance_port(1)}/metrics"
        }
