"""Domain events: how the management side tells the call engine what changed.

Published after the change is committed; consumers (registrar, presence, BLF,
provisioning) react to them instead of being sent "reload" commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from centralino.domain.calls import CallEndReason, CallState
from centralino.domain.forwarding import Status

__all__ = [
    "CallRecorded",
    "CallStateChanged",
    "CredentialsChanged",
    "DomainEvent",
    "ExtensionChanged",
    "ExtensionCreated",
    "ExtensionDeleted",
    "MailboxChanged",
    "OfficeHoursChanged",
    "SettingsChanged",
    "StatusChanged",
    "VoicemailLeft",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionCreated:
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionChanged:
    number: str
    tabs: tuple[str, ...]


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
    sections: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OfficeHoursChanged:
    """A schedule was created, replaced or deleted (routing and the status switch reload it)."""

    name: str


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
    """A caller left a message (email notification follows it)."""

    mailbox: str
    message_id: str


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


DomainEvent = (
    ExtensionCreated
    | ExtensionChanged
    | ExtensionDeleted
    | CredentialsChanged
    | StatusChanged
    | SettingsChanged
    | OfficeHoursChanged
    | CallStateChanged
    | VoicemailLeft
    | MailboxChanged
    | CallRecorded
)
