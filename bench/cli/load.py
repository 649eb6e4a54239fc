"""`cqrs-bench load`: one locust run against the stack, watched live, audited afterwards."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bench.faults.plan import FaultPlan, parse_plan
from bench.load import metrics as m
from bench.load.calibrate import (
    CALIBRATION_S,
    ROUTE,
    ROUTES,
    SCENARIO,
    Calibration,
    CalibrationError,
    calibrate,
)
from bench.load.config import SCENARIOS, LoadConfig
from bench.load.keys import Distribution
from bench.load.options import parse_duration, parse_mix
from bench.load.runner import LoadRun, LoadRunError, Progress, run_load
from bench.load.shapes import ShapeName
from system.config import Settings

console = Console(stderr=True)

EXIT_AUDIT_FAILED = 2
EXIT_INVALID = 3
LOAD_SCENARIOS = [name for name in SCENARIOS if name != SCENARIO]


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
                p50 = sample.stage_p50.get(f"{name}/end_to_end")
                p99 = sample.stage_p99.get(f"{name}/end_to_end")
                table.add_row(
                    name, str(lag), f"{p50:.3f}" if p50 else "-", f"{p99:.3f}" if p99 else "-"
                )
        self.live.update(Group(head, table))


def _print_run(run: LoadRun) -> None:
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
        out.print(_calibration_table(run.calibration))
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


def _calibration_table(c: Calibration) -> Table:
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


def complete_scenario(incomplete: str) -> list[str]:
    """Shell completion of --scenario: the registry's scenarios (calibration has its command)."""
    return [name for name in LOAD_SCENARIOS if name.startswith(incomplete)]


def load(
    scenario: Annotated[
        str,
        typer.Option(help=f"one of: {', '.join(LOAD_SCENARIOS)}", autocompletion=complete_scenario),
    ],
    duration: Annotated[
        str, typer.Option(help="measured time: 90, 90s or 1m30s", show_default=True)
    ] = "60s",
    rate: Annotated[float | None, typer.Option(help="open model: target requests/s")] = None,
    users: Annotated[int | None, typer.Option(help="closed model: concurrent users")] = None,
    shape: Annotated[ShapeName, typer.Option(help="open model rate over time")] = "constant",
    workers: Annotated[int, typer.Option(help="locust worker processes (0 = one process)")] = 0,
    seed: Annotated[int, typer.Option(help="fixes every random choice")] = 1,
    out: Annotated[Path | None, typer.Option(help="run directory")] = None,
    warmup: Annotated[str, typer.Option(help="time before measuring: 10, 10s, 1m")] = "0",
    slots: Annotated[int, typer.Option(help="open model: concurrent senders (0 = auto)")] = 0,
    think_time: Annotated[float, typer.Option(help="closed model: seconds between ops")] = 1.0,
    keys: Annotated[int, typer.Option(help="contention: hot accounts")] = 8,
    zipf: Annotated[float | None, typer.Option(help="contention: Zipf s (default uniform)")] = None,
    mix: Annotated[
        str,
        typer.Option(help="operation weights, e.g. deposit=3,withdraw=1 (default: the scenario's)"),
    ] = "",
    calibration: Annotated[
        float,
        typer.Option(
            help=f"seconds of generator calibration (GET {ROUTE}) at the run's rate, "
            "before the run (0 = none)"
        ),
    ] = CALIBRATION_S,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="inject a fault, SERVICE:ACTION@SECONDS from the measured start (repeatable):"
            " SERVICE api, relay, projector, kafka, elasticsearch or postgres; ACTION kill,"
            " pause=S (SIGSTOP for S seconds) or restart; e.g. --fault relay:kill@10"
        ),
    ] = None,
    kafka_ceiling: Annotated[
        bool,
        typer.Option(
            help="after the run, measure Kafka's own end-to-end latency (EndToEndLatency, same"
            " broker) as the ceiling of the lag's kafka stage (about 10 s)"
        ),
    ] = True,
) -> None:
    """Run a locust scenario against the stack (started if needed); audit and report it.

    Exit status: 0 fine, 2 the audit failed, 3 the run is INVALID because the generator fell
    behind (achieved < 95 % of the target rate, > 1 % of the scheduled requests never sent, or
    p99 send lag > 50 ms). When both happen, 2 wins: see bench/load/README.md.
    """
    if scenario == SCENARIO:
        _fail("--scenario calibration is what `cqrs-bench calibrate` runs; use that command")
    if calibration < 0:
        _fail(f"--calibration must not be negative, got {calibration:g}")
    if rate is not None and users is not None:
        _fail("give either --rate (open model) or --users (closed model), not both")
    if rate is None and users is None:
        _fail("give --rate (open model, requests/s) or --users (closed model)")
    distribution: Distribution = "zipf" if zipf is not None else "uniform"
    try:
        duration_s = parse_duration(duration)
        warmup_s = parse_duration(warmup, "--warmup")
        weights = parse_mix(mix)
        faults: FaultPlan = parse_plan(fault or [])
        faults.validate(duration_s)
    except ValueError as exc:
        _fail(str(exc))
    config = LoadConfig(
        scenario=scenario,
        model="open" if rate is not None else "closed",
        duration_s=duration_s,
        seed=seed,
        rate=rate,
        shape=shape,
        slots=slots,
        users=users or 0,
        think_time_s=think_time,
        warmup_s=warmup_s,
        workers=workers,
        keys=keys,
        distribution=distribution,
        zipf_s=zipf if zipf is not None else 1.1,
        mix=weights,
    )
    try:
        config.validate()
    except ValueError as exc:
        _fail(str(exc))
    settings = Settings.from_env()
    _ensure_stack(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out or Path("reports") / f"load-{scenario}-{stamp}"
    try:
        with Live(console=console, refresh_per_second=2, transient=True) as live:
            run = run_load(
                config,
                settings,
                run_dir,
                on_progress=LiveView(live),
                calibration_s=calibration,
                faults=faults,
                kafka_ceiling=kafka_ceiling,
            )
    except LoadRunError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"a service of the stack went away during the run ({exc}); `cqrs-bench status`")
    _print_run(run)
    if not run.valid:
        console.print(f"[bold red]INVALID: {run.verdict.reason}[/bold red]")
    if not run.audit_passed:
        console.print(
            "[bold red]AUDIT FAILED: the run's data is inconsistent (see above)[/bold red]"
        )
    status = exit_status(audit_passed=run.audit_passed, valid=run.valid)
    if status:
        raise typer.Exit(status)


def exit_status(*, audit_passed: bool, valid: bool) -> int:
    """0 fine, 2 the audit failed, 3 the generator fell behind; 2 wins when both happen.

    The audit judges only what was sent and acknowledged, so a generator that sent less cannot
    make it fail: a failed audit names a fault of the system (data lost, doubled or wrong, or a
    read side that never caught up), true whatever the load. An invalid run only means its
    latency figures describe the generator too; its report still starts with INVALID and
    results.json still says `valid: false`.
    """
    if not audit_passed:
        return EXIT_AUDIT_FAILED
    return 0 if valid else EXIT_INVALID


def calibrate_command(
    rate: Annotated[float, typer.Option(help="requests/s to offer (open model)")] = 50.0,
    duration: Annotated[float, typer.Option(help="measured seconds")] = 10.0,
    workers: Annotated[int, typer.Option(help="locust worker processes (0 = one process)")] = 0,
    out: Annotated[Path | None, typer.Option(help="run directory")] = None,
    route: Annotated[
        str,
        typer.Option(
            help=f"one of: {', '.join(ROUTES)} ({ROUTE} touches no backing service; /health "
            "asks Postgres, Kafka and Elasticsearch on every call)"
        ),
    ] = ROUTE,
) -> None:
    """Measure the load generator's own floor: GET /health/live (the api's cheapest route).

    Uses the same locust machinery as `load`, at --rate for --duration. Prints the send lag
    (sent - intended) and the latency percentiles of the route: no load run measures below them
    on this machine. Writes calibration.json (and the raw samples) into --out. Exit status 3
    when even this schedule was not kept (the generator cannot offer this rate here), 1 when
    the route did not answer 200.
    """
    if rate <= 0:
        _fail(f"--rate must be positive, got {rate:g}")
    if duration <= 0:
        _fail(f"--duration must be positive, got {duration:g}")
    if workers < 0:
        _fail(f"--workers must not be negative, got {workers}")
    if route not in ROUTES:
        _fail(f"--route must be one of {', '.join(ROUTES)}, got {route!r}")
    settings = Settings.from_env()
    _ensure_stack(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out or Path("reports") / f"calibration-{stamp}"
    with console.status(f"calibrating: GET {route} at {rate:g} req/s for {duration:g} s"):
        try:
            result = asyncio.run(
                calibrate(
                    settings.api_url,
                    rate,
                    duration,
                    run_dir,
                    dict(os.environ),
                    workers=workers,
                    route=route,
                )
            )
        except CalibrationError as exc:
            _fail(str(exc))
    if result.not_ok:
        _fail(
            f"GET {route} was not answered 200 {result.not_ok} times (see"
            f" {run_dir}/locust_failures.csv: a 503 is a backing service the route asked, a 404"
            " an api started before the route existed)"
        )
    Console().print(_calibration_table(result))
    Console().print(f"calibration: {run_dir / 'calibration.json'}")
    if not result.verdict.valid:
        console.print(f"[bold red]the generator could not keep {rate:g} req/s:[/bold red]")
        for problem in result.verdict.problems:
            console.print(f"  {problem}")
        raise typer.Exit(EXIT_INVALID)


def _ensure_stack(settings: Settings) -> None:
    from bench.stack import commands as stack
    from bench.stack.process import StackError

    stack.load_services()
    try:
        asyncio.run(stack.bring_up(settings))
    except StackError as exc:
        _fail(f"the stack is not up: {exc}")


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(load)
    app.command("calibrate")(calibrate_command)
