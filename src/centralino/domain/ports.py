"""Ports: the interfaces the domain needs from the outside world.

Storage implements the repositories and the unit of work; the composition root
provides the event bus and the clock. Every repository call happens inside one
unit of work, which commits all or nothing (CSV import relies on it).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

from centralino.domain.account import Account
from centralino.domain.audit import AuditEntry
from centralino.domain.events import DomainEvent
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.forwarding import Status
from centralino.domain.group import Group
from centralino.domain.location import LiveView, LocationStore
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings

T = TypeVar("T")

__all__ = [
    "AccountRepository",
    "AuditLog",
    "AuditQuery",
    "Clock",
    "EventBus",
    "ExtensionQuery",
    "ExtensionRepository",
    "ExtensionSort",
    "GroupRepository",
    "LiveView",
    "LocationStore",
    "OfficeHoursRepository",
    "Page",
    "SettingsRepository",
    "StatusChanger",
    "UnitOfWork",
    "UnitOfWorkFactory",
]


class ExtensionSort(enum.StrEnum):
    NUMBER = "number"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionQuery:
    """A page of extensions: ``search`` matches number, names, email, mobile."""

    search: str | None = None
    sort: ExtensionSort = ExtensionSort.NUMBER
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditQuery:
    resource: str | None = None
    resource_id: str | None = None
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int


class ExtensionRepository(Protocol):
    async def get(self, number: str) -> Extension | None: ...
    async def find_by_sip_user(self, user: str) -> Extension | None:
        """The extension whose auth ID or SIP ID is ``user``."""
        ...

    async def search(self, query: ExtensionQuery) -> Page[Extension]: ...
    async def all(self) -> Sequence[Extension]: ...
    async def add(self, extension: Extension) -> None: ...
    async def replace(self, extension: Extension) -> None: ...
    async def delete(self, number: str) -> None: ...
    async def add_many(self, extensions: Sequence[Extension]) -> None:
        """Insert many new extensions at once (bulk import)."""
        ...

    async def existing_numbers(self, numbers: Collection[str]) -> set[str]:
        """The subset of ``numbers`` that are extensions."""
        ...

    async def owners(self, kind: UniqueKind, values: Collection[str]) -> dict[str, str]:
        """Map each of ``values`` held by some extension to that extension's number."""
        ...


class GroupRepository(Protocol):
    async def get(self, name: str) -> Group | None: ...
    async def all(self) -> Sequence[Group]: ...
    async def put(self, group: Group) -> None: ...
    async def delete(self, name: str) -> None: ...


class OfficeHoursRepository(Protocol):
    async def get(self, name: str) -> OfficeHours | None: ...
    async def all(self) -> Sequence[OfficeHours]: ...
    async def put(self, schedule: OfficeHours) -> None: ...
    async def delete(self, name: str) -> None: ...


class SettingsRepository(Protocol):
    async def get(self) -> SystemSettings: ...
    async def put(self, settings: SystemSettings) -> None: ...


class AccountRepository(Protocol):
    async def get(self, username: str) -> Account | None: ...
    async def put(self, account: Account) -> None: ...


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> None: ...
    async def append_many(self, entries: Sequence[AuditEntry]) -> None: ...
    async def search(self, query: AuditQuery) -> Page[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction over every repository; leaving without commit rolls back."""

    extensions: ExtensionRepository
    groups: GroupRepository
    office_hours: OfficeHoursRepository
    settings: SettingsRepository
    accounts: AccountRepository
    audit: AuditLog

    async def commit(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class EventBus(Protocol):
    def publish(self, event: DomainEvent) -> None: ...


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class StatusChanger(Protocol):
    """Sets an extension's presence status (the management side implements it).

    The call engine uses it for the status dial codes and the office-hours
    switch; the change is validated, audited as ``by`` and published as
    ``StatusChanged`` like any other.
    """

    async def set_status(self, number: str, status: Status, *, by: str) -> None:
        """Set the status of extension ``number``.

        Raises:
            NotFound: no such extension.
        """
        ...
