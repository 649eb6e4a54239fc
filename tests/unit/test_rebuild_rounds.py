"""When a rebuild stops catching up and swaps: close enough, or no longer getting closer."""

from __future__ import annotations

from system.projections.rebuild import SETTLED, settled


def rounds_until_swap(backlogs: list[int]) -> int:
    """How many catch-up rounds run over rounds that would apply `backlogs` events."""
    previous: int | None = None
    for done, applied in enumerate(backlogs, start=1):
        if settled(applied, previous):
            return done
        previous = applied
    raise AssertionError("never swapped")


def test_a_shrinking_backlog_catches_up_until_it_is_small() -> None:
    assert rounds_until_swap([50_000, 8_000, 1_500, SETTLED - 1, 10]) == 4
    assert settled(SETTLED - 1, None)
    assert not settled(SETTLED, None)


def test_a_backlog_that_stops_shrinking_swaps_instead_of_chasing_the_traffic() -> None:
    # Live traffic as fast as the fold: every round finds what arrived during the last one.
    assert rounds_until_swap([50_000, 6_000, 6_100, 6_050, 6_200]) == 3
    assert rounds_until_swap([50_000, 50_000]) == 2
