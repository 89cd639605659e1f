"""SIP-specific event notification, notifier side (RFC 6665): SUBSCRIBE dialogs and NOTIFYs.

Theory of operation. :class:`Subscriptions` answers every SUBSCRIBE and
hands the event-specific part to an :class:`EventPackage` chosen by the
``Event`` header (``message-summary`` for voicemail lamps, later ``dialog``
for BLF keys). A package says which resource an extension may watch and
what the resource's state looks like as a NOTIFY body; everything else is
here:

* a new SUBSCRIBE (no To tag): an unknown package gets 489 with
  ``Allow-Events``; an ``Accept`` that excludes the package's body type
  406; then the subscriber proves who it is with a 401 digest challenge,
  as for REGISTER; a resource it may not watch gets 403; an ``Expires``
  under the minimum 423 with ``Min-Expires`` (absent: the default; above the
  maximum: cut). The 200 carries the granted ``Expires``, our To tag and a
  Contact, and a NOTIFY with the current state follows at once in the new
  dialog (RFC 6665 §4.2.1.2). ``Expires: 0`` on a new SUBSCRIBE is a fetch:
  one NOTIFY ``terminated``, nothing kept.
* a SUBSCRIBE inside a dialog refreshes the subscription it names (Call-ID,
  tags, event package and ``id``), or ends it with ``Expires: 0``; an
  unknown one gets 481. Like the in-dialog requests of calls it is not
  challenged again: only the authenticated subscriber knows the dialog.
* NOTIFYs of one subscription go one at a time (a NOTIFY is sent only after
  the previous one is answered, RFC 6665 §4.2.2); a change meanwhile is
  coalesced into one NOTIFY of the state *at sending time*. A NOTIFY
  answered 481, timed out or undeliverable removes the subscription.
* a subscription ends when it expires (its timer), when the subscriber
  unsubscribes, or when :meth:`Subscriptions.terminate` is called; the last
  NOTIFY says ``Subscription-State: terminated;reason=...``. The directory's
  changes end subscriptions too: a disabled subscriber's are ``rejected``,
  those of one whose credentials changed ``deactivated`` (re-subscribe,
  authenticating afresh), and a deleted extension's, or those watching it,
  ``noresource``.

:func:`send_unsolicited` sends an out-of-dialog NOTIFY to a registered
contact (message-waiting for phones that never subscribe).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.net.transport import Peer, TransportKind
from centralino.sip.address import NameAddress
from centralino.sip.codes import Method, StatusCode
from centralino.sip.dialog import Dialog, DialogId
from centralino.sip.errors import PeerError, SipError
from centralino.sip.grammar import split_outside, strip_lws
from centralino.sip.headers import Via
from centralino.sip.message import Request
from centralino.sip.uri import Uri
from centralino.tasks import cancel_and_wait
from centralino.telephony.auth import Authenticator
from centralino.telephony.calls import loop_scheduler
from centralino.telephony.calls.ports import Cancellable, Scheduler
from centralino.telephony.notifier import unsolicited_notify
from centralino.telephony.sip_server import ClientOutcome, IncomingRequest, SipServer, new_tag

__all__ = [
    "EventPackage",
    "ExpiryLimits",
    "Subscription",
    "SubscriptionKey",
    "Subscriptions",
    "send_unsolicited",
]

log = structlog.get_logger("centralino.telephony")


class EventPackage(Protocol):
    """What one event package adds to the generic subscription handling."""

    @property
    def name(self) -> str:
        """The ``Event`` header's package name (``message-summary``)."""
        ...

    @property
    def content_type(self) -> str:
        """The NOTIFY body type, which ``Accept`` must allow."""
        ...

    def resource(self, subscriber: Extension, uri: Uri) -> str | None:
        """The resource ``subscriber`` watches by subscribing to ``uri``; None: 403."""
        ...

    async def state(self, resource: str) -> bytes:
        """The resource's current state, as a NOTIFY body."""
        ...


@dataclass(frozen=True, slots=True)
class ExpiryLimits:
    """The subscription durations granted, in seconds."""

    default: int = 3600
    minimum: int = 60
    maximum: int = 7200

    def grant(self, asked: int | None) -> int | None:
        """The duration granted for ``Expires: asked``; None: too brief (423)."""
        if asked is None:
            return self.default
        if asked == 0:
            return 0
        if asked < self.minimum:
            return None
        return min(asked, self.maximum)


@dataclass(frozen=True, slots=True)
class SubscriptionKey:
    """A subscription's identity: its dialog, event package and ``id`` (RFC 6665 §4.1.2)."""

    dialog: DialogId
    package: str
    event_id: str | None


@dataclass(eq=False, slots=True, kw_only=True)
class Subscription:
    """One subscription: its dialog, what it watches, its NOTIFY state."""

    key: SubscriptionKey
    package: EventPackage
    event: str
    """The ``Event`` header value, echoed in every NOTIFY."""
    subscriber: str
    """The subscribing extension's number."""
    resource: str
    dialog: Dialog
    peer: Peer
    contact: str
    expires_at: float
    timer: Cancellable | None = None
    ended: str | None = None
    """The termination reason, once ended."""
    notified: int = 0
    """NOTIFYs answered 2xx so far."""
    _dirty: bool = field(default=False, repr=False)
    _sending: bool = field(default=False, repr=False)

    def remaining(self, now: float) -> int:
        """Whole seconds left (never negative)."""
        return max(0, round(self.expires_at - now))


@dataclass(frozen=True, slots=True)
class _Event:
    package: str
    event_id: str | None
    raw: str


class Subscriptions:
    """Answers SUBSCRIBE for the registered event packages and sends their NOTIFYs."""

    def __init__(
        self,
        sip: SipServer,
        authenticator: Authenticator,
        *,
        limits: ExpiryLimits | None = None,
        schedule: Scheduler = loop_scheduler,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sip = sip
        self._auth = authenticator
        self.limits = limits or ExpiryLimits()
        self.schedule = schedule
        """Runs expiry timers (tests replace it before the first SUBSCRIBE)."""
        self._clock = clock
        self._packages: dict[str, EventPackage] = {}
        self._by_key: dict[SubscriptionKey, Subscription] = {}
        self._by_resource: dict[tuple[str, str], list[Subscription]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        authenticator.directory.on_change(self._extension_changed)

    # Packages and queries -----------------------------------------------------------

    def add_package(self, package: EventPackage) -> None:
        """Accept subscriptions to ``package``."""
        self._packages[package.name.lower()] = package

    @property
    def packages(self) -> list[str]:
        """The accepted event package names (for ``Allow-Events``)."""
        return sorted(self._packages)

    def watching(self, package: str, resource: str) -> list[Subscription]:
        """The live subscriptions to ``resource`` in ``package``."""
        return list(self._by_resource.get((package.lower(), resource), ()))

    def all(self) -> list[Subscription]:
        """Every live subscription."""
        return list(self._by_key.values())

    # Changes ------------------------------------------------------------------------

    def notify(self, package: str, resource: str) -> int:
        """NOTIFY every subscription to ``resource`` of its new state; return how many."""
        subscriptions = self.watching(package, resource)
        for subscription in subscriptions:
            self._push(subscription)
        return len(subscriptions)

    def terminate(self, subscription: Subscription, reason: str) -> None:
        """End ``subscription`` with a last NOTIFY ``terminated;reason=<reason>``."""
        if subscription.ended is not None:
            return
        self._forget(subscription)
        subscription.ended = reason
        self._push(subscription)

    def _extension_changed(
        self, number: str, before: Extension | None, after: Extension | None
    ) -> None:
        if after is None:
            reason: str | None = "noresource"
        elif after.options.disabled:
            reason = "rejected"
        elif before is not None and _credentials(before) != _credentials(after):
            reason = "deactivated"  # re-subscribe, authenticating afresh
        else:
            reason = None
        if reason is None and after is not None:
            return  # nothing ends: a burst of changes costs no walk over every subscription
        for subscription in self.all():
            if subscription.subscriber == number and reason is not None:
                self.terminate(subscription, reason)
            elif subscription.resource == number and after is None:
                self.terminate(subscription, "noresource")

    async def close(self) -> None:
        """Stop timers and NOTIFY work (subscribers re-subscribe after a 481)."""
        for subscription in self.all():
            self._forget(subscription)
        tasks, self._tasks = list(self._tasks), set()
        await cancel_and_wait(*tasks)

    # SUBSCRIBE ----------------------------------------------------------------------

    def handle_subscribe(self, incoming: IncomingRequest) -> None:
        """Answer one SUBSCRIBE (new, refresh or unsubscribe)."""
        request = incoming.request
        try:
            event = _event(request)
            asked = request.headers.expires()
            in_dialog = request.headers.to_address().tag is not None
        except SipError as exc:
            incoming.respond(StatusCode.BAD_REQUEST, _reason(exc))
            return
        if event is None:
            incoming.respond(StatusCode.BAD_REQUEST, "Missing Event header")
            return
        package = self._packages.get(event.package)
        if package is None:
            allow = [("Allow-Events", ", ".join(self.packages))] if self._packages else []
            incoming.respond(StatusCode.BAD_EVENT, headers=allow)
            return
        if in_dialog:
            self._refresh(incoming, event, asked)
        else:
            self._subscribe(incoming, package, event, asked)

    def _subscribe(
        self, incoming: IncomingRequest, package: EventPackage, event: _Event, asked: int | None
    ) -> None:
        request = incoming.request
        if not _accepts(request, package.content_type):
            incoming.respond(StatusCode.NOT_ACCEPTABLE, headers=[("Accept", package.content_type)])
            return
        subscriber = self._auth.challenge_or_identify(incoming, proxy=False)
        if subscriber is None:
            return
        resource = package.resource(subscriber, request.uri)
        if resource is None:
            incoming.respond(StatusCode.FORBIDDEN, "Not the subscriber's resource")
            return
        granted = self._grant(incoming, asked)
        if granted is None:
            return
        tag = new_tag()
        try:
            dialog = Dialog.from_uas(request, tag)
        except SipError as exc:
            incoming.respond(StatusCode.BAD_REQUEST, _reason(exc))
            return
        contact = self._contact(incoming.peer)
        subscription = Subscription(
            key=SubscriptionKey(dialog.id, event.package, event.event_id),
            package=package,
            event=event.raw,
            subscriber=subscriber.number,
            resource=resource,
            dialog=dialog,
            peer=incoming.peer,
            contact=contact,
            expires_at=self._clock() + granted,
        )
        incoming.respond(
            StatusCode.OK, to_tag=tag, headers=[("Expires", str(granted)), ("Contact", contact)]
        )
        log.info(
            "subscribed", package=event.package, resource=resource, subscriber=subscriber.number
        )
        if granted == 0:
            subscription.ended = "timeout"  # a fetch: one NOTIFY, nothing kept
        else:
            self._keep(subscription, granted)
        self._push(subscription)

    def _refresh(self, incoming: IncomingRequest, event: _Event, asked: int | None) -> None:
        request = incoming.request
        headers = request.headers
        dialog = DialogId(
            call_id=headers.call_id(),
            local_tag=headers.to_address().tag or "",
            remote_tag=headers.from_address().tag or "",
        )
        subscription = self._by_key.get(SubscriptionKey(dialog, event.package, event.event_id))
        if subscription is None:
            incoming.respond(StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
            return
        try:
            subscription.dialog.receive_request(request)
        except PeerError as exc:
            incoming.respond(exc.status, exc.response_reason)
            return
        granted = self._grant(incoming, asked)
        if granted is None:
            return
        incoming.respond(
            StatusCode.OK, headers=[("Expires", str(granted)), ("Contact", subscription.contact)]
        )
        subscription.peer = incoming.peer
        if granted == 0:
            self.terminate(subscription, "timeout")
            return
        if subscription.timer is not None:
            subscription.timer.cancel()
        subscription.expires_at = self._clock() + granted
        subscription.timer = self.schedule(granted, lambda: self._expire(subscription))
        self._push(subscription)

    # Table --------------------------------------------------------------------------

    def _keep(self, subscription: Subscription, granted: int) -> None:
        self._by_key[subscription.key] = subscription
        index = (subscription.key.package, subscription.resource)
        self._by_resource.setdefault(index, []).append(subscription)
        subscription.timer = self.schedule(granted, lambda: self._expire(subscription))

    def _forget(self, subscription: Subscription) -> None:
        if subscription.timer is not None:
            subscription.timer.cancel()
            subscription.timer = None
        if self._by_key.get(subscription.key) is subscription:
            del self._by_key[subscription.key]
        index = (subscription.key.package, subscription.resource)
        watchers = self._by_resource.get(index)
        if watchers is not None and subscription in watchers:
            watchers.remove(subscription)
            if not watchers:
                del self._by_resource[index]

    def _expire(self, subscription: Subscription) -> None:
        log.info("subscription expired", package=subscription.key.package, to=subscription.resource)
        self.terminate(subscription, "timeout")

    # NOTIFY -------------------------------------------------------------------------

    def _push(self, subscription: Subscription) -> None:
        subscription._dirty = True
        if subscription._sending:
            return  # the running pump sends the newest state after the current NOTIFY
        subscription._sending = True
        task = asyncio.ensure_future(self._pump(subscription))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pump(self, subscription: Subscription) -> None:
        try:
            while subscription._dirty:
                subscription._dirty = False
                outcome, final = await self._notify_once(subscription)
                if final:
                    return
                if outcome is None or _subscription_gone(outcome):
                    log.info("subscriber gone", package=subscription.key.package)
                    self._forget(subscription)
                    subscription.ended = "gone"
                    return
        except Exception:
            log.exception("NOTIFY failed", package=subscription.key.package)
        finally:
            subscription._sending = False

    async def _notify_once(self, subscription: Subscription) -> tuple[ClientOutcome | None, bool]:
        """Send one NOTIFY of the state now; its outcome, and whether it was the last."""
        body = await subscription.package.state(subscription.resource)
        final = subscription.ended is not None  # told after the state was read
        if final:
            state = f"terminated;reason={subscription.ended}"
        else:
            state = f"active;expires={subscription.remaining(self._clock())}"
        kind = subscription.peer.kind
        request = subscription.dialog.create_request(
            Method.NOTIFY,
            via=Via.parse(self._sip.via(kind, to=subscription.peer.host)),
            contact=NameAddress.parse(subscription.contact),
            extra_headers=[
                ("Event", subscription.event),
                ("Subscription-State", state),
                ("Content-Type", subscription.package.content_type),
            ],
            body=body,
        )
        outcome = await self._send(request, subscription.peer)
        if outcome is not None and outcome.response is not None and outcome.response.is_success:
            subscription.notified += 1
        return outcome, final

    async def _send(self, request: Request, peer: Peer) -> ClientOutcome | None:
        answered: asyncio.Future[ClientOutcome] = asyncio.get_running_loop().create_future()

        def on_outcome(outcome: ClientOutcome) -> None:
            final = outcome.response is None or outcome.response.status >= StatusCode.OK
            if final and not answered.done():
                answered.set_result(outcome)

        try:
            self._sip.send_request(request, peer, on_outcome)
        except SipError:
            return None
        return await answered

    def _grant(self, incoming: IncomingRequest, asked: int | None) -> int | None:
        """The expiry granted for ``asked`` seconds; None after answering 423."""
        granted = self.limits.grant(asked)
        if granted is None:
            minimum = [("Min-Expires", str(self.limits.minimum))]
            incoming.respond(StatusCode.INTERVAL_TOO_BRIEF, headers=minimum)
        return granted

    def _contact(self, peer: Peer) -> str:
        transport = ";transport=tcp" if peer.kind is TransportKind.TCP else ""
        host = self._sip.advertised_host_for(peer.host)
        return f"<sip:{host}:{self._sip.local_port(peer.kind)}{transport}>"


def send_unsolicited(
    sip: SipServer,
    binding: Binding,
    *,
    event: str,
    content_type: str,
    body: bytes,
    state: str = "active",
) -> None:
    """NOTIFY ``binding``'s contact outside any subscription (fire and forget).

    Sent where its REGISTER came from, Request-URI = its contact, reusing the
    registration's Call-ID (as the check-sync NOTIFY does), so the phone and
    tools that match messages by Call-ID relate it to its registration.
    """
    try:
        kind = TransportKind(binding.transport)
        request = unsolicited_notify(
            sip, binding, kind, event=event, state=state, content_type=content_type, body=body
        )
    except (SipError, ValueError, KeyError):
        log.warning("no unsolicited NOTIFY for an unusable contact", contact=binding.contact)
        return
    sip.send_request(request, Peer(kind, binding.host, binding.port), _ignore)


def _ignore(outcome: ClientOutcome) -> None:
    if outcome.timed_out or outcome.transport_failed:
        log.info("unsolicited NOTIFY not answered")


def _event(request: Request) -> _Event | None:
    raw = request.headers.get("event")
    if raw is None:
        return None
    parts = [strip_lws(part) for part in split_outside(raw, ";")]
    package = parts[0].lower()
    if not package:
        raise SipError("empty Event header")
    event_id: str | None = None
    for parameter in parts[1:]:
        name, _, value = parameter.partition("=")
        if strip_lws(name).lower() == "id":
            event_id = strip_lws(value)
    return _Event(package=package, event_id=event_id, raw=raw.strip())


def _accepts(request: Request, content_type: str) -> bool:
    ranges = request.headers.values("accept")
    if not ranges:
        return "accept" not in request.headers  # absent: the package's default type
    kind, _, _ = content_type.partition("/")
    allowed = {content_type, f"{kind}/*", "*/*"}
    return any(strip_lws(item.split(";")[0]).lower() in allowed for item in ranges)


def _credentials(extension: Extension) -> tuple[str, str]:
    return extension.auth_id, extension.auth_password


def _subscription_gone(outcome: ClientOutcome) -> bool:
    if outcome.timed_out or outcome.transport_failed or outcome.response is None:
        return True
    return outcome.response.status in (
        StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST,
        StatusCode.REQUEST_TIMEOUT,
    )


def _reason(error: SipError) -> str:
    text = str(error).splitlines()[0] if str(error) else "Bad Request"
    return text[:80]
