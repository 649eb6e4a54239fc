from __future__ import annotations

from projection_stream import fold

from system.domain.events import (
    AccountClosed,
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    WithdrawalReversed,
)
from system.projections.account_balance import PROJECTION


def test_deposits_withdrawals_and_reversals_move_the_balance() -> None:
    doc = fold(
        PROJECTION,
        "a1",
        [
            AccountOpened(owner_id="u1"),
            MoneyDeposited(amount=1000),
            MoneyWithdrawn(amount=300),
            WithdrawalReversed(withdrawal_version=3, amount=300),
        ],
    )
    assert doc is not None
    assert doc["balance"] == 1000
    assert (doc["deposits"], doc["withdrawals"], doc["reversals"]) == (1, 1, 1)
    assert (doc["owner_id"], doc["status"], doc["version"]) == ("u1", "open", 4)


def test_closing_an_account_marks_it_closed() -> None:
    doc = fold(PROJECTION, "a1", [AccountOpened(owner_id="u1"), AccountClosed()])
    assert doc is not None
    assert doc["status"] == "closed"


def test_a_stream_of_deposits_without_an_opening_still_has_a_balance() -> None:
    doc = fold(PROJECTION, "bench-1", [MoneyDeposited(amount=100), MoneyDeposited(amount=50)])
    assert doc is not None
    assert (doc["owner_id"], doc["balance"], doc["deposits"], doc["version"]) == (None, 150, 2, 2)
