"""Calibration: `/health` only, the api's cheapest route, so what is left is the generator."""

from __future__ import annotations

import random

from bench.scenarios.base import ScenarioUser


class CalibrationUser(ScenarioUser):
    """Sends `GET /health` on the timetable; its send lag and latency are the generator's floor."""

    def health(self, rng: random.Random) -> None:
        self.query("/health", "health")
