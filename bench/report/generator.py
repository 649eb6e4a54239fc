"""The load generator's health in a report: the INVALID line and the calibration table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.report.tables import Table, ratio, seconds

INVALID = "INVALID"


def invalid_line(data: Mapping[str, Any]) -> str | None:
    """`INVALID: <why>` when a load row of the run is invalid (the report's first line)."""
    reasons = [
        str(row.get("invalid_reason") or "the generator fell behind")
        for row in data.get("load") or []
        if row.get("valid") is False
    ]
    if not reasons:
        return None
    return f"{INVALID}: " + "; ".join(dict.fromkeys(reasons))


def _lag(figure: Any) -> Any:
    return figure.get("value") if isinstance(figure, Mapping) else figure


def generator_table(rows: list[Mapping[str, Any]]) -> Table | None:
    """Each load row beside its calibration (GET /health at the same rate): the generator's floor.

    None when no row has generator figures (results written before they existed).
    """
    body: list[list[str]] = []
    for row in rows:
        if "unsent" not in row:
            continue
        lag = row.get("send_lag_seconds") or {}
        fraction = row.get("unsent_fraction")
        body.append(
            [
                f"{row['scenario']} (this run)",
                f"{row['target_rps']:g}" if row.get("target_rps") else "-",
                ratio(row.get("achieved_ratio")),
                f"{row['unsent']:,}" + (f" ({fraction['value']:.1%})" if fraction else ""),
                seconds(_lag(lag.get("p50"))),
                seconds(_lag(lag.get("p99"))),
                seconds(row["latency_seconds"]["p50"]),
                seconds(row["latency_seconds"]["p99"]),
                seconds((row.get("corrected") or {}).get("p99")),
            ]
        )
        cal = row.get("calibration")
        if cal:
            body.append(
                [
                    f"calibration: GET {cal['route']}, {cal['duration_s']:g} s",
                    f"{cal['target_rps']:g}",
                    ratio(cal["achieved_rps"] / cal["target_rps"]),
                    f"{cal['unsent']:,}",
                    seconds(cal["send_lag_seconds"]["p50"]),
                    seconds(cal["send_lag_seconds"]["p99"]),
                    seconds(cal["latency_seconds"]["p50"]),
                    seconds(cal["latency_seconds"]["p99"]),
                    seconds(cal["corrected"]["p99"]),
                ]
            )
    if not body:
        return None
    notes = [
        "Send lag = sent - intended start; a request never sent counts as waiting until the end"
        " of the run, in the send lag and in the corrected latency.",
        "The calibration row is the generator's floor at the same rate: latencies near it are"
        " the generator's, not the system's.",
    ]
    if not any(row.get("calibration") for row in rows):
        notes.append("No calibration was run (--calibration 0).")
    header = [
        "",
        "target rps",
        "achieved",
        "unsent",
        "send lag p50",
        "send lag p99",
        "p50",
        "p99",
        "p99 corrected",
    ]
    return Table("Load generator health and calibration", header, body, notes)
