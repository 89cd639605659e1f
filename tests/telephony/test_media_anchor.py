"""Anchored calls on loopback: two fake RTP phones talk through ``AnchorSdp``.

Each fake phone is a UDP socket that writes its own SDP, sends G.711
packets and collects what it receives. The SDP goes through the anchor as
the B2BUA would pass it: typed once (:class:`~centralino.calls.ports.Sdp`),
with the role the call core gives it, ``Direction.TO_CALLEE`` for the
caller's and the other way for the callee's; the packets go to wherever the
rewritten SDP says.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from centralino.calls.ports import Direction, MediaPolicy, Sdp, SdpRole
from centralino.media.codecs import default_codecs
from centralino.media.pcm import samples_from_pcm, split_frames
from centralino.media.rtp import RtpPacket
from centralino.media.tones import goertzel_power, sine
from centralino.net.rtp import PortAllocator
from centralino.sip.sdp import SessionDescription
from centralino.telephony.media import AnchorSdp, TapDirection
from centralino.telephony.media.endpoint import MediaEndpoint

CODECS = default_codecs()
MAPS = {0: "0 PCMU/8000", 8: "8 PCMA/8000", 101: "101 telephone-event/8000"}
PHONE = "127.0.0.1"
"""The signalling address of every phone (``to``)."""


def typed(body: bytes, role: SdpRole) -> Sdp:
    """``body`` as the call core hands it over: parsed once, with its role."""
    sdp = Sdp.of(body, role)
    assert sdp is not None
    return sdp


def offer(body: bytes) -> Sdp:
    return typed(body, SdpRole.OFFER)


def answer(body: bytes) -> Sdp:
    return typed(body, SdpRole.ANSWER)


@dataclass
class FakePhone:
    """A UDP socket on loopback speaking RTP."""

    name: str
    sock: socket.socket = field(init=False)
    received: list[tuple[RtpPacket, tuple[str, int]]] = field(default_factory=list)
    sent: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def sdp(self, formats: tuple[int, ...], *, version: int = 1, direction: str = "") -> bytes:
        lines = [
            "v=0",
            f"o={self.name} 4242 {version} IN IP4 127.0.0.1",
            "s=-",
            "c=IN IP4 127.0.0.1",
            "t=0 0",
            f"m=audio {self.port} RTP/AVP {' '.join(map(str, formats))}",
            *(f"a=rtpmap:{MAPS[pt]}" for pt in formats),
            *([f"a={direction}"] if direction else []),
        ]
        return ("\r\n".join(lines) + "\r\n").encode()

    def send(self, target: tuple[str, int], payload: bytes, *, pt: int = 0, seq: int = 0) -> None:
        packet = RtpPacket(
            payload_type=pt, sequence_number=seq, timestamp=160 * seq, ssrc=0x1234, payload=payload
        )
        self.sock.sendto(bytes(packet), target)
        self.sent += 1

    def drain(self) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            self.received.append((RtpPacket.parse(data), source))

    async def collect(self, count: int, within: float = 2.0) -> list[RtpPacket]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.received) < count and loop.time() < deadline:
            await asyncio.sleep(0.005)
            self.drain()
        return [packet for packet, _source in self.received]

    def close(self) -> None:
        self.sock.close()


def target_of(sdp: Sdp) -> tuple[str, int]:
    description = SessionDescription.parse(sdp.raw)  # what goes on the wire
    assert description.connection is not None
    return (description.connection.address, description.media[0].port)


@pytest.fixture
def allocator() -> PortAllocator:
    return PortAllocator(46000, 46099)


@pytest.fixture
async def anchor(allocator: PortAllocator) -> AsyncIterator[AnchorSdp]:
    anchor = AnchorSdp(bind="127.0.0.1", advertised_host="127.0.0.1", allocator=allocator)
    yield anchor
    anchor.release_all()


@pytest.fixture
async def phones() -> AsyncIterator[tuple[FakePhone, FakePhone]]:
    caller, callee = FakePhone("alice"), FakePhone("bob")
    yield caller, callee
    caller.close()
    callee.close()


def connect(
    anchor: AnchorSdp,
    caller: FakePhone,
    callee: FakePhone,
    offered: tuple[int, ...] = (0, 101),
    answered: tuple[int, ...] = (0, 101),
) -> tuple[tuple[str, int], tuple[str, int], bytes, bytes]:
    """Offer from the caller, answer from the callee: where each phone sends."""
    to_callee = anchor.relay("call", Direction.TO_CALLEE, offer(caller.sdp(offered)), to=PHONE)
    to_caller = anchor.relay("call", Direction.TO_CALLER, answer(callee.sdp(answered)), to=PHONE)
    assert (to_callee.role, to_caller.role) == (SdpRole.OFFER, SdpRole.ANSWER)
    return target_of(to_caller), target_of(to_callee), to_callee.raw, to_caller.raw


async def test_same_codec_is_relayed_in_order_with_the_payload_intact(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, offer, answer = connect(anchor, caller, callee)
    assert caller_sends_to[0] == callee_sends_to[0] == "127.0.0.1"
    assert caller_sends_to != callee_sends_to  # one port per leg
    assert caller_sends_to[1] not in (caller.port, callee.port)
    assert b"8 PCMA/8000" in offer  # the PBX offers what it transcodes to
    assert b"PCMA" not in answer  # ... and the caller never sees it
    await asyncio.sleep(0.01)  # the sockets attach to the loop
    payloads = [bytes([n]) * 160 for n in range(30)]
    for seq, payload in enumerate(payloads):
        caller.send(caller_sends_to, payload, seq=seq)
        callee.send(callee_sends_to, payload[::-1], seq=seq)
    at_callee = await callee.collect(30)
    at_caller = await caller.collect(30)
    assert [p.sequence_number for p in at_callee] == list(range(30))
    assert [p.payload for p in at_callee] == payloads
    assert [p.payload_type for p in at_callee] == [0] * 30
    assert [p.payload for p in at_caller] == [payload[::-1] for payload in payloads]
    assert {source for _packet, source in callee.received} == {callee_sends_to}
    stats = anchor.stats("call")
    assert stats is not None
    assert (stats.caller.packets_received, stats.callee.packets_sent) == (30, 30)
    assert stats.caller.latched
    assert stats.caller.remote == ("127.0.0.1", caller.port)
    assert stats.caller.codec == stats.callee.codec == "PCMU"
    assert stats.caller.packets_lost == 0


async def test_pcmu_to_pcma_is_transcoded_and_the_tone_survives(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, _offer, answer = connect(
        anchor, caller, callee, offered=(0,), answered=(8,)
    )
    assert b"PCMU/8000" in answer
    assert b"PCMA" not in answer
    await asyncio.sleep(0.01)
    pcmu, pcma = CODECS.by_name("PCMU"), CODECS.by_name("PCMA")
    assert pcmu is not None
    assert pcma is not None
    frames = list(split_frames(sine(1000.0, 0.4)))
    for seq, frame in enumerate(frames):
        caller.send(caller_sends_to, pcmu.encode(frame), pt=0, seq=seq)
        callee.send(callee_sends_to, pcma.encode(frame), pt=8, seq=seq)
    at_callee = await callee.collect(len(frames))
    at_caller = await caller.collect(len(frames))
    assert {p.payload_type for p in at_callee} == {8}
    assert {p.payload_type for p in at_caller} == {0}
    for packets, codec in ((at_callee, pcma), (at_caller, pcmu)):
        assert len(packets) == len(frames)
        samples = samples_from_pcm(b"".join(codec.decode(p.payload) for p in packets))
        tone = goertzel_power(samples, 1000.0)
        stray = goertzel_power(samples, 1500.0)
        assert tone > 1e7
        assert tone > 1000 * stray
    stats = anchor.stats("call")
    assert stats is not None
    assert (stats.caller.codec, stats.callee.codec) == ("PCMU", "PCMA")


async def test_latching_sends_to_where_packets_come_from_not_the_sdp(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    behind_nat = FakePhone("bob-nat")  # bob's packets leave from another port
    try:
        caller_sends_to, callee_sends_to, _o, _a = connect(anchor, caller, callee)
        await asyncio.sleep(0.01)
        caller.send(caller_sends_to, b"\xff" * 160, seq=1)
        assert len(await callee.collect(1)) == 1  # before latching: the SDP's port
        behind_nat.send(callee_sends_to, b"\x7f" * 160, seq=1)
        assert len(await caller.collect(1)) == 1
        caller.send(caller_sends_to, b"\xff" * 160, seq=2)
        assert len(await behind_nat.collect(1)) == 1  # latched
        stranger = FakePhone("mallory")
        stranger.send(callee_sends_to, b"\x00" * 160, seq=9)
        stranger.close()
        await asyncio.sleep(0.05)
        caller.drain()
        assert len(caller.received) == 1  # the stranger's packet was dropped
        stats = anchor.stats("call")
        assert stats is not None
        assert stats.callee.remote == ("127.0.0.1", behind_nat.port)
        assert stats.callee.packets_dropped == 1
    finally:
        behind_nat.close()


async def test_ports_are_released_when_the_call_ends(
    anchor: AnchorSdp, allocator: PortAllocator, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, _to, _o, _a = connect(anchor, caller, callee)
    assert allocator.in_use == 2
    assert anchor.active_calls == 1
    anchor.release("call")
    assert allocator.in_use == 0
    assert anchor.active_calls == 0
    assert anchor.stats("call") is None
    late = answer(callee.sdp((0,)))
    assert anchor.relay("call", Direction.TO_CALLER, late, to=PHONE) is late  # not anchored again
    again = offer(callee.sdp((0,), version=2))
    assert anchor.relay("call", Direction.TO_CALLER, again, to=PHONE) is again
    assert allocator.in_use == 0
    await asyncio.sleep(0.02)
    caller.send(caller_sends_to, b"\xff" * 160)
    assert await callee.collect(1, within=0.1) == []


async def test_hold_and_resume_keep_the_ports_and_pass_the_direction(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, first_offer, _answer = connect(anchor, caller, callee)
    hold = anchor.relay(
        "call",
        Direction.TO_CALLEE,
        offer(caller.sdp((0,), version=2, direction="sendonly")),
        to=PHONE,
    )
    assert target_of(hold)[1] == SessionDescription.parse(first_offer).media[0].port
    assert b"a=sendonly" in hold.raw
    held = anchor.relay(
        "call",
        Direction.TO_CALLER,
        answer(callee.sdp((0,), version=2, direction="recvonly")),
        to=PHONE,
    )
    assert target_of(held) == caller_sends_to
    assert b"a=recvonly" in held.raw
    # The callee resumes (a re-INVITE from the answerer).
    resume = anchor.relay(
        "call", Direction.TO_CALLER, offer(callee.sdp((0, 101), version=3)), to=PHONE
    )
    assert target_of(resume) == caller_sends_to
    assert b"8 PCMA/8000" in resume.raw  # treated as an offer
    resumed = anchor.relay(
        "call", Direction.TO_CALLEE, answer(caller.sdp((0, 101), version=3)), to=PHONE
    )
    assert target_of(resumed) == callee_sends_to
    assert b"PCMA" not in resumed.raw  # treated as the answer
    assert anchor.active_calls == 1


async def test_forks_early_media_and_delayed_offer(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    # Delayed offer: the INVITE has no body (nothing to relay), the 2xx offers.
    assert Sdp.of(b"", SdpRole.OFFER) is None
    offered = anchor.relay("forks", Direction.TO_CALLER, offer(callee.sdp((8,))), to=PHONE)
    assert b"0 PCMU/8000" in offered.raw  # the callee offered; the PBX adds PCMU
    answered = anchor.relay("forks", Direction.TO_CALLEE, answer(caller.sdp((0,))), to=PHONE)
    assert b"8 PCMA/8000" in answered.raw
    assert b"PCMU" not in answered.raw
    # The same offer to two forks, then a 183 and a 200 (answers both).
    invite = offer(caller.sdp((0,)))
    first = anchor.relay("f2", Direction.TO_CALLEE, invite, to=PHONE)
    second = anchor.relay("f2", Direction.TO_CALLEE, invite, to=PHONE)
    assert target_of(first) == target_of(second)
    early = anchor.relay("f2", Direction.TO_CALLER, answer(callee.sdp((0,))), to=PHONE)
    final = anchor.relay("f2", Direction.TO_CALLER, answer(callee.sdp((0,))), to=PHONE)
    assert early == final
    assert b"PCMA" not in final.raw


async def test_bodies_that_are_not_sdp_pass_untouched(anchor: AnchorSdp) -> None:
    dtmf = typed(b"Signal=5\r\nDuration=160\r\n", SdpRole.OFFER)
    assert dtmf.description is None
    assert anchor.relay("call", Direction.TO_CALLEE, dtmf, to=PHONE) is dtmf
    assert anchor.active_calls == 0


async def test_exhausted_range_leaves_the_media_direct(phones: tuple[FakePhone, FakePhone]) -> None:
    caller, _callee = phones
    tiny = AnchorSdp(
        bind="127.0.0.1", advertised_host="127.0.0.1", allocator=PortAllocator(46200, 46201)
    )
    invite = offer(caller.sdp((0,)))
    assert tiny.relay("call", Direction.TO_CALLEE, invite, to=PHONE) is invite  # one pair: too few
    assert tiny.allocator.in_use == 0
    tiny.release_all()


@dataclass
class RecordingTap:
    frames: dict[TapDirection, list[bytes]] = field(default_factory=dict)
    ended: bool = False

    def frame(self, direction: TapDirection, pcm: bytes, arrival: float) -> None:
        self.frames.setdefault(direction, []).append(pcm)

    def closed(self) -> None:
        self.ended = True


async def test_taps_receive_each_direction_decoded(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, _o, _a = connect(anchor, caller, callee, answered=(8,))
    tap = RecordingTap()
    assert anchor.add_tap("call", tap)
    assert not anchor.add_tap("nothing", tap)
    await asyncio.sleep(0.01)
    pcmu, pcma = CODECS.by_name("PCMU"), CODECS.by_name("PCMA")
    assert pcmu is not None
    assert pcma is not None
    frame = sine(1000.0, 0.02)
    caller.send(caller_sends_to, pcmu.encode(frame))
    callee.send(callee_sends_to, pcma.encode(frame), pt=8)
    await callee.collect(1)
    await caller.collect(1)
    assert [len(f) for f in tap.frames[TapDirection.FROM_CALLER]] == [320]
    assert tap.frames[TapDirection.FROM_CALLEE] == [pcma.decode(pcma.encode(frame))]
    anchor.release("call")
    assert tap.ended


async def test_loss_is_counted_from_sequence_gaps(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, _to, _o, _a = connect(anchor, caller, callee)
    await asyncio.sleep(0.01)
    for seq in (0, 1, 2, 5, 6):
        caller.send(caller_sends_to, b"\xff" * 160, seq=seq)
    await callee.collect(5)
    stats = anchor.stats("call")
    assert stats is not None
    assert stats.caller.packets_lost == 2


async def test_transcoding_equals_decode_then_encode_with_or_without_csrc(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, _to, _o, _a = connect(anchor, caller, callee, offered=(0,), answered=(8,))
    await asyncio.sleep(0.01)
    pcmu, pcma = CODECS.by_name("PCMU"), CODECS.by_name("PCMA")
    assert pcmu is not None
    assert pcma is not None
    payload = bytes(range(256))
    caller.send(caller_sends_to, payload, seq=1)
    with_csrc = RtpPacket(
        payload_type=0, sequence_number=2, timestamp=320, ssrc=0x1234, csrc=(7,), payload=payload
    )
    caller.sock.sendto(bytes(with_csrc), caller_sends_to)
    first, second = await callee.collect(2)
    expected = pcma.encode(pcmu.decode(payload))
    assert first.payload == second.payload == expected
    assert (first.payload_type, second.payload_type, second.csrc) == (8, 8, (7,))


# The typed seam --------------------------------------------------------------------


def test_the_anchor_is_a_media_policy(anchor: AnchorSdp) -> None:
    policy: MediaPolicy = anchor  # mypy --strict checks the signatures
    assert policy is anchor


async def test_relay_never_parses_the_body_again(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone], monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, callee = phones
    invite, ok = offer(caller.sdp((0, 101))), answer(callee.sdp((8,)))

    def refuse(cls: type[SessionDescription], data: bytes) -> SessionDescription:
        raise AssertionError("SDP parsed again")

    with monkeypatch.context() as patch:
        patch.setattr(SessionDescription, "parse", classmethod(refuse))
        to_callee = anchor.relay("call", Direction.TO_CALLEE, invite, to=PHONE)
        to_caller = anchor.relay("call", Direction.TO_CALLER, ok, to=PHONE)
    assert to_callee.description is not None
    assert to_caller.description is not None
    assert bytes(to_callee.description) == to_callee.raw
    assert b"8 PCMA/8000" in to_callee.raw
    assert target_of(to_caller)[1] != callee.port  # rewritten all the same
    stats = anchor.stats("call")
    assert stats is not None
    assert (stats.caller.codec, stats.callee.codec) == ("PCMU", "PCMA")


async def test_delayed_offer_the_2xx_offers_and_the_ack_answers(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    in_2xx = anchor.relay("late", Direction.TO_CALLER, offer(callee.sdp((8,))), to=PHONE)
    in_ack = anchor.relay("late", Direction.TO_CALLEE, answer(caller.sdp((0, 101))), to=PHONE)
    assert (in_2xx.role, in_ack.role) == (SdpRole.OFFER, SdpRole.ANSWER)
    assert b"0 PCMU/8000" in in_2xx.raw  # the PBX transcodes: the caller may pick PCMU
    assert b"8 PCMA/8000" in in_ack.raw  # the callee's codec, as it offered
    assert b"PCMU" not in in_ack.raw
    assert b"telephone-event" not in in_ack.raw  # the callee never offered it
    await asyncio.sleep(0.01)
    caller_sends_to, callee_sends_to = target_of(in_2xx), target_of(in_ack)
    pcmu = CODECS.by_name("PCMU")
    assert pcmu is not None
    caller.send(caller_sends_to, pcmu.encode(sine(1000.0, 0.02)), pt=0)
    assert [p.payload_type for p in await callee.collect(1)] == [8]  # transcoded
    stats = anchor.stats("late")
    assert stats is not None
    assert (stats.caller.codec, stats.callee.codec) == ("PCMU", "PCMA")
    assert callee_sends_to != caller_sends_to


async def test_a_reinvite_is_an_offer_by_its_role_whatever_its_version(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, _offer, _answer = connect(anchor, caller, callee)
    # The callee holds, with an o= version that did not go up: its role says offer.
    hold = offer(callee.sdp((0,), version=1, direction="sendonly"))
    held = anchor.relay("call", Direction.TO_CALLER, hold, to=PHONE)
    assert b"8 PCMA/8000" in held.raw  # augmented: an offer
    assert b"a=sendonly" in held.raw
    assert target_of(held) == caller_sends_to  # the ports stay
    reply = answer(caller.sdp((0, 101), direction="recvonly"))
    replied = anchor.relay("call", Direction.TO_CALLEE, reply, to=PHONE)
    assert b"PCMA" not in replied.raw  # cut back: an answer
    assert b"telephone-event" not in replied.raw  # not in the callee's offer
    assert b"a=recvonly" in replied.raw
    assert target_of(replied) == callee_sends_to
    assert anchor.active_calls == 1


async def test_an_answer_to_no_anchored_offer_passes_through(
    anchor: AnchorSdp, allocator: PortAllocator, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    alone = answer(callee.sdp((0,)))
    assert anchor.relay("stray", Direction.TO_CALLER, alone, to=PHONE) is alone
    assert (anchor.active_calls, allocator.in_use) == (0, 0)  # an answer opens nothing
    connect(anchor, caller, callee)
    again = answer(caller.sdp((0,)))  # an "answer" from the offerer itself
    assert anchor.relay("call", Direction.TO_CALLEE, again, to=PHONE) is again


async def test_answer_locally_and_the_delayed_offer_in_the_ack(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, _callee = phones
    local = anchor.answer_locally("vm", offer(caller.sdp((8, 0, 101))), to=PHONE)
    assert local is not None
    assert local.sdp.role is SdpRole.ANSWER
    assert local.sdp.description is not None
    assert [c.encoding_name for c in local.sdp.description.media[0].codecs] == [
        "PCMA",
        "PCMU",
        "telephone-event",
    ]
    assert anchor.answer_locally("bad", typed(b"not sdp", SdpRole.OFFER), to=PHONE) is None
    delayed = anchor.answer_locally("late", None, to=PHONE)
    assert delayed is not None
    assert delayed.sdp.role is SdpRole.OFFER  # the PBX offers in its 200
    assert not anchor.answer_in_ack("late", None)
    assert not anchor.answer_in_ack("late", typed(b"not sdp", SdpRole.ANSWER))
    assert anchor.answer_in_ack("late", answer(caller.sdp((0,))))
    assert not anchor.answer_in_ack("vm", answer(caller.sdp((0,))))  # the PBX did not offer


async def test_screening_offers_holds_the_callee_and_bridges(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    assert anchor.offer_locally("screen", to=PHONE) is None  # no media of our own yet
    local = anchor.answer_locally("screen", offer(caller.sdp((0,))), to=PHONE)
    assert local is not None
    own = anchor.offer_locally("screen", to=PHONE)
    assert own is not None
    assert own.role is SdpRole.OFFER
    assert anchor.callee_answered("screen", None) is None
    held = anchor.callee_answered("screen", answer(callee.sdp((8,))))
    assert held is not None
    assert held is not local.media
    anchor.press(held, "5")
    anchor.press(object(), "5")  # not ours: ignored
    assert await held.get_digit(0.1) == "5"
    anchor.close(object())  # not ours: ignored
    assert not held.closed
    anchor.close(held)  # the callee hung up: its application hears it
    assert held.closed
    assert isinstance(local.media, MediaEndpoint)
    assert not local.media.closed
    anchor.bridge("screen")  # both legs back to the relay
    assert local.media.closed
    assert anchor.active_calls == 1
