"""The shared media clock, and prompts played through it on real sockets."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time

import pytest

from centralino.calls.ports import Sdp, SdpRole
from centralino.media.tones import sine
from centralino.net.rtp import PortAllocator
from centralino.sip.sdp import SessionDescription
from centralino.telephony.apps.channel import HungUp
from centralino.telephony.media import AnchorSdp
from centralino.telephony.media.clock import MediaClock
from centralino.telephony.media.endpoint import MediaEndpoint

INTERVAL = 0.02


class Recorder:
    """A clock client that records its ticks and leaves after ``count``."""

    def __init__(self, count: int, *, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.ticks: list[float] = []

    def tick(self, at: float) -> bool:
        if len(self.ticks) == self.fail_at:
            raise RuntimeError("boom")
        self.ticks.append(at)
        return len(self.ticks) < self.count


async def test_the_first_client_ticks_at_once_then_on_a_fixed_schedule() -> None:
    clock = MediaClock(INTERVAL)
    client = Recorder(5)
    clock.add(client)
    assert len(client.ticks) == 1  # at once: a lone prompt starts without delay
    await asyncio.sleep(6 * INTERVAL)
    assert len(client.ticks) == 5
    steps = [b - a for a, b in itertools.pairwise(client.ticks)]
    assert steps == pytest.approx([INTERVAL] * 4)
    assert not clock.running  # idle once its last client left
    assert len(clock) == 0


async def test_a_client_joining_a_running_clock_shares_its_ticks() -> None:
    clock = MediaClock(INTERVAL)
    first, second = Recorder(10), Recorder(3)
    clock.add(first)
    await asyncio.sleep(INTERVAL / 2)
    clock.add(second)
    assert second.ticks == []  # waits for the next tick
    await asyncio.sleep(5 * INTERVAL)
    assert second.ticks == first.ticks[1:4]
    clock.stop()


async def test_removed_and_failing_clients_leave_the_others_ticking() -> None:
    clock = MediaClock(INTERVAL)
    failing, removed, steady = Recorder(10, fail_at=2), Recorder(10), Recorder(6)
    for client in (failing, removed, steady):
        clock.add(client)
    await asyncio.sleep(INTERVAL / 2)
    clock.remove(removed)
    clock.remove(Recorder(1))  # never added: nothing happens
    await asyncio.sleep(7 * INTERVAL)
    assert len(failing.ticks) == 2
    assert removed.ticks == []  # joined after the first tick, removed before the next
    assert len(steady.ticks) == 6
    assert not clock.running


async def test_a_late_loop_is_caught_up_tick_by_tick() -> None:
    clock = MediaClock(INTERVAL)
    client = Recorder(8)
    clock.add(client)
    time.sleep(4.5 * INTERVAL)  # the loop is blocked  # noqa: ASYNC251
    await asyncio.sleep(0)
    await asyncio.sleep(0.005)
    assert len(client.ticks) >= 5  # every tick whose time came, each with its own time
    steps = [b - a for a, b in itertools.pairwise(client.ticks)]
    assert steps == pytest.approx([INTERVAL] * len(steps))
    clock.stop()


async def test_every_endpoint_of_an_anchor_shares_its_clock(anchor: AnchorSdp) -> None:
    phone = _phone()
    first = _answer(anchor, "call-one", phone)
    second = _answer(anchor, "call-two", phone)
    assert first._clock is second._clock is anchor.media_clock
    anchor.release_all()
    phone.close()


# Prompts through the clock, on loopback ---------------------------------------------------


def _phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _offer(port: int) -> Sdp:
    body = (
        f"v=0\r\no=phone {port} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
    ).encode()
    sdp = Sdp.of(body, SdpRole.OFFER)  # as the call core hands it over
    assert sdp is not None
    return sdp


def _received(sock: socket.socket) -> list[tuple[int, int, int, int]]:
    """(marker, sequence, timestamp, SSRC) of every packet waiting."""
    packets: list[tuple[int, int, int, int]] = []
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return packets
        _first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
        assert len(data) == 172
        packets.append((second >> 7, sequence, timestamp, ssrc))


@pytest.fixture
def anchor() -> AnchorSdp:
    return AnchorSdp(
        bind="127.0.0.1", advertised_host="127.0.0.1", allocator=PortAllocator(46000, 46999)
    )


def _answer(anchor: AnchorSdp, call_id: str, phone: socket.socket) -> MediaEndpoint:
    answer = anchor.answer_locally(call_id, _offer(phone.getsockname()[1]), to="127.0.0.1")
    assert answer is not None
    assert isinstance(answer.media, MediaEndpoint)
    assert answer.sdp.role is SdpRole.ANSWER
    assert SessionDescription.parse(answer.sdp.raw).media[0].port > 0
    return answer.media


async def test_two_callers_hear_the_same_prompt_each_with_its_own_stream(
    anchor: AnchorSdp,
) -> None:
    phones = [_phone(), _phone()]
    endpoints = [_answer(anchor, f"call-{n}", phone) for n, phone in enumerate(phones)]
    await asyncio.sleep(0.05)  # sockets attach
    prompt = sine(440.0, 0.2)  # 10 frames
    started = time.monotonic()
    results = await asyncio.gather(*(endpoint.play(prompt) for endpoint in endpoints))
    elapsed = time.monotonic() - started
    assert results == [None, None]
    assert 0.18 <= elapsed <= 0.35  # paced in real time
    await asyncio.sleep(0.02)
    streams = [_received(phone) for phone in phones]
    for packets in streams:
        assert len(packets) == 10
        assert [marker for marker, *_ in packets] == [1] + [0] * 9
        sequences = [sequence for _m, sequence, _t, _s in packets]
        assert [(b - a) & 0xFFFF for a, b in itertools.pairwise(sequences)] == [1] * 9
        stamps = [stamp for _m, _q, stamp, _s in packets]
        assert [(b - a) & 0xFFFFFFFF for a, b in itertools.pairwise(stamps)] == [160] * 9
        assert len({ssrc for *_x, ssrc in packets}) == 1
    assert streams[0][0][3] != streams[1][0][3]  # each endpoint its own SSRC
    # A second prompt is a new talkspurt: marker, timestamp moved on with the time.
    await asyncio.sleep(0.1)
    await endpoints[0].play(sine(440.0, 0.04))
    again = _received(phones[0])
    assert [marker for marker, *_ in again] == [1, 0]
    assert (again[0][1] - streams[0][-1][1]) & 0xFFFF == 1
    jump = (again[0][2] - streams[0][-1][2]) & 0xFFFFFFFF
    assert 160 + 0.08 * 8000 <= jump <= 160 + 0.25 * 8000
    anchor.release_all()
    for phone in phones:
        phone.close()


async def test_a_key_interrupts_and_the_hang_up_ends_a_prompt(anchor: AnchorSdp) -> None:
    phone = _phone()
    endpoint = _answer(anchor, "call-keys", phone)
    await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, endpoint.press, "5")
    started = time.monotonic()
    assert await endpoint.play(sine(440.0, 2.0)) == "5"
    assert time.monotonic() - started < 0.3
    assert await endpoint.play(sine(440.0, 2.0)) == "5"  # still queued: at once
    assert await endpoint.get_digit(0.1) == "5"
    loop.call_later(0.1, endpoint.press, "7")
    assert await endpoint.play(sine(440.0, 0.3), interrupt=False) is None
    endpoint.flush_digits()
    loop.call_later(0.1, anchor.release, "call-keys")
    started = time.monotonic()
    with pytest.raises(HungUp):
        await endpoint.play(sine(440.0, 2.0), interrupt=False)
    assert time.monotonic() - started < 0.3
    with pytest.raises(HungUp):
        await endpoint.play(sine(440.0, 0.1))
    assert len(anchor.media_clock) == 0  # every playout left the clock
    phone.close()


async def test_a_cancelled_prompt_leaves_the_clock(anchor: AnchorSdp) -> None:
    phone = _phone()
    endpoint = _answer(anchor, "call-cancel", phone)
    await asyncio.sleep(0.05)
    task = asyncio.ensure_future(endpoint.play(sine(440.0, 2.0)))
    await asyncio.sleep(0.1)
    assert len(anchor.media_clock) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(anchor.media_clock) == 0
    anchor.release_all()
    phone.close()
