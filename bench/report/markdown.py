"""results.json → report.md (a pure function of the results)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.report.environment_table import run_environment_table
from bench.report.generator import generator_table, invalid_line
from bench.report.load_tables import requests_table
from bench.report.tables import TITLES, Table, tables


def _table(table: Table) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"## {table.title}", "", line(table.header), line(["---"] * len(table.header))]
    out += [line(r) for r in table.rows]
    if table.notes:
        out += ["", *(f"- {n}" for n in table.notes)]
    return [*out, ""]


def _panels(panels: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every dashboard panel under its dashboard's and its own title; no data said so."""
    out = ["## Dashboards (every panel, from Prometheus over the run's window)", ""]
    dashboard = None
    for p in panels:
        if p["dashboard"] != dashboard:
            dashboard = p["dashboard"]
            out += [f"### {dashboard}", ""]
        out += [f"#### {p['title']}", ""]
        out += [f"![{p['title']}]({p['file']})" if p.get("file") else f"*{p['note']}*", ""]
    return out


def render(
    data: Mapping[str, Any],
    plots: Sequence[str] = (),
    panels: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The whole report as Markdown; `plots` are file names beside it to embed, `panels` the
    rendered dashboard panels (`bench/report/panels.py`).

    An invalid load run's report starts with its `INVALID: …` line, before the title.
    """
    invalid = invalid_line(data)
    out = [invalid, ""] if invalid else []
    out += [
        f"# cqrs-bench run {data['run_id']}",
        "",
        f"Suite `{data['suite']}`, {data['started_at']} → {data['finished_at']}.",
        "",
    ]
    if data.get("notes"):
        out += ["## Notes", "", *(f"- {n}" for n in data["notes"]), ""]
    for table in tables(data):
        out += _table(table)
        health = generator_table(data["load"]) if table.title == TITLES["load"] else None
        if health is not None:
            out += _table(health)
        per_request = requests_table(data["load"]) if table.title == TITLES["load"] else None
        if per_request is not None:
            out += _table(per_request)
    if plots:
        out += ["## Plots", "", *(f"![{p}]({p})" for p in plots), ""]
    if panels:
        out += _panels(panels)
    out += _table(run_environment_table(data))
    return "\n".join(out)
