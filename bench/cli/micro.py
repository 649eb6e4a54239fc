"""`cqrs-bench micro`, `report`, `compare` and `install-peers`: the micro-benchmark commands."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.export.pushgateway import push
from bench.micro.assemble import add_sections, add_targets
from bench.micro.peers import PeerNotInstalled, install_message_db, require_eventsourcing
from bench.micro.suite import SuiteError, load_suite
from bench.report import compare as compare_runs
from bench.report.environment import collect_environment, new_run_id, postgres_version
from bench.report.files import write_report
from bench.report.results import Results, ResultsInvalid, load
from system.config import Settings

ROOT = Path(__file__).resolve().parent.parent
MICRO_DIR = ROOT / "bench" / "micro"
console = Console(stderr=True)


def _collect(suite: str) -> int:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(MICRO_DIR),
            f"--suite={suite}",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(1 for line in out.stdout.splitlines() if "::" in line)


def run_pytest(suite: str, json_path: Path, log_path: Path) -> tuple[int, list[str]]:
    """Run the micro suites with a progress bar; returns pytest's exit code and failed tests."""
    total = _collect(suite)
    failed: list[str] = []
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(MICRO_DIR),
        f"--suite={suite}",
        "-v",
        "-p",
        "no:cacheprovider",
        f"--benchmark-json={json_path}",
        "--benchmark-columns=median,iqr,rounds",
        "--benchmark-sort=name",
    ]
    with (
        log_path.open("w", buffering=1) as log,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task(f"micro suite {suite}", total=total)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if "::" in line and any(w in line for w in (" PASSED", " FAILED", " ERROR")):
                name = line.split(" ", 1)[0].split("::", 1)[-1]
                progress.update(task, advance=1, description=name[:60])
                if " FAILED" in line or " ERROR" in line:
                    failed.append(name)
        code = proc.wait()
    return code, failed


def micro(
    suite: Annotated[str, typer.Option(help="quick, full, tiny, or a suite file")] = "quick",
    out: Annotated[
        Path | None, typer.Option(help="run directory (default reports/<run-id>)")
    ] = None,
    push_metrics: Annotated[
        bool, typer.Option("--push/--no-push", help="to the Pushgateway")
    ] = True,
) -> None:
    """Run the micro-benchmarks; write results.json, report.md/.html and plots."""
    try:
        chosen = load_suite(suite)
    except SuiteError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    settings = Settings.from_env()
    if asyncio.run(postgres_version(settings.pg_dsn)) is None:
        console.print(
            f"[red]PostgreSQL not reachable at {settings.pg_dsn}: run `cqrs-bench up`[/red]"
        )
        raise typer.Exit(2)
    run_id = new_run_id()
    out = out or ROOT / "reports" / run_id
    out.mkdir(parents=True, exist_ok=True)
    results = Results.new(chosen.name, chosen.as_config(), run_id=run_id)
    json_path = out / "pytest-benchmark.json"
    code, failed = run_pytest(suite, json_path, out / "pytest.log")
    if not json_path.is_file():
        console.print(f"[red]pytest wrote no benchmark data; see {out / 'pytest.log'}[/red]")
        raise typer.Exit(1)
    add_sections(results, json.loads(json_path.read_text())["benchmarks"])
    add_targets(results, chosen.targets)
    results.notes.extend(f"FAILED: {name} (see pytest.log)" for name in failed)
    results.environment = collect_environment(settings)
    results.finish()
    try:
        path = results.write(out)
    except ResultsInvalid as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    write_report(path)
    if push_metrics:
        try:
            push(results.to_dict(), settings.pushgateway_url)
        except OSError as exc:
            console.print(f"[yellow]Pushgateway not reached ({exc}); figures not pushed[/yellow]")
    print(f"report: {out / 'report.md'}  ({out / 'report.html'}, {path})")
    if code != 0:
        console.print(f"[red]{len(failed)} micro benchmark(s) failed: {', '.join(failed)}[/red]")
        raise typer.Exit(1)


def report(
    run: Annotated[Path, typer.Argument(help="a run directory or its results.json")],
) -> None:
    """Render report.md, report.html and plots again from a results.json."""
    try:
        for path in write_report(run):
            print(path)
    except ResultsInvalid as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None


def compare(
    baseline: Annotated[Path, typer.Argument(help="run directory or results.json")],
    contender: Annotated[Path, typer.Argument(help="run directory or results.json")],
) -> None:
    """Per-figure differences between two runs, and whether each is beyond noise."""
    try:
        a, b = load(baseline), load(contender)
    except (ResultsInvalid, OSError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    diffs = compare_runs.compare(a.to_dict(), b.to_dict())
    print(compare_runs.render(diffs, a.run_id, b.run_id))


def install_peers() -> None:
    """Install the peers the micro suite compares against (message-db's SQL via npm)."""
    try:
        require_eventsourcing()
        version = asyncio.run(install_message_db(Settings.from_env()))
    except PeerNotInstalled as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(f"eventsourcing: installed; message-db {version}: installed in database message_store")


def register(app: typer.Typer) -> None:
    app.command()(micro)
    app.command()(report)
    app.command()(compare)
    app.command("install-peers")(install_peers)
