"""The conflict model: hand-computed cases, a seeded simulation of the same writers, and the row
the conflicts section builds from a case's rounds."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from bench.micro.conflict_model import (
    key_probabilities,
    predicted_conflict_rate,
    window_ratio,
    zipf_probabilities,
)
from bench.micro.sections.conflicts import MIN_EXPECTED_CONFLICTS, row


def simulate(
    writers: int,
    probabilities: list[float],
    window_ratio: float,
    attempts: int,
    seed: int,
    retry_attempts: int = 1,
) -> float:
    """W closed-loop writers: each attempt lasts S·U(0.9, 1.1), reads its key's version
    `window_ratio` of the way before its end and commits only if the version is unchanged; a lost
    race is re-run on the same key up to `retry_attempts` times. Returns conflicts per attempt."""
    rng = random.Random(seed)
    keys = range(len(probabilities))
    versions = [0] * len(probabilities)
    queue: list[tuple[float, int, str, int, int]] = []
    pending = [0.0] * writers
    tries = [0] * writers

    def start(writer: int, now: float, key: int | None) -> None:
        duration = rng.uniform(0.9, 1.1)
        if key is None:
            key, tries[writer] = rng.choices(keys, probabilities)[0], 0
        tries[writer] += 1
        heapq.heappush(queue, (now + duration * (1 - window_ratio), writer, "read", key, 0))
        pending[writer] = now + duration

    for w in range(writers):
        start(w, rng.uniform(0, 1), None)
    done = conflicts = 0
    while done < attempts:
        now, writer, kind, key, seen = heapq.heappop(queue)
        if kind == "read":
            heapq.heappush(queue, (pending[writer], writer, "commit", key, versions[key]))
            continue
        done += 1
        if versions[key] == seen:
            versions[key] += 1
            start(writer, now, None)
            continue
        conflicts += 1
        start(writer, now, key if tries[writer] < retry_attempts else None)
    return conflicts / done


@pytest.mark.parametrize(
    ("writers", "keys", "skew", "ratio", "retry"),
    [
        (2, 1, "uniform", 1.0, 1),
        (4, 4, "uniform", 1.0, 1),
        (8, 16, "uniform", 0.8, 1),
        (16, 64, "uniform", 0.6, 1),
        (8, 64, "zipf(1.1)", 0.7, 1),
        (32, 64, "zipf(1.1)", 0.6, 1),
        (32, 256, "zipf(0.9)", 0.6, 1),
        (16, 1, "uniform", 1.0, 1),
        (4, 1000, "uniform", 1.0, 1),
        (16, 64, "uniform", 0.6, 10),
    ],
)
def test_the_model_matches_a_seeded_simulation_of_the_same_writers(
    writers: int, keys: int, skew: str, ratio: float, retry: int
) -> None:
    probabilities = key_probabilities(skew, keys)
    predicted = predicted_conflict_rate(writers, probabilities, ratio, retry)
    simulated = simulate(writers, probabilities, ratio, 40_000, seed=writers, retry_attempts=retry)
    assert predicted == pytest.approx(simulated, abs=0.005, rel=0.15)


def test_with_retry_under_skew_the_model_under_predicts_herding_retries() -> None:
    """The documented limit: losers of one race retry together on the same hot key."""
    probabilities = key_probabilities("zipf(1.1)", 64)
    predicted = predicted_conflict_rate(8, probabilities, 0.7, 10)
    simulated = simulate(8, probabilities, 0.7, 40_000, seed=8, retry_attempts=10)
    assert predicted > predicted_conflict_rate(8, probabilities, 0.7)
    assert 0.5 * simulated < predicted < simulated


def test_two_writers_on_one_key_by_hand() -> None:
    """W = 2, one key, r = 1: c = 1 - exp(-(1 - c)), so 1 - c is the omega constant 0.5671433…"""
    c = predicted_conflict_rate(2, [1.0], 1.0)
    assert c == pytest.approx(1 - math.exp(-(1 - c)), abs=1e-9)
    assert c == pytest.approx(1 - 0.5671433, abs=1e-6)


def test_many_cold_keys_by_hand() -> None:
    """At low contention c ≈ (W - 1)·r·p: 8 writers, 1000 uniform keys, r = 0.5 → 0.35 %."""
    expected = 1 - math.exp(-7 * 0.5 / 1000)
    assert predicted_conflict_rate(8, key_probabilities("uniform", 1000), 0.5) == pytest.approx(
        expected, rel=0.01
    )


def test_retries_shift_attempts_to_hot_keys() -> None:
    probabilities = zipf_probabilities(64, 1.1)
    off = predicted_conflict_rate(16, probabilities, 0.6)
    on = predicted_conflict_rate(16, probabilities, 0.6, retry_attempts=10)
    assert on > off * 1.1
    uniform = key_probabilities("uniform", 64)
    assert predicted_conflict_rate(16, uniform, 0.6, 10) == pytest.approx(
        predicted_conflict_rate(16, uniform, 0.6), rel=0.02
    )


def test_the_window_ratio_is_the_share_of_writer_time_inside_windows() -> None:
    assert window_ratio(0.005, 1000, 2.0, 4) == pytest.approx(0.625)
    assert window_ratio(0.5, 1000, 1.0, 4) == 1.0
    with pytest.raises(ValueError, match="seconds"):
        window_ratio(0.005, 10, 0.0, 4)


def test_a_single_writer_never_conflicts() -> None:
    assert predicted_conflict_rate(1, [1.0]) == 0.0


def test_a_shorter_window_predicts_fewer_conflicts() -> None:
    probabilities = key_probabilities("uniform", 64)
    assert predicted_conflict_rate(16, probabilities, 0.5) < predicted_conflict_rate(
        16, probabilities, 1.0
    )


def test_skew_raises_the_predicted_conflict_rate() -> None:
    uniform = predicted_conflict_rate(8, key_probabilities("uniform", 100))
    skewed = predicted_conflict_rate(8, zipf_probabilities(100, 1.2))
    assert skewed > 2 * uniform


def test_bad_inputs_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'pareto'"):
        key_probabilities("pareto", 10)
    with pytest.raises(ValueError, match="window_ratio"):
        predicted_conflict_rate(4, [1.0], 1.5)
    with pytest.raises(ValueError, match="probabilities"):
        predicted_conflict_rate(4, [0.5, 0.2])


def _case(writers: int, conflicts: list[int], attempts: list[int]) -> dict[str, object]:
    rounds = len(attempts)
    return {
        "extra_info": {
            "kind": "conflicts",
            "writers": writers,
            "aggregates": 64,
            "skew": "uniform",
            "retry": False,
            "retry_attempts": 1,
            "round_attempts": attempts,
            "round_conflicts": conflicts,
            "round_committed": [a - c for a, c in zip(attempts, conflicts, strict=True)],
            "round_seconds": [1.0] * rounds,
            "round_window_mean": [0.010 + 0.001 * i for i in range(rounds)],
            "round_window_p50": [0.008] * rounds,
            "round_window_p90": [0.020] * rounds,
            "p99_seconds": 0.05,
        }
    }


def test_the_row_carries_wilson_and_model_intervals_and_their_ratio() -> None:
    r = row(_case(16, [25] * 6, [200] * 6))
    assert r["attempts"] == 1200 and r["conflicts"] == 150
    assert r["conflict_rate"] == pytest.approx(0.125)
    assert r["conflict_rate_low"] < 0.125 < r["conflict_rate_high"]
    # window ratio per round = mean window * 200 attempts/s / 16 writers; median of 6 rounds
    assert r["window_ratio"] == pytest.approx(0.0125 * 200 / 16)
    assert r["window_ratio_low"] == pytest.approx(0.010 * 200 / 16)
    probabilities = key_probabilities("uniform", 64)
    assert r["predicted_conflict_rate"] == pytest.approx(
        predicted_conflict_rate(16, probabilities, r["window_ratio"])
    )
    assert r["predicted_conflict_rate_low"] == pytest.approx(
        predicted_conflict_rate(16, probabilities, r["window_ratio_low"])
    )
    assert r["model_ratio"] == pytest.approx(0.125 / r["predicted_conflict_rate"])
    assert r["model_ratio_low"] == pytest.approx(
        r["conflict_rate_low"] / r["predicted_conflict_rate_high"]
    )
    assert r["model_judged"] is (r["predicted_conflict_rate"] * 1200 >= MIN_EXPECTED_CONFLICTS)


def test_a_case_the_model_expects_few_conflicts_in_is_not_judged() -> None:
    r = row(_case(2, [1, 0], [100, 100]))
    assert r["model_judged"] is False
    one = row(_case(1, [0, 0], [100, 100]))
    assert one["predicted_conflict_rate"] == 0.0 and one["model_ratio"] is None
