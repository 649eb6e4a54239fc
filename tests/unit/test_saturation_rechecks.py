"""A saturation search's rechecks in its report: the table's step and verdict cells, the curve."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from bench.report.plots.saturation import RECHECK, saturation_figure
from bench.report.rechecks import RECHECK_NOTE, verdict
from bench.report.tables import section_table, tables
from bench.saturate.search import saturate
from bench.saturate.steps import saturation_rows
from tests.unit.test_saturate_search import SLO, TOSSUP_MET, TOSSUP_MISSED, planted, system


def section(plants: dict[float, Any], recheck: int = 3) -> list[dict[str, Any]]:
    """The `saturation` rows of a search of `planted(plants)`."""
    return saturation_rows(saturate(planted(plants, []), low=20, high=1000, recheck=recheck), SLO)


def cells(rows: list[dict[str, Any]], *columns: str) -> list[list[str]]:
    """The rendered cells of `columns` (by header) for every step row of the table."""
    table = section_table("saturation", rows)
    at = [table.header.index(c) for c in columns]
    return [[row[i] for i in at] for row in table.rows if row[0] == "step"]


def test_the_table_names_the_recheck_and_marks_the_verdict_it_overrode() -> None:
    rows = section({80: TOSSUP_MISSED})
    assert cells(rows, "step", "rate req/s", "corrected latency", "met")[2:5] == [
        ["3", "80", "95.00 ms", "yes (toss-up, rechecked)"],
        ["4 (recheck, 60 s)", "80", "121.00 ms", "no"],
        ["5", "60", "50.00 ms", "yes"],
    ]
    (table,) = tables({"saturation": rows})
    assert table.notes == [RECHECK_NOTE]
    assert table.rows[-1][:3] == ["max_rate", "-", "75 (75 to 80)"]  # the answer is left as is


def test_a_recheck_that_meets_and_a_tossup_left_standing_read_as_such() -> None:
    met = cells(section({160: TOSSUP_MET}), "step", "met")
    assert met[3:5] == [["4", "no (toss-up, rechecked)"], ["5 (recheck, 60 s)", "yes"]]
    standing = cells(section({80: TOSSUP_MISSED}, recheck=0), "step", "met")
    assert standing[2] == ["3", "yes (toss-up)"]
    assert not any("recheck" in step or "rechecked" in verdict for step, verdict in standing)
    assert section_table("saturation", section({80: TOSSUP_MISSED}, recheck=0)).notes == []


def test_a_later_plain_step_at_a_rechecked_rate_is_not_marked_rechecked() -> None:
    rows = [
        {"kind": "step", "step": 1, "rate": 80, "met": True, "soft": True},
        {"kind": "step", "step": 2, "rate": 80, "met": False, "recheck": 3, "step_seconds": 60},
        {"kind": "step", "step": 3, "rate": 80, "met": True},
    ]
    assert [verdict(rows, r) for r in rows] == ["yes (toss-up, rechecked)", "no", "yes"]


@pytest.fixture
def axes() -> Iterator[Any]:
    """The curve's latency axes for a figure of `rows`; every figure drawn is closed after."""
    figures: list[Any] = []

    def draw(rows: list[dict[str, Any]]) -> Axes:
        fig = saturation_figure({"saturation": rows})
        assert fig is not None
        figures.append(fig)
        ax: Axes = fig.axes[0]
        return ax

    yield draw
    for fig in figures:
        plt.close(fig)


def points(ax: Axes) -> dict[str, Line2D]:
    """Each step's point by its annotation (`80/s`, `80/s recheck`), in the order drawn."""
    drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    names = [text.get_text() for text in ax.texts]
    assert len(drawn) == len(names)
    return dict(zip(names, drawn, strict=True))


def test_the_curve_draws_a_recheck_apart_and_fades_the_step_it_overrode(axes: Any) -> None:
    ax = axes(section({80: TOSSUP_MISSED}))
    drawn = points(ax)
    recheck, overridden, plain = drawn["80/s recheck"], drawn["80/s"], drawn["75/s"]
    assert (recheck.get_marker(), recheck.get_color(), recheck.get_label()) == (
        "X",
        "tab:purple",
        RECHECK,
    )  # missed at 60 s
    assert list(recheck.get_ydata()) == pytest.approx([121.0])
    assert {line.get_linestyle() for line in drawn.values()} == {"None"}  # points, no lines
    assert (overridden.get_marker(), overridden.get_markerfacecolor()) == ("o", "none")
    assert overridden.get_alpha() == 0.35 and list(overridden.get_ydata()) == pytest.approx([95])
    assert (plain.get_marker(), plain.get_markerfacecolor(), plain.get_alpha()) == (
        "o",
        "tab:blue",
        1.0,
    )
    curve = ax.get_lines()[0]  # through the verdicts that count: the recheck's, not its step's
    assert list(curve.get_xdata()) == [20, 40, 60, 70, 75, 80]
    assert list(curve.get_ydata()) == pytest.approx([50, 50, 50, 50, 50, 121])
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [RECHECK, "SLO", "max rate 75/s"]


def test_a_met_recheck_is_a_diamond_and_no_recheck_draws_none(axes: Any) -> None:
    drawn = points(axes(section({160: TOSSUP_MET})))
    assert drawn["160/s recheck"].get_marker() == "D"
    assert drawn["160/s"].get_marker() == "x" and drawn["160/s"].get_alpha() == 0.35
    plain = axes(saturation_rows(saturate(system(130), low=20, high=1000), SLO))
    assert {line.get_marker() for line in points(plain).values()} == {"o", "x"}
    assert {line.get_markerfacecolor() for line in points(plain).values()} == {"tab:blue"}
    legend = plain.get_legend()
    assert legend is not None and RECHECK not in [t.get_text() for t in legend.get_texts()]
