"""`cqrs-bench saturate`: the highest open-model rate whose corrected latency meets an SLO."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.cli.common import default_run_dir, ensure_stack, fail
from bench.load.jit_warmup import WarmupRound
from bench.load.options import LOAD_SCENARIOS, config_from_flags, parse_duration
from bench.run.runner import LoadRunError
from bench.saturate.run import run_saturation
from bench.saturate.search import (
    RECHECK,
    Slo,
    StepResult,
    check_bracket,
    check_recheck,
    parse_slo,
)
from bench.saturate.steps import search_notes
from system.config import Settings

console = Console()


def _show(result: StepResult) -> StepResult:
    latency = "-" if result.latency_s is None else f"{result.latency_s * 1e3:.1f} ms"
    if result.latency_low_s is not None and result.latency_high_s is not None:
        latency += f" ({result.latency_low_s * 1e3:.0f} to {result.latency_high_s * 1e3:.0f})"
    lag = "-" if result.lag_p99_s is None else f"{result.lag_p99_s * 1e3:.0f} ms"
    verdict = "met" if result.met else "MISSED"
    why = [] if result.valid else ["invalid"]
    why += [] if result.audit_passed else ["audit failed"]
    why += [result.error] if result.error else []
    again = f" (recheck, {result.step_s:g} s)" if result.recheck else ""
    console.print(
        f"rate {result.rate:g}/s{again}: achieved {result.achieved_rps:.1f}/s, corrected"
        f" {result.slo.percentile} {latency}, lag p99 {lag}: {verdict}"
        + (f" ({'; '.join(why)})" if why else "")
    )
    return result


def _show_warmup(done: WarmupRound) -> None:
    console.print(done.describe())


def saturate_command(
    scenario: Annotated[str, typer.Option(help=f"one of: {', '.join(LOAD_SCENARIOS)}")],
    slo: Annotated[
        str, typer.Option(help="objective on the corrected latency, e.g. p99=100ms or p50=0.2s")
    ] = "p99=100ms",
    step: Annotated[str, typer.Option(help="measured time of each step: 20, 20s, 1m")] = "20s",
    warmup: Annotated[str, typer.Option(help="unmeasured time before each step")] = "2s",
    low: Annotated[float, typer.Option(help="first rate tried (requests/s)")] = 50.0,
    high: Annotated[float, typer.Option(help="highest rate tried (requests/s)")] = 1600.0,
    tolerance: Annotated[
        float, typer.Option(help="stop bisecting when the bracket is this fraction of its low end")
    ] = 0.1,
    max_steps: Annotated[
        int, typer.Option(help="at most this many rates tried (rechecks not counted)")
    ] = 12,
    recheck: Annotated[
        int,
        typer.Option(
            help="rerun a toss-up step (the SLO inside its latency's 95 % interval) this many"
            " times as long, and go on the longer run's verdict; 0: never, 1 is refused"
        ),
    ] = RECHECK,
    jit_warmup: Annotated[
        str,
        typer.Option(
            help="before the first step, offer its load in unmeasured 15 s rounds until"
            " Elasticsearch's and Kafka's JIT compilers settle, for at most this long (0 = none)"
        ),
    ] = "3m",
    seed: Annotated[int, typer.Option(help="fixes every random choice")] = 1,
    out: Annotated[Path | None, typer.Option(help="run directory")] = None,
) -> None:
    """Find the highest open-model rate that meets the SLO: double from --low until a step
    misses (or --high is met), then bisect to --tolerance; if --low misses, halve it (3 times
    at most) first. Each step is a short audited load
    run (steps/rate-R/); a step is met only if it is valid (the generator kept its schedule),
    its audit passed and its corrected latency meets the SLO. Writes results.json (section
    `saturation`), report.md and saturation.png (latency vs achieved rate, lag p99 beside it).
    A toss-up step is rerun --recheck times as long (steps/rate-R-xN/), and that run's verdict
    counts. Before the first step, --jit-warmup offers its load until the JVMs' JIT compilers
    settle (bench/load/jit_warmup.py), so that the search measures them warm. Exit status 0 if
    some rate met the SLO, 4 if none did; 2 for a bad --recheck.
    """
    try:
        check_recheck(recheck)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if max_steps < 1:
        fail(f"--max-steps must be at least 1, got {max_steps}")
    try:
        objective: Slo = parse_slo(slo)
        check_bracket(low, high, tolerance)
        jit_warmup_s = parse_duration(jit_warmup, "--jit-warmup")
        config = config_from_flags(
            scenario, duration=step, warmup=warmup, seed=seed, rate=low, duration_flag="--step"
        )
    except ValueError as exc:
        fail(str(exc))
    settings = Settings.from_env()
    ensure_stack(settings)
    run_dir = out or default_run_dir(f"saturate-{scenario}")
    try:
        run = run_saturation(
            settings,
            run_dir,
            config,
            slo=objective,
            low=low,
            high=high,
            tolerance=tolerance,
            max_steps=max_steps,
            recheck=recheck,
            show=_show,
            jit_warmup_s=jit_warmup_s,
            on_warmup=_show_warmup,
        )
    except ValueError as exc:
        fail(str(exc))
    except LoadRunError as exc:
        fail(f"a step could not run: {exc}")
    except OSError as exc:
        fail(f"a service of the stack went away during a step ({exc}); `cqrs-bench status`")
    console.print(f"results: {run.results_path}")
    search = run.search
    for note in search_notes(search.steps):
        console.print(f"[yellow]{note}[/yellow]")
    if search.max_rate is None:
        lowest = min(s.rate for s in search.steps)
        console.print(f"[bold red]no rate met {objective}, down to {lowest:g}/s[/bold red]")
        raise typer.Exit(4)
    console.print(f"saturation rate at {objective}: {search.max_rate:g} requests/s")


def register(app: typer.Typer) -> None:
    """Attach `saturate` to the root CLI."""
    app.command("saturate")(saturate_command)
