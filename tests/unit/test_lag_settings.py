"""CQRS_LAG_STAMPS turns the projectors' lag records on and off, and names itself when wrong."""

from __future__ import annotations

import pytest

from system.config import Settings


def test_lag_stamps_are_on_by_default_and_can_be_turned_off() -> None:
    assert Settings.from_env({}).lag_stamps is True
    assert Settings.from_env({"CQRS_LAG_STAMPS": "off"}).lag_stamps is False
    assert Settings.from_env({"CQRS_LAG_STAMPS": "ON"}).lag_stamps is True


def test_a_bad_value_names_the_setting() -> None:
    with pytest.raises(ValueError, match="CQRS_LAG_STAMPS"):
        Settings.from_env({"CQRS_LAG_STAMPS": "sometimes"})
