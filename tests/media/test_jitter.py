"""Jitter buffer: schedule, reordering, loss, duplicates, wrap-around, restarts."""

from __future__ import annotations

import random

import pytest

from centralino.media.jitter import FrameKind, JitterBuffer, PlayoutFrame
from centralino.media.rtp import RtpPacket

FRAME = 0.02


def _packet(
    index: int, *, start_sequence: int = 1000, start_timestamp: int = 0, ssrc: int = 1
) -> RtpPacket:
    return RtpPacket(
        payload_type=0,
        sequence_number=(start_sequence + index) & 0xFFFF,
        timestamp=(start_timestamp + 160 * index) & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=bytes([index & 0xFF]) * 160,
    )


def _run(
    buffer: JitterBuffer, arrivals: list[tuple[float, RtpPacket]], until: float
) -> list[tuple[float, PlayoutFrame]]:
    """Push packets at their arrival times; pop every 20 ms (ticks at 5 ms + k*20 ms)."""
    events = sorted(arrivals, key=lambda item: item[0])
    frames = []
    tick = 0.005
    while tick <= until:
        while events and events[0][0] <= tick:
            arrival, packet = events.pop(0)
            buffer.push(packet, arrival)
        frame = buffer.pop(tick)
        if frame is not None:
            frames.append((tick, frame))
        tick = round(tick + FRAME, 9)
    return frames


def _payload_indexes(frames: list[tuple[float, PlayoutFrame]]) -> list[int | None]:
    return [f.payload[0] if f.kind is FrameKind.AUDIO else None for _, f in frames]


def test_jittery_stream_plays_in_order_after_the_target_delay() -> None:
    generator = random.Random(5)
    arrivals = [(i * FRAME + generator.uniform(0, 0.04), _packet(i)) for i in range(50)]
    buffer = JitterBuffer(target_delay=0.06)
    frames = _run(buffer, arrivals, until=1.2)
    assert _payload_indexes(frames) == list(range(50))
    assert frames[0][0] >= arrivals[0][0] + 0.06
    stats = buffer.statistics
    assert (stats.received, stats.played, stats.concealed, stats.late) == (50, 50, 0, 0)
    assert stats.depth == 0


def test_reordered_packets_come_out_in_order() -> None:
    order = [0, 2, 1, 4, 3, 6, 5, 7]
    arrivals = [(n * FRAME, _packet(i)) for n, i in enumerate(order)]
    frames = _run(JitterBuffer(), arrivals, until=0.5)
    assert _payload_indexes(frames) == list(range(8))


def test_reordering_before_playout_moves_the_start_back() -> None:
    buffer = JitterBuffer(target_delay=0.06)
    buffer.push(_packet(1), 0.0)
    buffer.push(_packet(0), 0.005)
    assert buffer.get_timer() == pytest.approx(0.04)
    assert buffer.pop(0.039) is None
    frame = buffer.pop(0.04)
    assert frame is not None
    assert frame.sequence_number == 1000


def test_lost_packet_is_concealed_with_an_interpolated_timestamp() -> None:
    arrivals = [(i * FRAME, _packet(i)) for i in range(6) if i != 3]
    frames = _run(JitterBuffer(), arrivals, until=0.4)
    assert _payload_indexes(frames) == [0, 1, 2, None, 4, 5]
    concealed = frames[3][1]
    assert concealed.sequence_number == 1003
    assert concealed.timestamp == 480
    assert concealed.payload == b""


def test_burst_loss_and_late_arrival() -> None:
    arrivals = [(i * FRAME, _packet(i)) for i in range(10) if i not in (4, 5, 6)]
    arrivals.append((0.3, _packet(5)))  # long after it was concealed
    buffer = JitterBuffer()
    frames = _run(buffer, arrivals, until=0.5)
    assert _payload_indexes(frames) == [0, 1, 2, 3, None, None, None, 7, 8, 9]
    assert [f.timestamp for _, f in frames[4:7]] == [640, 800, 960]
    assert buffer.statistics.late == 1
    assert buffer.statistics.concealed == 3


def test_duplicates_are_dropped() -> None:
    arrivals = [(i * FRAME, _packet(i)) for i in range(5)]
    arrivals += [(i * FRAME + 0.001, _packet(i)) for i in (1, 3)]
    buffer = JitterBuffer()
    assert _payload_indexes(_run(buffer, arrivals, until=0.4)) == [0, 1, 2, 3, 4]
    assert buffer.statistics.duplicates == 2


def test_sequence_and_timestamp_wrap_around() -> None:
    order = [0, 1, 3, 2, 4, 5, 6]  # sequence 65533 .. 3, timestamp wraps too
    arrivals = [
        (n * FRAME, _packet(i, start_sequence=65533, start_timestamp=0xFFFFFE00))
        for n, i in enumerate(order)
    ]
    frames = _run(JitterBuffer(), arrivals, until=0.4)
    assert [f.sequence_number for _, f in frames] == [65533, 65534, 65535, 0, 1, 2, 3]
    assert frames[4][1].timestamp == (0xFFFFFE00 + 640) & 0xFFFFFFFF


def test_underrun_waits_then_rebuffers() -> None:
    arrivals = [(i * FRAME, _packet(i)) for i in range(3)]
    arrivals += [(0.3 + i * FRAME, _packet(3 + i)) for i in range(3)]  # a 240 ms stall
    buffer = JitterBuffer(target_delay=0.06)
    frames = _run(buffer, arrivals, until=0.8)
    assert _payload_indexes(frames) == [0, 1, 2, 3, 4, 5]
    assert frames[3][0] >= 0.36  # the late packet waited the target delay again
    assert buffer.statistics.delay_changes == 1


def test_excessive_delay_pulls_the_schedule_earlier() -> None:
    buffer = JitterBuffer(target_delay=0.06, max_delay=0.2)
    buffer.push(_packet(0), 0.0)
    buffer.push(_packet(50), 0.01)  # due 1 s after its arrival
    assert buffer.statistics.delay_changes == 1
    assert buffer.get_timer() == pytest.approx(0.06 - 1.0 + 0.01)


def test_new_source_or_big_jump_restarts() -> None:
    buffer = JitterBuffer()
    buffer.push(_packet(0), 0.0)
    buffer.push(_packet(1, ssrc=2), 0.02)
    buffer.push(_packet(500, ssrc=2), 0.04)
    stats = buffer.statistics
    assert (stats.restarts, stats.depth) == (2, 1)
    frame = buffer.pop(1.0)
    assert frame is not None
    assert frame.sequence_number == 1500


def test_capacity_and_empty_buffer() -> None:
    buffer = JitterBuffer(capacity=3)
    assert buffer.pop(10.0) is None
    assert buffer.get_timer() is None
    for i in range(5):
        buffer.push(_packet(i), 0.0)
    assert buffer.statistics.overflows == 2
    assert buffer.statistics.depth == 3
