"""Every Pushgateway panel of the dashboards returns data from the real Prometheus once a load run
and a micro run have been pushed (the panel's own query, its run filter set to those runs)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import delete_from_gateway

from bench.export import dashboards, push, push_load
from bench.export.pushgateway import grouping_key
from system.config import Settings

pytestmark = pytest.mark.integration

RUN = f"panels-{uuid.uuid4().hex[:8]}"
ENVIRONMENT = {"git_revision": "0123456789abcdef", "git_dirty": False}
FINISHED = "2025-01-01T12:00:00+00:00"

LOAD: dict[str, Any] = {
    "suite": f"{RUN}/banking",
    "run_id": f"{RUN}-load",
    "finished_at": FINISHED,
    "environment": ENVIRONMENT,
    "load": [
        {
            "scenario": "banking",
            "model": "open",
            "target_rps": 20.0,
            "achieved_rps": 19.0,
            "requests": 570,
            "failures": 1,
            "conflicts": 0,
            "unsent": 0,
            "latency_seconds": {"p50": 0.01, "p90": 0.02, "p99": 0.04, "p999": 0.05, "max": 0.08},
            "corrected": {"p50": 0.012, "p90": 0.03, "p99": 0.09, "p999": 0.1, "max": 0.2},
        }
    ],
    "lag": [{"projection": "account_balance", "stage": "end_to_end", "p50": 0.1, "p99": 0.3}],
}
MICRO: dict[str, Any] = {
    "suite": RUN,
    "run_id": f"{RUN}-micro",
    "finished_at": FINISHED,
    "environment": ENVIRONMENT,
    "replay": [
        {"events": 1000, "snapshot_every": None, "seconds": 0.02, "events_per_s": 5e4, "ratio": 0.5}
    ],
    "append": [
        {"connections": 4, "batch": 10, "events_per_s": 9e3, "p99_seconds": 0.01, "ratio": 0.4}
    ],
    "conflicts": [
        {
            "writers": 4,
            "skew": "uniform",
            "retry": True,
            "conflict_rate": 0.2,
            "predicted_conflict_rate": 0.25,
            "committed_per_s": 300.0,
        }
    ],
    "projection": [{"name": "account_balance", "events_per_s": 4e3, "ratio": 0.3}],
    "ceilings": [{"name": "postgres_insert", "unit": "events/s", "value": 2e4}],
    "peers": [{"peer": "eventsourcing", "workload": "replay", "ratio": 1.2}],
}


def instant(settings: Settings, expr: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{settings.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10
    )
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


@pytest.fixture(scope="module")
def pushed(settings: Settings) -> Iterator[None]:
    push_load(LOAD, settings.pushgateway_url)
    push(MICRO, settings.pushgateway_url)
    deadline = time.monotonic() + 30
    query = f'cqrs_bench_run_timestamp_seconds{{run_id=~"{RUN}-.*"}}'
    while len(instant(settings, query)) < 2:
        assert time.monotonic() < deadline, "Prometheus did not scrape the Pushgateway in 30 s"
        time.sleep(0.5)
    yield
    for data, job in ((LOAD, "cqrs-bench-load"), (MICRO, "cqrs-bench-micro")):
        delete_from_gateway(settings.pushgateway_url, job=job, grouping_key=grouping_key(data))


def pushgateway_panels() -> list[tuple[str, str, str]]:
    return [
        (name, panel["title"], target["expr"])
        for name, model in dashboards.generated().items()
        for panel in dashboards.panels(model)
        for target in panel["targets"]
        if 'job="cqrs-bench-' in target["expr"]
    ]


@pytest.mark.parametrize(("dashboard", "panel", "expr"), pushgateway_panels())
def test_the_pushgateway_panel_has_data_for_the_pushed_runs(
    settings: Settings, pushed: None, dashboard: str, panel: str, expr: str
) -> None:
    concrete = expr.replace("$run_id", f"{RUN}-.*").replace("$scenario", ".*")
    concrete = concrete.replace("$projection", ".*")
    rows = instant(settings, concrete)
    assert rows, f"{dashboard} / {panel}: no data"
    for row in rows:
        labels = row["metric"]
        if "label_join" in expr:  # a bar chart's query: one row per (case, run)
            assert labels["case"] and labels["run_id"].startswith(RUN), labels
