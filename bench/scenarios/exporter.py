"""Locust's live statistics as Prometheus metrics (master or local runner).

The exporter listens on `--exporter-host`:`--exporter-port` (default 127.0.0.1:18089).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from locust.env import Environment
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from bench.load import metrics as m

RunState = Callable[[float], tuple[str, float] | None]
"""At a time: the run's (scenario, target rate), or None before the test started."""


class LocustCollector(Collector):
    """Reads the runner's aggregated stats at scrape time (workers' included)."""

    def __init__(self, environment: Environment, state: RunState) -> None:
        self._env = environment
        self._state = state

    def collect(self) -> Iterator[Any]:
        now = self._state(time.time())
        options = self._env.parsed_options
        scenario = now[0] if now is not None else str(getattr(options, "scenario", ""))
        requests = CounterMetricFamily(
            m.REQUESTS_TOTAL.removesuffix("_total"),
            "Requests the load generator completed, by request type and outcome.",
            labels=["scenario", "request", "outcome"],
        )
        latency = HistogramMetricFamily(
            m.LATENCY_SECONDS,
            "Response time of the load generator's requests (locust's view, from the send).",
            labels=["scenario", "request"],
        )
        runner = self._env.runner
        entries = runner.stats.entries.values() if runner is not None else []
        for entry in entries:
            name = str(entry.name)
            ok = entry.num_requests - entry.num_failures
            requests.add_metric([scenario, name, "ok"], ok)
            requests.add_metric([scenario, name, "failure"], entry.num_failures)
            buckets: list[tuple[str, float]] = []
            for bound in m.LATENCY_BUCKETS_SECONDS:
                limit_ms = bound * 1000
                below = sum(c for ms, c in entry.response_times.items() if ms <= limit_ms)
                buckets.append((str(bound), float(below)))
            buckets.append(("+Inf", float(entry.num_requests)))
            latency.add_metric(
                [scenario, name], buckets, sum_value=entry.total_response_time / 1000
            )
        yield requests
        yield latency
        users = GaugeMetricFamily(m.USERS, "Users the load generator runs now.")
        users.add_metric([], float(runner.user_count if runner is not None else 0))
        yield users
        target = GaugeMetricFamily(m.TARGET_RPS, "Open model: the target arrival rate now.")
        target.add_metric([], now[1] if now is not None else 0.0)
        yield target


def start_exporter(environment: Environment, state: RunState, port: int) -> None:
    """Serve the collector on `port` of `--exporter-host`; `state` gives scenario and rate."""
    host = str(getattr(environment.parsed_options, "exporter_host", "") or m.EXPORTER_HOST)
    registry = CollectorRegistry()
    registry.register(LocustCollector(environment, state))
    start_http_server(port, addr=host, registry=registry)
