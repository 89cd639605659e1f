"""DTMF: RFC 4733 payloads, sender and receiver; in-band detection; tones."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.codecs import default_codecs
from centralino.media.dtmf import (
    DTMF_DIGITS,
    DTMF_FREQUENCIES,
    DtmfReceiver,
    DtmfSender,
    ReceivedDigit,
    TelephoneEvent,
    digit_for_event,
    event_for_digit,
)
from centralino.media.dtmf_detector import DetectorSettings, DtmfDetector
from centralino.media.errors import MediaParseError, MediaUsageError
from centralino.media.pcm import clip_sample, pcm_from_samples, samples_from_pcm
from centralino.media.rtp import RtpPacket
from centralino.media.tones import (
    FULL_SCALE_POWER,
    beep,
    goertzel_power,
    multitone,
    silence,
    sine,
    speech_like,
)

# --- RFC 4733 payload -------------------------------------------------------


def test_payload_vector() -> None:
    # RFC 4733 §2.3: event 5, E=1, volume 10, duration 800.
    data = bytes.fromhex("058a0320")
    event = TelephoneEvent.parse(data)
    assert event == TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert event.digit == "5"
    assert bytes(event) == data


@given(
    st.builds(
        TelephoneEvent,
        event=st.integers(0, 255),
        end=st.booleans(),
        volume=st.integers(0, 63),
        duration=st.integers(0, 0xFFFF),
    )
)
def test_payload_round_trip(event: TelephoneEvent) -> None:
    assert TelephoneEvent.parse(bytes(event)) == event


def test_bad_payloads() -> None:
    with pytest.raises(MediaParseError, match="3 bytes"):
        TelephoneEvent.parse(b"\x01\x02\x03")
    with pytest.raises(MediaUsageError):
        TelephoneEvent(event=1, volume=64)


def test_digit_table() -> None:
    assert [event_for_digit(d) for d in "0*#ad"] == [0, 10, 11, 12, 15]
    assert digit_for_event(11) == "#"
    assert digit_for_event(16) is None
    assert DTMF_FREQUENCIES["5"] == (770, 1336)
    with pytest.raises(MediaUsageError, match="not a DTMF digit"):
        event_for_digit("E")
    with pytest.raises(MediaUsageError):
        event_for_digit("12")


# --- sender -----------------------------------------------------------------


def test_sender_sequence_follows_rfc4733() -> None:
    packets = DtmfSender().packets("#", timestamp=4000, duration=0.1)
    assert [p.offset for p in packets] == pytest.approx([0.02 * i for i in range(7)])
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert {p.timestamp for p in packets} == {4000}
    assert [p.event.duration for p in packets] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.event.end for p in packets] == [False] * 4 + [True] * 3
    assert {p.event.event for p in packets} == {11}
    rtp = packets[0].rtp(payload_type=101, sequence_number=9, ssrc=5)
    assert rtp.marker
    assert rtp.payload == bytes.fromhex("0b0a00a0")


def test_sender_short_digit_and_limits() -> None:
    packets = DtmfSender().packets("1", timestamp=0, duration=0.01)
    assert [(p.marker, p.event.end, p.event.duration) for p in packets] == [
        (True, True, 80),
        (False, True, 80),
        (False, True, 80),
    ]
    with pytest.raises(MediaUsageError, match="out of range"):
        DtmfSender().packets("1", timestamp=0, duration=9.0)
    with pytest.raises(MediaUsageError):
        DtmfSender().packets("X", timestamp=0)


# --- receiver ---------------------------------------------------------------


def _stream(digits: str, *, start_timestamp: int = 0xFFFFF000) -> list[RtpPacket]:
    sender = DtmfSender()
    packets: list[RtpPacket] = []
    timestamp = start_timestamp
    for digit in digits:
        for planned in sender.packets(digit, timestamp=timestamp, duration=0.08):
            packets.append(
                planned.rtp(payload_type=101, sequence_number=len(packets) & 0xFFFF, ssrc=1)
            )
        timestamp = (timestamp + 2000) & 0xFFFFFFFF
    return packets


def test_receiver_reports_each_digit_once() -> None:
    receiver = DtmfReceiver(payload_type=101)
    received = []
    for index, packet in enumerate(_stream("1#1")):
        received += receiver.receive(packet, now=index * 0.02)
    assert [r.digit for r in received] == ["1", "#", "1"]
    assert received[0] == ReceivedDigit(digit="1", timestamp=0xFFFFF000, duration=640, ended=True)
    assert receiver.get_timer() is None


def test_receiver_survives_reordering_and_duplicates() -> None:
    packets = _stream("42")
    shuffled = [*packets[:3], packets[5], packets[4], packets[3], packets[4], *packets[6:]]
    receiver = DtmfReceiver(payload_type=101)
    received = [r.digit for p in shuffled for r in receiver.receive(p, now=0.0)]
    assert received == ["4", "2"]


def test_receiver_lost_end_packets() -> None:
    packets = [p for p in _stream("78") if not TelephoneEvent.parse(p.payload).end]
    receiver = DtmfReceiver(payload_type=101, timeout=0.5)
    assert len(packets) == 6
    received = [r for p in packets[:3] for r in receiver.receive(p, now=1.0)]
    assert received == []
    # The next event reveals that "7" is over.
    received = receiver.receive(packets[3], now=1.2)
    assert [(r.digit, r.ended) for r in received] == [("7", False)]
    # "8" never ends: the timer reports it.
    assert receiver.get_timer() == pytest.approx(1.7)
    assert receiver.handle_timer(1.6) == []
    assert [r.digit for r in receiver.handle_timer(1.7)] == ["8"]
    assert receiver.handle_timer(5.0) == []
    # Late updates of a reported event are ignored.
    assert receiver.receive(packets[2], now=5.0) == []
    assert receiver.receive(packets[5], now=5.0) == []


def test_receiver_ignores_other_payload_types_and_events() -> None:
    receiver = DtmfReceiver(payload_type=101)
    audio = RtpPacket(payload_type=0, sequence_number=1, timestamp=0, ssrc=1, payload=b"\xff")
    flash = RtpPacket(
        payload_type=101,
        sequence_number=2,
        timestamp=0,
        ssrc=1,
        payload=bytes(TelephoneEvent(event=16, end=True)),
    )
    assert receiver.receive(audio, now=0) == []
    assert receiver.receive(flash, now=0) == []


# --- tones and Goertzel -----------------------------------------------------


def test_goertzel_measures_a_sine() -> None:
    samples = samples_from_pcm(sine(1000, 0.1, amplitude=0.5))
    assert goertzel_power(samples, 1000) == pytest.approx(FULL_SCALE_POWER / 4, rel=0.01)
    assert goertzel_power(samples, 1300) < FULL_SCALE_POWER / 4 / 1000


def test_generators() -> None:
    assert len(silence(0.02)) == 320
    assert set(silence(0.02)) == {0}
    assert len(beep()) == 2 * 2000
    loud = samples_from_pcm(multitone([500, 500, 500], 0.01, amplitude=0.9))
    assert max(loud) == 32767


# --- in-band detection --------------------------------------------------------


def _keyed(digits: str, *, on: float = 0.06, off: float = 0.06, amplitude: float = 0.2) -> bytes:
    return b"".join(
        multitone(DTMF_FREQUENCIES[d], on, amplitude=amplitude) + silence(off) for d in digits
    )


def _add_noise(pcm: bytes, level: float, seed: int = 1) -> bytes:
    generator = random.Random(seed)
    return pcm_from_samples(
        clip_sample(s + generator.gauss(0, level * 32767)) for s in samples_from_pcm(pcm)
    )


def _detect(pcm: bytes, settings: DetectorSettings | None = None, chunk: int = 320) -> str:
    detector = DtmfDetector(settings)
    found = [d for i in range(0, len(pcm), chunk) for d in detector.feed(pcm[i : i + chunk])]
    return "".join(d.digit for d in found)


def test_all_sixteen_digits() -> None:
    assert _detect(_keyed(DTMF_DIGITS)) == DTMF_DIGITS


def test_digits_in_noise_and_odd_chunks() -> None:
    # Each tone at -20 dBFS, white noise 10 dB below the pair.
    noisy = _add_noise(_keyed(DTMF_DIGITS, amplitude=0.1), level=0.1 / math.sqrt(10))
    assert _detect(noisy, chunk=78) == DTMF_DIGITS


def test_repeated_digit_needs_a_pause_and_start_times() -> None:
    detector = DtmfDetector()
    found = detector.feed(_keyed("55", on=0.05, off=0.05))
    assert [d.digit for d in found] == ["5", "5"]
    assert found[0].start == pytest.approx(0.0, abs=0.013)
    assert found[1].start == pytest.approx(0.1, abs=0.026)
    # A 10 ms dropout inside a long tone does not repeat it.
    tone = multitone(DTMF_FREQUENCIES["9"], 0.1, amplitude=0.2)
    assert _detect(tone + silence(0.01) + tone) == "9"


def test_short_tones_are_ignored() -> None:
    assert _detect(_keyed("123", on=0.015)) == ""


def test_twist_and_level_limits() -> None:
    row, column = DTMF_FREQUENCIES["1"]
    twisted = pcm_from_samples(
        clip_sample(
            6000 * math.sin(2 * math.pi * row * n / 8000)
            + 1000 * math.sin(2 * math.pi * column * n / 8000)
        )
        for n in range(800)
    )
    assert _detect(twisted) == ""  # column 15.6 dB below row
    assert _detect(_keyed("1", amplitude=0.005)) == ""  # -46 dBFS per tone


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_false_positive_on_speech_like_sound(seed: int) -> None:
    assert _detect(speech_like(1.0, seed=seed)) == ""


@pytest.mark.parametrize(
    "frequencies",
    [[697], [1336], [1000], [350, 440], [697, 770], [1209, 1477], [440, 480]],
)
def test_no_false_positive_on_other_tones(frequencies: list[int]) -> None:
    assert _detect(multitone(frequencies, 0.5, amplitude=0.3)) == ""


def test_no_false_positive_on_white_noise() -> None:
    assert _detect(_add_noise(silence(1.0), level=0.2)) == ""


@pytest.mark.parametrize("codec_name", ["PCMU", "PCMA"])
def test_digits_survive_g711(codec_name: str) -> None:
    codec = default_codecs().by_name(codec_name)
    assert codec is not None
    assert _detect(codec.decode(codec.encode(_keyed(DTMF_DIGITS)))) == DTMF_DIGITS
