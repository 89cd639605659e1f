"""Sending email through the SMTP server of the system settings (aiosmtplib).

Theory of operation. The SMTP settings are read from storage for every
email, so a change in the console applies to the next one without a
restart. No host configured means email is off: the email is logged and
skipped, which is not an error. Otherwise one connection per email:

* port 465 is SMTPS (TLS from the first byte); on any other port, with
  ``starttls`` set, the connection is upgraded when the server offers
  STARTTLS, and stays plain when it does not;
* with a username, the mailer logs in (the password may be empty);
* every step has a timeout, so a server that hangs cannot keep an email
  (or the shutdown that waits for it) forever;
* the email is turned into bytes on a worker thread, 7-bit clean (base64
  or quoted-printable parts, fit for any server): a voicemail attachment
  of a few minutes takes ~0.2 s to encode, which the event loop carrying
  the calls must not spend.

A refusal, a failed login, a broken connection or a timeout is raised as
:class:`MailError`: the caller decides what a lost email means (voicemail
keeps the message when it was to be deleted after sending).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

from centralino.domain.ports import UnitOfWorkFactory
from centralino.domain.settings import SmtpSettings

__all__ = ["SMTPS_PORT", "MailError", "Mailer", "SmtpMailer"]

log = structlog.get_logger("centralino.notify")

SMTPS_PORT = 465
"""The port where SMTP speaks TLS from the start (RFC 8314)."""

DEFAULT_TIMEOUT = 30.0


class MailError(Exception):
    """The SMTP server did not take the email (refused, unreachable, timed out).

    ``code`` is the server's SMTP reply code when it answered one.
    """

    def __init__(self, reason: str, *, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Mailer(Protocol):
    """Sends one email; what the notifier needs of the mailer."""

    async def send(self, message: EmailMessage) -> bool:
        """Send ``message`` to its ``To`` recipients.

        Returns:
            True once the SMTP server accepted it; False when email is off
            (no SMTP server configured).

        Raises:
            MailError: the server did not accept it.
        """
        ...


class SmtpMailer:
    """A :class:`Mailer` over aiosmtplib, configured by the system settings."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        local_hostname: str | None = None,
    ) -> None:
        """Build the mailer.

        Args:
            units: where the system settings (section ``smtp``) are read.
            timeout: seconds allowed for connecting and for each SMTP command.
            local_hostname: the name given in EHLO (default: this host's FQDN).
        """
        self._units = units
        self._timeout = timeout
        self._local_hostname = local_hostname

    async def settings(self) -> SmtpSettings:
        """The SMTP settings as stored now."""
        async with self._units() as uow:
            return (await uow.settings.get()).smtp

    async def send(self, message: EmailMessage) -> bool:
        """Send ``message`` with the current SMTP settings (see :class:`Mailer`)."""
        smtp = await self.settings()
        if smtp.host is None:
            log.info("email not sent: no SMTP server configured", subject=message["Subject"])
            return False
        try:
            errors = await self._deliver(message, smtp)
        except aiosmtplib.SMTPResponseException as exc:
            raise MailError(f"{exc.code} {exc.message}", code=exc.code) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{error.code} {error.message}" for error in exc.recipients)
            code = exc.recipients[0].code if exc.recipients else None
            raise MailError(f"recipients refused: {reasons}", code=code) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(str(exc) or type(exc).__name__) from exc
        if errors:
            refused = "; ".join(
                f"{who}: {reply.code} {reply.message}" for who, reply in errors.items()
            )
            raise MailError(f"recipients refused: {refused}")
        log.info("email sent", to=message["To"], subject=message["Subject"], host=smtp.host)
        return True

    async def _deliver(
        self, message: EmailMessage, smtp: SmtpSettings
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        implicit_tls = smtp.port == SMTPS_PORT
        envelope = await asyncio.to_thread(_Envelope.of, message)
        errors, _reply = await aiosmtplib.send(
            envelope.data,
            sender=envelope.sender,
            recipients=envelope.recipients,
            mail_options=envelope.mail_options,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username or None,
            password=(smtp.password or "") if smtp.username else None,
            use_tls=implicit_tls,
            # None: upgrade when the server offers STARTTLS (aiosmtplib >= 3).
            start_tls=False if implicit_tls or not smtp.starttls else None,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
        )
        return errors


@dataclass(frozen=True, slots=True, kw_only=True)
class _Envelope:
    """An email as bytes with its SMTP envelope (made on a worker thread)."""

    sender: str
    recipients: list[str]
    data: bytes
    mail_options: list[str]

    @classmethod
    def of(cls, message: EmailMessage) -> _Envelope:
        sender = extract_sender(message)
        recipients = extract_recipients(message)
        if sender is None or not recipients:
            raise MailError("the email has no sender or no recipient")
        utf8 = not (sender + "".join(recipients)).isascii()
        # 7-bit: no need to know whether the server takes 8BITMIME (Bcc is left out).
        data = flatten_message(message, utf8=utf8, cte_type="7bit")
        return cls(
            sender=sender,
            recipients=recipients,
            data=data,
            mail_options=["SMTPUTF8"] if utf8 else [],
        )
