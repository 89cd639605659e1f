"""Message-waiting lamps: the ``message-summary`` event package (RFC 3842).

Theory of operation. A phone lights its voicemail lamp from a NOTIFY whose
body is ``application/simple-message-summary``::

    Messages-Waiting: yes
    Message-Account: sip:101@pbx.example.com
    Voice-Message: 1/0 (0/0)

(new/saved, then the urgent ones, which Centralino does not have).

* :class:`MessageSummary` is the event package that
  :class:`~centralino.telephony.subscriptions.Subscriptions` serves: an
  extension may watch its own mailbox only (the Request-URI user is its
  number, auth ID or SIP ID; another gets 403), and the state is read from
  the ``Mailboxes`` port when each NOTIFY is sent.
* :class:`MessageWaiting` follows ``MailboxChanged`` on the event bus: every
  subscription to the mailbox is NOTIFYed; an extension whose phones never
  subscribed gets an unsolicited NOTIFY (out of dialog, as many desk phones
  expect from a PBX) at each registered contact, with the counts the event
  carries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import DomainEvent, MailboxChanged
from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.domain.ports import Mailboxes
from centralino.domain.voicemail import MailboxCounts
from centralino.sip.uri import Uri
from centralino.telephony.sip_server import SipServer
from centralino.telephony.subscriptions import Subscriptions, send_unsolicited

__all__ = [
    "CONTENT_TYPE",
    "MESSAGE_SUMMARY",
    "Locations",
    "MessageSummary",
    "MessageWaiting",
    "summary_body",
]

MESSAGE_SUMMARY = "message-summary"
CONTENT_TYPE = "application/simple-message-summary"


class Locations(Protocol):
    """Where an extension's phones are registered (the registrar)."""

    def contacts(self, number: str) -> list[Binding]: ...


def summary_body(number: str, host: str, counts: MailboxCounts) -> bytes:
    """The ``application/simple-message-summary`` body for mailbox ``number``."""
    waiting = "yes" if counts.waiting else "no"
    return (
        f"Messages-Waiting: {waiting}\r\n"
        f"Message-Account: sip:{number}@{host}\r\n"
        f"Voice-Message: {counts.new}/{counts.saved} (0/0)\r\n"
    ).encode()


class MessageSummary:
    """The ``message-summary`` event package over the ``Mailboxes`` port."""

    name = MESSAGE_SUMMARY
    content_type = CONTENT_TYPE

    def __init__(self, mailboxes: Mailboxes, host: Callable[[], str]) -> None:
        self._mailboxes = mailboxes
        self._host = host

    def resource(self, subscriber: Extension, uri: Uri) -> str | None:
        """The subscriber's own mailbox, when ``uri`` names the subscriber."""
        user = (uri.user or "").lower()
        names = {subscriber.number, *(name.lower() for name in subscriber.sip_user_names)}
        return subscriber.number if user in names else None

    async def state(self, resource: str) -> bytes:
        """The mailbox's counts, read now."""
        counts = await self._mailboxes.counts(resource)
        return summary_body(resource, self._host(), counts)


class MessageWaiting:
    """Drives the lamps: the package plus ``MailboxChanged`` -> NOTIFY."""

    def __init__(
        self,
        *,
        sip: SipServer,
        subscriptions: Subscriptions,
        mailboxes: Mailboxes,
        locations: Locations,
    ) -> None:
        self._sip = sip
        self._subscriptions = subscriptions
        self._locations = locations
        self.package = MessageSummary(mailboxes, lambda: sip.advertised_host)
        subscriptions.add_package(self.package)
        self._unsubscribe: Callable[[], None] | None = None

    def start(self, bus: LocalEventBus) -> None:
        """Follow mailbox changes on ``bus``."""
        self._unsubscribe = bus.subscribe(self.handle_event)

    def stop(self) -> None:
        """Stop following mailbox changes."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def handle_event(self, event: DomainEvent) -> None:
        """NOTIFY the lamps of a mailbox whose counts changed."""
        if isinstance(event, MailboxChanged):
            counts = MailboxCounts(new=event.new, saved=event.saved)
            self.mailbox_changed(event.mailbox, counts)

    def mailbox_changed(self, mailbox: str, counts: MailboxCounts) -> Sequence[Binding]:
        """NOTIFY the subscribers, else each registered contact; return the latter."""
        if self._subscriptions.notify(MESSAGE_SUMMARY, mailbox):
            return ()
        bindings = self._locations.contacts(mailbox)
        body = summary_body(mailbox, self._sip.advertised_host, counts)
        for binding in bindings:
            send_unsolicited(
                self._sip, binding, event=MESSAGE_SUMMARY, content_type=CONTENT_TYPE, body=body
            )
        return bindings
