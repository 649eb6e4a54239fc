"""The capacity model's arithmetic: limits per component, the machine, and the bottleneck."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.report.capacity import (
    NO_RESOURCES,
    Layout,
    bottleneck,
    costs,
    limit,
    machine_limit,
    run_lines,
    table_lines,
)


def _row(process: str, per_request: float, idle: float | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "process": process,
        "component": process.rsplit("-", 1)[0] if process[-1].isdigit() else process,
        "cpu_seconds": 1.0,
        "cores": 0.5,
        "low": 0.4,
        "high": 0.6,
        "window_s": 10.0,
        "requests": 100,
        "events": 200,
        "cpu_ms_per_request": per_request,
        "cpu_ms_per_request_low": per_request * 0.9,
        "cpu_ms_per_request_high": per_request * 1.1,
        "cpu_ms_per_event": per_request / 2,
    }
    if idle is not None:
        row |= {
            "idle_cores": idle,
            "marginal_ms_per_request": per_request / 2,
            "marginal_ms_per_request_low": per_request / 2 - idle,
            "marginal_ms_per_request_high": per_request / 2 + idle,
            "marginal_ms_per_event": per_request / 4,
        }
    return row


ROWS = [
    _row("api", 4.0),
    _row("relay", 1.0),
    _row("projector-1", 1.0),
    _row("projector-2", 1.0),
    _row("postgres", 2.0),
    _row("kafka", 1.0),
    _row("elasticsearch", 6.0),
    _row("locust", 50.0),  # the generator is not part of the system's capacity
]


def test_instances_of_a_component_add_up_and_the_generator_is_left_out() -> None:
    found = {c.component: c for c in costs(ROWS)}
    assert set(found) == {"api", "relay", "projector", "postgres", "kafka", "elasticsearch"}
    assert found["projector"].ms_per_request == 2.0 and found["projector"].instances == 2
    assert found["projector"].ms_per_request_low == pytest.approx(1.8)


def test_python_processes_get_one_core_each_and_the_relay_one_in_all() -> None:
    found = {c.component: c for c in costs(ROWS)}
    small, big = Layout(cores=2), Layout(cores=16, api=4, projectors=8, partitions=3)
    assert limit(found["api"], small) == pytest.approx(250.0)  # 1 core / 4 ms
    assert limit(found["api"], big) == pytest.approx(1000.0)  # 4 replicas
    assert limit(found["relay"], big) == pytest.approx(1000.0)  # one leader whatever the size
    assert limit(found["projector"], big) == pytest.approx(1500.0)  # 3 partitions, not 8
    assert limit(found["elasticsearch"], big) == pytest.approx(16 * 1000 / 6)


def test_the_machine_or_the_slowest_component_saturates_first() -> None:
    all_costs = costs(ROWS)
    assert machine_limit(all_costs, Layout(cores=2)) == pytest.approx(2000 / 16)
    part, rate = bottleneck(all_costs, Layout(cores=2))
    assert part == "machine" and rate == pytest.approx(125.0)
    part, rate = bottleneck(all_costs, Layout(cores=64, api=2))
    assert part == "api" and rate == pytest.approx(500.0)


def test_idle_cost_is_subtracted_before_the_rate_is_divided() -> None:
    rows = [_row("api", 4.0, idle=0.2), _row("postgres", 2.0, idle=0.5)]
    api, postgres = costs(rows)
    assert api.ms_per_request == 2.0 and api.idle_per_instance == 0.2
    assert limit(api, Layout(cores=4)) == pytest.approx(0.8 * 1000 / 2.0)
    assert limit(postgres, Layout(cores=4)) == pytest.approx(3.5 * 1000 / 1.0)
    # two api replicas each idle at 0.2 cores
    assert machine_limit([api, postgres], Layout(cores=4, api=2)) == pytest.approx(
        (4 - 0.4 - 0.5) * 1000 / 3.0
    )
    assert limit(api, Layout(cores=4)) < limit(costs([_row("api", 4.0)])[0], Layout(cores=4)) * 2
    assert api.basis == "above idle"


def test_an_idle_baseline_not_clearly_below_the_run_counts_all_cpu() -> None:
    row = _row("elasticsearch", 6.0, idle=0.4)
    row["marginal_ms_per_request"], row["marginal_ms_per_request_low"] = 0.5, 0.0
    (cost,) = costs([row])
    assert cost.basis == "all CPU" and cost.idle_per_instance == 0.0
    assert cost.ms_per_request == 6.0  # the whole CPU per request: pessimistic


def test_the_table_names_the_bottleneck_and_degrades_without_resources() -> None:
    lines = table_lines(ROWS, [Layout(cores=2)])
    assert lines[0].startswith("| component |")
    assert "**machine** saturates first, at about 125 req/s" in lines[-1]
    assert table_lines([], [Layout(cores=2)]) == [NO_RESOURCES]
    assert run_lines({"resources": []}, [Layout(cores=2)]) == [NO_RESOURCES]
    assert math.isinf(machine_limit([], Layout(cores=2)))
