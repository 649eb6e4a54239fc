"""A capacity model from a load run's measured CPU (the `resources` section): which part of the
system saturates first as the request rate grows, and how adding instances moves the limit.

The model is linear in the rate above a fixed idle cost: a component that idles at `i` cores
(polling, heartbeats, refreshes; measured before the run with no load) and used `c` CPU ms per
request above that at the measured rate needs `i + rate * c / 1000` cores at another rate. When
the idle baseline is missing or not clearly below the run's own use (the lower end of the
marginal interval is 0: on a shared machine, someone else's work fell into the idle window),
the component's whole CPU counts per request and `i` = 0 (pessimistic, never flattering); the
table's `basis` column says which. A component is capped by its parallelism:
a Python process (api, relay, projector) runs one event loop, so it uses at most one core per
instance; the relay publishes from one leader whatever the instances; projector instances share
a topic's partitions, so at most `partitions` of them work. PostgreSQL, Kafka and Elasticsearch
spread over every core. The whole system also shares the machine's cores:

    limit(component) = (parallelism - idle) * 1000 / ms_per_request
    limit(machine)   = (cores - sum of idle) * 1000 / sum of ms_per_request

and the rate the system can carry is the lowest of these. Batching makes Kafka's and
Elasticsearch's cost per request fall as the rate grows (so their limits are conservative);
lock and connection contention in PostgreSQL makes its cost rise (optimistic). Pure functions:
`docs/scale-out.md` and the README's `capacity` block render the same table.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYSTEM = ("api", "relay", "projector", "postgres", "kafka", "elasticsearch")
"""The system under test's components (the load generator and monitoring run elsewhere)."""
ONE_CORE_EACH = {"api", "relay", "projector"}
"""Python processes: one event loop, at most one core per instance."""
NO_RESOURCES = (
    "No resources section in the reference load run yet: regenerate it with this revision's"
    " `cqrs-bench load` (it records each process's CPU)."
)


@dataclass(frozen=True)
class Layout:
    """How the system is deployed: cores of the machine and instances of each component."""

    cores: int
    api: int = 1
    projectors: int = 1
    partitions: int = 3

    def parallelism(self, component: str) -> float:
        """Cores a component can use at most."""
        if component == "api":
            return float(min(self.api, self.cores))
        if component == "relay":
            return 1.0
        if component == "projector":
            return float(min(self.projectors, self.partitions, self.cores))
        return float(self.cores)

    def instances(self, component: str) -> int:
        """How many processes of a component run (each pays the idle cost)."""
        return {"api": self.api, "projector": self.projectors}.get(component, 1)


@dataclass(frozen=True)
class Cost:
    """One component's measured CPU (summed over its instances): the CPU per request above
    idle (the whole CPU when the run had no idle baseline), and the idle cores per instance."""

    component: str
    ms_per_request: float
    ms_per_request_low: float
    ms_per_request_high: float
    ms_per_event: float | None
    cores: float
    instances: int
    idle_per_instance: float = 0.0
    basis: str = "all CPU"
    """`above idle` (marginal cost) or `all CPU` (no reliable idle baseline)."""

    def idle(self, layout: Layout) -> float:
        return self.idle_per_instance * layout.instances(self.component)


def costs(rows: Sequence[Mapping[str, Any]]) -> list[Cost]:
    """The system's components' costs from `resources` rows (instances of one component summed;
    their interval bounds are summed too, a conservative interval)."""
    out = []
    for name in SYSTEM:
        mine = [r for r in rows if r["component"] == name and r.get("cpu_ms_per_request")]
        if not mine:
            continue
        above_idle = all((r.get("marginal_ms_per_request_low") or 0) > 0 for r in mine)
        key = "marginal_ms" if above_idle else "cpu_ms"
        per_request = f"{key}_per_request"
        events = [r[f"{key}_per_event"] for r in mine if r.get(f"{key}_per_event") is not None]
        out.append(
            Cost(
                name,
                sum(r[per_request] for r in mine),
                sum(r.get(f"{per_request}_low", r[per_request]) for r in mine),
                sum(r.get(f"{per_request}_high", r[per_request]) for r in mine),
                sum(events) if events else None,
                sum(r["cores"] for r in mine),
                len(mine),
                sum(r["idle_cores"] for r in mine) / len(mine) if above_idle else 0.0,
                "above idle" if above_idle else "all CPU",
            )
        )
    return out


def limit(cost: Cost, layout: Layout) -> float:
    """Requests/s at which `cost`'s component uses all the cores it can."""
    if cost.component in ONE_CORE_EACH:
        # idle is paid per process; each process's single core serves its share of requests
        spare = layout.parallelism(cost.component) * (1 - cost.idle_per_instance)
    else:
        spare = layout.parallelism(cost.component) - cost.idle(layout)
    if cost.ms_per_request <= 0:
        return math.inf
    return max(0.0, spare) * 1000 / cost.ms_per_request


def machine_limit(all_costs: Sequence[Cost], layout: Layout) -> float:
    """Requests/s at which the system's components together use every core."""
    total = sum(c.ms_per_request for c in all_costs)
    spare = layout.cores - sum(c.idle(layout) for c in all_costs)
    return max(0.0, spare) * 1000 / total if total > 0 else math.inf


def bottleneck(all_costs: Sequence[Cost], layout: Layout) -> tuple[str, float]:
    """The part that saturates first (a component or `machine`) and its rate."""
    limits = [(c.component, limit(c, layout)) for c in all_costs]
    limits.append(("machine", machine_limit(all_costs, layout)))
    return min(limits, key=lambda pair: pair[1])


def _f(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def table_lines(rows: Sequence[Mapping[str, Any]], layouts: Sequence[Layout]) -> list[str]:
    """The capacity table (a component per line, a limit per layout) and what saturates first."""
    all_costs = costs(rows)
    if not all_costs:
        return [NO_RESOURCES]
    names = [
        f"limit req/s: {lay.cores} cores, {lay.api} api, {lay.projectors} proj,"
        f" {lay.partitions} part"
        for lay in layouts
    ]
    header = [
        "component",
        "basis",
        "CPU ms/request (95%)",
        "CPU ms/event",
        "idle cores each",
        "cores used in the run",
        *names,
    ]
    body = [
        [
            c.component + (f" ({c.instances} instances)" if c.instances > 1 else ""),
            c.basis,
            f"{_f(c.ms_per_request)} ({_f(c.ms_per_request_low)} to {_f(c.ms_per_request_high)})",
            _f(c.ms_per_event),
            f"{c.idle_per_instance:.3f}",
            f"{c.cores:.3f}",
            *(_f(limit(c, lay)) for lay in layouts),
        ]
        for c in all_costs
    ]
    total = sum(c.ms_per_request for c in all_costs)
    body.append(
        [
            "**all of the system**",
            "",
            f"**{_f(total)}**",
            "-",
            "-",
            f"{sum(c.cores for c in all_costs):.3f}",
            *(f"**{_f(machine_limit(all_costs, lay))}**" for lay in layouts),
        ]
    )
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in body),
        "",
    ]
    for lay in layouts:
        part, rate = bottleneck(all_costs, lay)
        lines.append(
            f"- {lay.cores} cores, {lay.api} api, {lay.projectors} projector(s), {lay.partitions}"
            f" partitions: **{part}** saturates first, at about {_f(rate)} req/s."
        )
    return lines


def run_lines(data: Mapping[str, Any], layouts: Sequence[Layout]) -> list[str]:
    """The table for one run's results (a load run with a `resources` section), with its
    command, revision and environment."""
    rows = data.get("resources") or []
    if not rows:
        return [NO_RESOURCES]
    env, config = data["environment"], data["config"]
    load = (data.get("load") or [{}])[0]
    dirty = " (dirty tree)" if env.get("git_dirty") else ""
    head = (
        f"From `cqrs-bench load --scenario {config.get('scenario')} --rate {config.get('rate')}"
        f" --duration {config.get('duration_s')}` (run {data['run_id']}, revision"
        f" {str(env.get('git_revision'))[:7]}{dirty}; {env['cpu']}, {env['cores']} cores):"
        f" {load.get('achieved_rps', 0):.1f} req/s achieved, {rows[0]['requests']:,} requests and"
        f" {rows[0]['events']:,} events in a {rows[0]['window_s']:.0f} s window."
    )
    return [head, "", *table_lines(rows, layouts)]


DEFAULT_LAYOUTS = (
    Layout(cores=2),
    Layout(cores=8),
    Layout(cores=8, api=4, projectors=3, partitions=3),
    Layout(cores=16, api=8, projectors=6, partitions=6),
)
"""The layouts the docs and the README show: this machine, and bigger ones."""


def main(argv: Sequence[str]) -> int:
    """`python -m bench.report.capacity RESULTS_JSON`: print the capacity block."""
    from bench.report.results import load

    if len(argv) != 1:
        print("usage: python -m bench.report.capacity RESULTS_JSON", file=sys.stderr)
        return 2
    print("\n".join(run_lines(load(Path(argv[0])).to_dict(), DEFAULT_LAYOUTS)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
