"""`Aggregate.apply_all`: one lookup and one call per event, the version moved once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec
import pytest

from system.domain.account import BankAccount
from system.domain.aggregate import Aggregate, Evolver
from system.domain.events import AccountOpened, Event, MoneyDeposited, OrderConfirmed


class Tally(msgspec.Struct):
    seen: dict[int, int] = msgspec.field(default_factory=dict)


def _count_once(s: Tally, e: MoneyDeposited) -> None:
    s.seen[e.amount] = s.seen[e.amount] + 1  # a KeyError of the evolver's own


class Strict(Aggregate[Tally]):
    aggregate_type = "Strict"
    state_type = Tally
    evolvers: ClassVar[Mapping[type[Event], Evolver]] = {MoneyDeposited: _count_once}

    def initial_state(self) -> Tally:
        return Tally()


def test_events_from_a_generator_fold_and_move_the_version_once() -> None:
    account = BankAccount("a")
    account.apply_all(e for e in [AccountOpened(owner_id="o"), MoneyDeposited(amount=5)])
    assert (account.version, account.state.balance, account.state.owner_id) == (2, 5, "o")
    account.apply_all([])
    assert account.version == 2


def test_an_event_no_evolver_takes_is_named_and_moves_no_version() -> None:
    account = BankAccount("a")
    with pytest.raises(TypeError, match="BankAccount cannot apply OrderConfirmed"):
        account.apply_all([AccountOpened(owner_id="o"), OrderConfirmed()])
    assert account.version == 0


def test_a_key_error_inside_an_evolver_is_not_taken_for_a_missing_evolver() -> None:
    with pytest.raises(KeyError, match="5"):
        Strict("s").apply_all([MoneyDeposited(amount=5)])
