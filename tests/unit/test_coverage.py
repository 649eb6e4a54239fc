"""Whether a rebuilt index covers a retention gap: its recorded log starts against today's."""

from __future__ import annotations

from system.readstore.coverage import covers, partition_key

TOPIC = "cqrs-account"


def starts(**by_partition: int) -> dict[str, int]:
    """Log starts keyed as the record keeps them: starts(p0=4) -> {"cqrs-account:0": 4}."""
    return {partition_key(TOPIC, int(p[1:])): offset for p, offset in by_partition.items()}


def test_a_partition_key_names_topic_and_partition() -> None:
    assert partition_key("cqrs-account", 2) == "cqrs-account:2"


def test_a_record_at_or_past_the_current_log_starts_covers_the_gap() -> None:
    recorded = starts(p0=4, p1=4, p2=7)
    assert covers(recorded, starts(p0=4, p2=7))
    assert covers(recorded, starts(p0=3))
    assert covers(recorded, {})


def test_a_log_start_that_moved_past_the_record_is_not_covered() -> None:
    # Retention deleted more after the rebuild read the log starts: that may be unread.
    assert not covers(starts(p0=4, p1=4), starts(p0=4, p1=5))


def test_a_partition_or_topic_not_recorded_is_not_covered() -> None:
    assert not covers({}, starts(p0=0))
    assert not covers(starts(p0=4), starts(p1=1))
    assert not covers(starts(p0=4), {partition_key("other", 0): 1})
