"""The real Pushgateway keeps one group per run: a second run does not overwrite the first."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import delete_from_gateway

from bench.export import metric_names as n
from bench.export import push, push_load
from bench.export.pushgateway import grouping_key
from system.config import Settings

pytestmark = pytest.mark.integration


def load_results(suite: str, run_id: str, achieved: float) -> dict[str, Any]:
    return {
        "suite": suite,
        "run_id": run_id,
        "finished_at": "2025-01-01T12:00:00+00:00",
        "environment": {"git_revision": "0123456789abcdef", "git_dirty": False},
        "load": [
            {
                "scenario": "banking",
                "model": "open",
                "target_rps": 20.0,
                "achieved_rps": achieved,
                "requests": 600,
                "failures": 0,
                "conflicts": 2,
                "latency_seconds": {"p50": 0.01, "p99": 0.04, "max": 0.08},
                "corrected": {"p50": 0.012, "p99": 0.09, "max": 0.2},
            }
        ],
        "lag": [{"projection": "order_status", "stage": "end_to_end", "p99": 0.25}],
    }


def groups(settings: Settings) -> list[dict[str, Any]]:
    response = httpx.get(f"{settings.pushgateway_url}/api/v1/metrics", timeout=10)
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def gauge(group: dict[str, Any], name: str, **labels: str) -> float:
    for metric in group[name]["metrics"]:
        if all(metric["labels"].get(k) == v for k, v in labels.items()):
            return float(metric["value"])
    raise AssertionError(f"{name}{labels} not in the group")


@pytest.fixture
def suite(settings: Settings) -> Iterator[str]:
    """A suite name of this test's own; its groups are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    for group in groups(settings):
        labels = group["labels"]
        if labels.get("suite", "").startswith(name):
            key = {k: v for k, v in labels.items() if k != "job"}
            delete_from_gateway(settings.pushgateway_url, job=labels["job"], grouping_key=key)


def test_two_load_runs_with_different_run_ids_both_remain_visible(
    settings: Settings, suite: str
) -> None:
    load_suite = f"{suite}/banking"  # as a load run names it: a slash, base64 in the URL
    push_load(load_results(load_suite, f"{suite}-run-1", 19.5), settings.pushgateway_url)
    push_load(load_results(load_suite, f"{suite}-run-2", 18.0), settings.pushgateway_url)
    ours = {
        g["labels"]["run_id"]: g for g in groups(settings) if g["labels"].get("suite") == load_suite
    }
    assert set(ours) == {f"{suite}-run-1", f"{suite}-run-2"}
    for run_id, achieved in ((f"{suite}-run-1", 19.5), (f"{suite}-run-2", 18.0)):
        group = ours[run_id]
        assert group["labels"]["job"] == n.LOAD_JOB
        assert group["labels"]["revision"] == "0123456789ab"
        assert gauge(group, n.LOAD_ACHIEVED_RPS_PUSHED, scenario="banking") == achieved
        assert gauge(group, n.LOAD_LATENCY_PUSHED, latency="corrected", percentile="p99") == 0.09
        assert gauge(group, n.LAG_PUSHED, projection="order_status", percentile="p99") == 0.25


def test_a_repeated_push_of_one_run_replaces_only_that_run(settings: Settings, suite: str) -> None:
    push_load(load_results(suite, f"{suite}-a", 10.0), settings.pushgateway_url)
    push_load(load_results(suite, f"{suite}-b", 11.0), settings.pushgateway_url)
    push_load(load_results(suite, f"{suite}-a", 12.0), settings.pushgateway_url)
    ours = {g["labels"]["run_id"]: g for g in groups(settings) if g["labels"].get("suite") == suite}
    assert gauge(ours[f"{suite}-a"], n.LOAD_ACHIEVED_RPS_PUSHED) == 12.0
    assert gauge(ours[f"{suite}-b"], n.LOAD_ACHIEVED_RPS_PUSHED) == 11.0


def test_micro_runs_are_grouped_by_run_too(settings: Settings, suite: str) -> None:
    for run in ("m1", "m2"):
        data = {
            "suite": suite,
            "run_id": f"{suite}-{run}",
            "finished_at": "2025-01-01T12:00:00+00:00",
            "environment": {"git_revision": "fedcba9876543210", "git_dirty": True},
            "peers": [{"peer": "eventsourcing", "workload": "replay", "ratio": 1.5}],
        }
        push(data, settings.pushgateway_url)
        assert grouping_key(data)["revision"] == "fedcba987654-dirty"
    ours = [g for g in groups(settings) if g["labels"].get("suite") == suite]
    assert sorted(g["labels"]["run_id"] for g in ours) == [f"{suite}-m1", f"{suite}-m2"]
    assert all(g["labels"]["job"] == n.MICRO_JOB for g in ours)
    assert all(gauge(g, "cqrs_bench_peer_ratio", peer="eventsourcing") == 1.5 for g in ours)
