"""How a saturation search's rechecks read in its report, README block and curve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Row = Mapping[str, Any]

RECHECK_NOTE = (
    "A recheck reran the toss-up step before it at the same rate, longer; its verdict is the"
    " one the search went on."
)


def rechecked(rows: Sequence[Row], step: Row) -> bool:
    """Whether a recheck row of `rows` reran step `step`, and so overrode its verdict: a
    recheck follows the toss-up it reruns, at its rate (a later plain step at that rate is
    not one)."""
    return not step.get("recheck") and any(
        r.get("recheck") and r["rate"] == step["rate"] and r["step"] == step["step"] + 1
        for r in rows
    )


def step_label(step: Row) -> str:
    """The step's number, `4 (recheck, 60 s)` for a recheck."""
    label = str(step["step"])
    if step.get("recheck"):
        label += f" (recheck, {step['step_seconds']:g} s)"
    return label


def verdict(rows: Sequence[Row], step: Row, yes: str = "yes") -> str:
    """`yes`/`no`, with its marks: `no (toss-up)`, `yes (toss-up, rechecked)`."""
    marks = [
        mark
        for mark, on in (("toss-up", step.get("soft")), ("rechecked", rechecked(rows, step)))
        if on
    ]
    return (yes if step["met"] else "no") + (f" ({', '.join(marks)})" if marks else "")


def marked_steps(rows: Sequence[Row]) -> list[Row]:
    """The section's rows with each step's `step` and `met` as the text the report shows."""
    return [
        {**r, "step": step_label(r), "met": verdict(rows, r)} if r["kind"] == "step" else r
        for r in rows
    ]


def recheck_lines(rows: Sequence[Row]) -> list[str]:
    """The recheck note when the search ran one."""
    return [RECHECK_NOTE] if any(r.get("recheck") for r in rows) else []
