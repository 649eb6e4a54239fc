"""The run's settings as locust custom arguments: what `cqrs-bench load` passes is what a plain
locust run parses back, and a bad value names its flag."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench.load.config import LoadConfig
from bench.load.options import add_arguments, config_from_options, parse_mix, to_args


class LocustLikeParser(argparse.ArgumentParser):
    """argparse with locust's extra keyword (importing locust here would monkey-patch gevent)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("include_in_web_ui", None)
        return super().add_argument(*args, **kwargs)


def parse(args: list[str]) -> argparse.Namespace:
    parser = LocustLikeParser()
    add_arguments(parser)
    parser.add_argument("--run-time", dest="run_time", type=int, default=None)
    return parser.parse_args(args)


@pytest.mark.parametrize(
    "config",
    [
        LoadConfig(scenario="orders", model="open", rate=25.0, duration_s=90, warmup_s=5, slots=50,
                   shape="spike", seed=3, samples_dir="/tmp/x", seed_file="/tmp/x/seed.json"),
        LoadConfig(scenario="contention", model="closed", users=16, duration_s=30,
                   think_time_s=0.5, keys=4, distribution="zipf", zipf_s=1.2,
                   mix={"deposit": 3, "withdraw": 1}, workers=2),
    ],
)  # fmt: skip
def test_cqrs_bench_load_arguments_parse_back_to_the_same_config(config: LoadConfig) -> None:
    users = config.slots if config.model == "open" else config.users
    back = config_from_options(parse(to_args(config)), users, config.workers)
    assert back == config


def test_defaults_make_a_plain_run_and_the_run_time_bounds_the_timetable() -> None:
    config = config_from_options(parse(["--run-time", "15"]), 4, 0, spent_s=3)
    assert (config.scenario, config.model, config.rate, config.seed) == ("orders", "open", 10, 1)
    assert config.duration_s == 15 - 3 - config.lead_s
    assert config.slots == 4
    open_ended = config_from_options(parse([]), 4, 0)
    assert open_ended.duration_s == 3600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "-1"], "--rate must not be negative"),
        (["--warmup", "later"], "--warmup: expected seconds"),
        (["--mix", "fly=1"], "--mix: unknown operation(s) ['fly']"),
        (["--duration", "0"], "--duration must be positive"),
    ],
)
def test_bad_values_name_their_flag(args: list[str], message: str) -> None:
    with pytest.raises(ValueError) as err:
        config_from_options(parse(args), 4, 0)
    assert message in str(err.value)


def test_a_mix_is_operation_weight_pairs() -> None:
    assert parse_mix("deposit=3, withdraw=1") == {"deposit": 3, "withdraw": 1}
    assert parse_mix("") == {}
    with pytest.raises(ValueError, match="--mix"):
        parse_mix("deposit:3")
