"""The dashboards of bench runs: a load run (throughput against its target, status classes,
failures, conflicts, latency from the generator and the server, pushed summaries raw and
corrected) and the micro-benchmarks (Pushgateway, one series per run id)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart
from grafana_foundation_sdk.builders import dashboard as db

from bench.export import metric_names as n
from bench.export import panels as p
from bench.export.dashboards_live import RETRIES
from bench.report.constants import PERCENTILES_TO_REPORT

NOT_SCRAPES = 'route!~"/metrics|/health"'
"""Leaves out Prometheus' scrapes and health checks: only the load's requests count."""
FAILED = f'{p.SCENARIO}, outcome="failure"'


def _status(selector: str) -> str:
    """Requests per second answered with the statuses `selector` picks; 0 when there were none
    (a flat line says "none", a missing one could mean "not scraped")."""
    return f"sum({p.rate(n.HTTP_REQUESTS_TOTAL, f'{NOT_SCRAPES}, {selector}')}) or vector(0)"


def load() -> db.Dashboard:
    requests = p.rate(n.LOAD_REQUESTS_TOTAL, p.SCENARIO)
    status_class = (
        f'sum by (class) (label_replace({p.rate(n.HTTP_REQUESTS_TOTAL, NOT_SCRAPES)}, "class",'
        ' "${1}xx", "status", "([0-9])[0-9][0-9]"))'
    )
    rates = f"""label_replace({p.pushed(n.LOAD_ACHIEVED_RPS_PUSHED, n.LOAD_JOB, p.SCENARIO)},
 "figure", "achieved", "", "") or label_replace({
        p.pushed(n.LOAD_TARGET_RPS_PUSHED, n.LOAD_JOB, p.SCENARIO)
    }, "figure", "target", "", "")""".replace("\n", "")
    return (
        p.dashboard(
            "cqrs-load",
            "cqrs-bench · load run",
            "A locust run: throughput against its target, status classes, failures, conflicts,"
            " latency from the generator and from the server; pushed summaries per run.",
        )
        .with_row(p.row("Throughput and outcomes"))
        .with_panel(
            p.timeseries_panel(
                "Throughput vs target",
                n.UNIT_REQUESTS_PER_S,
                [
                    (f"sum({requests})", "achieved (generator)"),
                    (f"sum({n.LOAD_TARGET_RPS})", "target"),
                    (f"sum({p.rate(n.HTTP_REQUESTS_TOTAL, NOT_SCRAPES)})", "answered (api)"),
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "HTTP status classes (api)",
                n.UNIT_REQUESTS_PER_S,
                [
                    (status_class, "{{class}}"),
                    (_status('status="409"'), "409 conflict"),
                    (_status('status="202"'), "202 still processing"),
                    (_status('status=~"5.."'), "5xx"),
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Failures by request (generator)",
                n.UNIT_REQUESTS_PER_S,
                [
                    (
                        f"sum by (request) ({p.rate(n.LOAD_REQUESTS_TOTAL, FAILED)})",
                        "{{request}}",
                    )
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Conflicts and retries per second",
                n.UNIT_OPS_PER_S,
                [
                    (f"sum({p.rate(n.COMMAND_CONFLICTS_TOTAL)})", "conflicts"),
                    (
                        RETRIES,
                        "retries",
                    ),
                ],
            )
        )
        .with_row(p.row("Latency"))
        .with_panel(
            p.timeseries_panel(
                "Generator latency percentiles (raw, from the send)",
                n.UNIT_SECONDS,
                [
                    (p.quantile(q, n.LOAD_LATENCY, "", p.SCENARIO), key)
                    for key, q in PERCENTILES_TO_REPORT
                ],
                "Live from locust's histogram. Corrected latency (from the intended start) is"
                " computed from the raw samples at the end of a run: see the pushed runs below.",
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Users (generator)", n.UNIT_COUNT, [(f"sum({n.LOAD_USERS})", "users")]
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Command latency by route (api, POST)",
                n.UNIT_SECONDS,
                p.percentile_lines(n.HTTP_DURATION, "route", 'method="POST"', "{{route}}"),
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Query latency by route (api, GET)",
                n.UNIT_SECONDS,
                p.percentile_lines(
                    n.HTTP_DURATION, "route", f'method="GET", {NOT_SCRAPES}', "{{route}}"
                ),
            )
        )
        .with_row(p.row("Pushed load runs (Pushgateway)"))
        .with_panel(
            p.run_bars(
                "Latency percentiles, raw vs corrected (pushed runs)",
                n.UNIT_SECONDS,
                p.by_case(
                    p.pushed(n.LOAD_LATENCY_PUSHED, n.LOAD_JOB, p.SCENARIO),
                    ("scenario", "latency", "percentile"),
                ),
                "corrected counts from each request's intended start (coordinated omission).",
            )
        )
        .with_panel(
            p.run_bars(
                "Achieved vs target rate (pushed runs)",
                n.UNIT_REQUESTS_PER_S,
                p.by_case(rates, ("scenario", "figure")),
            )
        )
        .with_panel(
            p.runs_table(
                "Load runs (pushed)",
                [
                    (p.pushed(name, n.LOAD_JOB, p.SCENARIO), name.removeprefix("cqrs_bench_load_"))
                    for name in n.LOAD_METRICS
                    if name.startswith("cqrs_bench_load_") and name != n.LOAD_LATENCY_PUSHED
                ],
            )
        )
    )


def _micro_bars(title: str, unit: str, metric: str, labels: tuple[str, ...]) -> barchart.Panel:
    return p.run_bars(
        f"{title} ({', '.join(labels)})",
        unit,
        p.by_case(p.pushed(metric, n.MICRO_JOB), labels),
    )


def micro() -> db.Dashboard:
    return (
        p.dashboard(
            "cqrs-micro",
            "cqrs-bench · micro-benchmarks (Pushgateway)",
            "Replay, append, conflicts, projection and ceilings from pushed micro runs; one"
            " series per run id.",
        )
        .with_panel(
            _micro_bars(
                "Replay time",
                n.UNIT_SECONDS,
                "cqrs_bench_replay_seconds",
                ("events", "snapshot_every"),
            )
        )
        .with_panel(
            _micro_bars(
                "Replay events/s",
                n.UNIT_OPS_PER_S,
                "cqrs_bench_replay_events_per_second",
                ("events", "snapshot_every"),
            )
        )
        .with_panel(
            _micro_bars(
                "Append events/s",
                n.UNIT_OPS_PER_S,
                "cqrs_bench_append_events_per_second",
                ("connections", "batch", "snapshots"),
            )
        )
        .with_panel(
            _micro_bars(
                "Append p99",
                n.UNIT_SECONDS,
                "cqrs_bench_append_p99_seconds",
                ("connections", "batch", "snapshots"),
            )
        )
        .with_panel(
            _micro_bars(
                "Ratio to ceiling", n.UNIT_RATIO, "cqrs_bench_ceiling_ratio", ("section", "case")
            )
        )
        .with_panel(
            _micro_bars(
                "Conflict rate, measured vs model",
                n.UNIT_RATIO,
                "cqrs_bench_conflict_rate",
                ("source", "writers", "skew", "retry"),
            )
        )
        .with_panel(
            _micro_bars(
                "Committed commands/s under contention",
                n.UNIT_OPS_PER_S,
                "cqrs_bench_committed_commands_per_second",
                ("writers", "skew", "retry"),
            )
        )
        .with_panel(
            _micro_bars(
                "Projection events/s",
                n.UNIT_OPS_PER_S,
                "cqrs_bench_projection_events_per_second",
                ("projection",),
            )
        )
        .with_panel(
            _micro_bars(
                "Ceilings events/s",
                n.UNIT_OPS_PER_S,
                "cqrs_bench_ceiling_events_per_second",
                ("ceiling",),
            )
        )
        .with_panel(
            _micro_bars("Ours / peer", n.UNIT_COUNT, "cqrs_bench_peer_ratio", ("peer", "workload"))
        )
    )
