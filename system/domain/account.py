"""BankAccount: open once, positive amounts, no overdraft, nothing on a closed account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from system.domain.aggregate import Aggregate, Evolver, require_positive, require_text
from system.domain.errors import (
    AccountAlreadyOpened,
    AccountClosed,
    AccountNotOpen,
    InsufficientFunds,
    InvalidValue,
    RuleViolation,
)
from system.domain.events import (
    AccountClosed as AccountClosedEvent,
)
from system.domain.events import (
    AccountOpened,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)


class AccountState(msgspec.Struct, kw_only=True):
    opened: bool = False
    closed: bool = False
    owner_id: str = ""
    balance: int = 0
    reversed_versions: list[int] = msgspec.field(default_factory=list)


def _opened(s: AccountState, e: AccountOpened) -> None:
    s.opened = True
    s.owner_id = e.owner_id


def _deposited(s: AccountState, e: MoneyDeposited) -> None:
    s.balance += e.amount


def _withdrawn(s: AccountState, e: MoneyWithdrawn) -> None:
    s.balance -= e.amount


def _reversed(s: AccountState, e: WithdrawalReversed) -> None:
    s.balance += e.amount
    s.reversed_versions.append(e.withdrawal_version)


def _closed(s: AccountState, e: AccountClosedEvent) -> None:
    s.closed = True


class BankAccount(Aggregate[AccountState]):
    """A bank account whose balance is the fold of its deposits, withdrawals and reversals."""

    aggregate_type = "BankAccount"
    state_type = AccountState
    evolvers: ClassVar[Mapping[type[Event], Evolver]] = {
        AccountOpened: _opened,
        MoneyDeposited: _deposited,
        MoneyWithdrawn: _withdrawn,
        WithdrawalReversed: _reversed,
        AccountClosedEvent: _closed,
    }

    def initial_state(self) -> AccountState:
        return AccountState()

    def _require_active(self) -> None:
        if not self.state.opened:
            raise AccountNotOpen(f"account {self.id!r} is not open")
        if self.state.closed:
            raise AccountClosed(f"account {self.id!r} is closed")

    def open(self, owner_id: str) -> list[Event]:
        if self.state.opened:
            raise AccountAlreadyOpened(f"account {self.id!r} is already open")
        return [AccountOpened(owner_id=require_text(owner_id, "owner_id", 200))]

    def deposit(self, amount: int) -> list[Event]:
        require_positive(amount, "amount")
        self._require_active()
        return [MoneyDeposited(amount=amount)]

    def withdraw(self, amount: int) -> list[Event]:
        require_positive(amount, "amount")
        self._require_active()
        if amount > self.state.balance:
            raise InsufficientFunds(
                f"withdrawal of {amount} exceeds the balance of {self.state.balance}", "amount"
            )
        return [MoneyWithdrawn(amount=amount)]

    def reverse(self, withdrawal_version: int, withdrawal: Event | None) -> list[Event]:
        """Compensate the withdrawal recorded at `withdrawal_version` (the caller loads it)."""
        require_positive(withdrawal_version, "withdrawal_version", maximum=2**31 - 1)
        self._require_active()
        if not isinstance(withdrawal, MoneyWithdrawn):
            raise InvalidValue(
                f"version {withdrawal_version} of account {self.id!r} is not a withdrawal",
                "withdrawal_version",
            )
        if withdrawal_version in self.state.reversed_versions:
            raise RuleViolation(
                f"the withdrawal at version {withdrawal_version} is already reversed",
                "withdrawal_version",
            )
        return [WithdrawalReversed(withdrawal_version=withdrawal_version, amount=withdrawal.amount)]

    def close(self) -> list[Event]:
        self._require_active()
        return [AccountClosedEvent()]
