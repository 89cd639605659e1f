"""A real SMTP server (aiosmtpd) for the notify tests, and a fake voicemail store.

``SmtpServer`` runs aiosmtpd's ``Controller`` (its own thread and event loop)
on a free loopback port and keeps every envelope it accepted. ``refuse``
makes it answer DATA with an error instead (``refuse_recipient``: RCPT); ``on_data`` runs when DATA
arrives, before the reply (to look at the world at that very moment).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import math
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from centralino.domain.errors import NotFound
from centralino.domain.extension import Extension
from centralino.domain.settings import SmtpSettings
from centralino.domain.voicemail import Greeting, MailboxCounts, MessageFolder, VoicemailMessage

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Delivery:
    """One email the server accepted."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


class CollectingHandler:
    """aiosmtpd handler: keeps accepted emails, or refuses DATA when told."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.refuse: str | None = None
        self.refuse_recipient: str | None = None
        self.on_data: Callable[[], None] | None = None
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_recipient is not None:
            return self.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.on_data is not None:
            self.on_data()
        if self.refuse is not None:
            return self.refuse
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if session.auth_data else None
        delivery = Delivery(
            sender=str(envelope.mail_from),
            recipients=list(envelope.rcpt_tos),
            message=parsed,
            login=login,
        )
        with self._lock:
            self.deliveries.append(delivery)
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    handler: CollectingHandler
    port: int

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries

    def settings(self, **fields: Any) -> SmtpSettings:
        """SMTP settings pointing at this server (plain, no STARTTLS)."""
        return SmtpSettings.model_validate(
            {"host": LOOPBACK, "port": self.port, "starttls": False, **fields}
        )


class PasswordChecker:
    """aiosmtpd authenticator accepting one login and password."""

    def __init__(self, login: str, password: str) -> None:
        self._expected = (login.encode(), password.encode())

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == self._expected:
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)


@contextmanager
def running_smtp_server(**smtp_options: Any) -> Iterator[SmtpServer]:
    """Start aiosmtpd on a free loopback port for the ``with`` block."""
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname=LOOPBACK, port=port, **smtp_options)
    controller.start()
    try:
        yield SmtpServer(handler=handler, port=port)
    finally:
        controller.stop()


def tone(seconds: float = 0.5, frequency: float = 440.0) -> bytes:
    """16-bit little-endian mono PCM at 8 kHz: a sine wave."""
    count = int(8000 * seconds)
    samples = (round(8000 * math.sin(2 * math.pi * frequency * i / 8000)) for i in range(count))
    return struct.pack(f"<{count}h", *samples)


def make_extension(number: str, **fields: Any) -> Extension:
    return Extension.model_validate(
        {
            "number": number,
            "auth_id": f"auth{number}",
            "auth_password": "Secret1234567890",
            "voicemail": {"pin": "4711"},
            **fields,
        }
    )


@dataclass
class FakeMailboxes:
    """The ``Mailboxes`` port over dictionaries (only what emails need works)."""

    stored: dict[tuple[str, str], tuple[VoicemailMessage, bytes]] = field(default_factory=dict)
    deleted: list[tuple[str, str]] = field(default_factory=list)

    def put(
        self,
        mailbox: str,
        message_id: str,
        *,
        caller: str = "102",
        caller_name: str | None = None,
        pcm: bytes = b"",
        received_at: dt.datetime,
    ) -> VoicemailMessage:
        message = VoicemailMessage(
            id=message_id,
            mailbox=mailbox,
            caller=caller,
            caller_name=caller_name,
            received_at=received_at,
            duration=len(pcm) / 16000,
        )
        self.stored[(mailbox, message_id)] = (message, pcm)
        return message

    def holds(self, mailbox: str, message_id: str) -> bool:
        return (mailbox, message_id) in self.stored

    async def messages(self, mailbox: str) -> Sequence[VoicemailMessage]:
        found = [message for (box, _), (message, _) in self.stored.items() if box == mailbox]
        return sorted(found, key=lambda message: message.received_at, reverse=True)

    async def message_audio(self, mailbox: str, message_id: str) -> bytes:
        if (mailbox, message_id) not in self.stored:
            raise NotFound("voicemail message", message_id)
        return self.stored[(mailbox, message_id)][1]

    async def delete_message(self, mailbox: str, message_id: str) -> None:
        if self.stored.pop((mailbox, message_id), None) is None:
            raise NotFound("voicemail message", message_id)
        self.deleted.append((mailbox, message_id))

    async def leave_message(
        self, mailbox: str, *, caller: str, caller_name: str | None, pcm: bytes
    ) -> VoicemailMessage:
        raise NotImplementedError

    async def save_message(self, mailbox: str, message_id: str) -> None:
        raise NotImplementedError

    async def counts(self, mailbox: str) -> MailboxCounts:
        new = sum(
            1
            for (box, _), (message, _) in self.stored.items()
            if box == mailbox and message.folder is MessageFolder.NEW
        )
        return MailboxCounts(new=new, saved=0)

    async def active_greeting(self, mailbox: str) -> bytes | None:
        return None

    async def record_greeting(self, mailbox: str, pcm: bytes) -> Greeting:
        raise NotImplementedError
