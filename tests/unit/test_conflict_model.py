"""The analytical conflict model agrees with a discrete-event simulation of the same writers."""

from __future__ import annotations

import heapq
import random

import pytest

from bench.micro.conflict_model import (
    key_probabilities,
    predicted_conflict_rate,
    zipf_probabilities,
)


def simulate(
    writers: int, probabilities: list[float], window_ratio: float, attempts: int, seed: int
) -> float:
    """W closed-loop writers with the model's assumptions: attempts last S·U(0.9, 1.1), each
    reads its key's version `window_ratio` of the way before its end and commits only if the
    version is unchanged; returns conflicts per attempt."""
    rng = random.Random(seed)
    keys = range(len(probabilities))
    versions = [0] * len(probabilities)
    queue: list[tuple[float, int, str, int, int]] = []

    def start(writer: int, now: float) -> None:
        duration = rng.uniform(0.9, 1.1)
        key = rng.choices(keys, probabilities)[0]
        heapq.heappush(queue, (now + duration * (1 - window_ratio), writer, "read", key, 0))
        pending[writer] = now + duration

    pending = [0.0] * writers
    for w in range(writers):
        start(w, rng.uniform(0, 1))
    done = conflicts = 0
    while done < attempts:
        now, writer, kind, key, seen = heapq.heappop(queue)
        if kind == "read":
            heapq.heappush(queue, (pending[writer], writer, "commit", key, versions[key]))
            continue
        done += 1
        if versions[key] == seen:
            versions[key] += 1
        else:
            conflicts += 1
        start(writer, now)
    return conflicts / done


@pytest.mark.parametrize(
    ("writers", "keys", "skew", "window_ratio"),
    [
        (2, 1, "uniform", 1.0),
        (4, 4, "uniform", 1.0),
        (8, 16, "uniform", 0.8),
        (16, 64, "uniform", 1.0),
        (8, 64, "zipf(1.1)", 1.0),
        (32, 256, "zipf(0.9)", 0.6),
        (32, 32, "uniform", 1.0),
        (16, 1, "uniform", 1.0),
        (4, 1000, "uniform", 1.0),
    ],
)
def test_the_model_matches_a_simulation_of_the_same_writers(
    writers: int, keys: int, skew: str, window_ratio: float
) -> None:
    probabilities = key_probabilities(skew, keys)
    predicted = predicted_conflict_rate(writers, probabilities, window_ratio)
    simulated = simulate(writers, probabilities, window_ratio, attempts=40_000, seed=writers)
    assert predicted == pytest.approx(simulated, abs=0.005, rel=0.15)


def test_a_single_writer_never_conflicts() -> None:
    assert predicted_conflict_rate(1, [1.0]) == 0.0


def test_skew_raises_the_predicted_conflict_rate() -> None:
    uniform = predicted_conflict_rate(8, key_probabilities("uniform", 100))
    skewed = predicted_conflict_rate(8, zipf_probabilities(100, 1.2))
    assert skewed > 2 * uniform


def test_an_unknown_skew_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'pareto'"):
        key_probabilities("pareto", 10)
