"""Key choice: uniform or Zipf(s) over n keys, drawn from a caller-supplied seeded RNG."""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Literal

Distribution = Literal["uniform", "zipf"]


class KeyChooser:
    """Draws key indexes 0..n-1; under Zipf(s), index k has weight 1 / (k + 1) ** s."""

    def __init__(self, n: int, distribution: Distribution = "uniform", s: float = 1.1) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        if distribution == "zipf" and s <= 0:
            raise ValueError("zipf s must be positive")
        self.n = n
        self.distribution = distribution
        self.s = s
        self._cdf: list[float] = []
        if distribution == "zipf":
            self._cdf = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))

    def probability(self, k: int) -> float:
        """The chance of drawing index `k`."""
        if self.distribution == "uniform":
            return 1.0 / self.n
        previous = self._cdf[k - 1] if k else 0.0
        return (self._cdf[k] - previous) / self._cdf[-1]

    def index(self, rng: random.Random) -> int:
        """One draw."""
        if self.distribution == "uniform":
            return rng.randrange(self.n)
        return min(bisect.bisect_right(self._cdf, rng.random() * self._cdf[-1]), self.n - 1)


def ticket_rng(seed: int, *parts: int) -> random.Random:
    """The RNG for one scheduled operation: the same seed and ticket give the same choices."""
    return random.Random(hash((seed, *parts)))
