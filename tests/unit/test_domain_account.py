from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from system.domain.account import BankAccount
from system.domain.codec import decode_state, encode_state
from system.domain.errors import (
    AccountAlreadyOpened,
    AccountClosed,
    AccountNotOpen,
    InsufficientFunds,
    InvalidValue,
    RuleViolation,
)
from system.domain.events import (
    AccountOpened,
    CustomerRegistered,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)


def opened(balance: int = 0) -> BankAccount:
    account = BankAccount("acc-1")
    account.apply_all(account.open("owner-1"))
    if balance:
        account.apply_all(account.deposit(balance))
    return account


def test_opening_records_the_owner_and_starts_at_zero() -> None:
    account = BankAccount("acc-1")
    assert account.open("  owner-1 ") == [AccountOpened(owner_id="owner-1")]
    account.apply_all(account.open("owner-1"))
    assert (account.state.opened, account.state.balance, account.version) == (True, 0, 1)


def test_an_account_opens_only_once() -> None:
    with pytest.raises(AccountAlreadyOpened):
        opened().open("owner-2")


def test_opening_needs_an_owner() -> None:
    with pytest.raises(InvalidValue) as error:
        BankAccount("acc-1").open("   ")
    assert error.value.field == "owner_id"


def test_deposits_and_withdrawals_move_the_balance() -> None:
    account = opened(10_000)
    account.apply_all(account.withdraw(3_000))
    assert account.state.balance == 7_000


@pytest.mark.parametrize("amount", [0, -5, 10**12 + 1, True])
def test_amounts_must_be_positive_integers_within_bounds(amount: int) -> None:
    account = opened(100)
    with pytest.raises(InvalidValue) as error:
        account.deposit(amount)
    assert error.value.field == "amount"
    with pytest.raises(InvalidValue):
        account.withdraw(amount)


def test_a_withdrawal_may_not_overdraw() -> None:
    with pytest.raises(InsufficientFunds) as error:
        opened(100).withdraw(101)
    assert error.value.field == "amount"
    assert "exceeds the balance of 100" in error.value.message


def test_the_whole_balance_can_be_withdrawn() -> None:
    account = opened(100)
    account.apply_all(account.withdraw(100))
    assert account.state.balance == 0


def test_nothing_happens_on_an_account_that_was_never_opened() -> None:
    account = BankAccount("acc-1")
    for action in (lambda: account.deposit(1), lambda: account.withdraw(1), account.close):
        with pytest.raises(AccountNotOpen):
            action()


def test_nothing_happens_on_a_closed_account() -> None:
    account = opened(100)
    account.apply_all(account.close())
    assert account.state.closed
    for action in (
        lambda: account.deposit(1),
        lambda: account.withdraw(1),
        account.close,
        lambda: account.reverse(2, MoneyWithdrawn(amount=1)),
    ):
        with pytest.raises(AccountClosed):
            action()


def test_a_reversal_gives_back_the_withdrawn_amount() -> None:
    account = opened(100)
    account.apply_all(account.withdraw(40))
    events = account.reverse(3, MoneyWithdrawn(amount=40))
    assert events == [WithdrawalReversed(withdrawal_version=3, amount=40)]
    account.apply_all(events)
    assert account.state.balance == 100
    assert account.state.reversed_versions == [3]


def test_a_withdrawal_is_reversed_at_most_once() -> None:
    account = opened(100)
    account.apply_all(account.withdraw(40))
    account.apply_all(account.reverse(3, MoneyWithdrawn(amount=40)))
    with pytest.raises(RuleViolation) as error:
        account.reverse(3, MoneyWithdrawn(amount=40))
    assert error.value.field == "withdrawal_version"


@pytest.mark.parametrize("event", [None, MoneyDeposited(amount=5)])
def test_only_a_withdrawal_can_be_reversed(event: Event | None) -> None:
    with pytest.raises(InvalidValue) as error:
        opened(100).reverse(2, event)
    assert error.value.field == "withdrawal_version"


def test_a_reversal_names_a_positive_version() -> None:
    with pytest.raises(InvalidValue):
        opened(100).reverse(0, MoneyWithdrawn(amount=1))


def test_an_account_rejects_foreign_events() -> None:
    with pytest.raises(TypeError):
        BankAccount("acc-1").apply(CustomerRegistered(name="Ada", email="ada@example.com"))


# Property tests: any sequence of commands keeps the books straight.

command = st.one_of(
    st.tuples(st.just("deposit"), st.integers(min_value=-10, max_value=5_000)),
    st.tuples(st.just("withdraw"), st.integers(min_value=-10, max_value=5_000)),
    st.tuples(st.just("reverse"), st.integers(min_value=-1, max_value=60)),
    st.tuples(st.just("close"), st.just(0)),
)


def run(commands: list[tuple[str, int]]) -> tuple[BankAccount, list[Event]]:
    """Run commands against a live account, keeping the events it accepted."""
    account = BankAccount("acc-p")
    produced = account.open("owner")
    account.apply_all(produced)
    for name, value in commands:
        try:
            if name == "deposit":
                events = account.deposit(value)
            elif name == "withdraw":
                events = account.withdraw(value)
            elif name == "reverse":
                target = produced[value - 1] if 0 < value <= len(produced) else None
                events = account.reverse(value, target)
            else:
                events = account.close()
        except (InvalidValue, RuleViolation):
            continue
        account.apply_all(events)
        produced.extend(events)
    return account, produced


@given(st.lists(command, max_size=60))
def test_balance_is_deposits_minus_withdrawals_plus_reversals_and_never_negative(
    commands: list[tuple[str, int]],
) -> None:
    account, produced = run(commands)
    running = 0
    for event in produced:
        match event:
            case MoneyDeposited(amount=amount) | WithdrawalReversed(amount=amount):
                running += amount
            case MoneyWithdrawn(amount=amount):
                running -= amount
        assert running >= 0
    assert account.state.balance == running


@given(st.lists(command, max_size=60))
def test_replaying_the_produced_events_gives_the_live_state(
    commands: list[tuple[str, int]],
) -> None:
    live, produced = run(commands)
    replayed = BankAccount("acc-p")
    replayed.apply_all(produced)
    assert replayed.state == live.state
    assert replayed.version == live.version == len(produced)


@given(st.lists(command, max_size=60), st.data())
def test_snapshot_plus_tail_equals_full_replay_at_any_snapshot_point(
    commands: list[tuple[str, int]], data: st.DataObject
) -> None:
    live, produced = run(commands)
    cut = data.draw(st.integers(min_value=0, max_value=len(produced)))
    head = BankAccount("acc-p")
    head.apply_all(produced[:cut])
    state = decode_state(BankAccount.state_type, encode_state(head.state))
    restored = BankAccount("acc-p", state, cut)
    restored.apply_all(produced[cut:])
    assert restored.state == live.state
    assert restored.version == live.version
