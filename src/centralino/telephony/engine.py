"""The call engine, assembled: SIP transports, directory, authenticator, registrar.

Theory of operation. :class:`Telephony` is given plain settings
(:class:`TelephonySettings`) and its collaborators, already built and wired
by the composition root (:func:`centralino.app.build_engine`: the directory,
the SIP server, authenticator, registrar, subscriptions, media anchor, the
call core and its glue), all timed by one monotonic clock.
:meth:`Telephony.start` loads the directory and the stored bindings, follows
the domain events, binds UDP and TCP on the same port and routes REGISTER and
OPTIONS; :meth:`Telephony.stop` undoes it all in reverse order and writes the
last binding changes.

Calls: the B2BUA glue (:class:`~centralino.telephony.calls.B2bua`) is routed
INVITE, ACK, BYE, CANCEL, INFO and UPDATE; it feeds the pure call core.

Every INVITE is decided by the routing engine (``centralino.routing``) over
the directory's extensions and office hours and the live contacts and calls.
Given a ``StatusChanger`` (the management side's), the engine also serves
the status dial codes and runs the office-hours status switch
(:mod:`.office_switch`).

The management side sees the engine through :meth:`Telephony.live_view`, a
``LiveView`` (registrations and blocked addresses).

The host the PBX names itself by (Via, Contact, SDP) is chosen per peer by
``sip.advertised_host_for(address)``: the system setting
``network.public_host`` for peers outside ``network.local_networks`` when it
is set, ``TelephonySettings.advertised_host`` otherwise (read at each
message: a settings change applies without a restart).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog

from centralino.calls import CallCore
from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import LiveCalls
from centralino.domain.events import AddressUnblocked, DomainEvent
from centralino.domain.location import Binding, BlockedAddress, LiveView
from centralino.domain.ports import (
    CallRecordings,
    Clock,
    Mailboxes,
)
from centralino.net import open_tcp, open_udp
from centralino.net.tcp_limits import TcpLimits
from centralino.net.transport import TransportKind
from centralino.telephony.auth import Authenticator
from centralino.telephony.bindings import ExpiryPolicy
from centralino.telephony.call_records import CallRecordWriter
from centralino.telephony.calls import B2bua
from centralino.telephony.directory import Directory
from centralino.telephony.media import AnchorSdp
from centralino.telephony.mwi import MessageWaiting
from centralino.telephony.office_switch import OfficeHoursSwitch
from centralino.telephony.recording import CallRecorder
from centralino.telephony.registrar import Registrar
from centralino.telephony.sip_server import SipServer
from centralino.telephony.subscriptions import Subscriptions
from centralino.telephony.throttle import ThrottlePolicy
from centralino.telephony.trunks import TrunkManager

__all__ = ["EngineParts", "Telephony", "TelephonySettings"]

log = structlog.get_logger("centralino.telephony")

_PORT_ATTEMPTS = 20
"""How many system-chosen UDP ports to try before one is free for TCP too (port 0)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TelephonySettings:
    """What the engine needs from the process configuration."""

    bind: str = "0.0.0.0"
    port: int = 5060
    advertised_host: str = "127.0.0.1"
    realm: str = "centralino"
    expiry: ExpiryPolicy = field(default_factory=ExpiryPolicy)
    nonce_lifetime: float = 300.0
    nonce_entries: int = 100_000
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    """Bars and durations of the defence against password guessing (:mod:`.throttle`)."""
    ring_timeout: float = 180.0
    """The longest a caller waits for an answer, across forwards, before 408.

    Each extension's own ``no_answer_seconds`` times its ring; this only caps
    a long chain of forwards."""
    office_switch: bool = True
    """Run the office-hours status switch (needs a status changer)."""
    media_anchoring: bool = True
    """Relay every call's RTP through the PBX (else the phones send it to each other)."""
    rtp_port_min: int = 10000
    rtp_port_max: int = 20000
    """The UDP port range of anchored media (an even RTP port, the odd RTCP above)."""
    tcp: TcpLimits = field(default_factory=TcpLimits)
    """SIP over TCP: connection caps, idle timeouts, message sizes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineParts:
    """The engine's collaborators, built by the composition root (``centralino.app``)."""

    directory: Directory
    sip: SipServer
    authenticator: Authenticator
    registrar: Registrar
    subscriptions: Subscriptions
    calls: CallCore
    b2bua: B2bua
    media: AnchorSdp | None = None
    recorder: CallRecorder | None = None
    mwi: MessageWaiting | None = None
    office_switch: OfficeHoursSwitch | None = None
    mailboxes: Mailboxes | None = None
    recordings: CallRecordings | None = None
    call_records: CallRecordWriter | None = None
    trunks: TrunkManager | None = None


class Telephony:
    """The running call engine."""

    def __init__(
        self,
        settings: TelephonySettings,
        *,
        parts: EngineParts,
        events: LocalEventBus,
        clock: Clock,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.events = events
        self.clock = clock
        self.mailboxes = parts.mailboxes
        """Voicemail boxes (the management side's); None: no voicemail, no lamps."""
        self.recordings = parts.recordings
        """Where recorded calls are filed; None: calls are not recorded."""
        self.directory = parts.directory
        self.sip = parts.sip
        self.authenticator = parts.authenticator
        self.registrar = parts.registrar
        self.subscriptions = parts.subscriptions
        """SUBSCRIBE/NOTIFY (RFC 6665); without an event package SUBSCRIBE gets 489."""
        self.mwi = parts.mwi
        self.media = parts.media
        self.recorder = parts.recorder
        """Records the calls of extensions with ``record_all_calls`` (needs anchoring)."""
        self.calls = parts.calls
        """The call core: every call in progress (the ``LiveCalls`` port too)."""
        self.b2bua = parts.b2bua
        self.trunks = parts.trunks
        """The SIP trunks: registrations, keep-alives, health (the ``TrunkStatuses`` port)."""
        self.call_records = parts.call_records
        """Stores the records of finished calls (``CallRecordCreated``); None: not kept."""
        self.office_switch = parts.office_switch
        self._block_listeners: list[Callable[[], None]] = []
        self.authenticator.on_block = lambda _block: self._blocks_changed()
        if self.office_switch is not None:
            switch = self.office_switch
            self.directory.on_change(switch.extension_changed)
            self.directory.on_schedule_change(lambda _name: switch.wake())
        self._wall_clock = wall_clock
        self._unsubscribe_security: Callable[[], None] | None = None
        self._started = False

    async def start(self) -> None:
        """Load state, follow domain events, open the SIP transports."""
        await self.directory.load()
        self.directory.subscribe(self.events)
        if self.call_records is not None:
            self.call_records.start(self.events)
        self._unsubscribe_security = self.events.subscribe(self._security_event)
        await self.registrar.start(self.events)
        await self._open_transports(self.settings.bind, self.settings.port)
        self.sip.route("REGISTER", self.registrar.handle_register)
        # Challenges answered statelessly, before any transaction (as Kamailio's sl).
        self.sip.route_stateless("REGISTER", self.registrar.stateless_register)
        self.sip.route("OPTIONS", self.registrar.handle_options)
        self.sip.route("SUBSCRIBE", self.subscriptions.handle_subscribe)
        if self.mwi is not None:
            self.mwi.start(self.events)
        for method, handler in self.b2bua.handlers().items():
            self.sip.route(method, handler)
        if self.recorder is not None:
            self.recorder.subscribe(self.events)
        if self.office_switch is not None:
            self.office_switch.start()
        if self.trunks is not None:
            await self.trunks.start(self.events)  # its REGISTERs name the open port
        self._started = True

    async def _open_transports(self, host: str, port: int) -> None:
        """UDP and TCP on the same port; with port 0, a port free for both."""
        for attempt in range(_PORT_ATTEMPTS):
            udp = await open_udp(host, port, self.sip.receive)
            try:
                tcp = await open_tcp(
                    host,
                    udp.local_address[1],
                    self.sip.receive,
                    limits=self.settings.tcp,
                    on_reject=self.sip.reject,
                )
            except OSError:
                udp.close()
                if port != 0 or attempt == _PORT_ATTEMPTS - 1:
                    raise
                continue  # the system's UDP pick is taken for TCP: pick again
            self.sip.add_transport(udp)
            self.sip.add_transport(tcp)
            return

    async def stop(self) -> None:
        """Close transports, stop background work, save the bindings."""
        if self.office_switch is not None:
            await self.office_switch.stop()
        if self.mwi is not None:
            self.mwi.stop()
        await self.subscriptions.close()
        if self.trunks is not None and self._started:
            await self.trunks.stop()  # un-REGISTER while the transports are open
        if self._started:
            self.sip.close()
        if self.media is not None:
            self.media.release_all()  # running applications hear the hang-up...
        await self.b2bua.drain_applications()  # ...and finish (a message being left is saved)
        self.b2bua.close()
        if self.recorder is not None:
            await self.recorder.close()  # the closed media filed its calls: store them
        if self.call_records is not None:
            await self.call_records.stop()  # the ended calls' records are written
        await self.registrar.stop()
        await self.directory.close()
        if self._unsubscribe_security is not None:
            self._unsubscribe_security()
            self._unsubscribe_security = None
        self._started = False

    # calls ------------------------------------------------------------------------

    def live_calls(self) -> LiveCalls:
        """The calls in progress, as the management side sees them."""
        return self.calls

    # ------------------------------------------------------------------------------

    def port(self, kind: TransportKind = TransportKind.UDP) -> int:
        """The port a transport listens on (after :meth:`start`)."""
        return self.sip.local_port(kind)

    def live_view(self) -> LiveView:
        """The engine as the management side sees it."""
        return _EngineView(self)

    # security ---------------------------------------------------------------------

    def on_blocks_changed(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` when a block starts or is lifted (not when one expires)."""
        self._block_listeners.append(listener)

    def next_block_expiry(self) -> float | None:
        """When the earliest block ends (wall-clock seconds), or None."""
        return self.authenticator.throttle.next_expiry()

    def wall_time(self) -> float:
        """The time the throttle is told (wall-clock seconds)."""
        return self._wall_clock()

    def _security_event(self, event: DomainEvent) -> None:
        if isinstance(event, AddressUnblocked):
            self.authenticator.unblock(event.address)

    def _blocks_changed(self) -> None:
        for listener in list(self._block_listeners):
            listener()


class _EngineView:
    def __init__(self, engine: Telephony) -> None:
        self._engine = engine

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        return self._engine.registrar.registrations(number)

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        now = self._engine.wall_time()
        return [
            BlockedAddress(
                address=block.address,
                user=block.user,
                failures=block.failures,
                blocked_until=dt.datetime.fromtimestamp(block.until, dt.UTC),
            )
            for block in self._engine.authenticator.throttle.blocked(now)
        ]
