"""Calibration: the api's cheapest route, so that what is left is the generator's own cost."""

from __future__ import annotations

import random

from locust import tag

from bench.load.registry import CALIBRATION
from bench.scenarios.base import ScenarioUser


class CalibrationUser(ScenarioUser):
    """Sends one GET per ticket; its send lag and latency are the generator's floor.

    `live` (`/health/live`) touches no backing service; `health` (`/health`) asks Postgres,
    Kafka and Elasticsearch, for comparison. The calibration picks one through the mix.
    """

    scenario = CALIBRATION

    @tag("health")
    def live(self, rng: random.Random) -> None:
        self.query("/health/live", "health live")

    @tag("health")
    def health(self, rng: random.Random) -> None:
        self.query("/health", "health")
