"""A load run's configuration names the flag at fault."""

from __future__ import annotations

import pytest

from bench.load.config import LoadConfig


def test_unknown_scenario_names_the_flag_and_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"--scenario: unknown scenario 'nope'; known: banking"):
        LoadConfig(scenario="nope", model="open", rate=5, duration_s=5).validate()


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"duration_s": -1, "rate": 5, "model": "open"}, "--duration"),
        ({"duration_s": 5, "model": "open"}, "--rate"),
        ({"duration_s": 5, "model": "closed"}, "--users"),
        ({"duration_s": 5, "rate": 5, "model": "open", "mix": {"fly": 1}}, "--mix"),
    ],
)
def test_bad_values_name_their_flag(kwargs: dict[str, object], flag: str) -> None:
    with pytest.raises(ValueError, match=flag):
        LoadConfig(scenario="orders", **kwargs).validate()  # type: ignore[arg-type]


def test_open_model_slots_default_to_two_seconds_of_arrivals() -> None:
    assert LoadConfig(scenario="orders", model="open", rate=200, duration_s=1).concurrency == 400
    assert LoadConfig(scenario="orders", model="open", rate=5, duration_s=1).concurrency == 50
