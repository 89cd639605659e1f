"""One anchored call's media: two legs, each with its own sockets, and the relay.

Theory of operation. A :class:`MediaSession` owns two :class:`MediaLeg`,
A facing the caller and B facing the callee, each an RTP/RTCP socket pair
from the configured range. Every packet a leg receives goes out of the
other leg's RTP socket to the other phone:

* **Latching** (symmetric RTP, phones behind NAT): a leg sends to the
  address its phone's packets come from once the first one arrives, and to
  the SDP's address before that. After latching, packets from elsewhere are
  dropped (counted), except from the SDP's own address, which re-latches (a
  fork that answered after another sent early media, a re-INVITE).
* **Codecs**: each leg knows the payload types it negotiated
  (:class:`~.negotiation.LegCodecs`). A packet whose codec the other leg
  also has is relayed as it is (only the payload type byte is rewritten
  when the two legs number it differently); otherwise it is decoded and
  encoded into the other leg's codec, one packet at a time (same clock,
  same frame, so sequence number, timestamp and SSRC stay). Between G.711
  mu-law and A-law, which code each sample alone in one byte, decode then
  encode is computed once for all 256 bytes and applied as one
  ``bytes.translate`` (the same result, about 40 times cheaper).
  ``telephone-event`` the other side lacks is dropped; payload types
  nobody negotiated are relayed untouched. Routes are computed once per
  payload type and kept until a leg renegotiates.
* **RTCP** is relayed the same way, between the RTCP sockets (or the RTP
  sockets, with ``rtcp-mux`` on both sides).
* **Taps** (:mod:`.taps`) get each direction's audio decoded to PCM.
* **Held legs**: a leg *held* by the PBX itself (:meth:`MediaSession.hold`,
  for voicemail and screening: :mod:`.endpoint`) relays nothing: what its
  phone sends goes to the holder, nothing from the other leg reaches it.

Per-leg :class:`~.statistics.LegStatistics` count packets, bytes, loss and
jitter. :meth:`MediaSession.close` closes the sockets and frees the ports.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from centralino.calls.ports import Side
from centralino.media.codecs import Codec, CodecRegistry
from centralino.media.errors import MediaError
from centralino.media.rtp import RTP_VERSION, RtpPacket, is_rtcp
from centralino.net.rtp import Address, PortAllocator, RtpSocketPair, SocketKind, bind_rtp_pair
from centralino.telephony.media.negotiation import AUXILIARY, LegCodecs, MediaAddress
from centralino.telephony.media.statistics import CallMediaStats, LegStatistics, LegStats
from centralino.telephony.media.taps import MediaTap, TapDirection

__all__ = ["LegHolder", "MediaLeg", "MediaSession"]

log = structlog.get_logger("centralino.media")

_DEFAULT_CLOCK_RATE = 8000
_SAMPLE_WISE = frozenset({"PCMU", "PCMA"})
"""Codecs coding each sample alone in one byte: converting between two of them
is one 256-entry table, the composition of decode and encode (exact)."""
_PLAIN_HEADER = 0x80  # version 2, no padding, no extension, no CSRC
_FIELDS = struct.Struct("!HII")  # sequence number, timestamp, SSRC (RFC 3550 §5.1)
_RTP_HEADER_SIZE = 12


@dataclass(frozen=True, slots=True)
class _Route:
    """What to do with one payload type going one way."""

    payload_type: int | None  # None: drop
    decoder: Codec | None = None
    encoder: Codec | None = None
    clock_rate: int = _DEFAULT_CLOCK_RATE
    table: bytes | None = None  # byte-to-byte transcoding, for sample-wise codecs


_DROP = _Route(None)


class LegHolder(Protocol):
    """Who takes a held leg's packets instead of the relay (see :mod:`.endpoint`)."""

    def receive(self, data: bytes, now: float) -> None:
        """One RTP packet from the leg's phone (already latched and counted)."""
        ...


class MediaLeg:
    """The PBX's side of one phone: sockets, where to send, codecs, counters."""

    def __init__(self, side: Side, sockets: RtpSocketPair) -> None:
        self.side = side
        self.sockets = sockets
        self.address = MediaAddress(rtp=None, rtcp=None)
        self.latched: Address | None = None
        self.rtcp_latched: Address | None = None
        self.codecs = LegCodecs()
        self.statistics = LegStatistics()

    @property
    def local_port(self) -> int:
        """The PBX's RTP port for this leg."""
        return self.sockets.port

    @property
    def destination(self) -> Address | None:
        """Where RTP for this phone goes: the latched source, else the SDP's address."""
        return self.latched or self.address.rtp

    @property
    def rtcp_destination(self) -> Address | None:
        """Where RTCP for this phone goes (on its own socket)."""
        return self.rtcp_latched or self.address.rtcp

    def learn(self, address: MediaAddress) -> None:
        """The phone's SDP says where it receives; a new address unlatches."""
        if address.rtp != self.address.rtp:
            self.latched = None
        if address.rtcp != self.address.rtcp:
            self.rtcp_latched = None
        self.address = address

    def accepts(self, source: Address) -> bool:
        """Latch on the first source (or the SDP's); refuse any other after."""
        if source == self.latched:
            return True
        if self.latched is None or source == self.address.rtp:
            self.latched = source
            return True
        return False

    def accepts_rtcp(self, source: Address) -> bool:
        """The same rule for the RTCP socket."""
        if source == self.rtcp_latched:
            return True
        if self.rtcp_latched is None or source == self.address.rtcp:
            self.rtcp_latched = source
            return True
        return False

    def snapshot(self) -> LegStats:
        """This leg's numbers now."""
        return self.statistics.snapshot(
            local_port=self.local_port,
            remote=self.destination,
            latched=self.latched is not None,
            codec=self.codecs.primary,
        )


class MediaSession:
    """The media of one anchored call.

    Args:
        host: the local address to bind the sockets on.
        allocator: where the ports come from.
        codecs: the codecs the PBX decodes and encodes.
        clock: monotonic seconds, for arrival times.

    Raises:
        PortsExhausted: fewer than two free port pairs.
    """

    def __init__(
        self,
        *,
        host: str,
        allocator: PortAllocator,
        codecs: CodecRegistry,
        clock: Callable[[], float],
    ) -> None:
        self._codecs = codecs
        self._clock = clock
        self._taps: list[MediaTap] = []
        self._held: dict[Side, LegHolder] = {}
        self._routes: tuple[dict[int, _Route], dict[int, _Route]] = ({}, {})
        caller = bind_rtp_pair(host, allocator, self._from_caller)
        try:
            callee = bind_rtp_pair(host, allocator, self._from_callee)
        except BaseException:
            caller.close()
            raise
        self.caller = MediaLeg(Side.CALLER, caller)
        self.callee = MediaLeg(Side.CALLEE, callee)
        self.closed = False
        caller.attach()
        callee.attach()

    def leg(self, side: Side) -> MediaLeg:
        """The leg facing ``side``."""
        return self.caller if side is Side.CALLER else self.callee

    def learn(self, side: Side, address: MediaAddress) -> None:
        """Where the phone on ``side`` receives, from its latest SDP."""
        self.leg(side).learn(address)

    def negotiated(self, side: Side, codecs: LegCodecs) -> None:
        """The codecs the leg facing ``side`` settled on (routes are recomputed)."""
        self.leg(side).codecs = codecs
        self._routes = ({}, {})

    def hold(self, side: Side, holder: LegHolder) -> None:
        """Give the leg facing ``side`` to ``holder``: no relay to or from it."""
        self._held[side] = holder

    def unhold(self, side: Side) -> None:
        """Relay the leg facing ``side`` again."""
        self._held.pop(side, None)

    def held(self, side: Side) -> bool:
        """Whether the leg facing ``side`` is held by the PBX."""
        return side in self._held

    # Taps ---------------------------------------------------------------------

    def add_tap(self, tap: MediaTap) -> None:
        """Start passing each direction's decoded audio to ``tap``."""
        self._taps.append(tap)

    def remove_tap(self, tap: MediaTap) -> None:
        """Stop passing audio to ``tap`` (it is told :meth:`MediaTap.closed`)."""
        if tap in self._taps:
            self._taps.remove(tap)
            tap.closed()

    # The relay ------------------------------------------------------------------

    def _from_caller(self, kind: SocketKind, data: bytes, source: Address) -> None:
        self._relay(self.caller, self.callee, self._routes[0], kind, data, source)

    def _from_callee(self, kind: SocketKind, data: bytes, source: Address) -> None:
        self._relay(self.callee, self.caller, self._routes[1], kind, data, source)

    def _relay(
        self,
        leg: MediaLeg,
        other: MediaLeg,
        routes: dict[int, _Route],
        kind: SocketKind,
        data: bytes,
        source: Address,
    ) -> None:
        if kind is SocketKind.RTCP or is_rtcp(data):
            self._relay_rtcp(leg, other, kind, data, source)
            return
        # The fast path reads the header fields it needs without building an
        # RtpPacket; only transcoding and taps parse the whole packet.
        if len(data) < _RTP_HEADER_SIZE or data[0] >> 6 != RTP_VERSION:
            leg.statistics.packets_dropped += 1
            return
        if source != leg.latched and not leg.accepts(source):
            leg.statistics.packets_dropped += 1
            return
        payload_type = data[1] & 0x7F
        route = routes.get(payload_type)
        if route is None:
            route = routes[payload_type] = self._route(leg, other, payload_type)
        now = self._clock()
        header = _FIELDS.unpack_from(data, 2)
        leg.statistics.received(header, len(data), now, route.clock_rate)
        if self._held:
            holder = self._held.get(leg.side)
            if holder is not None:
                holder.receive(data, now)
                return
            if other.side in self._held:
                return
        if self._taps:
            self._tap(leg, data, now)
        destination = other.destination
        if route.payload_type is None or destination is None:
            return
        if route.encoder is not None:
            out = self._transcode(route, data)
            if out is None:
                leg.statistics.packets_dropped += 1
                return
        elif route.payload_type == payload_type:
            out = data
        else:
            out = b"".join((data[:1], bytes(((data[1] & 0x80) | route.payload_type,)), data[2:]))
        other.sockets.send_rtp(out, destination)
        other.statistics.sent(len(out))

    def _transcode(self, route: _Route, data: bytes) -> bytes | None:
        assert route.payload_type is not None
        assert route.decoder is not None
        assert route.encoder is not None
        marker_and_type = bytes(((data[1] & 0x80) | route.payload_type,))
        if route.table is not None and data[0] == _PLAIN_HEADER:
            return b"".join(
                (data[:1], marker_and_type, data[2:12], data[12:].translate(route.table))
            )
        try:
            packet = RtpPacket.parse(data)
        except MediaError:
            return None
        if route.table is not None:
            payload = packet.payload.translate(route.table)
        else:
            payload = route.encoder.encode(route.decoder.decode(packet.payload))
        converted = dataclasses.replace(
            packet, payload_type=route.payload_type, payload=payload, padding_size=0
        )
        return bytes(converted)

    def _route(self, leg: MediaLeg, other: MediaLeg, payload_type: int) -> _Route:
        name = leg.codecs.by_payload_type.get(payload_type)
        if name is None:
            return _Route(payload_type)  # nobody negotiated it: relay untouched
        decoder = self._codecs.by_name(name)
        rate = decoder.clock_rate if decoder is not None else _DEFAULT_CLOCK_RATE
        target = other.codecs.payload_types.get(name)
        if target is not None:
            return _Route(target, clock_rate=rate)
        if name in AUXILIARY:
            return _DROP
        primary = other.codecs.primary
        encoder = self._codecs.by_name(primary) if primary else None
        if decoder is None or encoder is None or primary is None:
            return _Route(payload_type, clock_rate=rate)  # cannot convert: best effort
        target = other.codecs.payload_types[primary]
        table = None
        if name in _SAMPLE_WISE and primary in _SAMPLE_WISE:
            table = encoder.encode(decoder.decode(bytes(range(256))))
        return _Route(target, decoder=decoder, encoder=encoder, clock_rate=rate, table=table)

    def _relay_rtcp(
        self, leg: MediaLeg, other: MediaLeg, kind: SocketKind, data: bytes, source: Address
    ) -> None:
        accepted = leg.accepts_rtcp(source) if kind is SocketKind.RTCP else leg.accepts(source)
        if not accepted:
            leg.statistics.packets_dropped += 1
            return
        leg.statistics.rtcp_received += 1
        if self._held and (leg.side in self._held or other.side in self._held):
            return
        if other.address.rtcp_mux and leg.address.rtcp_mux:
            destination = other.destination
            if destination is not None:
                other.sockets.send_rtp(data, destination)
        else:
            destination = other.rtcp_destination
            if destination is not None:
                other.sockets.send_rtcp(data, destination)

    def _tap(self, leg: MediaLeg, data: bytes, now: float) -> None:
        name = leg.codecs.by_payload_type.get(data[1] & 0x7F)
        codec = self._codecs.by_name(name) if name else None
        if codec is None:
            return
        try:
            packet = RtpPacket.parse(data)
        except MediaError:
            return
        pcm = codec.decode(packet.payload)
        direction = TapDirection.FROM_CALLER if leg is self.caller else TapDirection.FROM_CALLEE
        for tap in list(self._taps):
            try:
                tap.frame(direction, pcm, now)
            except Exception:
                log.exception("media tap failed: detached")
                self.remove_tap(tap)

    # Views and the end ------------------------------------------------------------

    def stats(self) -> CallMediaStats:
        """Both legs' numbers now."""
        return CallMediaStats(caller=self.caller.snapshot(), callee=self.callee.snapshot())

    def close(self) -> None:
        """Close the sockets, free the ports, detach the taps (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._held.clear()
        self.caller.sockets.close()
        self.callee.sockets.close()
        for tap in list(self._taps):
            self.remove_tap(tap)
