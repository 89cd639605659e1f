"""In-memory fakes for every domain port (``centralino.domain.ports``).

``InMemoryStore`` holds the committed state. Each unit of work copies it when
it begins (models are frozen, so shallow copies of the dicts are enough) and
writes its copy back only on ``commit``; leaving the context without a commit
discards every change, like a database transaction rolled back.

The change feed is faked too: ``uow.changes.append`` round-trips each event
through its JSON form (as the database would) and, on commit, the store
delivers the committed changes to its ``feed`` bus in order, like a follower
would (tests give it a ``RecordingEventBus`` or a ``LocalEventBus``).

``FakeClock`` is a settable, advanceable UTC clock; ``RecordingEventBus``
keeps every published event for the test to inspect.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from centralino.domain.account import Account
from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.call_records import (
    CallRecord,
    CallRecordPage,
    CallRecordQuery,
    CallRecordRepository,
    CallRecordSort,
    PageKey,
)
from centralino.domain.changes import Change, ChangeBatch, decode_event, encode_event
from centralino.domain.errors import NotFound
from centralino.domain.events import DomainEvent
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.group import Group
from centralino.domain.imports import ExtensionImport, PreparedExtension
from centralino.domain.office_hours import OfficeHours
from centralino.domain.ports import (
    AccountRepository,
    AudioArchive,
    AudioKind,
    AuditLog,
    AuditQuery,
    CallRecordingRepository,
    ChangeLog,
    Clock,
    EventBus,
    ExtensionQuery,
    ExtensionRepository,
    ExtensionSort,
    GroupRepository,
    OfficeHoursRepository,
    OutboundRuleRepository,
    Page,
    SettingsRepository,
    TrunkRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    VoicemailRepository,
)
from centralino.domain.recordings import CallRecording
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.domain.voicemail import MailboxCounts, MessageFolder, VoicemailMessage
from centralino.media.pcm import SAMPLE_RATE

__all__ = [
    "EPOCH",
    "FakeClock",
    "FakeRecordings",
    "InMemoryAccountRepository",
    "InMemoryAudioArchive",
    "InMemoryAuditLog",
    "InMemoryCallRecordingRepository",
    "InMemoryChangeLog",
    "InMemoryExtensionRepository",
    "InMemoryGroupRepository",
    "InMemoryOfficeHoursRepository",
    "InMemorySettingsRepository",
    "InMemoryState",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InMemoryVoicemailRepository",
    "RecordingEventBus",
    "StoredRecording",
]

EventT = TypeVar("EventT")

EPOCH = dt.datetime(2024, 3, 4, 10, 0, tzinfo=dt.UTC)
"""A Monday morning: the fake clock's default time."""


@dataclass(slots=True)
class InMemoryState:
    """Everything the repositories hold, at one point in time."""

    extensions: dict[str, Extension] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    office_hours: dict[str, OfficeHours] = field(default_factory=dict)
    trunks: dict[str, Trunk] = field(default_factory=dict)
    outbound_rules: dict[str, OutboundRule] = field(default_factory=dict)
    settings: SystemSettings = field(default_factory=SystemSettings)
    accounts: dict[str, Account] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    messages: dict[str, VoicemailMessage] = field(default_factory=dict)
    recordings: dict[str, CallRecording] = field(default_factory=dict)
    call_records: dict[str, CallRecord] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    horizon: int = 0
    cursors: dict[str, int] = field(default_factory=dict)

    def copy(self) -> InMemoryState:
        """A copy whose containers can change without touching this one."""
        return InMemoryState(
            extensions=dict(self.extensions),
            groups=dict(self.groups),
            office_hours=dict(self.office_hours),
            trunks=dict(self.trunks),
            outbound_rules=dict(self.outbound_rules),
            settings=self.settings,
            accounts=dict(self.accounts),
            audit=list(self.audit),
            messages=dict(self.messages),
            recordings=dict(self.recordings),
            call_records=dict(self.call_records),
            changes=list(self.changes),
            horizon=self.horizon,
            cursors=dict(self.cursors),
        )


class InMemoryExtensionRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, number: str) -> Extension | None:
        return self._state.extensions.get(number)

    async def find_by_sip_user(self, user: str) -> Extension | None:
        wanted = user.lower()
        for extension in self._state.extensions.values():
            if wanted in (name.lower() for name in extension.sip_user_names):
                return extension
        return None

    async def search(self, query: ExtensionQuery) -> Page[Extension]:
        found = [e for e in self._state.extensions.values() if _matches(e, query.search)]
        found.sort(key=lambda e: (_sort_key(e, query.sort), e.number), reverse=query.descending)
        return Page(items=found[query.offset : query.offset + query.limit], total=len(found))

    async def all(self) -> Sequence[Extension]:
        return sorted(self._state.extensions.values(), key=lambda e: e.number)

    async def add(self, extension: Extension) -> None:
        if extension.number in self._state.extensions:
            raise KeyError(f"extension {extension.number} exists")
        self._state.extensions[extension.number] = extension

    async def replace(self, extension: Extension) -> None:
        if extension.number not in self._state.extensions:
            raise KeyError(f"no extension {extension.number}")
        self._state.extensions[extension.number] = extension

    async def delete(self, number: str) -> None:
        self._state.extensions.pop(number, None)

    async def add_many(self, extensions: Sequence[Extension]) -> None:
        for extension in extensions:
            await self.add(extension)

    async def existing_numbers(self, numbers: Collection[str]) -> set[str]:
        return {number for number in numbers if number in self._state.extensions}

    async def owners(self, kind: UniqueKind, values: Collection[str]) -> dict[str, str]:
        wanted = set(values)
        return {
            key.value: extension.number
            for extension in self._state.extensions.values()
            for key in extension.unique_keys()
            if key.kind is kind and key.value in wanted
        }


def _matches(extension: Extension, search: str | None) -> bool:
    if not search:
        return True
    fields = (
        extension.number,
        extension.first_name,
        extension.last_name,
        extension.email,
        extension.mobile,
    )
    return any(search.lower() in value.lower() for value in fields if value)


def _sort_key(extension: Extension, sort: ExtensionSort) -> str:
    value: str | None = getattr(extension, sort.value)
    return (value or "").lower()


class InMemoryGroupRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, name: str) -> Group | None:
        return self._state.groups.get(name)

    async def all(self) -> Sequence[Group]:
        return sorted(self._state.groups.values(), key=lambda group: group.name)

    async def put(self, group: Group) -> None:
        self._state.groups[group.name] = group

    async def delete(self, name: str) -> None:
        self._state.groups.pop(name, None)


class InMemoryOfficeHoursRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, name: str) -> OfficeHours | None:
        return self._state.office_hours.get(name)

    async def all(self) -> Sequence[OfficeHours]:
        return sorted(self._state.office_hours.values(), key=lambda schedule: schedule.name)

    async def put(self, schedule: OfficeHours) -> None:
        self._state.office_hours[schedule.name] = schedule

    async def delete(self, name: str) -> None:
        self._state.office_hours.pop(name, None)


class InMemoryTrunkRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, name: str) -> Trunk | None:
        return self._state.trunks.get(name)

    async def all(self) -> Sequence[Trunk]:
        return sorted(self._state.trunks.values(), key=lambda trunk: trunk.name)

    async def put(self, trunk: Trunk) -> None:
        self._state.trunks[trunk.name] = trunk

    async def delete(self, name: str) -> None:
        if self._state.trunks.pop(name, None) is None:
            raise NotFound("trunk", name)


class InMemoryOutboundRuleRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, name: str) -> OutboundRule | None:
        return self._state.outbound_rules.get(name)

    async def all(self) -> Sequence[OutboundRule]:
        rules = self._state.outbound_rules.values()
        return sorted(rules, key=lambda rule: (rule.priority, rule.name))

    async def put(self, rule: OutboundRule) -> None:
        self._state.outbound_rules[rule.name] = rule

    async def delete(self, name: str) -> None:
        if self._state.outbound_rules.pop(name, None) is None:
            raise NotFound("outbound rule", name)


class InMemorySettingsRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self) -> SystemSettings:
        return self._state.settings

    async def put(self, settings: SystemSettings) -> None:
        self._state.settings = settings


class InMemoryAccountRepository:
    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def get(self, username: str) -> Account | None:
        return self._state.accounts.get(username)

    async def put(self, account: Account) -> None:
        self._state.accounts[account.username] = account


class InMemoryAuditLog:
    """Entries get increasing ids; search returns the newest first."""

    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def append(self, entry: AuditEntry) -> None:
        next_id = max((e.id or 0 for e in self._state.audit), default=0) + 1
        self._state.audit.append(entry.model_copy(update={"id": next_id}))

    async def append_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            await self.append(entry)

    async def search(self, query: AuditQuery) -> Page[AuditEntry]:
        found = [
            entry
            for entry in reversed(self._state.audit)
            if query.resource in (None, entry.resource)
            and query.resource_id in (None, entry.resource_id)
        ]
        return Page(items=found[query.offset : query.offset + query.limit], total=len(found))


class InMemoryVoicemailRepository:
    """Messages by id; lists are newest first."""

    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def add(self, message: VoicemailMessage) -> None:
        if message.id in self._state.messages:
            raise KeyError(f"message {message.id} exists")
        self._state.messages[message.id] = message

    async def list(self, mailbox: str) -> Sequence[VoicemailMessage]:
        found = [m for m in self._state.messages.values() if m.mailbox == mailbox]
        return sorted(found, key=lambda m: (m.received_at, m.id), reverse=True)

    async def get(self, mailbox: str, message_id: str) -> VoicemailMessage | None:
        message = self._state.messages.get(message_id)
        return message if message is not None and message.mailbox == mailbox else None

    async def set_folder(self, mailbox: str, message_id: str, folder: MessageFolder) -> None:
        message = await self.get(mailbox, message_id)
        if message is None:
            raise NotFound("message", message_id)
        self._state.messages[message_id] = replace(message, folder=folder)

    async def delete(self, mailbox: str, message_id: str) -> None:
        if await self.get(mailbox, message_id) is None:
            raise NotFound("message", message_id)
        del self._state.messages[message_id]

    async def counts(self, mailbox: str) -> MailboxCounts:
        folders = [m.folder for m in self._state.messages.values() if m.mailbox == mailbox]
        return MailboxCounts(
            new=folders.count(MessageFolder.NEW), saved=folders.count(MessageFolder.SAVED)
        )

    async def delete_mailbox(self, mailbox: str) -> None:
        for message in [m for m in self._state.messages.values() if m.mailbox == mailbox]:
            del self._state.messages[message.id]


class InMemoryCallRecordingRepository:
    """Recordings by id; lists are newest first."""

    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def add(self, recording: CallRecording) -> None:
        if recording.id in self._state.recordings:
            raise KeyError(f"recording {recording.id} exists")
        self._state.recordings[recording.id] = recording

    async def list(self, number: str | None = None) -> Sequence[CallRecording]:
        found = [
            r
            for r in self._state.recordings.values()
            if number is None or number in (r.caller, r.callee)
        ]
        return sorted(found, key=lambda r: (r.started_at, r.id), reverse=True)

    async def get(self, recording_id: str) -> CallRecording | None:
        return self._state.recordings.get(recording_id)

    async def delete(self, recording_id: str) -> None:
        if self._state.recordings.pop(recording_id, None) is None:
            raise NotFound("recording", recording_id)


class InMemoryCallRecordRepository:
    """``CallRecordRepository``: filters, sorts and keyset pages in Python."""

    def __init__(self, state: InMemoryState) -> None:
        self._state = state

    async def add_many(self, records: Sequence[CallRecord]) -> None:
        for record in records:
            if record.id in self._state.call_records:
                raise ValueError(f"call record {record.id} exists")
        self._state.call_records.update((record.id, record) for record in records)

    async def get(self, record_id: str) -> CallRecord | None:
        return self._state.call_records.get(record_id)

    async def search(self, query: CallRecordQuery) -> CallRecordPage:
        def key(record: CallRecord) -> tuple[Any, str]:
            by_duration = query.sort is CallRecordSort.DURATION
            return (record.duration if by_duration else record.started_at, record.id)

        def matches(r: CallRecord) -> bool:
            return (
                (query.started_from is None or r.started_at >= query.started_from)
                and (query.started_before is None or r.started_at < query.started_before)
                and (query.extension in (None, r.caller, r.callee, r.answered_by))
                and (query.direction in (None, r.direction))
                and (query.result in (None, r.result))
                and (query.trunk in (None, r.trunk))
            )

        found = sorted(filter(matches, self._state.call_records.values()), key=key)
        if query.descending:
            found.reverse()
        if query.after is not None:
            after = (query.after.value, query.after.id)
            found = [r for r in found if (key(r) < after if query.descending else key(r) > after)]
        items = found[: query.limit]
        more = len(found) > query.limit
        last = key(items[-1]) if more else None
        return CallRecordPage(
            items=items, next=None if last is None else PageKey(value=last[0], id=last[1])
        )


class InMemoryAudioArchive:
    """WAV files in a dict keyed by (kind, owner, item); not transactional, like files."""

    def __init__(self) -> None:
        self.files: dict[tuple[AudioKind, str, str], bytes] = {}

    async def write(self, kind: AudioKind, owner: str, item: str, wav: bytes) -> None:
        self.files[(AudioKind(kind), owner, item)] = wav

    async def read(self, kind: AudioKind, owner: str, item: str) -> bytes | None:
        return self.files.get((AudioKind(kind), owner, item))

    async def delete(self, kind: AudioKind, owner: str, item: str) -> None:
        self.files.pop((AudioKind(kind), owner, item), None)


class InMemoryChangeLog:
    """The change feed in memory; events round-trip through their JSON form."""

    def __init__(self, state: InMemoryState, clock: Clock) -> None:
        self._state = state
        self._clock = clock

    async def append(self, events: Sequence[DomainEvent], *, actor: str) -> None:
        for event in events:
            kind, document = encode_event(event)
            position = max((c.position for c in self._state.changes), default=self._state.horizon)
            self._state.changes.append(
                Change(
                    position=position + 1,
                    at=self._clock.now(),
                    actor=actor,
                    node="",
                    event=decode_event(kind, json.loads(json.dumps(document))),
                )
            )

    async def after(self, position: int, limit: int) -> ChangeBatch:
        found = tuple(c for c in self._state.changes if c.position > position)[:limit]
        return ChangeBatch(changes=found, through=found[-1].position if found else position)

    async def latest(self) -> int:
        return max((c.position for c in self._state.changes), default=self._state.horizon)

    async def horizon(self) -> int:
        return self._state.horizon

    async def prune(self, older_than: dt.datetime) -> int:
        old = [c for c in self._state.changes if c.at < older_than]
        if old:
            self._state.horizon = max(c.position for c in old)
            self._state.changes = [c for c in self._state.changes if c.at >= older_than]
        return len(old)

    async def cursor(self, node: str) -> int | None:
        return self._state.cursors.get(node)

    async def save_cursor(self, node: str, position: int) -> None:
        self._state.cursors[node] = position


class InMemoryExtensionImport:
    """``ExtensionImport``: the prepared documents decoded back into the other fakes."""

    def __init__(
        self,
        extensions: InMemoryExtensionRepository,
        audit: InMemoryAuditLog,
        changes: InMemoryChangeLog,
    ) -> None:
        self._extensions, self._audit, self._changes = extensions, audit, changes

    async def add(
        self,
        batch: Sequence[PreparedExtension],
        *,
        actor: str,
        at: dt.datetime,
        action: AuditAction,
        resource: str,
    ) -> None:
        for item in batch:
            await self._extensions.add(Extension.model_validate_json(item.document))
            after = json.loads(item.audit_document)
            entry = AuditEntry(
                at=at, actor=actor, action=action, resource=resource, resource_id=item.number
            )
            await self._audit.append(entry.model_copy(update={"after": after}))
        events = [decode_event(item.change_type, json.loads(item.change)) for item in batch]
        await self._changes.append(events, actor=actor)


class InMemoryUnitOfWork:
    """One transaction over an ``InMemoryStore``: copy on begin, write back on commit."""

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

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._begin()

    def _begin(self) -> None:
        self._working = self._store.state.copy()
        self.extensions = InMemoryExtensionRepository(self._working)
        self.groups = InMemoryGroupRepository(self._working)
        self.office_hours = InMemoryOfficeHoursRepository(self._working)
        self.trunks = InMemoryTrunkRepository(self._working)
        self.outbound_rules = InMemoryOutboundRuleRepository(self._working)
        self.settings = InMemorySettingsRepository(self._working)
        self.accounts = InMemoryAccountRepository(self._working)
        self.audit = InMemoryAuditLog(self._working)
        self.voicemail = InMemoryVoicemailRepository(self._working)
        self.recordings = InMemoryCallRecordingRepository(self._working)
        self.call_records = InMemoryCallRecordRepository(self._working)
        changes = InMemoryChangeLog(self._working, self._store.clock)
        self.changes = changes
        self.imports = InMemoryExtensionImport(
            InMemoryExtensionRepository(self._working), InMemoryAuditLog(self._working), changes
        )

    async def commit(self) -> None:
        delivered = len(self._store.state.changes)
        self._store.state = self._working.copy()
        self._store.commits += 1
        self._store.deliver(self._store.state.changes[delivered:])

    async def __aenter__(self) -> Self:
        self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._store.rollbacks += 1
        self._begin()  # uncommitted changes are gone


class InMemoryStore:
    """The committed state, and the unit-of-work factory over it.

    Call the store to get a unit of work (it satisfies ``UnitOfWorkFactory``).
    Committed changes are published on ``feed`` (when given), in order.
    """

    def __init__(
        self,
        state: InMemoryState | None = None,
        *,
        feed: EventBus | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.state = state or InMemoryState()
        self.feed = feed
        self.clock: Clock = clock or FakeClock()
        self.commits = 0
        self.rollbacks = 0

    def deliver(self, changes: Sequence[Change]) -> None:
        """Publish committed ``changes`` on the feed bus (the follower's work)."""
        if self.feed is not None:
            for change in changes:
                self.feed.publish(change.event)

    def committed_events(self) -> list[DomainEvent]:
        """Every event on the feed, oldest first."""
        return [change.event for change in self.state.changes]

    def __call__(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self)

    def snapshot(self) -> InMemoryState:
        """A copy of the committed state, to compare with a later one."""
        return self.state.copy()

    def seed(
        self,
        *,
        extensions: Sequence[Extension] = (),
        groups: Sequence[Group] = (),
        office_hours: Sequence[OfficeHours] = (),
        settings: SystemSettings | None = None,
    ) -> None:
        """Put values straight into the committed state (test setup)."""
        self.state.extensions.update({e.number: e for e in extensions})
        self.state.groups.update({g.name: g for g in groups})
        self.state.office_hours.update({s.name: s for s in office_hours})
        if settings is not None:
            self.state.settings = settings


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: dt.datetime = EPOCH) -> None:
        self._now = _aware(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = _aware(moment)

    def advance(self, delta: dt.timedelta | None = None, **parts: float) -> dt.datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; return the new time."""
        self._now += delta if delta is not None else dt.timedelta(**parts)
        return self._now


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("the fake clock needs an aware datetime")
    return moment.astimezone(dt.UTC)


class RecordingEventBus:
    """Keeps every published event, in order."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)

    def of_type(self, kind: type[EventT]) -> list[EventT]:
        return [event for event in self.events if isinstance(event, kind)]

    def clear(self) -> None:
        self.events.clear()


InMemoryUnitOfWorkFactory = InMemoryStore
"""The factory's other name: calling it opens a unit of work."""


if TYPE_CHECKING:
    _factory: UnitOfWorkFactory = InMemoryStore()
    _unit: UnitOfWork = InMemoryUnitOfWork(InMemoryStore())
    _extensions: ExtensionRepository = InMemoryExtensionRepository(InMemoryState())
    _groups: GroupRepository = InMemoryGroupRepository(InMemoryState())
    _schedules: OfficeHoursRepository = InMemoryOfficeHoursRepository(InMemoryState())
    _settings: SettingsRepository = InMemorySettingsRepository(InMemoryState())
    _accounts: AccountRepository = InMemoryAccountRepository(InMemoryState())
    _audit: AuditLog = InMemoryAuditLog(InMemoryState())
    _voicemail: VoicemailRepository = InMemoryVoicemailRepository(InMemoryState())
    _recordings: CallRecordingRepository = InMemoryCallRecordingRepository(InMemoryState())
    _changes: ChangeLog = InMemoryChangeLog(InMemoryState(), FakeClock())
    _archive: AudioArchive = InMemoryAudioArchive()
    _clock: Clock = FakeClock()
    _bus: EventBus = RecordingEventBus()


@dataclass
class StoredRecording:
    recording: CallRecording
    pcm: bytes


class FakeRecordings:
    """The CallRecordings port, keeping the PCM."""

    def __init__(self, *, fail: bool = False, delay: float = 0.0) -> None:
        self.stored: list[StoredRecording] = []
        self.fail = fail
        self.delay = delay

    async def store_recording(
        self, *, call_id: str, caller: str, callee: str, started_at: dt.datetime, pcm: bytes
    ) -> CallRecording:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError("disk full")
        recording = CallRecording(
            id=f"rec-{len(self.stored) + 1}",
            call_id=call_id,
            caller=caller,
            callee=callee,
            started_at=started_at,
            duration=len(pcm) / (2 * SAMPLE_RATE),
        )
        self.stored.append(StoredRecording(recording, pcm))
        return recording
