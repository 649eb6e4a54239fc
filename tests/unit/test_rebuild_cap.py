"""A rebuild's chase ends after `MAX_ROUNDS` rounds even while every round still shrinks."""

from __future__ import annotations

from system.projections.rebuild import CAPPED_ROUND_S, MAX_ROUNDS, SETTLED, settled, swap_due

NEVER_SETTLING = [50_000] + [SETTLED * 20 - k for k in range(1, 100)]
"""The plant: each catch-up applies a little less than the last, never below `SETTLED`."""


def rounds_until_swap(backlogs: list[int], round_s: float = 1.0) -> int:
    """The round after which `rebuild` swaps, over rounds that apply `backlogs` events, each
    taking `round_s`."""
    previous: int | None = None
    for rounds, applied in enumerate(backlogs, start=1):
        if swap_due(applied, previous, rounds, round_s):
            return rounds
        previous = applied
    raise AssertionError("never swapped")


def test_the_planted_backlog_never_settles_by_itself() -> None:
    previous: int | None = None
    for applied in NEVER_SETTLING:
        assert not settled(applied, previous)
        previous = applied


def test_the_cap_ends_a_chase_that_keeps_shrinking() -> None:
    assert rounds_until_swap(NEVER_SETTLING) == MAX_ROUNDS


def test_the_cap_waits_for_a_round_short_enough_to_finish_after_the_swap() -> None:
    slow = CAPPED_ROUND_S + 1
    assert not any(swap_due(n, None, MAX_ROUNDS + 1, slow) for n in NEVER_SETTLING[1:])
    assert rounds_until_swap(NEVER_SETTLING, round_s=CAPPED_ROUND_S) == MAX_ROUNDS


def test_a_rebuild_that_settles_before_the_cap_swaps_then() -> None:
    assert rounds_until_swap([50_000, 8_000, SETTLED - 1]) == 3
    assert rounds_until_swap([50_000, 6_000, 6_100]) == 3
    assert rounds_until_swap([SETTLED - 1]) == 1
