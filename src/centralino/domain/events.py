"""Domain events: how the management side tells the call engine what changed.

A use-case writes its events to the change feed in the transaction of the
change they report (``UnitOfWork.changes``); every process follows the feed
and hands them, in commit order, to its in-process bus, so a change made by
the API, the CLI or another node reaches every engine the same way. Events
carry the committed document their consumers need (the extension after the
change, the settings, the schedule): caches apply it, never read it back.

``CallStateChanged`` is the exception: calls in progress are one node's own
state, so it is published on that node's bus only. So is
``CallRecordCreated``: the record of a finished call is written once, by the
node that handled it (its call-record writer, straight through the
repository); nothing caches records, so no other process needs the event.
``ChangesMissed`` is not a change either: a follower emits it when the feed
was pruned past its cursor, and every cache then reloads whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.domain.call_records import CallRecord
from centralino.domain.calls import CallEndReason, CallState
from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.group import Group
from centralino.domain.office_hours import OfficeHours
from centralino.domain.settings import SystemSettings
from centralino.domain.trunks import OutboundRule, Trunk

__all__ = [
    "AddressUnblocked",
    "CallRecordCreated",
    "CallRecorded",
    "CallStateChanged",
    "ChangesMissed",
    "CredentialsChanged",
    "DomainEvent",
    "ExtensionChanged",
    "ExtensionCreated",
    "ExtensionDeleted",
    "GroupChanged",
    "MailboxChanged",
    "OfficeHoursChanged",
    "OutboundRuleChanged",
    "SettingsChanged",
    "StatusChanged",
    "TrunkChanged",
    "VoicemailLeft",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionCreated:
    """A new extension (``extension`` as committed)."""

    number: str
    extension: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionChanged:
    """An extension's settings changed (``extension`` after the change)."""

    number: str
    tabs: tuple[str, ...]
    extension: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionDeleted:
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialsChanged:
    """The SIP auth ID or password changed: old registrations must end."""

    number: str
    old_auth_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChanged:
    number: str
    old: Status
    new: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsChanged:
    """The system settings changed (``settings`` after the change)."""

    sections: tuple[str, ...]
    settings: SystemSettings


@dataclass(frozen=True, slots=True, kw_only=True)
class OfficeHoursChanged:
    """A schedule was created, replaced (``schedule``) or deleted (None)."""

    name: str
    schedule: OfficeHours | None


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupChanged:
    """A group was created, replaced (``group``) or deleted (None)."""

    name: str
    group: Group | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkChanged:
    """A trunk was created, replaced (``trunk``) or deleted (None)."""

    name: str
    trunk: Trunk | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundRuleChanged:
    """An outbound rule was created, replaced (``rule``) or deleted (None)."""

    name: str
    rule: OutboundRule | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStateChanged:
    """A call between extensions started ringing, was answered or ended.

    ``reason`` (and ``status``, the SIP status the caller got, when one
    ended it) is set only with ``state`` ENDED.
    """

    call_id: str
    caller: str
    callee: str
    state: CallState
    reason: CallEndReason | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailLeft:
    """A caller left a message (email notification follows it).

    ``node`` is the node that recorded it: that node alone sends the email.
    """

    mailbox: str
    message_id: str
    node: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxChanged:
    """A mailbox's message counts changed (message-waiting lamps follow it)."""

    mailbox: str
    new: int
    saved: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecorded:
    """A recorded call's WAV was stored."""

    recording_id: str
    call_id: str
    caller: str
    callee: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecordCreated:
    """A call ended and ``record`` says how (the node's call-record writer stores it).

    Published on the handling node's bus only, never on the change feed.
    (``CallRecorded`` is another event: a recorded call's audio was stored.)
    """

    record: CallRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressUnblocked:
    """An administrator lifted every block of ``address`` (every node's throttle)."""

    address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangesMissed:
    """The follower's cursor fell behind the pruned feed: reload every cache whole."""

    reason: str


DomainEvent = (
    ExtensionCreated
    | ExtensionChanged
    | ExtensionDeleted
    | CredentialsChanged
    | StatusChanged
    | SettingsChanged
    | OfficeHoursChanged
    | GroupChanged
    | TrunkChanged
    | OutboundRuleChanged
    | CallStateChanged
    | VoicemailLeft
    | MailboxChanged
    | CallRecorded
    | CallRecordCreated
    | AddressUnblocked
    | ChangesMissed
)
