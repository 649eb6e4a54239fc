"""`CQRS_ES_JIT` picks Elasticsearch's JIT mode, and the report says when it is C1 only."""

from __future__ import annotations

import pytest

from bench.report.environment import c1_only
from bench.stack.elasticsearch import jit_option
from bench.stack.process import StackError


def test_the_default_is_the_jvms_own_tiered_compilation() -> None:
    assert jit_option({}) == ""
    assert jit_option({"CQRS_ES_JIT": "tiered"}) == ""


def test_c1_stops_the_jit_at_its_first_tier() -> None:
    assert jit_option({"CQRS_ES_JIT": "c1"}) == "-XX:TieredStopAtLevel=1"


def test_an_unknown_mode_is_refused_naming_the_variable() -> None:
    with pytest.raises(StackError, match=r"CQRS_ES_JIT='c2'.*c1, tiered"):
        jit_option({"CQRS_ES_JIT": "c2"})


def test_the_report_says_c1_only_when_every_node_runs_it() -> None:
    def node(*args: str) -> dict[str, object]:
        return {"jvm": {"input_arguments": ["-Xms512m", *args]}}

    assert c1_only({"nodes": {"a": node("-XX:TieredStopAtLevel=1")}})
    assert not c1_only({"nodes": {"a": node("-XX:TieredStopAtLevel=1"), "b": node()}})
    assert not c1_only({"nodes": {}})
    assert not c1_only({"error": "down"})
