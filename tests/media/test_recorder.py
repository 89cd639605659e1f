"""The call recorder's timeline: two directions placed by arrival time and mixed."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from centralino.media.errors import MediaUsageError
from centralino.media.pcm import SAMPLE_RATE, pcm_from_samples, samples_from_pcm, split_frames
from centralino.media.recorder import MixedRecorder
from centralino.media.tones import goertzel_power, sine

LOW, HIGH = 697.0, 1209.0
CALLER, CALLEE = "caller", "callee"
START = 1000.0  # an arbitrary monotonic time


def _packets(
    frequency: float, start: float, seconds: float, *, frame: float = 0.020
) -> Iterator[tuple[bytes, float]]:
    """A tone cut into packets, each arriving right when its audio ends being captured."""
    audio = sine(frequency, seconds, amplitude=0.25)
    size = 2 * round(frame * SAMPLE_RATE)
    for index, chunk in enumerate(split_frames(audio, size)):
        yield chunk, start + index * frame


def _power(recording: bytes, frequency: float, begin: float, end: float) -> float:
    samples = samples_from_pcm(recording)[round(begin * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
    return goertzel_power(samples, frequency)


def _feed(recorder: MixedRecorder, source: str, packets: list[tuple[bytes, float]]) -> None:
    for pcm, arrival in packets:
        recorder.add(source, pcm, arrival)


def _interleaved(recorder: MixedRecorder, **sources: list[tuple[bytes, float]]) -> None:
    """Feed every source's packets in arrival order, as the relay would."""
    tagged = [(arrival, name, pcm) for name, packets in sources.items() for pcm, arrival in packets]
    for arrival, name, pcm in sorted(tagged, key=lambda item: item[0]):
        recorder.add(name, pcm, arrival)


def test_both_directions_are_present_at_the_right_times() -> None:
    recorder = MixedRecorder()
    caller = list(_packets(LOW, START, 2.0))  # 0 s to 2 s
    callee = list(_packets(HIGH, START + 1.0, 2.0))  # 1 s to 3 s
    _interleaved(recorder, caller=caller, callee=callee)
    recording = recorder.pcm()
    assert recorder.duration == pytest.approx(3.0, abs=0.021)
    tone = 0.25**2 * 32767**2 / 2
    assert _power(recording, LOW, 0.1, 0.9) == pytest.approx(tone, rel=0.05)
    assert _power(recording, HIGH, 0.1, 0.9) < tone / 1000
    assert _power(recording, LOW, 1.1, 1.9) == pytest.approx(tone, rel=0.05)
    assert _power(recording, HIGH, 1.1, 1.9) == pytest.approx(tone, rel=0.05)
    assert _power(recording, LOW, 2.1, 2.9) < tone / 1000
    assert _power(recording, HIGH, 2.1, 2.9) == pytest.approx(tone, rel=0.05)
    assert recorder.counters(CALLER).packets == 100
    assert recorder.counters(CALLEE).packets == 100


def test_a_mix_is_the_sample_sum_of_the_aligned_directions() -> None:
    recorder = MixedRecorder()
    caller = list(_packets(LOW, START, 1.0))
    callee = list(_packets(HIGH, START, 1.0))
    _interleaved(recorder, caller=caller, callee=callee)
    expected = [
        a + b
        for a, b in zip(
            samples_from_pcm(sine(LOW, 1.0, amplitude=0.25)),
            samples_from_pcm(sine(HIGH, 1.0, amplitude=0.25)),
            strict=True,
        )
    ]
    assert list(samples_from_pcm(recorder.pcm())) == expected


def test_the_sum_saturates() -> None:
    recorder = MixedRecorder()
    loud = pcm_from_samples([30000, -30000] * 80)
    recorder.add(CALLER, loud, START)
    recorder.add(CALLEE, loud, START)
    assert set(samples_from_pcm(recorder.pcm())) == {32767, -32768}


def test_silence_suppression_gaps_are_silence() -> None:
    recorder = MixedRecorder()
    first = list(_packets(LOW, START, 1.0))
    second = list(_packets(LOW, START + 2.0, 1.0))  # one second without packets between
    _feed(recorder, CALLER, first + second)
    recording = recorder.pcm()
    assert recorder.duration == pytest.approx(3.0, abs=0.021)
    gap = samples_from_pcm(recording)[round(1.0 * SAMPLE_RATE) + 160 : round(2.0 * SAMPLE_RATE)]
    assert not any(gap)
    assert _power(recording, LOW, 2.1, 2.9) > 1e6
    counters = recorder.counters(CALLER)
    assert counters.gaps == 1
    assert counters.gap_seconds == pytest.approx(1.0, abs=0.021)


def test_a_late_joining_direction_starts_at_its_time() -> None:
    recorder = MixedRecorder()
    _interleaved(
        recorder,
        caller=list(_packets(LOW, START, 3.0)),
        callee=list(_packets(HIGH, START + 2.0, 1.0)),
    )
    recording = recorder.pcm()
    assert _power(recording, HIGH, 0.0, 1.95) < 1e3
    assert _power(recording, HIGH, 2.05, 2.95) > 1e6


def test_jitter_and_reordering_do_not_stretch_the_result() -> None:
    jitter = random.Random(7)
    recorder = MixedRecorder()
    packets = [
        (pcm, arrival + jitter.uniform(0.0, 0.06)) for pcm, arrival in _packets(LOW, START, 5.0)
    ]
    packets.sort(key=lambda packet: packet[1])  # arrival order (neighbours swap)
    _feed(recorder, CALLER, packets)
    recording = samples_from_pcm(recorder.pcm())
    assert recorder.duration == pytest.approx(5.0, abs=0.021)
    assert recorder.counters(CALLER).gaps == 0
    assert recorder.counters(CALLER).dropped == 0
    assert all(any(frame) for frame in split_frames(recorder.pcm()))  # no hole anywhere
    assert len(recording) == 5 * SAMPLE_RATE


def test_a_burst_after_a_short_stall_stays_contiguous() -> None:
    recorder = MixedRecorder()
    packets = list(_packets(LOW, START, 2.0))
    stalled = [
        (pcm, max(arrival, START + 1.08) if START + 1.0 <= arrival < START + 1.08 else arrival)
        for pcm, arrival in packets
    ]
    _feed(recorder, CALLER, stalled)
    assert recorder.duration == pytest.approx(2.0, abs=0.001)
    assert recorder.counters(CALLER).dropped == 0


def test_lost_packets_keep_the_directions_aligned() -> None:
    recorder = MixedRecorder()
    caller = [packet for index, packet in enumerate(_packets(LOW, START, 10.0)) if index % 10 != 3]
    callee = list(_packets(HIGH, START, 10.0))
    _interleaved(recorder, caller=caller, callee=callee)
    # Ten percent of the caller's packets are lost; its audio is not pulled
    # earlier by a second over ten: the last packet lands near its time.
    assert recorder.duration == pytest.approx(10.0, abs=0.021)
    assert recorder.counters(CALLER).gap_seconds == pytest.approx(1.0, abs=0.2)
    recording = recorder.pcm()
    assert _power(recording, LOW, 9.5, 9.9) > 1e6


def test_a_fast_sender_is_held_to_the_clock() -> None:
    recorder = MixedRecorder()
    # 1 % fast: 10.1 s of audio arrive in 10 s; the excess is skipped.
    fast = [(pcm, START + index * 0.0198) for index, (pcm, _) in enumerate(_packets(LOW, 0, 10.1))]
    _feed(recorder, CALLER, fast)
    assert recorder.duration == pytest.approx(10.0, abs=0.04)
    assert recorder.counters(CALLER).dropped > 0


def test_different_packet_sizes_line_up() -> None:
    recorder = MixedRecorder()
    caller = list(_packets(LOW, START, 2.0, frame=0.010))
    callee = list(_packets(HIGH, START + 1.0, 1.0, frame=0.030))
    _interleaved(recorder, caller=caller, callee=callee)
    recording = recorder.pcm()
    assert recorder.duration == pytest.approx(2.0, abs=0.031)
    assert _power(recording, HIGH, 0.1, 0.95) < 1e3
    assert _power(recording, HIGH, 1.05, 1.9) > 1e6
    assert _power(recording, LOW, 1.05, 1.9) > 1e6


def test_a_packet_far_ahead_of_the_clock_is_dropped_not_overlapped() -> None:
    recorder = MixedRecorder()
    packets = list(_packets(LOW, START, 1.0))
    _feed(recorder, CALLER, packets)
    # The same audio again, at once: it would run a second ahead of the clock.
    _feed(recorder, CALLER, [(pcm, START + 1.0) for pcm, _ in packets])
    assert recorder.duration == pytest.approx(1.0 + 0.1, abs=0.021)
    assert recorder.counters(CALLER).dropped >= 40


def test_memory_is_capped() -> None:
    recorder = MixedRecorder(max_duration=1.0)
    _interleaved(
        recorder, caller=list(_packets(LOW, START, 3.0)), callee=list(_packets(HIGH, START, 3.0))
    )
    assert recorder.duration == 1.0
    assert len(recorder.pcm()) == 2 * SAMPLE_RATE
    assert recorder.truncated
    recorder.add(CALLER, sine(LOW, 0.02), START + 3600)  # a gap past the cap
    assert recorder.duration == 1.0


def test_empty_and_bad_input() -> None:
    recorder = MixedRecorder()
    assert recorder.pcm() == b""
    assert recorder.duration == 0.0
    assert recorder.counters(CALLER).packets == 0
    recorder.add(CALLER, b"", START)
    assert recorder.pcm() == b""
    with pytest.raises(MediaUsageError):
        recorder.add(CALLER, b"\x00", START)
    with pytest.raises(MediaUsageError):
        MixedRecorder(max_duration=0)
    with pytest.raises(MediaUsageError):
        MixedRecorder(tolerance=0.01, drift=0.02)
