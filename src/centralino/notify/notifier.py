"""Voicemail and missed-call emails, sent when the domain events say so.

Theory of operation. The event bus calls subscribers synchronously, so
:meth:`EmailNotifier.handle_event` only decides whether an event concerns
email and starts a tracked task; the task reads what it needs (the mailbox
owner, the system settings, the message and its audio), composes the email
(:mod:`centralino.notify.templates`, on a worker thread: attaching a
voicemail of a few minutes costs ~0.1 s that the event loop carrying the
calls must not spend) and hands it to the :class:`Mailer`.

* ``VoicemailLeft``: by the owner's ``voicemail.email_mode``: ``none``
  sends nothing, ``notify`` a notice, ``attach`` the notice with the WAV,
  ``attach_and_delete`` the same and, only once the SMTP server accepted
  it, deletes the message from the mailbox (a lost email keeps it).
* ``CallRecordCreated`` of a call the callee missed (no answer, the caller
  gave up, busy or declined, sent to voicemail): a missed-call email when
  the callee has ``options.missed_call_email`` on. The record gives the
  caller's number and the name the call presented (else the directory's)
  and the time the call came; the callee is the extension dialled, or the
  one whose DIDs hold the number an outside caller reached.

Nothing is sent to an extension without an email address, nor when no SMTP
server is configured; both are logged. A failure is logged, never raised
into the bus. :meth:`EmailNotifier.close` stops listening and waits for the
emails under way (each SMTP step has a timeout, so it ends).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallRecord, CallResult
from centralino.domain.events import CallRecordCreated, DomainEvent, VoicemailLeft
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.ports import Clock, Mailboxes, UnitOfWorkFactory
from centralino.domain.settings import SystemSettings
from centralino.domain.voicemail import EmailMode, VoicemailMessage
from centralino.media.wav import encode_wav
from centralino.notify.mailer import Mailer, MailError
from centralino.notify.templates import Caller, missed_call_email, sender_address, voicemail_email

__all__ = ["MISSED_CALL_RESULTS", "EmailNotifier", "is_missed_call"]

log = structlog.get_logger("centralino.notify")

MISSED_CALL_RESULTS = frozenset(
    {CallResult.NO_ANSWER, CallResult.BUSY, CallResult.REJECTED, CallResult.VOICEMAIL}
)
"""How a call ends when its callee missed it (a caller giving up is no answer)."""

DEFAULT_CONCURRENT_EMAILS = 4


def is_missed_call(record: CallRecord) -> bool:
    """Tell whether ``record`` is a call that ended without the callee answering."""
    return record.result in MISSED_CALL_RESULTS


def _named(extension: Extension) -> str:
    name = extension.display_name
    return extension.number if name == extension.number else f"{extension.number} {name}"


class EmailNotifier:
    """Sends the voicemail and missed-call emails of the extensions."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        mailboxes: Mailboxes,
        mailer: Mailer,
        clock: Clock,
        *,
        time_zone: dt.tzinfo | None = None,
        concurrent_emails: int = DEFAULT_CONCURRENT_EMAILS,
        node: str = "",
    ) -> None:
        """Build the notifier (it listens once :meth:`subscribe` is called).

        Args:
            units: where extensions and system settings are read.
            mailboxes: the voicemail boxes (messages, their audio, deletion).
            mailer: sends the emails (:class:`~centralino.notify.mailer.SmtpMailer`).
            clock: the current time (a missed call is dated by its record).
            time_zone: the zone of the times written in emails (default:
                the server's local zone).
            concurrent_emails: how many emails may be sent at once.
            node: this node's name: of the messages every node hears of on
                the change feed, it emails those left on this node.
        """
        self._node = node
        self._units = units
        self._mailboxes = mailboxes
        self._mailer = mailer
        self._clock = clock
        self._time_zone = time_zone
        self._sending = asyncio.Semaphore(concurrent_emails)
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    # Life cycle -------------------------------------------------------------

    def subscribe(self, events: LocalEventBus) -> None:
        """Follow the domain events published on ``events``."""
        self._unsubscribe = events.subscribe(self.handle_event)

    async def drain(self) -> None:
        """Wait until every email under way is sent (or has failed)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Stop following events and wait for the emails under way."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.drain()

    def handle_event(self, event: DomainEvent) -> None:
        """Start the email ``event`` calls for, if any (never raises)."""
        match event:
            case VoicemailLeft() if event.node == self._node:
                self._start(self.send_voicemail(event), "voicemail", mailbox=event.mailbox)
            case CallRecordCreated() if is_missed_call(event.record):
                record = event.record
                self._start(self.send_missed_call(record), "missed-call", callee=record.callee)
            case _:
                pass

    def _start(self, work: Coroutine[Any, Any, None], kind: str, **context: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            log.error("email not sent: no event loop running", kind=kind, **context)
            return
        task = loop.create_task(self._guarded(work, kind, context))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(
        self, work: Coroutine[Any, Any, None], kind: str, context: dict[str, str]
    ) -> None:
        try:
            async with self._sending:
                await work
        except MailError as exc:
            log.warning("email not accepted", kind=kind, reason=exc.reason, **context)
        except Exception:
            log.exception("email failed", kind=kind, **context)

    # The emails ---------------------------------------------------------------

    async def send_voicemail(self, event: VoicemailLeft) -> None:
        """Email the mailbox owner about a new message, as their email mode says.

        Raises:
            MailError: the SMTP server did not accept the email.
            NotFound: the message (or its audio) is gone.
        """
        async with self._units() as uow:
            owner = await uow.extensions.get(event.mailbox)
            settings = await uow.settings.get()
        mode = owner.voicemail.email_mode if owner is not None else EmailMode.NONE
        if owner is None or mode is EmailMode.NONE:
            return
        recipient = self._recipient(owner, settings, "voicemail")
        message = await self._message(event)
        if recipient is None or message is None:
            return
        attach = mode in (EmailMode.ATTACH, EmailMode.ATTACH_AND_DELETE)
        audio = (
            await self._mailboxes.message_audio(event.mailbox, event.message_id) if attach else None
        )
        email = await asyncio.to_thread(
            functools.partial(
                voicemail_email,
                message,
                caller=await self._caller(message.caller, message.caller_name),
                mailbox_name=_named(owner),
                received=message.received_at.astimezone(self._time_zone),
                sender=sender_address(settings),
                recipient=recipient,
                wav=None if audio is None else encode_wav(audio),
            )
        )
        accepted = await self._mailer.send(email)
        if accepted and mode is EmailMode.ATTACH_AND_DELETE:
            await self._mailboxes.delete_message(event.mailbox, event.message_id)
            log.info("voicemail emailed and deleted", mailbox=event.mailbox, id=event.message_id)

    async def send_missed_call(self, record: CallRecord) -> None:
        """Email the callee about a call they missed, when they asked for it.

        Raises:
            MailError: the SMTP server did not accept the email.
        """
        async with self._units() as uow:
            callee = await uow.extensions.get(record.callee)
            if callee is None and record.did is not None:
                owner = (await uow.extensions.owners(UniqueKind.DID, [record.did])).get(record.did)
                callee = None if owner is None else await uow.extensions.get(owner)
            settings = await uow.settings.get()
        if callee is None or not callee.options.missed_call_email:
            return
        recipient = self._recipient(callee, settings, "missed-call")
        if recipient is None:
            return
        email = missed_call_email(
            caller=await self._caller(record.caller, record.caller_name),
            callee_name=_named(callee),
            at=record.started_at.astimezone(self._time_zone),
            sender=sender_address(settings),
            recipient=recipient,
        )
        await self._mailer.send(email)

    # Look-ups -----------------------------------------------------------------

    def _recipient(self, extension: Extension, settings: SystemSettings, kind: str) -> str | None:
        if extension.email is None:
            log.info(
                "email not sent: the extension has no address", kind=kind, number=extension.number
            )
            return None
        if settings.smtp.host is None:
            log.info(
                "email not sent: no SMTP server configured", kind=kind, number=extension.number
            )
            return None
        return extension.email

    async def _message(self, event: VoicemailLeft) -> VoicemailMessage | None:
        messages = await self._mailboxes.messages(event.mailbox)
        found = next((message for message in messages if message.id == event.message_id), None)
        if found is None:
            log.info("voicemail email not sent: the message is gone", mailbox=event.mailbox)
        return found

    async def _caller(self, number: str, name: str | None) -> Caller:
        """The caller, named from the directory when the call did not say."""
        if name is None and number:
            async with self._units() as uow:
                extension = await uow.extensions.get(number)
            if extension is not None and extension.display_name != extension.number:
                name = extension.display_name
        return Caller(number=number, name=name)
