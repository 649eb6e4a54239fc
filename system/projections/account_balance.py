"""Account balance view: balance, status and movement counts per account."""

from __future__ import annotations

from system.bus.envelope import Envelope
from system.domain.events import (
    AccountClosed,
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)
from system.projections.base import Doc, Projection, copy, timestamp

NAME = "account_balance"


def empty(env: Envelope) -> Doc:
    return {
        "account_id": env.aggregate_id,
        "owner_id": None,
        "balance": 0,
        "status": "open",
        "deposits": 0,
        "withdrawals": 0,
        "reversals": 0,
        "opened_at": None,
        "last_updated": None,
    }


def opened(doc: Doc | None, env: Envelope, event: AccountOpened) -> Doc:
    at = timestamp(env)
    return {
        "account_id": env.aggregate_id,
        "owner_id": event.owner_id,
        "balance": 0,
        "status": "open",
        "deposits": 0,
        "withdrawals": 0,
        "reversals": 0,
        "opened_at": at,
        "last_updated": at,
    }


def _move(doc: Doc | None, env: Envelope, amount: int, counter: str) -> Doc:
    new = copy(doc)
    new["balance"] += amount
    new[counter] += 1
    new["last_updated"] = timestamp(env)
    return new


def deposited(doc: Doc | None, env: Envelope, event: MoneyDeposited) -> Doc:
    return _move(doc, env, event.amount, "deposits")


def withdrawn(doc: Doc | None, env: Envelope, event: MoneyWithdrawn) -> Doc:
    return _move(doc, env, -event.amount, "withdrawals")


def reversed_(doc: Doc | None, env: Envelope, event: WithdrawalReversed) -> Doc:
    return _move(doc, env, event.amount, "reversals")


def closed(doc: Doc | None, env: Envelope, event: AccountClosed) -> Doc:
    new = copy(doc)
    new["status"] = "closed"
    new["last_updated"] = timestamp(env)
    return new


PROJECTION = Projection(
    name=NAME,
    aggregate_type="BankAccount",
    folds={
        "AccountOpened": opened,
        "MoneyDeposited": deposited,
        "MoneyWithdrawn": withdrawn,
        "WithdrawalReversed": reversed_,
        "AccountClosed": closed,
    },
    empty=empty,
    creators=frozenset({"AccountOpened"}),
)
