"""`cqrs-bench dashboards [--check]` and `cqrs-bench grafana push`: dashboards as code, and
uploading them to a running Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.export import dashboards as dashboards_code
from bench.export import grafana as grafana_api
from system.config import Settings

console = Console(stderr=True)
NO_GRAFANA_EXIT = 2
"""Exit status when no Grafana answers at CQRS_GRAFANA_URL."""

grafana_app = typer.Typer(
    name="grafana",
    help="Talk to a running Grafana at CQRS_GRAFANA_URL (compose's; none runs natively).",
    no_args_is_help=True,
)


def dashboards(
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="write nothing; exit 1 with a diff when the committed JSON is not the generated",
        ),
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="where the dashboard JSON files live")
    ] = dashboards_code.OUT_DIR,
) -> None:
    """Generate the Grafana dashboards (dashboards/grafana/dashboards/*.json) from code.

    The dashboards are built with grafana-foundation-sdk in bench/export/dashboards.py; the
    JSON is their output, committed so compose's Grafana provisions it. After changing the code,
    run this and commit both; CI runs `--check`.
    """
    if check:
        diff = dashboards_code.check(out)
        if diff:
            print(diff, end="")
            console.print(
                f"[red]the dashboards in {out} differ from the code: run `cqrs-bench dashboards`"
                "[/red]"
            )
            raise typer.Exit(1)
        console.print(f"the dashboards in {out} are the generated ones")
        return
    for path in dashboards_code.build(out):
        print(path)


@grafana_app.command("push")
def push(
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="Prometheus as the Grafana server reaches it (default: CQRS_PROMETHEUS_URL)",
        ),
    ] = None,
) -> None:
    """Upload the Prometheus datasource and every dashboard to the Grafana at CQRS_GRAFANA_URL.

    Credentials: CQRS_GRAFANA_TOKEN (a service-account token), else CQRS_GRAFANA_USER and
    CQRS_GRAFANA_PASSWORD (default admin/admin, as in docker-compose.yml). Dashboards that
    Grafana provisioned from files (compose) are read-only and left as they are. Exits 2 when
    no Grafana answers there.
    """
    settings = Settings.from_env()
    try:
        done = grafana_api.push(settings, prometheus_url)
    except grafana_api.GrafanaUnavailable as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(NO_GRAFANA_EXIT) from None
    for item in done:
        print(f"{item.kind} {item.uid}: {item.outcome}")


def register(app: typer.Typer) -> None:
    """Attach `dashboards` and the `grafana` group to the root CLI."""
    app.command("dashboards")(dashboards)
    app.add_typer(grafana_app, name="grafana")
