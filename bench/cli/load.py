"""`cqrs-bench load`: one locust run against the stack, watched live, audited afterwards."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from bench.cli.common import console, default_run_dir, ensure_stack, fail
from bench.faults.plan import parse_plan
from bench.load.calibrate import CALIBRATION_S, ROUTE, ROUTES, CalibrationError, calibrate
from bench.load.options import LOAD_SCENARIOS, config_from_flags, parse_duration
from bench.load.shapes import ShapeName
from bench.run.display import LiveView, calibration_table, print_run
from bench.run.runner import LoadRunError, run_load
from system.config import Settings

EXIT_AUDIT_FAILED = 2
EXIT_INVALID = 3


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
    jit_warmup: Annotated[
        str,
        typer.Option(
            help="before the run, offer its load in unmeasured 15 s rounds until Elasticsearch's"
            " and Kafka's JIT compilers settle, for at most this long (e.g. 5m; 0 = none)"
        ),
    ] = "0",
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
            " pause=S (SIGSTOP for S seconds) or restart; or relay:crash-after-ack (dies between"
            " Kafka's ack and the outbox mark), postgres:hold-tx=S (a transaction open S seconds),"
            " projector:outlive-retention (down until Kafka deleted unread events; it must"
            " rebuild); e.g. --fault relay:kill@10"
        ),
    ] = None,
    ceilings: Annotated[
        bool,
        typer.Option(
            help="after the run, measure Kafka's own end-to-end latency (EndToEndLatency, same"
            " broker) as the ceiling of the lag's kafka stage, and Elasticsearch's own bulk +"
            " refresh (same node, client and doc size) as that of its index and refresh stages"
            " (about 25 s)"
        ),
    ] = True,
) -> None:
    """Run a locust scenario against the stack (started if needed); audit and report it.

    Exit status: 0 fine, 2 the audit failed, 3 the run is INVALID because the generator fell
    behind (achieved < 95 % of the target rate, > 1 % of the scheduled requests never sent, or
    p99 send lag > 50 ms). When both happen, 2 wins: see bench/load/README.md.
    """
    if calibration < 0:
        fail(f"--calibration must not be negative, got {calibration:g}")
    try:
        config = config_from_flags(
            scenario,
            duration=duration,
            warmup=warmup,
            seed=seed,
            rate=rate,
            users=users,
            shape=shape,
            slots=slots,
            think_time=think_time,
            workers=workers,
            keys=keys,
            zipf=zipf,
            mix=mix,
        )
        jit_warmup_s = parse_duration(jit_warmup, "--jit-warmup")
        faults = parse_plan(fault or [])
        faults.validate(config.duration_s)
    except ValueError as exc:
        fail(str(exc))
    settings = Settings.from_env()
    ensure_stack(settings)
    run_dir = out or default_run_dir(f"load-{scenario}")
    try:
        with Live(console=console, refresh_per_second=2, transient=True) as live:
            run = run_load(
                config,
                settings,
                run_dir,
                on_progress=(view := LiveView(live)),
                calibration_s=calibration,
                faults=faults,
                ceilings=ceilings,
                jit_warmup_s=jit_warmup_s,
                on_warmup=view.warmup_round,
            )
    except LoadRunError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"a service of the stack went away during the run ({exc}); `cqrs-bench status`")
    print_run(run)
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
        fail(f"--rate must be positive, got {rate:g}")
    if duration <= 0:
        fail(f"--duration must be positive, got {duration:g}")
    if workers < 0:
        fail(f"--workers must not be negative, got {workers}")
    if route not in ROUTES:
        fail(f"--route must be one of {', '.join(ROUTES)}, got {route!r}")
    settings = Settings.from_env()
    ensure_stack(settings)
    run_dir = out or default_run_dir("calibration")
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
            fail(str(exc))
    if result.not_ok:
        fail(
            f"GET {route} was not answered 200 {result.not_ok} times (see"
            f" {run_dir}/locust_failures.csv: a 503 is a backing service the route asked, a 404"
            " an api started before the route existed)"
        )
    Console().print(calibration_table(result))
    Console().print(f"calibration: {run_dir / 'calibration.json'}")
    if not result.verdict.valid:
        console.print(f"[bold red]the generator could not keep {rate:g} req/s:[/bold red]")
        for problem in result.verdict.problems:
            console.print(f"  {problem}")
        raise typer.Exit(EXIT_INVALID)


def register(app: typer.Typer) -> None:
    """Attach `load` and `calibrate` to the root CLI."""
    app.command()(load)
    app.command("calibrate")(calibrate_command)
