"""A model of the optimistic-concurrency conflict rate of W closed-loop writers, from measured
inputs: the writers W, the key probabilities p_k, and the window ratio r.

An attempt reads its stream (version v) and appends at v + 1. It conflicts exactly when another
writer's successful append to the same key commits inside its read → append window: that row
is invisible to the read and takes version v + 1 first. So what matters is the window, not the
whole command (building it, dispatch, the loop's turn between commands are outside it).

Measured per round: the mean window w̄ (from the moment the load returned the stream to the
moment the append committed or failed) and the attempt rate A (attempts / s). A writer then
spends r = w̄ · A / W of its time inside a window (0 < r ≤ 1). With writers' phases independent,
another writer's appends land in my window at rate A/W per writer, so over my window I expect
(W - 1) · r of them, a fraction q_k on key k, of which a fraction (1 - c_k) succeed. Taking
those arrivals as Poisson, an attempt on key k conflicts with probability

    c_k = 1 - exp(-(W - 1) · r · q_k · (1 - c_k))

solved by fixed-point iteration; the rate per attempt is c = Σ_k q_k · c_k. Without retry the
attempts' key distribution q is p. With R attempts per command, a command on key k makes
n_k = (1 - c_k^R) / (1 - c_k) attempts, so q_k ∝ p_k · n_k (retries re-pick the hot keys).

Why it now agrees: the old model took the window as the whole attempt (r = 1); measured, r is
0.5-0.8 here (lowest at 32 writers, where attempts wait for the loop and the pool outside their
windows), which was its 1.3-1.5x over-prediction at 8-32 writers (uniform keys, 16 writers:
11.9 % measured, 17.7 % old, 12.0 % now). Counting the other writers' appends that end inside
each window directly gave (W - 1) · r within 5 % (quick size, 2-32 writers), so independent
phases hold; the Poisson and binomial (1 - (1 - r·q·(1-c))^(W-1)) forms differ by < 6 % here.
Without retry, measured / predicted was 0.99-1.10 at 2-32 writers, uniform and zipf(1.1).

Where it does not: with retry under skew it under-predicts by 15-25 % at 4-32 writers. The
losers of one race retry together after a few milliseconds of backoff and meet each other on
the same hot key, so retries collide more often than independent attempts would, which the
model leaves out (a simulation without backoff shows the same, stronger). Successful commits on
one key are also more evenly spaced than Poisson arrivals (a success fails every attempt that
read before it): against a seeded simulation with that dead time the model reads 8-13 % low at
high contention (tests/unit/test_conflict_model.py holds it within 15 %); the real writers'
jitter puts them closer to Poisson.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_ZIPF = re.compile(r"^zipf\(([0-9.]+)\)$")
_ITERATIONS = 500
_TOLERANCE = 1e-12


def uniform_probabilities(keys: int) -> list[float]:
    """P(key k) = 1 / keys."""
    return [1.0 / keys] * keys


def zipf_probabilities(keys: int, s: float) -> list[float]:
    """P(key k) ∝ 1 / k^s for k = 1..keys."""
    weights = [1.0 / (k**s) for k in range(1, keys + 1)]
    total = sum(weights)
    return [w / total for w in weights]


def key_probabilities(skew: str, keys: int) -> list[float]:
    """Probabilities for a skew spelled as in results.json: `uniform` or `zipf(s)`."""
    if skew == "uniform":
        return uniform_probabilities(keys)
    match = _ZIPF.match(skew)
    if match is None:
        raise ValueError(f"skew must be 'uniform' or 'zipf(s)', got {skew!r}")
    return zipf_probabilities(keys, float(match.group(1)))


def window_ratio(mean_window: float, attempts: int, seconds: float, writers: int) -> float:
    """r = mean window * attempt rate / writers: the share of each writer's time spent between
    reading a stream and its append's outcome (capped at 1, a writer runs one attempt at once)."""
    if seconds <= 0 or writers < 1:
        raise ValueError(f"seconds must be > 0 and writers >= 1, got {seconds}, {writers}")
    return min(1.0, max(0.0, mean_window) * attempts / seconds / writers)


def _attempt_shares(
    probabilities: Sequence[float], conflicts: list[float], tries: int
) -> list[float]:
    """q_k: the share of attempts on key k when each command makes up to `tries` attempts."""
    weights = [
        p * (tries if c >= 1 else (1 - c**tries) / (1 - c))
        for p, c in zip(probabilities, conflicts, strict=True)
    ]
    total = sum(weights)
    return [w / total for w in weights]


def predicted_conflict_rate(
    writers: int,
    probabilities: Sequence[float],
    window_ratio: float = 1.0,
    retry_attempts: int = 1,
) -> float:
    """Conflicts per attempt for `writers` on keys with `probabilities` (see the module)."""
    if writers < 1:
        raise ValueError(f"writers must be at least 1, got {writers}")
    if not 0 <= window_ratio <= 1:
        raise ValueError(f"window_ratio must be in [0, 1], got {window_ratio}")
    if retry_attempts < 1:
        raise ValueError(f"retry_attempts must be at least 1, got {retry_attempts}")
    if abs(sum(probabilities) - 1) > 1e-9 or any(p < 0 for p in probabilities):
        raise ValueError("probabilities must be non-negative and sum to 1")
    exposure = (writers - 1) * window_ratio
    conflicts = [0.0] * len(probabilities)
    shares = list(probabilities)
    for _ in range(_ITERATIONS):
        shares = _attempt_shares(probabilities, conflicts, retry_attempts)
        pairs = zip(shares, conflicts, strict=True)
        nxt = [1 - math.exp(-exposure * q * (1 - c)) for q, c in pairs]
        if max((abs(a - b) for a, b in zip(nxt, conflicts, strict=True)), default=0.0) < _TOLERANCE:
            conflicts = nxt
            break
        conflicts = [0.5 * (a + b) for a, b in zip(conflicts, nxt, strict=True)]
    return sum(q * c for q, c in zip(shares, conflicts, strict=True))
