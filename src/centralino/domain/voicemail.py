"""The voicemail tab (SPEC section 2.2)."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import Field, model_validator

from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.text import Matches
from centralino.domain.values import Name, Pin

__all__ = [
    "EmailMode",
    "Greeting",
    "GreetingId",
    "MailboxCounts",
    "MessageFolder",
    "VoicemailMessage",
    "VoicemailSettings",
]

GreetingId = Annotated[
    str, Matches(r"[a-z0-9][a-z0-9_-]{0,39}", "lower-case letters, digits, '_' or '-' (at most 40)")
]


class EmailMode(enum.StrEnum):
    """What the owner gets by email when a message is left."""

    NONE = "none"
    NOTIFY = "notify"
    ATTACH = "attach"
    ATTACH_AND_DELETE = "attach_and_delete"


class Greeting(DomainModel):
    """One recorded greeting of a mailbox (its audio lives in the data directory)."""

    id: GreetingId
    name: Name


class VoicemailSettings(DomainModel):
    """Voicemail box settings; the PIN is generated when not given."""

    enabled: bool = True
    pin: Pin | None = Field(default=None, repr=False)
    require_pin: bool = True
    announce_caller_id: bool = True
    announce_datetime: bool = True
    email_mode: EmailMode = EmailMode.NOTIFY
    greetings: list[Greeting] = Field(default_factory=list, max_length=20)
    active_greeting: GreetingId | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [greeting.id for greeting in self.greetings]
        if len(set(ids)) != len(ids):
            raise FieldValueError("greetings", "each greeting id must be unique")
        if self.active_greeting is not None and self.active_greeting not in ids:
            raise FieldValueError("active_greeting", "must be the id of one of the greetings")
        return self


class MessageFolder(enum.StrEnum):
    """Where a voicemail message is: new until the owner listens to it and keeps it."""

    NEW = "new"
    SAVED = "saved"


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailMessage:
    """One message left in a mailbox (its audio, an 8 kHz mono WAV, is archived apart).

    ``caller`` is the caller's number (caller ID); ``caller_name`` their
    display name when known; ``duration`` in seconds.
    """

    id: str
    mailbox: str
    caller: str
    caller_name: str | None
    received_at: dt.datetime
    duration: float
    folder: MessageFolder = MessageFolder.NEW


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxCounts:
    """How many messages a mailbox holds (what a message-waiting lamp shows)."""

    new: int
    saved: int

    @property
    def waiting(self) -> bool:
        """The lamp is lit while a new message waits."""
        return self.new > 0
