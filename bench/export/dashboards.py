"""Grafana dashboards as code: `python -m bench.export.dashboards` writes
dashboards/grafana/dashboards/*.json from the metric names the code really exports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import metrics as load_metrics
from bench.report.constants import PERCENTILES_TO_REPORT, PUSH_JOB

OUT_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE_WINDOW = "1m"


@dataclass
class Panel:
    title: str
    queries: list[tuple[str, str]]
    """(PromQL, legend)"""
    unit: str = "short"
    kind: str = "timeseries"


@dataclass
class Dashboard:
    uid: str
    title: str
    panels: list[Panel] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "tags": ["cqrs-bench"],
            "schemaVersion": 39,
            "version": 1,
            "editable": False,
            "time": {"from": "now-30m", "to": "now"},
            "refresh": "5s",
            "panels": [_panel(p, i) for i, p in enumerate(self.panels)],
        }


def _panel(panel: Panel, index: int) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "datasource": DATASOURCE,
        "gridPos": {"x": (index % 2) * 12, "y": (index // 2) * 8, "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": expr,
                "legendFormat": legend,
                "datasource": DATASOURCE,
            }
            for i, (expr, legend) in enumerate(panel.queries)
        ],
    }


def _quantiles(metric: str, by: str) -> list[tuple[str, str]]:
    return [
        (
            f"histogram_quantile({q}, sum by (le, {by}) (rate({metric}_bucket[{RATE_WINDOW}])))",
            f"{key} {{{{{by.split(',')[0].strip()}}}}}",
        )
        for key, q in PERCENTILES_TO_REPORT
        if key in ("p50", "p99")
    ]


def write_side() -> Dashboard:
    return Dashboard(
        "cqrs-write-side",
        "cqrs-bench · write side",
        [
            Panel(
                "Commands per second by outcome",
                [(f"sum by (outcome) (rate(cqrs_commands_total[{RATE_WINDOW}]))", "{{outcome}}")],
                "reqps",
            ),
            Panel(
                "Command latency (p50, p99)",
                _quantiles("cqrs_command_duration_seconds", "command"),
                "s",
            ),
            Panel(
                "Conflicts per attempt",
                [
                    (
                        f"sum by (command) (rate(cqrs_command_conflicts_total[{RATE_WINDOW}]))"
                        f" / sum by (command) (rate(cqrs_command_attempts_total[{RATE_WINDOW}]))",
                        "{{command}}",
                    )
                ],
                "percentunit",
            ),
            Panel(
                "Attempts and conflicts per second",
                [
                    (f"sum(rate(cqrs_command_attempts_total[{RATE_WINDOW}]))", "attempts"),
                    (f"sum(rate(cqrs_command_conflicts_total[{RATE_WINDOW}]))", "conflicts"),
                ],
                "ops",
            ),
        ],
    )


def read_side() -> Dashboard:
    return Dashboard(
        "cqrs-read-side",
        "cqrs-bench · read side",
        [
            Panel(
                "Projection lag p99 by stage",
                [
                    (
                        f"histogram_quantile(0.99, sum by (le, stage) "
                        f"(rate(cqrs_projection_lag_seconds_bucket[{RATE_WINDOW}])))",
                        "{{stage}}",
                    )
                ],
                "s",
            ),
            Panel(
                "End-to-end lag (committed → searchable) by projection",
                [
                    (
                        f"histogram_quantile({q}, sum by (le, projection) (rate("
                        f'cqrs_projection_lag_seconds_bucket{{stage="end_to_end"}}[{RATE_WINDOW}])))',
                        f"{key} {{{{projection}}}}",
                    )
                    for key, q in PERCENTILES_TO_REPORT
                    if key in ("p50", "p99")
                ],
                "s",
            ),
            Panel(
                "Position lag (behind the most advanced projection)",
                [
                    (
                        "max(cqrs_projection_position) - cqrs_projection_position",
                        "{{projection}}",
                    )
                ],
            ),
            Panel("Outbox backlog", [("sum(cqrs_outbox_backlog)", "unpublished rows")]),
            Panel(
                "Events applied and duplicates per second",
                [
                    (
                        f"sum by (projection) (rate(cqrs_projection_events_total[{RATE_WINDOW}]))",
                        "applied {{projection}}",
                    ),
                    (
                        f"sum by (projection) "
                        f"(rate(cqrs_projection_duplicates_total[{RATE_WINDOW}]))",
                        "duplicates {{projection}}",
                    ),
                ],
                "ops",
            ),
            Panel(
                "Relay: published per second, batch p99",
                [
                    (f"sum(rate(cqrs_relay_published_total[{RATE_WINDOW}]))", "published/s"),
                    (
                        f"histogram_quantile(0.99, sum by (le) "
                        f"(rate(cqrs_relay_batch_seconds_bucket[{RATE_WINDOW}])))",
                        "batch p99 (s)",
                    ),
                ],
            ),
        ],
    )


def micro() -> Dashboard:
    job = f'job="{PUSH_JOB}"'
    return Dashboard(
        "cqrs-micro",
        "cqrs-bench · micro-benchmarks (Pushgateway)",
        [
            Panel(
                "Replay time by stream length and snapshot interval",
                [
                    (
                        f"cqrs_bench_replay_seconds{{{job}}}",
                        "{{events}} events, snapshot every {{snapshot_every}}",
                    )
                ],
                "s",
                "barchart",
            ),
            Panel(
                "Append events/s",
                [
                    (
                        f"cqrs_bench_append_events_per_second{{{job}}}",
                        "conn={{connections}} batch={{batch}} snapshots={{snapshots}}",
                    )
                ],
                "ops",
                "barchart",
            ),
            Panel(
                "Ratio to ceiling",
                [(f"cqrs_bench_ceiling_ratio{{{job}}}", "{{section}} {{case}}")],
                "percentunit",
                "barchart",
            ),
            Panel(
                "Conflict rate: measured vs model",
                [
                    (
                        f"cqrs_bench_conflict_rate{{{job}}}",
                        "{{source}} W={{writers}} {{skew}} retry={{retry}}",
                    )
                ],
                "percentunit",
                "barchart",
            ),
            Panel(
                "Ours / peer",
                [(f"cqrs_bench_peer_ratio{{{job}}}", "{{peer}} {{workload}}")],
                "short",
                "barchart",
            ),
            Panel(
                "Ceilings (events/s)",
                [(f"cqrs_bench_ceiling_events_per_second{{{job}}}", "{{ceiling}}")],
                "ops",
                "barchart",
            ),
        ],
    )


def load() -> Dashboard:
    requests, latency = load_metrics.REQUESTS_TOTAL, load_metrics.LATENCY_SECONDS
    return Dashboard(
        "cqrs-load",
        "cqrs-bench · load (locust)",
        [
            Panel(
                "Requests per second",
                [
                    (f"sum(rate({requests}[{RATE_WINDOW}]))", "achieved"),
                    (f"sum({load_metrics.TARGET_RPS})", "target"),
                ],
                "reqps",
            ),
            Panel(
                "Latency percentiles",
                [
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate({latency}_bucket[{RATE_WINDOW}])))",
                        key,
                    )
                    for key, q in PERCENTILES_TO_REPORT
                ],
                "s",
            ),
            Panel("Users", [(f"sum({load_metrics.USERS})", "users")]),
        ],
    )


DASHBOARDS = (write_side, read_side, micro, load)


def build(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write every dashboard as JSON; returns the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for make in DASHBOARDS:
        dashboard = make()
        path = out_dir / f"{dashboard.uid}.json"
        path.write_text(json.dumps(dashboard.to_json(), indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in build():
        print(written_path)
