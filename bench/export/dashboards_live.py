"""The live dashboards of the system under test: the read side (projection lag by stage, per
projection; consumer-group and position lag) and the write side (commands and conflicts)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from bench.export import metric_names as n
from bench.export import panels as p
from bench.report.constants import LagStage

RETRIES = f"sum({p.rate(n.COMMAND_ATTEMPTS_TOTAL)}) - sum({p.rate(n.COMMANDS_TOTAL)})"
"""Attempts beyond each command's first."""


def read_side() -> db.Dashboard:
    lag_here = f"{p.PROJECTION}, stage{p.match(p.STAGE_VAR)}"
    heat = (
        p.heatmap_panel(
            "Lag heatmap · $projection · $stage",
            f"sum by (le) (increase({n.PROJECTION_LAG}_bucket{{{lag_here}}}[{p.RATE}]))",
            "Events per lag bucket of the chosen stage (variable `stage`), one panel per"
            " projection.",
        )
        .repeat(p.PROJECTION_VAR)
        .repeat_direction("h")
        .max_per_row(2)
    )
    by_stage = (
        p.timeseries_panel(
            "Lag percentiles by stage · $projection",
            n.UNIT_SECONDS,
            p.percentile_lines(n.PROJECTION_LAG, "stage", p.PROJECTION, "{{stage}}"),
            "delivery = committed → consumed (relay and Kafka), index → bulk acked, refresh →"
            " searchable, end_to_end = committed → searchable.",
        )
        .repeat(p.PROJECTION_VAR)
        .repeat_direction("h")
        .max_per_row(2)
    )
    end_to_end = f'{p.PROJECTION}, stage="{LagStage.END_TO_END}"'
    duplicates = p.rate(n.PROJECTION_DUPLICATES_TOTAL, p.PROJECTION)
    return (
        p.dashboard(
            "cqrs-read-side",
            "cqrs-bench · read side (projection lag)",
            "How far each projection lags behind the write side, by stage.",
        )
        .with_variable(p.stage_variable())
        .with_row(p.row("Lag by stage, per projection"))
        .with_panel(heat)
        .with_panel(by_stage)
        .with_row(p.row("Lag across projections"))
        .with_panel(
            p.timeseries_panel(
                "End-to-end lag by projection",
                n.UNIT_SECONDS,
                p.percentile_lines(n.PROJECTION_LAG, "projection", end_to_end, "{{projection}}"),
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Relay lag (commit → Kafka ack)",
                n.UNIT_SECONDS,
                p.percentile_lines(n.RELAY_LAG, "origin", "", "{{origin}}"),
                "origin=observed where PostgreSQL keeps no commit timestamps.",
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Consumer-group lag per projection (messages)",
                n.UNIT_COUNT,
                [
                    (
                        f"max by (projection) ({n.PROJECTION_CONSUMER_LAG}{{{p.PROJECTION}}})",
                        "{{projection}}",
                    )
                ],
                "Kafka messages the projection's consumer group has not consumed yet.",
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Position lag per projection (events)",
                n.UNIT_EVENTS,
                [
                    (
                        f"max by (projection) ({n.PROJECTION_POSITION_LAG}{{{p.PROJECTION}}})",
                        "{{projection}}",
                    )
                ],
                "Events committed in PostgreSQL beyond the projection's checkpoint.",
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Checkpoint position per projection",
                n.UNIT_COUNT,
                [
                    (
                        f"max by (projection) ({n.PROJECTION_POSITION}{{{p.PROJECTION}}})",
                        "{{projection}}",
                    )
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Events applied and duplicates per second",
                n.UNIT_OPS_PER_S,
                [
                    (
                        f"sum by (projection) ({p.rate(n.PROJECTION_EVENTS_TOTAL, p.PROJECTION)})",
                        "applied {{projection}}",
                    ),
                    (
                        f"sum by (projection) ({duplicates})",
                        "duplicates {{projection}}",
                    ),
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Outbox backlog (rows not yet published)",
                n.UNIT_COUNT,
                [(f"sum({n.OUTBOX_BACKLOG})", "backlog")],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Relay: published per second by topic",
                n.UNIT_OPS_PER_S,
                [(f"sum by (topic) ({p.rate(n.RELAY_PUBLISHED_TOTAL)})", "{{topic}}")],
            )
        )
        .with_row(p.row("Pushed load runs (Pushgateway)"))
        .with_panel(
            p.run_bars(
                "Lag p99 by projection and stage (pushed runs)",
                n.UNIT_SECONDS,
                p.by_case(
                    p.pushed(n.LAG_PUSHED, n.LOAD_JOB, f'{p.PROJECTION}, percentile="p99"'),
                    ("projection", "stage"),
                ),
                "From each load run's lag section: events committed in its measured window.",
            )
        )
    )


def write_side() -> db.Dashboard:
    return (
        p.dashboard(
            "cqrs-write-side",
            "cqrs-bench · write side (commands)",
            "Commands, their server-side latency and optimistic-concurrency conflicts.",
        )
        .with_panel(
            p.timeseries_panel(
                "Commands per second by outcome",
                n.UNIT_OPS_PER_S,
                [(f"sum by (outcome) ({p.rate(n.COMMANDS_TOTAL)})", "{{outcome}}")],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Command latency by command (server side, retries included)",
                n.UNIT_SECONDS,
                p.percentile_lines(n.COMMAND_DURATION, "command", "", "{{command}}"),
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Conflicts per attempt by command",
                n.UNIT_RATIO,
                [
                    (
                        f"sum by (command) ({p.rate(n.COMMAND_CONFLICTS_TOTAL)})"
                        f" / sum by (command) ({p.rate(n.COMMAND_ATTEMPTS_TOTAL)})",
                        "{{command}}",
                    )
                ],
            )
        )
        .with_panel(
            p.timeseries_panel(
                "Attempts, conflicts and retries per second",
                n.UNIT_OPS_PER_S,
                [
                    (f"sum({p.rate(n.COMMAND_ATTEMPTS_TOTAL)})", "attempts"),
                    (f"sum({p.rate(n.COMMAND_CONFLICTS_TOTAL)})", "conflicts"),
                    (RETRIES, "retries"),
                ],
                "A retry is an attempt beyond a command's first (attempts - commands).",
            )
        )
    )
