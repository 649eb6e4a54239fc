"""Account balance view: balance, status and movement counts per account."""

from __future__ import annotations

from system.domain.events import (
    AccountClosed,
    AccountOpened,
    Event,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)
from system.domain.recorded import Recorded
from system.ports import Doc
from system.projections.base import Projection, copy, timestamp

NAME = "account_balance"


def empty(recorded: Recorded[Event]) -> Doc:
    return {
        "account_id": recorded.aggregate_id,
        "owner_id": None,
        "balance": 0,
        "status": "open",
        "deposits": 0,
        "withdrawals": 0,
        "reversals": 0,
        "opened_at": None,
        "last_updated": None,
    }


def opened(doc: Doc | None, recorded: Recorded[AccountOpened]) -> Doc:
    at = timestamp(recorded)
    return {
        "account_id": recorded.aggregate_id,
        "owner_id": recorded.event.owner_id,
        "balance": 0,
        "status": "open",
        "deposits": 0,
        "withdrawals": 0,
        "reversals": 0,
        "opened_at": at,
        "last_updated": at,
    }


def _move(doc: Doc | None, recorded: Recorded[Event], amount: int, counter: str) -> Doc:
    new = copy(doc)
    new["balance"] += amount
    new[counter] += 1
    new["last_updated"] = timestamp(recorded)
    return new


def deposited(doc: Doc | None, recorded: Recorded[MoneyDeposited]) -> Doc:
    return _move(doc, recorded, recorded.event.amount, "deposits")


def withdrawn(doc: Doc | None, recorded: Recorded[MoneyWithdrawn]) -> Doc:
    return _move(doc, recorded, -recorded.event.amount, "withdrawals")


def reversed_(doc: Doc | None, recorded: Recorded[WithdrawalReversed]) -> Doc:
    return _move(doc, recorded, recorded.event.amount, "reversals")


def closed(doc: Doc | None, recorded: Recorded[AccountClosed]) -> Doc:
    new = copy(doc)
    new["status"] = "closed"
    new["last_updated"] = timestamp(recorded)
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
