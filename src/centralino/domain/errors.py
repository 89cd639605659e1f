"""The domain's error tree, shared by every management interface.

Each error says which resource and field is wrong and why; the REST API maps
them to 404 / 409 / 422, the CLI to exit codes and messages.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Busy",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "TooManyAttempts",
    "TryLater",
    "Unauthorized",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldError:
    """One bad field: its dotted path (``voicemail.pin``) and the reason.

    ``row`` is set when the field comes from a row of an imported file
    (1 = the first data row after the header).
    """

    path: str
    reason: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"row {self.row}, {self.path}" if self.row is not None else self.path
        return f"{where}: {self.reason}"


class DomainError(Exception):
    """Base of every management error."""


class InvalidInput(DomainError):
    """Input broke one or more rules; nothing was changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))

    @classmethod
    def single(cls, path: str, reason: str) -> InvalidInput:
        """Build an error for one field."""
        return cls([FieldError(path=path, reason=reason)])


class NotFound(DomainError):
    """The named resource does not exist."""

    def __init__(self, resource: str, key: str) -> None:
        self.resource, self.key = resource, key
        super().__init__(f"{resource} {key!r} not found")


class Conflict(DomainError):
    """The change would break a uniqueness rule (number, auth ID, DID...)."""

    def __init__(self, path: str, reason: str, row: int | None = None) -> None:
        self.path, self.reason, self.row = path, reason, row
        where = f"row {row}, {path}" if row is not None else path
        super().__init__(f"{where}: {reason}")


class Unauthorized(DomainError):
    """No valid credentials were given."""


class Forbidden(DomainError):
    """The actor may not do this."""


class TryLater(DomainError):
    """Refused for now; the same request may succeed after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(reason)


class TooManyAttempts(TryLater):
    """Too many failed logins for this account or from this address (HTTP 429)."""


class Busy(TryLater):
    """The server's queue for this kind of work is full (HTTP 503)."""
