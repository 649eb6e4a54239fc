"""Typed domain errors: each carries a stable code, a message a user can act on, and the field."""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a business rule; nothing was written."""

    code = "domain_rule"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidValue(DomainError):
    """An input is malformed for the domain (not positive, empty, too large)."""

    code = "invalid_value"


class RuleViolation(DomainError):
    """The command is well-formed but the aggregate's current state forbids it."""

    code = "rule_violation"


class InsufficientFunds(RuleViolation):
    code = "insufficient_funds"


class AccountAlreadyOpened(RuleViolation):
    code = "account_already_opened"


class AccountNotOpen(RuleViolation):
    code = "account_not_open"


class AccountClosed(RuleViolation):
    code = "account_closed"


class IllegalTransition(RuleViolation):
    code = "illegal_transition"


class InsufficientStock(RuleViolation):
    code = "insufficient_stock"


class AlreadyExists(RuleViolation):
    code = "already_exists"


class NotFound(DomainError):
    """The aggregate the command or query names has no events."""

    code = "not_found"

    def __init__(self, aggregate_type: str, aggregate_id: str) -> None:
        super().__init__(f"{aggregate_type} {aggregate_id!r} does not exist", field=None)
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id


class ConcurrencyError(Exception):
    """The stream moved on since it was read: the expected version is stale."""

    code = "version_conflict"

    def __init__(self, aggregate_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {aggregate_id!r} is at version {actual}, the command expected {expected}"
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual


class VersionGapError(RuntimeError):
    """A stream's versions would skip one: an append whose expected version was never
    committed, or a read model handed an event whose predecessor it does not hold."""
