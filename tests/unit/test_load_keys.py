"""Key choice: seeded, reproducible, and Zipf-distributed when asked."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench.load.keys import KeyChooser, ticket_rng


def draws(chooser: KeyChooser, n: int, seed: int = 7) -> Counter[int]:
    return Counter(chooser.index(ticket_rng(seed, i)) for i in range(n))


def test_zipf_frequencies_follow_one_over_rank_to_the_s() -> None:
    chooser = KeyChooser(16, "zipf", s=1.2)
    n = 40_000
    counts = draws(chooser, n)
    harmonic = sum(1 / (k + 1) ** 1.2 for k in range(16))
    chi2 = 0.0
    for k in range(16):
        expected = n / ((k + 1) ** 1.2 * harmonic)
        assert chooser.probability(k) == pytest.approx(expected / n)
        chi2 += (counts[k] - expected) ** 2 / expected
    # 15 degrees of freedom: P(chi2 > 37.7) = 0.001
    assert chi2 < 37.7
    assert counts[0] / counts[1] == pytest.approx(2**1.2, rel=0.08)


def test_uniform_keys_are_drawn_evenly() -> None:
    chooser = KeyChooser(8)
    counts = draws(chooser, 16_000)
    assert set(counts) == set(range(8))
    assert all(abs(c - 2000) < 5 * math.sqrt(2000) for c in counts.values())


def test_a_seed_fixes_every_draw_and_another_seed_changes_them() -> None:
    chooser = KeyChooser(100, "zipf", s=0.9)
    first = [chooser.index(ticket_rng(42, i)) for i in range(500)]
    again = [chooser.index(ticket_rng(42, i)) for i in range(500)]
    other = [chooser.index(ticket_rng(43, i)) for i in range(500)]
    assert first == again
    assert first != other


def test_zipf_needs_a_positive_exponent() -> None:
    with pytest.raises(ValueError, match="positive"):
        KeyChooser(4, "zipf", s=0)
