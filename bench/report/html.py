"""results.json → report.html (a pure function of the results, no template engine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from bench.report.environment_table import run_environment_table
from bench.report.generator import INVALID, generator_table, invalid_line
from bench.report.load_tables import requests_table
from bench.report.tables import TITLES, Table, tables

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin-bottom:1em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
li.met{color:#176b17}li.missed{color:#a31515}li.none{color:#777}
p.invalid{color:#fff;background:#a31515;padding:.5em .8em;font-weight:bold}
p.nodata{color:#a31515;font-style:italic}
"""


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table.rows
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in table.notes)
    return (
        f"<h2>{escape(table.title)}</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>" + (f"<ul>{notes}</ul>" if notes else "")
    )


def _health(data: Mapping[str, Any], table: Table) -> str:
    if table.title != TITLES["load"]:
        return ""
    extra = [generator_table(data["load"]), requests_table(data["load"])]
    return "".join(_table(t) for t in extra if t is not None)


def _panels(panels: Sequence[Mapping[str, Any]]) -> str:
    """Every dashboard panel under its dashboard's and its own title; no data said so."""
    if not panels:
        return ""
    out = ["<h2>Dashboards (every panel, from Prometheus over the run's window)</h2>"]
    dashboard = None
    for p in panels:
        if p["dashboard"] != dashboard:
            dashboard = p["dashboard"]
            out.append(f"<h3>{escape(dashboard)}</h3>")
        out.append(f"<h4>{escape(p['title'])}</h4>")
        if p.get("file"):
            out.append(f'<p><img src="{escape(p["file"])}" alt="{escape(p["title"])}"></p>')
        else:
            out.append(f'<p class="nodata">{escape(p["note"])}</p>')
    return "\n".join(out)


def render(
    data: Mapping[str, Any],
    plots: Sequence[str] = (),
    panels: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The whole report as a standalone HTML page; `plots` are image files beside it, `panels`
    the rendered dashboard panels (`bench/report/panels.py`)."""
    notes = "".join(f"<li>{escape(n)}</li>" for n in data.get("notes", []))
    invalid = invalid_line(data)
    title = f"{INVALID} " * bool(invalid) + f"cqrs-bench {data['run_id']}"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f'<p class="invalid">{escape(invalid)}</p>' if invalid else "",
        f"<h1>cqrs-bench run {escape(data['run_id'])}</h1>",
        f"<p>Suite <code>{escape(data['suite'])}</code>, {escape(data['started_at'])} → "
        f"{escape(str(data['finished_at']))}.</p>",
        f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "",
        *(_table(t) + _health(data, t) for t in tables(data)),
        *(f'<p><img src="{escape(p)}" alt="{escape(p)}"></p>' for p in plots),
        _panels(panels),
        _table(run_environment_table(data)),
        "</body></html>",
    ]
    return "\n".join(parts)
