"""Anchored calls on loopback: two fake RTP phones talk through ``AnchorSdp``.

Each fake phone is a UDP socket that writes its own SDP, sends G.711
packets and collects what it receives. The SDP goes through the anchor as
the B2BUA would pass it (``Direction.TO_CALLEE`` for the caller's, the other
way for the callee's); the packets go to wherever the rewritten SDP says.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from centralino.media.codecs import default_codecs
from centralino.media.pcm import samples_from_pcm, split_frames
from centralino.media.rtp import RtpPacket
from centralino.media.tones import goertzel_power, sine
from centralino.net.rtp import PortAllocator
from centralino.sip.sdp import SessionDescription
from centralino.telephony.calls import Direction
from centralino.telephony.media import AnchorSdp, TapDirection

CODECS = default_codecs()
MAPS = {0: "0 PCMU/8000", 8: "8 PCMA/8000", 101: "101 telephone-event/8000"}


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


def target_of(body: bytes) -> tuple[str, int]:
    description = SessionDescription.parse(body)
    assert description.connection is not None
    return (description.connection.address, description.media[0].port)


@pytest.fixture
def allocator() -> PortAllocator:
    return PortAllocator(46000, 46099)


@pytest.fixture
async def anchor(allocator: PortAllocator) -> AsyncIterator[AnchorSdp]:
    anchor = AnchorSdp(bind="127.0.0.1", advertised_host="127.0.0.1", allocator=allocator)
    yield anchor
    anchor.close()


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
    offer: tuple[int, ...] = (0, 101),
    answer: tuple[int, ...] = (0, 101),
) -> tuple[tuple[str, int], tuple[str, int], bytes, bytes]:
    """Offer from the caller, answer from the callee: where each phone sends."""
    to_callee = anchor.relay("call", Direction.TO_CALLEE, caller.sdp(offer))
    to_caller = anchor.relay("call", Direction.TO_CALLER, callee.sdp(answer))
    return target_of(to_caller), target_of(to_callee), to_callee, to_caller


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
        anchor, caller, callee, offer=(0,), answer=(8,)
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
    late = callee.sdp((0,))
    assert anchor.relay("call", Direction.TO_CALLER, late) == late  # not anchored again
    await asyncio.sleep(0.02)
    caller.send(caller_sends_to, b"\xff" * 160)
    assert await callee.collect(1, within=0.1) == []


async def test_hold_and_resume_keep_the_ports_and_pass_the_direction(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    caller_sends_to, callee_sends_to, offer, _answer = connect(anchor, caller, callee)
    hold = anchor.relay(
        "call", Direction.TO_CALLEE, caller.sdp((0,), version=2, direction="sendonly")
    )
    assert target_of(hold) == target_of(offer)
    assert b"a=sendonly" in hold
    held = anchor.relay(
        "call", Direction.TO_CALLER, callee.sdp((0,), version=2, direction="recvonly")
    )
    assert target_of(held) == caller_sends_to
    assert b"a=recvonly" in held
    # The callee resumes (a re-INVITE from the answerer: its o= version went up).
    resume = anchor.relay("call", Direction.TO_CALLER, callee.sdp((0, 101), version=3))
    assert target_of(resume) == caller_sends_to
    assert b"8 PCMA/8000" in resume  # treated as an offer
    answer = anchor.relay("call", Direction.TO_CALLEE, caller.sdp((0, 101), version=3))
    assert target_of(answer) == callee_sends_to
    assert b"PCMA" not in answer  # treated as the answer
    assert anchor.active_calls == 1


async def test_forks_early_media_and_delayed_offer(
    anchor: AnchorSdp, phones: tuple[FakePhone, FakePhone]
) -> None:
    caller, callee = phones
    assert anchor.relay("forks", Direction.TO_CALLEE, b"") == b""  # delayed offer
    offer = anchor.relay("forks", Direction.TO_CALLER, callee.sdp((8,)))
    assert b"0 PCMU/8000" in offer  # the callee offered; the PBX adds PCMU
    answer = anchor.relay("forks", Direction.TO_CALLEE, caller.sdp((0,)))
    assert b"8 PCMA/8000" in answer
    assert b"PCMU" not in answer
    # The same offer to two forks, then a 183 and a 200 (answers both).
    first = anchor.relay("f2", Direction.TO_CALLEE, caller.sdp((0,)))
    second = anchor.relay("f2", Direction.TO_CALLEE, caller.sdp((0,)))
    assert target_of(first) == target_of(second)
    early = anchor.relay("f2", Direction.TO_CALLER, callee.sdp((0,)))
    final = anchor.relay("f2", Direction.TO_CALLER, callee.sdp((0,)))
    assert early == final
    assert b"PCMA" not in final


async def test_bodies_that_are_not_sdp_pass_untouched(anchor: AnchorSdp) -> None:
    dtmf = b"Signal=5\r\nDuration=160\r\n"
    assert anchor.relay("call", Direction.TO_CALLEE, dtmf) == dtmf
    assert anchor.active_calls == 0


async def test_exhausted_range_leaves_the_media_direct(phones: tuple[FakePhone, FakePhone]) -> None:
    caller, _callee = phones
    tiny = AnchorSdp(
        bind="127.0.0.1", advertised_host="127.0.0.1", allocator=PortAllocator(46200, 46201)
    )
    offer = caller.sdp((0,))
    assert tiny.relay("call", Direction.TO_CALLEE, offer) == offer  # one pair: not enough
    assert tiny.allocator.in_use == 0
    tiny.close()


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
    caller_sends_to, callee_sends_to, _o, _a = connect(anchor, caller, callee, answer=(8,))
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
    caller_sends_to, _to, _o, _a = connect(anchor, caller, callee, offer=(0,), answer=(8,))
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
