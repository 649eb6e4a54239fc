"""Serialization: encode + decode of one event with json, orjson and msgspec (the codec chosen)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
import pytest

from bench.micro.harness import Runner
from bench.micro.streams import account_events
from bench.micro.suite import Suite
from system.domain.codec import decode_event, encode_event
from system.domain.events import Event, MoneyDeposited


def _stdlib(event: Event) -> Any:
    return MoneyDeposited(**json.loads(json.dumps(msgspec.structs.asdict(event))))


def _orjson(event: Event) -> Any:
    return MoneyDeposited(**orjson.loads(orjson.dumps(msgspec.structs.asdict(event))))


def _msgspec(event: Event) -> Any:
    return decode_event(event.type_name(), encode_event(event))


CODECS: dict[str, Callable[[Event], Any]] = {
    "json": _stdlib,
    "orjson": _orjson,
    "msgspec": _msgspec,
}


@pytest.mark.parametrize("codec", list(CODECS))
def test_serialization(benchmark: Any, runner: Runner, suite: Suite, codec: str) -> None:
    events = account_events(suite.serialization.events, random.Random(suite.seed))[1:]
    round_trip = CODECS[codec]

    async def all_events() -> list[Any]:
        return [round_trip(e) for e in events]

    decoded = runner.measure(
        benchmark,
        all_events,
        rounds=suite.serialization.rounds,
        warmup_rounds=1,
        kind="serialization",
        codec=codec,
        events=len(events),
    )
    assert decoded == events
