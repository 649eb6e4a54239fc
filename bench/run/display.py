"""What `cqrs-bench load` and `calibrate` show: the live progress and the run's tables."""

from __future__ import annotations

import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bench.load import metrics as m
from bench.load.calibrate import Calibration
from bench.load.jit_warmup import WarmupRound
from bench.report.constants import LagStage
from bench.run.runner import LoadRun, Progress


def _scrape(url: str) -> dict[str, float]:
    """Totals from the locust exporter: requests, failures, users, target rate."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=0.5) as r:
            text = r.read().decode()
    except OSError:
        return {}
    totals = {"requests": 0.0, "failures": 0.0, "users": 0.0, "target": 0.0}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == m.REQUESTS_TOTAL:
                totals["requests"] += s.value
                if s.labels.get("outcome") == "failure":
                    totals["failures"] += s.value
            elif s.name == m.USERS:
                totals["users"] = s.value
            elif s.name == m.TARGET_RPS:
                totals["target"] = s.value
    return totals


class LiveView:
    """Renders progress and a live summary once a second."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.last: tuple[float, float] | None = None

    def __call__(self, p: Progress) -> None:
        now = time.time()
        totals = _scrape(p.exporter_url)
        rate = 0.0
        if totals and self.last is not None and now > self.last[0]:
            rate = (totals["requests"] - self.last[1]) / (now - self.last[0])
        if totals:
            self.last = (now, totals["requests"])
        elapsed = min(now - p.started, p.total_s)
        head = Text(
            f"{elapsed:5.0f}/{p.total_s:.0f} s  target {totals.get('target', 0):.0f} req/s"
            f"  achieved {rate:.0f} req/s  users {totals.get('users', 0):.0f}"
            f"  requests {totals.get('requests', 0):.0f}  failures {totals.get('failures', 0):.0f}"
        )
        table = Table(title="projection lag (live)", expand=False)
        for col in ("projection", "position lag", "e2e p50 s", "e2e p99 s"):
            table.add_column(col)
        sample = p.probe.latest
        if sample is not None:
            for name, lag in sorted(sample.position_lag.items()):
                p50 = sample.stage_p50.get(f"{name}/{LagStage.END_TO_END}")
                p99 = sample.stage_p99.get(f"{name}/{LagStage.END_TO_END}")
                table.add_row(
                    name, str(lag), f"{p50:.3f}" if p50 else "-", f"{p99:.3f}" if p99 else "-"
                )
        self.live.update(Group(head, table))

    def warmup_round(self, done: WarmupRound) -> None:
        """One JIT warm-up round: its length and each JVM's compile share in it."""
        self.live.console.print(done.describe())


def print_run(run: LoadRun) -> None:
    """Print a finished run: latency per request, the schedule's verdict, lag and the audit."""
    out = Console()
    row = run.summary.total
    table = Table(title=f"{run.config.scenario} ({run.config.model} model)")
    for col in ("request", "count", "outcomes", "p50 s", "p99 s", "p99 corrected s", "max s"):
        table.add_column(col)
    for name, stats in [*sorted(run.summary.by_request.items()), ("TOTAL", row)]:
        raw, cor = stats.raw.summary(), stats.corrected.summary()
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items()))
        table.add_row(
            name,
            str(stats.requests),
            outcomes,
            f"{raw['p50']:.4f}",
            f"{raw['p99']:.4f}",
            f"{cor['p99']:.4f}",
            f"{raw['max']:.4f}",
        )
    out.print(table)
    target = run.verdict.target_rps
    out.print(
        f"achieved {run.verdict.achieved_rps:.1f} req/s"
        + (f" of {target:.1f} targeted" if target else "")
        + f"; p99 send lag {run.verdict.send_lag_p99 * 1000:.1f} ms"
        + (
            f"; {run.verdict.unsent} of {run.verdict.scheduled} scheduled never sent"
            if run.verdict.scheduled
            else ""
        )
    )
    for problem in run.verdict.problems:
        out.print(f"[yellow]schedule not kept:[/yellow] {problem}")
    if run.calibration is not None:
        out.print(calibration_table(run.calibration))
    lag = Table(title="lag (s, exact from per-event stamps)")
    for col in ("projection", "stage", "p50", "p90", "p99", "max"):
        lag.add_column(col)
    for r in run.lag:
        lag.add_row(
            r["projection"], r["stage"], *(f"{r[k]:.4f}" for k in ("p50", "p90", "p99", "max"))
        )
    out.print(lag)
    for check in run.checks:
        mark = "[green]PASS[/green]" if check.passed else "[bold red]FAIL[/bold red]"
        out.print(f"{mark} {check.check}: {check.detail}")
    out.print(f"results: {run.results_path}")


def calibration_table(c: Calibration) -> Table:
    """The generator floor a calibration measured, one figure per row."""
    row = c.row()
    table = Table(
        title=f"generator floor: GET {row['route']} at {c.rate_rps:g} req/s for {c.duration_s:g} s"
    )
    cells = {
        "requests": str(row["requests"]),
        "achieved req/s": f"{row['achieved_rps']:.1f}",
        "unsent": str(row["unsent"]),
        "send lag p50 ms": f"{row['send_lag_seconds']['p50'] * 1000:.2f}",
        "send lag p99 ms": f"{row['send_lag_seconds']['p99'] * 1000:.2f}",
        "p50 ms": f"{row['latency_seconds']['p50'] * 1000:.2f}",
        "p99 ms": f"{row['latency_seconds']['p99'] * 1000:.2f}",
        "p99 corrected ms": f"{row['corrected']['p99'] * 1000:.2f}",
        "max ms": f"{row['latency_seconds']['max'] * 1000:.2f}",
    }
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in cells.items():
        table.add_row(name, value)
    return table
