"""The registrar: REGISTER handling, the location service, binding life cycle.

Theory of operation. A REGISTER is first authenticated by the
:class:`~centralino.telephony.auth.Authenticator` (401 challenge, 403...).
The To URI's user must then be the extension's number or one of its SIP user
names (a phone may only register its own address, else 403). The request is
turned into a :class:`~centralino.telephony.bindings.RegisterRequest` and
applied to the pure :class:`~centralino.telephony.bindings.BindingTable`;
the outcome is answered (200 listing every current contact with its
remaining ``expires``, or 400/403/423/500).

Persistence is write-through with coalescing: every change marks the
extension dirty and a background task writes the dirty extensions' bindings
to the :class:`~centralino.domain.location.LocationStore` a moment later, in
one transaction (at thousands of REGISTERs per second, one write each would
cost more than the SIP work). A *refresh* (the same contacts at the same
addresses, only their expiries later) is written with the next change, or
after ``refresh_delay`` (30 s) at the latest: the stored bindings route
calls right until their older expiry, and most REGISTERs are refreshes.
:meth:`Registrar.start` loads the stored bindings, so a restart keeps them;
:meth:`Registrar.stop` writes what is left.

Bindings end when they expire (a sweep every few seconds), and when the
management side says so through domain events: ``CredentialsChanged`` ends
them and sends each phone a NOTIFY ``Event: check-sync`` (re-provision, so
it picks up the new credentials); a deleted or disabled extension loses its
bindings, and a ``lan_only`` one its bindings from outside the LAN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import CredentialsChanged, DomainEvent, ExtensionDeleted
from centralino.domain.extension import Extension
from centralino.domain.location import Binding, LocationStore
from centralino.domain.ports import Clock
from centralino.net.transport import Peer
from centralino.sip.address import NameAddress
from centralino.sip.codes import StatusCode
from centralino.sip.errors import SipError
from centralino.sip.headers import ContactStar, parse_integer
from centralino.sip.prescan import Scan
from centralino.tasks import cancel_and_wait
from centralino.telephony.auth import Authenticator
from centralino.telephony.bindings import (
    BindingTable,
    ContactRequest,
    ExpiryPolicy,
    RegisterOutcome,
    RegisterRequest,
)
from centralino.telephony.directory import Directory
from centralino.telephony.notifier import CheckSyncNotifier
from centralino.telephony.sip_server import IncomingRequest

__all__ = ["ALLOW", "Registrar"]

log = structlog.get_logger("centralino.telephony")

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, NOTIFY"
_MAX_EXPIRES = 2**32 - 1


class Registrar:
    """Answers REGISTER and OPTIONS; owns the bindings of every extension."""

    def __init__(
        self,
        *,
        authenticator: Authenticator,
        directory: Directory,
        store: LocationStore,
        clock: Clock,
        notifier: CheckSyncNotifier,
        policy: ExpiryPolicy | None = None,
        flush_delay: float = 0.2,
        sweep_interval: float = 10.0,
        refresh_delay: float = 30.0,
    ) -> None:
        self._auth = authenticator
        self._directory = directory
        self._store = store
        self._clock = clock
        self._notifier = notifier
        self.table = BindingTable(policy)
        self._flush_delay = flush_delay
        self._sweep_interval = sweep_interval
        self._refresh_delay = refresh_delay
        self._dirty: set[str] = set()
        self._refreshed: set[str] = set()  # written with the next change, or later
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        directory.on_change(self._extension_reloaded)
        directory.on_reload(self._revalidate)

    # Life cycle -----------------------------------------------------------------

    async def start(self, bus: LocalEventBus | None = None) -> None:
        """Load stored bindings, follow ``bus`` and start the background work."""
        self.table.load(await self._store.all(), self._clock.now())
        if bus is not None:
            self._unsubscribe = bus.subscribe(self.handle_event)
        self._tasks = [
            asyncio.create_task(self._flush_loop()),
            asyncio.create_task(self._sweep_loop()),
            asyncio.create_task(self._refresh_loop()),
        ]

    async def stop(self) -> None:
        """Stop the background work and write every pending change."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        await self.flush()

    # Queries ----------------------------------------------------------------------

    def contacts(self, number: str) -> list[Binding]:
        """The live (unexpired) bindings of ``number``, for routing calls to it."""
        return self.table.current(number, self._clock.now())

    def registrations(self, number: str | None = None) -> list[Binding]:
        """Current bindings of one extension, or of every extension by number."""
        now = self._clock.now()
        numbers = [number] if number is not None else sorted(self.table.numbers())
        return [binding for n in numbers for binding in self.table.current(n, now)]

    # SIP handlers -----------------------------------------------------------------

    def handle_register(self, incoming: IncomingRequest) -> None:
        """Authenticate and apply one REGISTER, answering it."""
        identity = self._auth.authenticate(incoming, proxy=False)
        if identity is None:
            return
        extension = identity.extension
        try:
            request = self._register_request(incoming, extension, identity.auth_user)
        except SipError as exc:
            incoming.respond(StatusCode.BAD_REQUEST, _reason(exc))
            return
        if request is None:
            incoming.respond(StatusCode.FORBIDDEN, "Not the extension's address")
            return
        now = self._clock.now()
        outcome = self.table.apply(request, now)
        if outcome.changed and outcome.status == StatusCode.OK:
            if outcome.refreshed:
                self._refreshed.add(extension.number)
            else:
                self._mark(extension.number)
        if incoming.peer.kind.reliable and request.contacts and outcome.status == StatusCode.OK:
            # Where the phone listens, should its connection be gone when a
            # call comes (RFC 3261 §18.1.1: then a new one is opened).
            uri = request.contacts[0].uri
            if uri.host:
                incoming.server.remember_contact(
                    incoming.peer, (uri.host.strip("[]"), uri.port or 5060)
                )
        self._answer(incoming, outcome)

    def stateless_register(self, scan: Scan, data: bytes, peer: Peer) -> bytes | None:
        """Challenge a REGISTER without credentials statelessly (``SipServer.route_stateless``).

        Only a REGISTER with its mandatory fields and no credentials is
        answered here (401, or 403 from a blocked address); the rest takes
        the full path through :meth:`handle_register`. Such a REGISTER is
        not validated beyond the pre-scan: one malformed in other ways gets
        its 400 when it returns with credentials.
        """
        if scan.credentials or not scan.complete:
            return None
        return self._auth.stateless_challenge(data, peer.host, proxy=False, scan=scan)

    def handle_options(self, incoming: IncomingRequest) -> None:
        """Answer OPTIONS (phones use it as a keep-alive) with 200."""
        if incoming.transaction is not None:
            incoming.respond(StatusCode.OK, headers=[("Allow", ALLOW)])

    def _register_request(
        self, incoming: IncomingRequest, extension: Extension, auth_user: str
    ) -> RegisterRequest | None:
        headers = incoming.request.headers
        user = headers.to_address().uri.user or ""
        names = {extension.number, *(n.lower() for n in extension.sip_user_names)}
        if user not in names and user.lower() not in names:
            return None
        contacts = headers.contacts()
        star = isinstance(contacts, ContactStar)
        peer = incoming.peer
        return RegisterRequest(
            number=extension.number,
            contacts=() if isinstance(contacts, ContactStar) else _contact_requests(contacts),
            remove_all=star,
            expires_header=headers.expires(),
            call_id=headers.call_id(),
            cseq=headers.cseq().number,
            transport=peer.kind.value,
            host=peer.host,
            port=peer.port,
            user_agent=headers.get("user-agent") or "",
            auth_user=auth_user,
        )

    def _answer(self, incoming: IncomingRequest, outcome: RegisterOutcome) -> None:
        if outcome.status == StatusCode.INTERVAL_TOO_BRIEF:
            min_expires = [("Min-Expires", str(outcome.min_expires))]
            incoming.respond(outcome.status, headers=min_expires)
            return
        if outcome.status != StatusCode.OK:
            incoming.respond(outcome.status, outcome.reason)
            return
        now = self._clock.now()
        contacts = [
            ("Contact", f"<{binding.contact}>;expires={binding.remaining(now)}")
            for binding in outcome.bindings
        ]
        incoming.respond(StatusCode.OK, headers=contacts)

    # Ending bindings ------------------------------------------------------------

    def handle_event(self, event: DomainEvent) -> None:
        """End bindings when credentials change or the extension is deleted."""
        match event:
            case CredentialsChanged(number=number):
                for binding in self.end(number):
                    self._notifier.check_sync(binding)
            case ExtensionDeleted(number=number):
                self.end(number)
            case _:
                pass

    def end(self, number: str) -> list[Binding]:
        """Remove every binding of ``number`` (persisted); return them."""
        removed = self.table.remove_all(number)
        if removed:
            log.info("registrations ended", number=number, contacts=len(removed))
            self._mark(number)
        return removed

    def _extension_reloaded(
        self, number: str, before: Extension | None, after: Extension | None
    ) -> None:
        if after is None or after.options.disabled:
            self.end(number)
        elif after.options.lan_only:
            self._drop_outside_lan(number)

    def _revalidate(self) -> None:
        """After a whole reload: end what the extensions no longer allow.

        Used when changes were missed (the feed was pruned past this node's
        cursor): a binding whose extension is gone or disabled, or whose
        authentication user name is no longer the extension's, ends.
        """
        for number in list(self.table.numbers()):
            extension = self._directory.by_number(number)
            names = {n.lower() for n in extension.sip_user_names} if extension else set()
            stale = [
                b for b in self.contacts(number) if b.auth_user and b.auth_user.lower() not in names
            ]
            if extension is None or extension.options.disabled or stale:
                for binding in self.end(number):
                    if extension is not None:
                        self._notifier.check_sync(binding)
            elif extension.options.lan_only:
                self._drop_outside_lan(number)

    def _drop_outside_lan(self, number: str) -> None:
        bindings = self.contacts(number)
        outside = [b for b in bindings if not self._directory.is_local(b.host)]
        if outside:
            self.table.remove_all(number)
            kept = [b for b in bindings if b not in outside]
            self.table.load(kept, self._clock.now())
            self._mark(number)

    # Persistence ---------------------------------------------------------------

    def _mark(self, number: str) -> None:
        self._dirty.add(number)
        self._wake.set()

    async def flush(self) -> None:
        """Write the bindings of every changed or refreshed extension now."""
        self._dirty |= self._refreshed
        self._refreshed = set()
        await self._write()

    async def _write(self) -> None:
        """Write the bindings of every changed extension (refreshes wait)."""
        if not self._dirty:
            return
        numbers, self._dirty = self._dirty, set()
        self._refreshed -= numbers  # written now with the rest
        now = self._clock.now()
        changes = {number: self.table.current(number, now) for number in numbers}
        try:
            await self._store.replace_many(changes)
        except Exception:
            log.exception("bindings not saved; will retry", extensions=len(numbers))
            self._dirty |= numbers

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._flush_delay)  # coalesce a burst into one write
            self._wake.clear()
            await self._write()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_delay)
            if self._refreshed:
                self._dirty |= self._refreshed
                self._refreshed = set()
                self._wake.set()

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            for number in self.table.expire(self._clock.now()):
                self._mark(number)


def _contact_requests(contacts: Sequence[NameAddress]) -> list[ContactRequest]:
    requests: list[ContactRequest] = []
    for contact in contacts:
        raw = contact.parameters.get("expires")
        expires = None if raw is None else parse_integer(raw, "expires", _MAX_EXPIRES)
        requests.append(ContactRequest(uri=contact.uri, expires=expires))
    return requests


def _reason(error: SipError) -> str:
    text = str(error).splitlines()[0] if str(error) else "Bad Request"
    return text[:80]
