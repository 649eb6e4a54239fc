"""The README's saturation block: each reference `cqrs-bench saturate` run, its steps, its curve."""

from __future__ import annotations

from collections.abc import Sequence

from bench.report.environment_table import settings_text
from bench.report.rechecks import RECHECK_NOTE, step_label, verdict
from bench.report.reference_runs import Reference, Run, interval, ms, table

STEP_COLUMNS = (
    "search",
    "step",
    "rate req/s",
    "achieved",
    "corrected latency",
    "lag p99",
    "valid and audited",
    "met",
)


def _settings(ref: Reference) -> str:
    return settings_text(ref.data["config"].get("projector_settings", [])) or "not recorded"


def _answer(ref: Reference) -> str:
    answer = next(r for r in ref.data["saturation"] if r["kind"] == "max_rate")
    if not answer["met"]:
        return "no rate tried met it"
    return f"**{interval(answer['rate'], answer.get('low'), answer.get('high'))} req/s**"


def _step_row(ref: Reference, s: Run) -> list[str]:
    latency = "-"
    if s.get("latency_seconds") is not None:
        latency = interval(
            s["latency_seconds"], s.get("latency_low_seconds"), s.get("latency_high_seconds"), ms
        )
    return [
        ref.name,
        step_label(s),
        f"{s['rate']:g}",
        f"{s['achieved_rps']:.1f}",
        latency,
        ms(s["lag_p99_seconds"]) if s.get("lag_p99_seconds") is not None else "-",
        "yes" if s["valid"] and s["audit_passed"] else "no",
        verdict(ref.data["saturation"], s, yes="**yes**"),
    ]


def saturation_block(refs: Sequence[Reference]) -> list[str]:
    """Each reference saturation search: its answer with its bracket, every step, its curve."""
    runs = [r for r in refs if "saturation" in r.data]
    if not runs:
        return ["No reference saturation search yet."]
    slo = runs[0].data["config"]["slo"]
    steps = [_step_row(r, s) for r in runs for s in r.data["saturation"] if s["kind"] == "step"]
    recheck = (
        f" {RECHECK_NOTE}"
        if any(s.get("recheck") for r in runs for s in r.data["saturation"])
        else ""
    )
    return [
        f"The highest rate that met {slo} (in brackets: the highest rate met and the lowest"
        " missed above it); each step is a short audited open-model run, judged on its corrected"
        " latency, with the lag beside it and the latency's 95 % interval (order statistics)."
        + recheck,
        "",
        *(f"- `{r.name}`: {_answer(r)}; projector {_settings(r)}; `{r.command}`" for r in runs),
        "",
        *table(STEP_COLUMNS, steps),
        "",
        *(f"![{r.name}](reports/reference/{r.name}/saturation.png)" for r in runs),
        "",
        *(f"- `{r.name}`: {note}" for r in runs for note in r.data.get("notes", [])),
    ]
