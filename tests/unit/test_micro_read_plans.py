"""`bench/micro/plans.py`: a plan's way of reading a stream, in words, and EXECUTE's literals."""

from __future__ import annotations

from typing import Any

import pytest

from bench.micro.plans import literal, stream_read


def scan(kind: str, cond: str, rows: float = 1, relation: str = "events") -> dict[str, Any]:
    return {"Node Type": kind, "Relation Name": relation, "Index Cond": cond, "Plan Rows": rows}


def replay_plan(window: dict[str, Any]) -> dict[str, Any]:
    """The shape of the store's replay statement: the page's read and a max(version) lookup."""
    lookup = scan("Index Only Scan", "((aggregate_id = $1) AND (version IS NOT NULL))", 106)
    return {
        "Node Type": "Result",
        "Plans": [window, {"Node Type": "Limit", "Plans": [lookup]}],
    }


def test_the_page_read_is_named_not_the_max_version_lookup_beside_it() -> None:
    window = scan("Index Scan", "((aggregate_id = $1) AND (version > $2) AND (version <= $3))")
    assert stream_read(replay_plan(window)) == "index scan"


def test_a_bitmap_scan_with_a_sort_says_both() -> None:
    bitmap = {
        "Node Type": "Bitmap Heap Scan",
        "Relation Name": "events",
        "Recheck Cond": "((aggregate_id = $1) AND (version > $2))",
    }
    plan = {"Node Type": "Sort", "Plans": [bitmap]}
    assert stream_read(plan) == "bitmap scan + sort"


def test_without_a_windowed_scan_the_first_scan_of_the_relation_is_named() -> None:
    plan = {
        "Node Type": "Append",
        "Plans": [scan("Seq Scan", "", relation="snapshots"), scan("Seq Scan", "")],
    }
    assert stream_read(plan) == "seq scan"
    assert stream_read({"Node Type": "Result"}) == "no scan of events"


def test_literals_quote_strings_and_refuse_other_types() -> None:
    assert literal(10_000) == "10000"
    assert literal("acc-'1") == "'acc-''1'"
    with pytest.raises(TypeError):
        literal(True)
    with pytest.raises(TypeError):
        literal(1.5)
