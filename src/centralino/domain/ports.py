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
from centralino.domain.call_records import CallRecordRepository
from centralino.domain.changes import ChangeBatch
from centralino.domain.events import DomainEvent
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.forwarding import Status
from centralino.domain.group import Group
from centralino.domain.imports import ExtensionImport
from centralino.domain.location import LiveView, LocationStore
from centralino.domain.office_hours import OfficeHours
from centralino.domain.recordings import CallRecording
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.domain.voicemail import Greeting, MailboxCounts, MessageFolder, VoicemailMessage

T = TypeVar("T")

__all__ = [
    "AccountRepository",
    "AudioArchive",
    "AudioKind",
    "AuditLog",
    "AuditQuery",
    "CallRecordRepository",
    "CallRecordingRepository",
    "CallRecordings",
    "ChangeLog",
    "Clock",
    "EventBus",
    "ExtensionQuery",
    "ExtensionRepository",
    "ExtensionSort",
    "GroupRepository",
    "LiveView",
    "LocationStore",
    "Mailboxes",
    "OfficeHoursRepository",
    "OutboundRuleRepository",
    "Page",
    "SettingsRepository",
    "StatusChanger",
    "TrunkRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "VoicemailRepository",
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


class TrunkRepository(Protocol):
    """SIP trunks by name; ``get`` and ``all`` give the registration password in clear."""

    async def get(self, name: str) -> Trunk | None: ...
    async def all(self) -> Sequence[Trunk]: ...
    async def put(self, trunk: Trunk) -> None: ...
    async def delete(self, name: str) -> None: ...


class OutboundRuleRepository(Protocol):
    """Outbound rules by name; ``all`` lists them as tried: priority, then name."""

    async def get(self, name: str) -> OutboundRule | None: ...
    async def all(self) -> Sequence[OutboundRule]: ...
    async def put(self, rule: OutboundRule) -> None: ...
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


class VoicemailRepository(Protocol):
    """Voicemail messages' records (their audio is in the :class:`AudioArchive`)."""

    async def add(self, message: VoicemailMessage) -> None: ...
    async def list(self, mailbox: str) -> Sequence[VoicemailMessage]:
        """The mailbox's messages, newest first."""
        ...

    async def get(self, mailbox: str, message_id: str) -> VoicemailMessage | None: ...
    async def set_folder(self, mailbox: str, message_id: str, folder: MessageFolder) -> None: ...
    async def delete(self, mailbox: str, message_id: str) -> None: ...
    async def counts(self, mailbox: str) -> MailboxCounts: ...
    async def delete_mailbox(self, mailbox: str) -> None:
        """Forget every message of ``mailbox`` (its extension was deleted)."""
        ...


class CallRecordingRepository(Protocol):
    """Recorded calls' records (their audio is in the :class:`AudioArchive`)."""

    async def add(self, recording: CallRecording) -> None: ...
    async def list(self, number: str | None = None) -> Sequence[CallRecording]:
        """Recordings, newest first; with ``number``, those where it is caller or callee."""
        ...

    async def get(self, recording_id: str) -> CallRecording | None: ...
    async def delete(self, recording_id: str) -> None: ...


class ChangeLog(Protocol):
    """The change feed (an outbox): committed domain events, in commit order.

    ``append`` writes inside the unit of work's transaction, so the events
    exist exactly when the change does. The read side is the followers': the
    records after a cursor, the feed's horizon (the last position pruned),
    each node's saved cursor.
    """

    async def append(self, events: Sequence[DomainEvent], *, actor: str) -> None:
        """Record ``events`` (in order) as part of this transaction's change."""
        ...

    async def after(self, position: int, limit: int) -> ChangeBatch:
        """Up to ``limit`` records past ``position``, oldest first.

        A record this version cannot read (a newer node's event type) is
        left out of ``changes`` but counted in ``through``.
        """
        ...

    async def latest(self) -> int:
        """The newest record's position (the horizon once all were pruned; 0: never written)."""
        ...

    async def horizon(self) -> int:
        """The newest position pruned: a cursor below it has missed records."""
        ...

    async def prune(self, older_than: dt.datetime) -> int:
        """Delete records committed before ``older_than``; return how many."""
        ...

    async def cursor(self, node: str) -> int | None:
        """The position ``node`` has applied, as it last saved it (None: never)."""
        ...

    async def save_cursor(self, node: str, position: int) -> None:
        """Remember that ``node`` applied every record up to ``position``."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository; leaving without commit rolls back."""

    extensions: ExtensionRepository
    groups: GroupRepository
    office_hours: OfficeHoursRepository
    trunks: TrunkRepository
    outbound_rules: OutboundRuleRepository
    settings: SettingsRepository
    accounts: AccountRepository
    audit: AuditLog
    voicemail: VoicemailRepository
    recordings: CallRecordingRepository
    call_records: CallRecordRepository
    changes: ChangeLog
    imports: ExtensionImport

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


class AudioKind(enum.StrEnum):
    """What an archived WAV file is."""

    GREETING = "greeting"
    MESSAGE = "message"
    RECORDING = "recording"


class AudioArchive(Protocol):
    """Where WAV files live (files in the data directory): by kind, owner and id.

    ``owner`` is the extension number (a recording's: its call id).
    """

    async def write(self, kind: AudioKind, owner: str, item: str, wav: bytes) -> None: ...
    async def read(self, kind: AudioKind, owner: str, item: str) -> bytes | None:
        """The WAV file's bytes, or None when there is none."""
        ...

    async def delete(self, kind: AudioKind, owner: str, item: str) -> None:
        """Remove the file (nothing when it is already gone)."""
        ...


class Mailboxes(Protocol):
    """What the call engine asks of voicemail boxes (the management side implements it).

    The voicemail applications (leave a message, listen to messages, record a
    greeting from the phone) and the message-waiting lamps use it. Audio goes
    in and out as 16-bit little-endian mono PCM at 8 kHz. Every change is
    committed, audited where the API audits it, and published
    (``VoicemailLeft``, ``MailboxChanged``).
    """

    async def leave_message(
        self, mailbox: str, *, caller: str, caller_name: str | None, pcm: bytes
    ) -> VoicemailMessage:
        """Store a new message; publishes VoicemailLeft and MailboxChanged."""
        ...

    async def messages(self, mailbox: str) -> Sequence[VoicemailMessage]:
        """The mailbox's messages, newest first."""
        ...

    async def message_audio(self, mailbox: str, message_id: str) -> bytes:
        """A message's audio as PCM.

        Raises:
            NotFound: no such message.
        """
        ...

    async def save_message(self, mailbox: str, message_id: str) -> None:
        """Move a message to the saved folder (publishes MailboxChanged)."""
        ...

    async def delete_message(self, mailbox: str, message_id: str) -> None:
        """Delete a message and its audio (publishes MailboxChanged)."""
        ...

    async def counts(self, mailbox: str) -> MailboxCounts: ...

    async def active_greeting(self, mailbox: str) -> bytes | None:
        """The active greeting's PCM, or None (the default prompt is played)."""
        ...

    async def record_greeting(self, mailbox: str, pcm: bytes) -> Greeting:
        """Add a greeting recorded on the phone and make it the active one."""
        ...


class CallRecordings(Protocol):
    """Where the call engine files a recorded call (the management side implements it)."""

    async def store_recording(
        self,
        *,
        call_id: str,
        caller: str,
        callee: str,
        started_at: dt.datetime,
        pcm: bytes,
    ) -> CallRecording:
        """Store both parties' mixed audio (PCM); publishes CallRecorded."""
        ...
