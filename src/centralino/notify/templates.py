"""The emails the PBX sends, composed from domain values (pure: no clock, no I/O).

Every function takes what it shows (times already in the reader's time zone)
and returns a complete :class:`email.message.EmailMessage`: From, To,
Subject, Date, a plain-text body, and for voicemail in the attach modes the
message's WAV file. Text that came from a phone (a caller's display name) is
flattened to one line first: a header never carries a line break.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from centralino.domain.settings import SystemSettings
from centralino.domain.voicemail import VoicemailMessage

__all__ = [
    "Caller",
    "attachment_name",
    "format_duration",
    "missed_call_email",
    "one_line",
    "sender_address",
    "voicemail_email",
]

_PRODUCT = "Centralino"
_LOCAL_PART = "centralino"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9+_-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Caller:
    """Who called: their number (caller ID) and their name when known."""

    number: str
    name: str | None = None

    @property
    def label(self) -> str:
        """``102 Mario Rossi``, or the number alone (``unknown`` without one)."""
        number = one_line(self.number) or "unknown"
        name = one_line(self.name or "")
        return f"{number} {name}" if name and name != number else number


def one_line(text: str) -> str:
    """``text`` with control characters (CR, LF, tabs...) as single spaces, trimmed."""
    return _CONTROL.sub(" ", text).strip()


def sender_address(settings: SystemSettings) -> str:
    """The From address: the SMTP sender, else ``centralino@`` the PBX's host.

    The host is the public host name, else the SMTP server's; an IP address
    becomes an address literal (``centralino@[192.0.2.1]``).
    """
    if settings.smtp.sender:
        return settings.smtp.sender
    host = settings.network.public_host or settings.smtp.host or "localhost"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"{_LOCAL_PART}@{host}"
    return f"{_LOCAL_PART}@[{host.strip('[]')}]"


def format_duration(seconds: float) -> str:
    """``0:23``, ``12:05``, ``1:02:03``: minutes and seconds, hours when needed."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _when(moment: dt.datetime) -> str:
    zone = moment.tzname() or ""
    return f"{moment:%Y-%m-%d %H:%M:%S} {zone}".strip()


def attachment_name(message: VoicemailMessage, received: dt.datetime) -> str:
    """``voicemail-20240304-100000-102.wav``: when it arrived and who left it."""
    caller = _UNSAFE_FILE_CHARACTERS.sub("_", message.caller).strip("_") or "unknown"
    return f"voicemail-{received:%Y%m%d-%H%M%S}-{caller}.wav"


def _envelope(
    *, sender: str, recipient: str, subject: str, date: dt.datetime, body: str
) -> EmailMessage:
    email = EmailMessage()
    email["From"] = f"{_PRODUCT} <{sender}>"
    email["To"] = recipient
    email["Subject"] = one_line(subject)
    email["Date"] = format_datetime(date)
    email.set_content(body)
    return email


def voicemail_email(
    message: VoicemailMessage,
    *,
    caller: Caller,
    mailbox_name: str,
    received: dt.datetime,
    sender: str,
    recipient: str,
    wav: bytes | None = None,
) -> EmailMessage:
    """The new-voicemail email, with the message's WAV attached when given.

    Args:
        message: the message left.
        caller: who left it (the name from the message or the directory).
        mailbox_name: the mailbox owner's name, e.g. ``101 Anna Bianchi``.
        received: when it arrived, in the reader's time zone.
        sender: the From address.
        recipient: the mailbox owner's address.
        wav: the message as a WAV file (attach modes), or None.

    Returns:
        The email, ready to send.
    """
    duration = format_duration(message.duration)
    lines = [
        f"You have a new voicemail message from {caller.label}.",
        "",
        f"From:     {caller.label}",
        f"Received: {_when(received)}",
        f"Duration: {duration}",
        f"Mailbox:  {one_line(mailbox_name)}",
        "",
        "The recording is attached." if wav is not None else "Dial your voicemail to listen.",
        "",
        f"-- {_PRODUCT}",
    ]
    email = _envelope(
        sender=sender,
        recipient=recipient,
        subject=f"New voicemail from {caller.label} ({duration})",
        date=received,
        body="\n".join(lines) + "\n",
    )
    if wav is not None:
        email.add_attachment(
            wav, maintype="audio", subtype="wav", filename=attachment_name(message, received)
        )
    return email


def missed_call_email(
    *, caller: Caller, callee_name: str, at: dt.datetime, sender: str, recipient: str
) -> EmailMessage:
    """The missed-call email.

    Args:
        caller: who called.
        callee_name: the extension called, e.g. ``101 Anna Bianchi``.
        at: when the call ended unanswered, in the reader's time zone.
        sender: the From address.
        recipient: the callee's address.

    Returns:
        The email, ready to send.
    """
    lines = [
        f"You missed a call from {caller.label}.",
        "",
        f"From:      {caller.label}",
        f"Time:      {_when(at)}",
        f"Extension: {one_line(callee_name)}",
        "",
        f"-- {_PRODUCT}",
    ]
    return _envelope(
        sender=sender,
        recipient=recipient,
        subject=f"Missed call from {caller.label}",
        date=at,
        body="\n".join(lines) + "\n",
    )
