"""The `peers` section: ours against eventsourcing and message-db on the same PostgreSQL."""

from __future__ import annotations

from bench.micro.figures import Bench, by_kind, rate, ratio
from bench.report.results import Results

WORKLOADS = (
    # (peer, workload in the report, workload measured, unit)
    ("eventsourcing", "append", "append_commands", "commands/s"),
    ("eventsourcing", "replay", "replay", "events/s"),
    ("eventsourcing", "replay_snapshots", "replay_snapshots", "events/s"),
    ("message-db", "append", "append_events", "events/s"),
    ("message-db", "replay", "replay", "events/s"),
)


def add(results: Results, benchmarks: list[Bench]) -> None:
    measured = {
        (b["extra_info"]["side"], b["extra_info"]["workload"]): b
        for b in by_kind(benchmarks, "peer")
    }
    for peer, workload, key, unit in WORKLOADS:
        ours, theirs = measured.get(("ours", key)), measured.get((peer, key))
        if ours is None or theirs is None:
            continue
        r = ratio(ours, theirs)
        assert r is not None
        results.add(
            "peers",
            {
                "peer": peer,
                "workload": workload,
                "unit": unit,
                "ours": rate(ours).value,
                "theirs": rate(theirs).value,
                "ratio": r.value,
                "low": r.low,
                "high": r.high,
            },
        )
