from __future__ import annotations

from pathlib import Path

from bench.stack.kafka import format_command


def test_a_cluster_id_starting_with_a_dash_is_not_taken_for_an_option() -> None:
    args = format_command(Path("/x/server.properties"), "-XyRd7rcSaSJCiwzqM-plQ")
    assert "--cluster-id=-XyRd7rcSaSJCiwzqM-plQ" in args
    assert "-XyRd7rcSaSJCiwzqM-plQ" not in args
