"""Media anchoring: the :class:`~centralino.calls.ports.MediaPolicy` that puts
the PBX in the media path.

Theory of operation. Every SDP body crossing the B2BUA comes through
:meth:`AnchorSdp.relay` as a typed :class:`~centralino.calls.ports.Sdp`:
parsed once by the call core (the anchor never parses it again), with its
offer/answer role (RFC 3264) and told which way it goes. A body that is
not SDP (an INFO's DTMF: ``description`` is None) passes untouched, and so
does any body of a released call. An offer with audio opens the call's
:class:`~.session.MediaSession` (two legs, two port pairs); its first
audio stream is then anchored:

* the phone that wrote the body receives at the address and ports it
  names: its leg learns them (the relay sends there until packets from the
  phone latch the real source);
* the body is rewritten so the *other* phone sends to the PBX: the
  advertised host and the RTP port of the leg facing that other phone (the
  host as that phone sees the PBX: ``to``, its signalling address, goes
  through ``host_for``, which gives the public host to phones outside the
  local networks);
* offers gain the codecs the PBX transcodes, answers are cut back to what
  the offerer offered, and both legs learn their codecs
  (:mod:`.negotiation`).

Offer or answer is the body's role, as the core marks it: the INVITE's
body is an offer and a provisional or final answer to it an answer; a
delayed offer (INVITE without SDP) is the callee's 2xx offering and the
caller's ACK answering; a re-INVITE or UPDATE (hold, resume) offers and its
2xx answers. The anchor only remembers the pending offer
(:class:`_Exchange`): every answer is cut against it, so a 183 then a 200,
or the answers of several forks, all answer the same offer. An answer with
no anchored offer to answer (the offer had no audio, or no port was free)
passes through.

Hold and resume are re-INVITEs like any other: the ports stay, the
direction attributes pass through. :meth:`AnchorSdp.release` (every end of
a call) closes the session and frees the ports; a late body for a released
call is passed through rather than anchored again. When the port range is
exhausted the call goes on without anchoring (logged), as if
:class:`~centralino.calls.ports.RelayMedia` were in use.

:meth:`AnchorSdp.answer_locally` is the PBX answering the caller itself
(voicemail): the caller's offer is answered with PCMU/PCMA (in the
caller's order) and telephone-event when offered, pointing at the caller
leg's port, and a :class:`~.endpoint.MediaEndpoint` holds that leg (the
opaque ``media`` of :class:`~centralino.calls.ports.LocalAnswer`). An
INVITE without SDP (delayed offer) gets the PBX's own offer in the 200
instead, and the caller's answer comes in its ACK
(:meth:`AnchorSdp.answer_in_ack`). Call screening offers to the callee
from the PBX (:meth:`AnchorSdp.offer_locally`), holds the callee's leg
when it answers (:meth:`AnchorSdp.callee_answered`) and hands both legs
back to the relay on :meth:`AnchorSdp.bridge`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from centralino.calls.ports import Direction, LocalAnswer, Sdp, SdpRole, Side
from centralino.media.codecs import CodecRegistry, default_codecs
from centralino.net.rtp import PortAllocator, PortsExhausted
from centralino.sip.errors import SipError
from centralino.sip.sdp import (
    AddressType,
    Codec,
    CodecOrder,
    CodecSpec,
    MediaCapabilities,
    Origin,
    SessionDescription,
    create_answer,
    is_acceptable,
    negotiate,
    negotiated_codecs,
)
from centralino.telephony.media.clock import MediaClock
from centralino.telephony.media.endpoint import MediaEndpoint
from centralino.telephony.media.negotiation import (
    AUXILIARY,
    LegCodecs,
    anchored_stream,
    answer_for_offerer,
    augment_offer,
    media_address,
    point_at,
)
from centralino.telephony.media.session import MediaSession
from centralino.telephony.media.statistics import CallMediaStats
from centralino.telephony.media.taps import MediaTap

__all__ = ["AnchorSdp"]

log = structlog.get_logger("centralino.media")

_EVENT_TYPE = 101
"""The payload type of telephone-event in the PBX's own offers."""
_RELEASED_MEMORY = 4096
"""How many ended calls are remembered, so a late body does not reopen one."""


@dataclass(slots=True)
class _Exchange:
    """The pending offer of one call: every answer is cut against it."""

    offerer: Side | None = None
    offer: SessionDescription | None = None
    index: int = 0
    augmented: SessionDescription | None = None
    """The offer as relayed before pointing it at the PBX (kept for the answer)."""


@dataclass(slots=True)
class _Anchored:
    session: MediaSession
    exchange: _Exchange = field(default_factory=_Exchange)
    endpoints: list[MediaEndpoint] = field(default_factory=list)
    local_offer: SessionDescription | None = None
    """The PBX's own offer to the callee (screening)."""
    caller_offer: SessionDescription | None = None
    """The PBX's own offer to a caller whose INVITE had none (delayed offer)."""


class AnchorSdp:
    """Anchor every call's media at the PBX.

    Args:
        bind: the local address for RTP sockets.
        advertised_host: the address written into SDP (what phones send to).
        allocator: the RTP port range.
        host_for: the address to write for a phone at a signalling address
            (None: unknown); default: ``advertised_host`` for everyone.
        codecs: what the PBX decodes and encodes (default: PCMU, PCMA).
        clock: monotonic seconds, for arrival times.
    """

    def __init__(
        self,
        *,
        bind: str,
        advertised_host: str,
        allocator: PortAllocator,
        codecs: CodecRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        host_for: Callable[[str | None], str] | None = None,
    ) -> None:
        self.bind = bind
        self.advertised_host = advertised_host
        self._host_for = host_for
        self.allocator = allocator
        self.codecs = codecs or default_codecs()
        self._clock = clock
        self._calls: dict[str, _Anchored] = {}
        self.media_clock = MediaClock()
        """Paces every prompt the PBX plays (one 20 ms timer for all of them)."""
        self._released: OrderedDict[str, None] = OrderedDict()

    # The MediaPolicy seam ----------------------------------------------------

    def relay(self, call_id: str, direction: Direction, sdp: Sdp, *, to: str) -> Sdp:
        """Rewrite ``sdp`` so the other phone sends its media to the PBX.

        Args:
            call_id: the call.
            direction: which way the body goes.
            sdp: the body, parsed, with its role (anything that is not SDP
                passes as it is).
            to: the signalling address of the phone the body goes to.

        Returns:
            The body for the other leg (``sdp`` itself when left untouched).
        """
        description = sdp.description
        if description is None or call_id in self._released:
            return sdp
        side = Side.CALLER if direction is Direction.TO_CALLEE else Side.CALLEE
        anchored = self._calls.get(call_id)
        if (
            anchored is None
            and sdp.role is SdpRole.OFFER
            and anchored_stream(description) is not None
        ):
            anchored = self._open(call_id)
        if anchored is None:
            return sdp
        try:
            rewritten = self._rewrite(anchored, side, description, sdp.role, self.host_for(to))
        except SipError:
            log.warning("SDP could not be anchored: relayed as is", call=call_id)
            return sdp
        return sdp if rewritten is description else Sdp.from_description(rewritten, sdp.role)

    def release(self, call_id: str) -> None:
        """Close the call's media and free its ports."""
        self._released[call_id] = None
        while len(self._released) > _RELEASED_MEMORY:
            self._released.popitem(last=False)
        anchored = self._calls.pop(call_id, None)
        if anchored is not None:
            for endpoint in anchored.endpoints:
                endpoint.close()
            anchored.session.close()

    def host_for(self, address: str | None) -> str:
        """The address written into SDP for the phone at signalling ``address``."""
        host = self.advertised_host if self._host_for is None else self._host_for(address)
        return host.strip("[]")  # SDP writes IPv6 bare (RFC 8866 §5.7), SIP in brackets

    def answer_locally(self, call_id: str, offer: Sdp | None, *, to: str) -> LocalAnswer | None:
        """Answer the caller's ``offer`` with the PBX's own media (see the module doc).

        Args:
            call_id: the call.
            offer: the caller's offer; None for an INVITE without one (delayed
                offer): the PBX then offers, and the caller answers in its ACK.
            to: the caller's signalling address.

        Returns:
            The answer (or the PBX's offer) and the endpoint holding the
            caller's leg; None when the offer is not SDP or has no audio in
            common with the PBX, or no port is free.
        """
        if call_id in self._released:
            return None
        if offer is None:
            return self._offer_to_caller(call_id, self.host_for(to))
        description = offer.description
        if description is None:
            return None
        negotiation = negotiate(description, [self._capabilities()])
        if not is_acceptable(negotiation):
            return None
        index = next(position for position, stream in enumerate(negotiation) if stream.accepted)
        anchored = self._calls.get(call_id) or self._open(call_id)
        if anchored is None:
            return None
        session = anchored.session
        port = session.caller.local_port
        ports = [port if position == index else 0 for position in range(len(negotiation))]
        host = self.host_for(to)
        origin = Origin(
            username="centralino",
            session_id=_session_id(call_id),
            session_version=1,
            address_type=AddressType.of(host),
            address=host,
        )
        answer = create_answer(description, negotiation, origin=origin, address=host, ports=ports)
        session.learn(Side.CALLER, media_address(description, index))
        session.negotiated(Side.CALLER, LegCodecs.of(negotiation[index].codecs))
        anchored.exchange = _Exchange(offerer=Side.CALLER, offer=description, index=index)
        endpoint = MediaEndpoint(session, Side.CALLER, self.codecs, self.media_clock)
        anchored.endpoints.append(endpoint)
        return LocalAnswer(sdp=Sdp.from_description(answer, SdpRole.ANSWER), media=endpoint)

    def offer_locally(self, call_id: str, *, to: str) -> Sdp | None:
        """The PBX's own offer to a callee (at ``to``), on the callee leg (call screening).

        Returns:
            PCMU, PCMA and telephone-event on the callee leg's port; None
            when the call has no media of the PBX's own.
        """
        anchored = self._calls.get(call_id)
        if anchored is None or not anchored.endpoints:
            return None
        offer = self._own_offer(call_id, anchored.session.callee.local_port, self.host_for(to))
        anchored.local_offer = offer
        return Sdp.from_description(offer, SdpRole.OFFER)

    def _own_offer(self, call_id: str, port: int, host: str) -> SessionDescription:
        """PCMU, PCMA and telephone-event on ``port`` of the PBX (at ``host``)."""
        family = AddressType.of(host).value
        lines = [
            "v=0",
            f"o=centralino {_session_id(call_id)} 2 IN {family} {host}",
            "s=-",
            f"c=IN {family} {host}",
            "t=0 0",
        ]
        codecs = [codec for codec in self.codecs if codec.payload_type is not None]
        formats = " ".join(str(codec.payload_type) for codec in codecs)
        lines.append(f"m=audio {port} RTP/AVP {formats} {_EVENT_TYPE}")
        lines += [f"a=rtpmap:{c.payload_type} {c.name}/{c.clock_rate}" for c in codecs]
        lines += [f"a=rtpmap:{_EVENT_TYPE} telephone-event/8000", f"a=fmtp:{_EVENT_TYPE} 0-16"]
        lines.append("a=sendrecv")
        return SessionDescription.parse(("\r\n".join(lines) + "\r\n").encode())

    def _learn_answer(
        self,
        session: MediaSession,
        side: Side,
        offer: SessionDescription,
        description: SessionDescription,
    ) -> bool:
        """Learn ``side``'s answer to our ``offer``: False when it has no usable audio."""
        if not description.media or description.media[0].port == 0:
            return False
        codecs = _stream_codecs(offer, description, 0)
        if not any(codec.encoding_name.upper() not in AUXILIARY for codec in codecs):
            return False
        session.learn(side, media_address(description, 0))
        session.negotiated(side, LegCodecs.of(codecs))
        return True

    def answer_in_ack(self, call_id: str, answer: Sdp | None) -> bool:
        """The caller's answer (in its ACK) to the PBX's offer of a delayed-offer call.

        Returns:
            False when there is no such offer, or the answer has no usable audio.
        """
        anchored = self._calls.get(call_id)
        if anchored is None or anchored.caller_offer is None:
            return False
        if answer is None or answer.description is None:
            return False
        description = answer.description
        if not self._learn_answer(
            anchored.session, Side.CALLER, anchored.caller_offer, description
        ):
            return False
        for endpoint in anchored.endpoints:
            endpoint.renegotiated()
        return True

    def callee_answered(self, call_id: str, answer: Sdp | None) -> MediaEndpoint | None:
        """The callee answered :meth:`offer_locally`: learn it, hold its leg.

        Returns:
            The endpoint holding the callee's leg; None when there is no such
            offer, or the answer has no usable audio.
        """
        anchored = self._calls.get(call_id)
        if anchored is None or anchored.local_offer is None:
            return None
        if answer is None or answer.description is None:
            return None
        session = anchored.session
        if not self._learn_answer(session, Side.CALLEE, anchored.local_offer, answer.description):
            return None
        endpoint = MediaEndpoint(session, Side.CALLEE, self.codecs, self.media_clock)
        anchored.endpoints.append(endpoint)
        return endpoint

    def bridge(self, call_id: str) -> None:
        """Give both legs back to the relay: caller and callee talk (after screening)."""
        anchored = self._calls.get(call_id)
        if anchored is None:
            return
        for endpoint in anchored.endpoints:
            endpoint.release()
        anchored.endpoints.clear()

    def press(self, media: object, key: str) -> None:
        """A key sent by signalling (SIP INFO) on the leg ``media`` holds."""
        if isinstance(media, MediaEndpoint):
            media.press(key)

    def close(self, media: object) -> None:
        """The party of the leg ``media`` holds is gone: its application hears the hang-up."""
        if isinstance(media, MediaEndpoint):
            media.close()

    def _offer_to_caller(self, call_id: str, host: str) -> LocalAnswer | None:
        """A delayed offer: the PBX offers in its 200, the caller answers in the ACK."""
        anchored = self._calls.get(call_id) or self._open(call_id)
        if anchored is None:
            return None
        session = anchored.session
        offer = anchored.caller_offer = self._own_offer(call_id, session.caller.local_port, host)
        endpoint = MediaEndpoint(session, Side.CALLER, self.codecs, self.media_clock)
        anchored.endpoints.append(endpoint)
        return LocalAnswer(sdp=Sdp.from_description(offer, SdpRole.OFFER), media=endpoint)

    def _capabilities(self) -> MediaCapabilities:
        specs = [CodecSpec.parse(f"{codec.name}/{codec.clock_rate}") for codec in self.codecs]
        return MediaCapabilities(
            codecs=(*specs, CodecSpec.parse("telephone-event/8000")),
            rtcp_mux=False,
            order=CodecOrder.OFFERER,
        )

    # Views and taps -------------------------------------------------------------

    def stats(self, call_id: str) -> CallMediaStats | None:
        """Both legs' numbers for an anchored call, or None."""
        anchored = self._calls.get(call_id)
        return anchored.session.stats() if anchored is not None else None

    def add_tap(self, call_id: str, tap: MediaTap) -> bool:
        """Pass the call's decoded audio to ``tap``; False if it is not anchored."""
        anchored = self._calls.get(call_id)
        if anchored is None:
            return False
        anchored.session.add_tap(tap)
        return True

    @property
    def active_calls(self) -> int:
        """How many calls are anchored now."""
        return len(self._calls)

    def release_all(self) -> None:
        """Release every call (the engine is stopping)."""
        for call_id in list(self._calls):
            self.release(call_id)
        self.media_clock.stop()

    # Inside -----------------------------------------------------------------------

    def _open(self, call_id: str) -> _Anchored | None:
        try:
            session = MediaSession(
                host=self.bind, allocator=self.allocator, codecs=self.codecs, clock=self._clock
            )
        except PortsExhausted as error:
            log.warning("no RTP ports: media not anchored", call=call_id, error=str(error))
            return None
        anchored = self._calls[call_id] = _Anchored(session)
        return anchored

    def _rewrite(
        self,
        anchored: _Anchored,
        side: Side,
        description: SessionDescription,
        role: SdpRole,
        host: str,
    ) -> SessionDescription:
        session, exchange = anchored.session, anchored.exchange
        if role is SdpRole.OFFER:
            index = anchored_stream(description)
            if index is None:
                return description  # no audio to anchor in this offer
            relayed = augment_offer(description, index, self.codecs)
            anchored.exchange = _Exchange(
                offerer=side, offer=description, index=index, augmented=relayed
            )
        else:
            index = exchange.index
            if exchange.offerer in (None, side) or index >= len(description.media):
                return description  # no offer of the other side's to answer
            relayed = self._answer(anchored, side, description, index)
        session.learn(side, media_address(description, index))
        other = Side.CALLEE if side is Side.CALLER else Side.CALLER
        port = session.leg(other).local_port
        return point_at(relayed, index, address=host, port=port)

    def _answer(
        self, anchored: _Anchored, side: Side, answer: SessionDescription, index: int
    ) -> SessionDescription:
        session, exchange = anchored.session, anchored.exchange
        offer = exchange.offer
        assert offer is not None
        assert exchange.offerer is not None
        offered = exchange.augmented or augment_offer(offer, index, self.codecs)
        session.negotiated(side, LegCodecs.of(_stream_codecs(offered, answer, index)))
        relayed = answer_for_offerer(offer, answer, index, self.codecs)
        session.negotiated(exchange.offerer, LegCodecs.of(_stream_codecs(offer, relayed, index)))
        return relayed


def _stream_codecs(
    offer: SessionDescription, answer: SessionDescription, index: int
) -> tuple[Codec, ...]:
    per_stream = negotiated_codecs(offer, answer)
    return per_stream[index] if index < len(per_stream) else ()


def _session_id(call_id: str) -> str:
    """The ``o=`` session id of the PBX's own SDP for a call (stable within the process)."""
    return str(abs(hash(call_id)) % 10**12)
