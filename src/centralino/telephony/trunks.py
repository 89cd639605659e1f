"""The engine's SIP trunks: registration at providers, keep-alive, health.

Theory of operation. :class:`TrunkManager` holds the engine's current trunks
and outbound rules: loaded once at :meth:`~TrunkManager.start` through the
injected loaders, then kept current by the domain events on the bus
(``TrunkChanged``, ``OutboundRuleChanged``; ``ChangesMissed`` reloads both
whole). Trunk changes go through one queue, in order, because a trunk's
host name is resolved to an address (once per load or change) before the
trunk is used; :meth:`~TrunkManager.settled` waits for the queue.

For each enabled trunk whose registration is enabled, a pure
:class:`~centralino.sip.registration.RegistrationClient` keeps the binding
alive; this glue sends its REGISTERs through the SIP server, feeds it the
outcomes and arms one asyncio timer for the earliest deadline of every
client and keep-alive. A changed trunk reconfigures its client (the client
removes a moved binding before registering the new one); a trunk that is
disabled, deleted or moved to another registrar hands its client to a
retiring list where it un-REGISTERs (best effort) and is dropped.

Every enabled trunk is probed with OPTIONS every ``options_interval``
seconds: any final response within Timer F counts as answered; three
unanswered probes in a row, or a transport error, mark it down. A trunk
that registers is up while registered; one that does not is up unless the
probes say it is down (not yet probed counts as up).

Call routing asks :meth:`~TrunkManager.trunk_for_source` (which trunk a
request came from), :meth:`~TrunkManager.is_up`,
:meth:`~TrunkManager.has_capacity` and reads :attr:`~TrunkManager.rules`
(in priority order); it counts calls with ``call_started``/``call_ended``.
The manager is the ``TrunkStatuses`` port the management side reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import itertools
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import ChangesMissed, DomainEvent, OutboundRuleChanged, TrunkChanged
from centralino.domain.trunks import (
    OutboundRule,
    RegistrationState,
    Trunk,
    TrunkStatus,
    TrunkTransport,
)
from centralino.net.transport import Peer, TransportKind
from centralino.sip.address import NameAddress
from centralino.sip.headers import Via
from centralino.sip.message import make_request
from centralino.sip.registration import (
    BackoffPolicy,
    RegistrationAccount,
    RegistrationClient,
    RegistrationPhase,
)
from centralino.sip.uri import Uri
from centralino.telephony.sip_server import ClientOutcome, SipServer, new_tag

__all__ = ["HostResolver", "RuleLoader", "TrunkLoader", "TrunkManager", "resolve_host"]

log = structlog.get_logger("centralino.telephony.trunks")

TrunkLoader = Callable[[], Awaitable[Sequence[Trunk]]]
RuleLoader = Callable[[], Awaitable[Sequence[OutboundRule]]]
HostResolver = Callable[[str], Awaitable[str | None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_OPTIONS_MISSES_DOWN = 3
"""Unanswered keep-alives in a row before a trunk counts as down."""
_STOP_WAIT = 2.0
"""The longest :meth:`TrunkManager.stop` waits for un-REGISTERs to be answered."""


async def resolve_host(host: str) -> str | None:
    """The first address of ``host`` (an IP literal is returned as it is), or None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError:
        return None
    return str(found[0][4][0]) if found else None


@dataclass(slots=True, eq=False)
class _Registration:
    client: RegistrationClient
    peer: Peer


@dataclass(slots=True, eq=False)
class _Live:
    """What the engine knows of one trunk."""

    trunk: Trunk
    address: str | None
    networks: tuple[Network, ...]
    registration: _Registration | None = None
    options_due: float | None = None
    options_in_flight: int | None = None
    """The token of the keep-alive waiting for its answer."""
    options_misses: int = 0
    options_ok: bool | None = None
    options_down: bool = False
    options_checked_at: float | None = None
    calls: int = 0
    error: str | None = None

    @property
    def peer(self) -> Peer | None:
        if self.address is None:
            return None
        kind = TransportKind(self.trunk.transport.value)
        return Peer(kind, self.address, self.trunk.port)


@dataclass(slots=True)
class _Work:
    name: str | None = None
    trunk: Trunk | None = None
    reload: bool = False
    done: asyncio.Future[None] | None = field(default=None)


class TrunkManager:
    """The engine's trunks and outbound rules, registrations and health."""

    def __init__(
        self,
        *,
        sip: SipServer,
        load_trunks: TrunkLoader,
        load_rules: RuleLoader,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        resolve: HostResolver = resolve_host,
        options_interval: float = 30.0,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self._sip = sip
        self._load_trunks = load_trunks
        self._load_rules = load_rules
        self._clock = clock
        self._wall_clock = wall_clock
        self._resolve = resolve
        self._options_interval = options_interval
        self._backoff = backoff
        self._live: dict[str, _Live] = {}
        self._rules: dict[str, OutboundRule] = {}
        self._ordered_rules: tuple[OutboundRule, ...] = ()
        self._retiring: list[_Registration] = []
        self._queue: asyncio.Queue[_Work] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._running = False
        self._tokens = itertools.count(1)
        self._all_retired = asyncio.Event()

    # Life cycle -----------------------------------------------------------------

    async def start(self, bus: LocalEventBus | None = None) -> None:
        """Load trunks and rules, start registering and probing, follow ``bus``.

        Call after the SIP server's transports are open (the contact names
        their port).
        """
        self._running = True
        await self._reload()
        if bus is not None:
            self._unsubscribe = bus.subscribe(self.handle_event)
        self._worker = asyncio.ensure_future(self._work_loop())

    async def stop(self, within: float = _STOP_WAIT) -> None:
        """Stop following events, un-REGISTER (waiting up to ``within`` s), cancel timers."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        for name in list(self._live):
            self._retire(self._live.pop(name))
        self._running = False
        self._service()
        if self._retiring:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_retired.wait(), within)
        self._retiring.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def settled(self) -> None:
        """Wait until every trunk change received so far is applied."""
        await self._queue.join()

    # Events ---------------------------------------------------------------------------

    def handle_event(self, event: DomainEvent) -> None:
        """Apply a trunk or rule change (a whole reload for ``ChangesMissed``)."""
        match event:
            case TrunkChanged(name=name, trunk=trunk):
                self._queue.put_nowait(_Work(name=name, trunk=trunk))
            case OutboundRuleChanged(name=name, rule=rule):
                self._apply_rule(name, rule)
            case ChangesMissed():
                self._queue.put_nowait(_Work(reload=True))
            case _:
                pass

    async def _work_loop(self) -> None:
        while True:
            work = await self._queue.get()
            try:
                if work.reload:
                    await self._reload()
                elif work.name is not None:
                    await self._apply_trunk(work.name, work.trunk)
            except Exception:
                log.exception("trunk change not applied", trunk=work.name)
            finally:
                self._queue.task_done()

    async def _reload(self) -> None:
        trunks = await self._load_trunks()
        rules = await self._load_rules()
        self._rules = {rule.name: rule for rule in rules}
        self._order_rules()
        names = {trunk.name for trunk in trunks}
        for name in [name for name in self._live if name not in names]:
            await self._apply_trunk(name, None)
        for trunk in trunks:
            await self._apply_trunk(trunk.name, trunk)

    def _apply_rule(self, name: str, rule: OutboundRule | None) -> None:
        if rule is None:
            self._rules.pop(name, None)
        else:
            self._rules[name] = rule
        self._order_rules()

    def _order_rules(self) -> None:
        ordered = sorted(self._rules.values(), key=lambda rule: (rule.priority, rule.name))
        self._ordered_rules = tuple(ordered)

    async def _apply_trunk(self, name: str, trunk: Trunk | None) -> None:
        before = self._live.get(name)
        if trunk is None:
            if before is not None:
                self._retire(self._live.pop(name))
            self._service()
            return
        if before is not None and before.trunk == trunk and before.address is not None:
            return
        address = await self._resolve(trunk.host)
        live = _Live(trunk=trunk, address=address, networks=_networks(trunk))
        if address is None:
            live.error = f"cannot resolve the host {trunk.host!r}"
            log.warning("trunk host not resolved", trunk=name, host=trunk.host)
        if before is not None:
            live.calls = before.calls
            live.registration = before.registration
            if before.peer == live.peer and before.trunk.enabled and trunk.enabled:
                _keep_probe(before, live)
        self._live[name] = live
        self._register(live)
        if trunk.enabled and live.options_due is None:
            live.options_due = self._clock()  # probe a new or changed trunk at once
        self._service()

    # Registration ---------------------------------------------------------------------

    def _register(self, live: _Live) -> None:
        """Start, reconfigure or retire the trunk's client to match the trunk."""
        account = self._account(live)
        current = live.registration
        peer = live.peer
        if current is not None and (account is None or current.peer != peer):
            self._retire(live)
            current = None
        if account is None or peer is None:
            return
        now = self._clock()
        if current is None:
            client = RegistrationClient(account, policy=self._backoff)
            live.registration = _Registration(client=client, peer=peer)
            client.start(now)
        else:
            current.client.reconfigure(account, now)

    def _account(self, live: _Live) -> RegistrationAccount | None:
        trunk = live.trunk
        registration = trunk.registration
        if not (trunk.enabled and registration.enabled) or live.address is None:
            return None
        kind = TransportKind(trunk.transport.value)
        try:
            contact_port = self._sip.local_port(kind)
        except KeyError:
            live.error = f"the PBX has no {kind.value.upper()} transport"
            return None
        return RegistrationAccount(
            registrar_host=trunk.host,
            registrar_port=trunk.port,
            transport=trunk.transport.value,
            username=registration.username or "",
            domain=trunk.host,
            auth_user=registration.digest_user,
            password=registration.password or "",
            expires=registration.expires,
            contact_host=self._sip.advertised_host_for(live.address),
            contact_port=contact_port,
        )

    def _retire(self, live: _Live) -> None:
        registration, live.registration = live.registration, None
        if registration is None:
            return
        registration.client.stop(self._clock())
        if not registration.client.finished:
            self._retiring.append(registration)

    def _send_registers(self, registration: _Registration) -> None:
        for request in registration.client.requests_to_send():
            self._sip.send_request(
                request, registration.peer, lambda outcome: self._registered(registration, outcome)
            )

    def _registered(self, registration: _Registration, outcome: ClientOutcome) -> None:
        client, now = registration.client, self._clock()
        if outcome.response is not None:
            client.receive_response(outcome.response, now)
        elif outcome.timed_out:
            client.transaction_failed(now, reason="no answer (timeout)")
        else:
            client.transaction_failed(now, reason="transport error")
        snapshot = client.snapshot(now)
        if snapshot.last_error is not None and snapshot.phase is RegistrationPhase.BACKING_OFF:
            log.info(
                "trunk registration failed",
                registrar=registration.peer.address,
                error=snapshot.last_error,
                retry_in=round((snapshot.next_refresh or now) - now, 1),
            )
        self._service()

    # Keep-alive ------------------------------------------------------------------------

    def _probe(self, live: _Live, now: float) -> None:
        live.options_due = now + self._options_interval
        peer = live.peer
        if peer is None or live.options_in_flight is not None:
            return
        try:
            via = Via.parse(self._sip.via(peer.kind, to=peer.host))
        except KeyError:  # no transport of the trunk's kind: it cannot be reached
            live.options_ok, live.options_down = False, True
            return
        host = self._sip.advertised_host_for(peer.host)
        target = Uri(host=live.trunk.host, port=live.trunk.port)
        if peer.kind is TransportKind.TCP:
            target = target.with_parameter("transport", "tcp")
        request = make_request(
            "OPTIONS",
            target,
            via=via,
            from_address=NameAddress(uri=Uri(user="centralino", host=host)).with_tag(new_tag()),
            to_address=NameAddress(uri=Uri(host=live.trunk.host)),
            call_id=f"{secrets.token_hex(10)}@centralino",
            cseq=1,
            extra_headers=[("User-Agent", "Centralino")],
        )
        token = live.options_in_flight = next(self._tokens)
        name = live.trunk.name
        self._sip.send_request(request, peer, lambda outcome: self._probed(name, token, outcome))

    def _probed(self, name: str, token: int, outcome: ClientOutcome) -> None:
        live = self._live.get(name)
        if live is None or live.options_in_flight != token:
            return  # the trunk changed or left meanwhile
        if outcome.response is not None and outcome.response.status < 200:
            return
        live.options_in_flight = None
        live.options_checked_at = self._wall_clock()
        if outcome.response is not None:
            live.options_ok, live.options_misses, live.options_down = True, 0, False
            return
        live.options_ok = False
        live.options_misses += 1
        if outcome.transport_failed or live.options_misses >= _OPTIONS_MISSES_DOWN:
            if not live.options_down:
                log.warning("trunk down: keep-alive unanswered", trunk=live.trunk.name)
            live.options_down = True

    # The one timer -----------------------------------------------------------------------

    def _service(self) -> None:
        """Send what the clients want, run due deadlines, re-arm the timer."""
        now = self._clock()
        for registration in self._registrations():
            registration.client.handle_timer(now)
            self._send_registers(registration)
        self._retiring = [item for item in self._retiring if not item.client.finished]
        if not self._retiring:
            self._all_retired.set()
        else:
            self._all_retired.clear()
        if self._running:
            for live in list(self._live.values()):
                if live.trunk.enabled and live.options_due is not None and live.options_due <= now:
                    self._probe(live, now)
        self._arm(now)

    def _registrations(self) -> list[_Registration]:
        live = [item.registration for item in self._live.values() if item.registration]
        return live + self._retiring

    def _arm(self, now: float) -> None:
        deadlines = [
            deadline
            for registration in self._registrations()
            if (deadline := registration.client.get_timer()) is not None
        ]
        if self._running:
            deadlines += [
                live.options_due
                for live in self._live.values()
                if live.trunk.enabled and live.options_due is not None
            ]
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadlines:
            delay = max(0.0, min(deadlines) - now)
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self._service()
        except Exception:
            log.exception("trunk timer failed")

    # What call routing and the management side read ----------------------------------------

    @property
    def trunks(self) -> Sequence[Trunk]:
        """Every trunk the engine knows (enabled or not), by name."""
        return [self._live[name].trunk for name in sorted(self._live)]

    @property
    def rules(self) -> Sequence[OutboundRule]:
        """Every outbound rule, in the order they are tried (priority, then name)."""
        return self._ordered_rules

    def trunk(self, name: str) -> Trunk | None:
        """The trunk called ``name``, if the engine knows it."""
        live = self._live.get(name)
        return live.trunk if live is not None else None

    def trunk_for_source(
        self, ip: str, port: int | None = None, transport: TransportKind = TransportKind.UDP
    ) -> Trunk | None:
        """The enabled trunk a request from ``ip``:``port`` over ``transport`` is from, or None.

        The one rule of trunk recognition (its calls are never challenged):

        * from the trunk's resolved address *and* its port (``port`` None:
          any port). The port counts: phones and a provider may share an
          address (one NAT, or the loopback in tests), and a phone must
          never pass for a provider;
        * over TCP, from a TCP trunk's address, any port: a provider sends
          on a connection it opens itself, from a port of its own choosing;
        * from a network in the trunk's ``allowed_addresses``, any port.
        """
        try:
            source = ipaddress.ip_address(ip)
        except ValueError:
            return None
        address = str(source)
        enabled = [live for live in self._live.values() if live.trunk.enabled]
        for live in enabled:
            if live.address == address and port in (None, live.trunk.port):
                return live.trunk
        if transport is TransportKind.TCP:
            for live in enabled:
                if live.address == address and live.trunk.transport is TrunkTransport.TCP:
                    return live.trunk
        for live in enabled:
            if any(source in network for network in live.networks):
                return live.trunk
        return None

    def address(self, name: str) -> str | None:
        """The IP address the trunk's host resolved to (None: unknown or unresolved)."""
        live = self._live.get(name)
        return live.address if live is not None else None

    def is_up(self, name: str) -> bool:
        """Whether outbound calls may use the trunk now."""
        live = self._live.get(name)
        return live is not None and self._up(live, self._clock())

    def has_capacity(self, name: str) -> bool:
        """Whether one more call fits under the trunk's ``max_calls``."""
        live = self._live.get(name)
        if live is None:
            return False
        limit = live.trunk.max_calls
        return limit is None or live.calls < limit

    def call_started(self, name: str) -> None:
        """Count a call on the trunk (in either direction)."""
        live = self._live.get(name)
        if live is not None:
            live.calls += 1

    def call_ended(self, name: str) -> None:
        """Count a call on the trunk as ended."""
        live = self._live.get(name)
        if live is not None and live.calls > 0:
            live.calls -= 1

    def status(self, name: str) -> TrunkStatus | None:
        """The trunk's health now (the ``TrunkStatuses`` port)."""
        live = self._live.get(name)
        if live is None:
            return None
        now = self._clock()
        state, last_response, error, refresh = self._registration_view(live, now)
        return TrunkStatus(
            name=name,
            enabled=live.trunk.enabled,
            registration=state,
            up=self._up(live, now),
            last_response=last_response,
            last_error=error,
            next_refresh=self._wall(refresh, now),
            options_ok=live.options_ok,
            options_checked_at=self._wall_at(live.options_checked_at),
            calls_in_progress=live.calls,
        )

    def _registration_view(
        self, live: _Live, now: float
    ) -> tuple[RegistrationState, int | None, str | None, float | None]:
        registration = live.registration
        if registration is None:
            if live.trunk.enabled and live.trunk.registration.enabled:
                return RegistrationState.FAILED, None, live.error, None
            return RegistrationState.DISABLED, None, live.error, None
        snapshot = registration.client.snapshot(now)
        if snapshot.bound:
            state = RegistrationState.REGISTERED
        elif snapshot.phase is RegistrationPhase.BACKING_OFF:
            state = RegistrationState.FAILED
        else:
            state = RegistrationState.REGISTERING
        return state, snapshot.last_response, snapshot.last_error, snapshot.next_refresh

    def _up(self, live: _Live, now: float) -> bool:
        trunk = live.trunk
        if not trunk.enabled or live.address is None:
            return False
        if live.registration is not None:
            return live.registration.client.bound(now)
        if trunk.registration.enabled:
            return False
        return not live.options_down

    def _wall(self, deadline: float | None, now: float) -> dt.datetime | None:
        if deadline is None:
            return None
        return dt.datetime.fromtimestamp(self._wall_clock() + (deadline - now), dt.UTC)

    @staticmethod
    def _wall_at(when: float | None) -> dt.datetime | None:
        return None if when is None else dt.datetime.fromtimestamp(when, dt.UTC)


def _keep_probe(before: _Live, after: _Live) -> None:
    """A trunk changed without moving: its keep-alive history stays."""
    after.options_due = before.options_due
    after.options_in_flight = before.options_in_flight
    after.options_misses = before.options_misses
    after.options_ok = before.options_ok
    after.options_down = before.options_down
    after.options_checked_at = before.options_checked_at


def _networks(trunk: Trunk) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trunk.allowed_addresses)
