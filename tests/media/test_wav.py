"""WAV conversion of many formats, rejection of bad files, sources and sinks."""

from __future__ import annotations

import contextlib
import io
import math
import struct
import wave

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.codecs import PcmaCodec, PcmuCodec
from centralino.media.dtmf import DTMF_FREQUENCIES
from centralino.media.dtmf_detector import DtmfDetector
from centralino.media.errors import AudioFormatError, AudioProblem, MediaUsageError
from centralino.media.pcm import samples_from_pcm
from centralino.media.resample import resample
from centralino.media.tones import FULL_SCALE_POWER, goertzel_power, sine
from centralino.media.wav import WavEncoding, encode_wav, read_wav, wav_header
from centralino.media.wav_stream import WavSink, WavSource


def _tone_samples(frequency: float, rate: int, duration: float, amplitude: float) -> list[float]:
    return [
        amplitude * math.sin(2 * math.pi * frequency * n / rate)
        for n in range(round(duration * rate))
    ]


def _pcm_wav(channels: list[list[float]], rate: int, width: int) -> bytes:
    """A PCM WAV written by the stdlib; channel samples are in [-1, 1]."""
    frames = bytearray()
    for frame in zip(*channels, strict=True):
        for value in frame:
            if width == 1:
                frames.append(round(127.5 + 127 * value))
            else:
                peak = (1 << (8 * width - 1)) - 1
                frames += round(peak * value).to_bytes(width, "little", signed=True)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(len(channels))
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(bytes(frames))
    return buffer.getvalue()


def _riff(fmt: bytes, data: bytes, *, extra: bytes = b"") -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    body += b"data" + struct.pack("<I", len(data)) + data + bytes(len(data) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(tag: int, channels: int, rate: int, width: int, bits: int | None = None) -> bytes:
    align = channels * width
    return struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits or 8 * width)


def _level_db(pcm: bytes, frequency: float) -> float:
    samples = samples_from_pcm(pcm)[400:-400]  # skip the filter's edges
    return 10 * math.log10(goertzel_power(samples, frequency) / FULL_SCALE_POWER + 1e-15)


def _assert_tone(pcm: bytes, frequency: float, duration: float, level_db: float) -> None:
    assert len(pcm) == 2 * round(duration * 8000)
    assert _level_db(pcm, frequency) == pytest.approx(level_db, abs=0.5)
    for other in (frequency * 0.8, frequency * 1.25):
        assert _level_db(pcm, other) < level_db - 25


@pytest.mark.parametrize(
    ("rate", "width"),
    [(8000, 1), (8000, 2), (16000, 3), (48000, 4), (11025, 2), (22050, 1)],
)
def test_mono_pcm_formats_keep_the_tone(rate: int, width: int) -> None:
    data = _pcm_wav([_tone_samples(1000, rate, 0.3, 0.5)], rate, width)
    converted = read_wav(data)
    assert converted.source.sample_rate == rate
    assert converted.source.sample_width == width
    assert converted.duration == pytest.approx(0.3)
    _assert_tone(converted.pcm, 1000, 0.3, -6.0)


def test_stereo_44k1_mixes_down_both_channels() -> None:
    # Left holds the row tone of "5", right its column tone: mixed, a digit.
    row, column = DTMF_FREQUENCIES["5"]
    left = _tone_samples(row, 44100, 0.25, 0.4)
    right = _tone_samples(column, 44100, 0.25, 0.4)
    converted = read_wav(_pcm_wav([left, right], 44100, 2))
    assert converted.source.channels == 2
    # Averaging halves each tone: 0.2 of full scale, -14 dBFS.
    _assert_tone(converted.pcm, row, 0.25, -14.0)
    assert _level_db(converted.pcm, column) == pytest.approx(-14.0, abs=0.5)
    assert [d.digit for d in DtmfDetector().feed(converted.pcm)] == ["5"]


def test_16_bit_8k_mono_is_taken_as_is() -> None:
    pcm = sine(440, 0.1)
    assert read_wav(encode_wav(pcm)).pcm == pcm


@pytest.mark.parametrize(
    ("tag", "codec"), [(WavEncoding.MULAW, PcmuCodec()), (WavEncoding.ALAW, PcmaCodec())]
)
def test_g711_wav(tag: WavEncoding, codec: PcmuCodec | PcmaCodec) -> None:
    coded = codec.encode(sine(1000, 0.3, amplitude=0.5))
    converted = read_wav(_riff(_fmt(tag, 1, 8000, 1), coded))
    assert converted.source.encoding is tag
    assert converted.pcm == codec.decode(coded)
    _assert_tone(converted.pcm, 1000, 0.3, -6.0)


def test_extensible_format_and_odd_chunks() -> None:
    pcm = sine(1000, 0.2, amplitude=0.5)
    guid_tail = bytes.fromhex("000000001000800000aa00389b71")
    # WAVE_FORMAT_EXTENSIBLE, mono 8 kHz, 1-byte blocks, 8 bits, cbSize 22,
    # 8 valid bits, channel mask 4, SubFormat GUID of mu-law.
    extensible = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 8000, 8000, 1, 8, 22, 8, 4)
    extensible += struct.pack("<H", WavEncoding.MULAW) + guid_tail
    coded = PcmuCodec().encode(pcm)
    odd_list = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"
    converted = read_wav(_riff(extensible, coded, extra=odd_list))
    assert converted.source.encoding is WavEncoding.MULAW
    _assert_tone(converted.pcm, 1000, 0.2, -6.0)


def test_streaming_data_size_runs_to_the_end() -> None:
    data = bytearray(encode_wav(sine(1000, 0.1)))
    data[40:44] = b"\xff\xff\xff\xff"
    assert read_wav(bytes(data)).duration == pytest.approx(0.1)


GOOD = encode_wav(sine(1000, 0.5))


@pytest.mark.parametrize(
    ("data", "problem", "words"),
    [
        (b"", AudioProblem.EMPTY, "empty"),
        (b"ID3\x04\x00" + bytes(100), AudioProblem.NOT_WAV, "MP3"),
        (b"OggS" + bytes(100), AudioProblem.NOT_WAV, "Ogg"),
        (b"fLaC" + bytes(100), AudioProblem.NOT_WAV, "FLAC"),
        (b"hello, this is text", AudioProblem.NOT_WAV, "not a WAV"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", AudioProblem.NOT_WAV, "not WAVE"),
        (b"RIFF\x10", AudioProblem.TRUNCATED, "cut short"),
        (_riff(_fmt(3, 1, 8000, 4), bytes(64)), AudioProblem.UNSUPPORTED_FORMAT, "floating"),
        (_riff(_fmt(0x11, 1, 8000, 1), bytes(64)), AudioProblem.UNSUPPORTED_FORMAT, "IMA ADPCM"),
        (_riff(_fmt(0x1234, 1, 8000, 1), bytes(64)), AudioProblem.UNSUPPORTED_FORMAT, "0x1234"),
        (_riff(_fmt(1, 1, 8000, 5), bytes(64)), AudioProblem.UNSUPPORTED_FORMAT, "40-bit"),
        (_riff(_fmt(1, 1, 100, 2), bytes(64)), AudioProblem.UNSUPPORTED_FORMAT, "100 Hz"),
        (_riff(_fmt(1, 0, 8000, 2), bytes(64)), AudioProblem.CORRUPT, "0 channels"),
        (_riff(b"\x01\x00", bytes(64)), AudioProblem.CORRUPT, "'fmt' chunk has 2 bytes"),
        (GOOD.replace(b"data", b"junk"), AudioProblem.CORRUPT, "no 'data' chunk"),
        (GOOD[:12] + GOOD[36:], AudioProblem.CORRUPT, "no 'fmt' chunk"),
        (GOOD[:-100], AudioProblem.TRUNCATED, "'data' chunk declares 8000 bytes"),
        (encode_wav(b""), AudioProblem.EMPTY, "no audio"),
        (encode_wav(b"\x00"), AudioProblem.EMPTY, "no audio"),
    ],
)
def test_bad_files_are_refused_with_a_reason(
    data: bytes, problem: AudioProblem, words: str
) -> None:
    with pytest.raises(AudioFormatError, match=words) as caught:
        read_wav(data)
    assert caught.value.problem is problem


def test_too_long_is_checked_before_decoding() -> None:
    with pytest.raises(AudioFormatError, match=r"lasts 0.5 s, more than the 0.25 s") as caught:
        read_wav(GOOD, max_duration=0.25)
    assert caught.value.problem is AudioProblem.TOO_LONG


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_audio_format_errors(tail: bytes) -> None:
    for data in (tail, b"RIFF" + struct.pack("<I", len(tail) + 4) + b"WAVE" + tail):
        with contextlib.suppress(AudioFormatError):
            read_wav(data, max_duration=1.0)


SMALL = encode_wav(sine(1000, 0.01))


@given(st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), max_size=4))
def test_damaged_headers_raise_only_audio_format_errors(damage: list[tuple[int, int]]) -> None:
    data = bytearray(SMALL)
    for position, value in damage:
        data[position] = value
    with contextlib.suppress(AudioFormatError):
        read_wav(bytes(data), max_duration=1.0)


@given(st.binary(min_size=2, max_size=400).map(lambda b: b[: len(b) // 2 * 2]))
def test_encode_then_read_is_identity(pcm: bytes) -> None:
    assert read_wav(encode_wav(pcm)).pcm == pcm


def test_written_files_are_read_by_the_stdlib() -> None:
    with wave.open(io.BytesIO(encode_wav(sine(500, 0.1))), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, 8000)
        assert reader.getnframes() == 800
    assert len(wav_header(0)) == 44


def test_resampler_quality() -> None:
    # Passband: 3 kHz kept within 0.5 dB; an out-of-band 5 kHz tone, which
    # folds to 3 kHz at 8 kHz, at least 50 dB down.
    for frequency, probe, expected in ((3000, 3000, -6.0), (5000, 3000, -56.0)):
        samples = [32767 * s for s in _tone_samples(frequency, 44100, 0.3, 0.5)]
        converted = resample(samples, 44100, 8000)
        level = _level_db(converted.tobytes(), probe)
        assert level == pytest.approx(-6.0, abs=0.5) if expected == -6.0 else level < expected
    assert list(resample([1, 2, 3], 8000, 8000)) == [1, 2, 3]
    with pytest.raises(MediaUsageError):
        resample([1], 0, 8000)


def test_resampler_odd_ratio_uses_rounded_phases() -> None:
    samples = [16000 * s for s in _tone_samples(1000, 44123, 0.2, 1.0)]
    converted = resample(samples, 44123, 8000)
    assert len(converted) == len(samples) * 8000 // 44123
    assert _level_db(converted.tobytes(), 1000) == pytest.approx(-6.2, abs=0.5)


def test_source_frames_and_rewind() -> None:
    source = WavSource(bytes(range(200)) * 4)  # 800 bytes: 2.5 frames
    frames = [source.next_frame(), source.next_frame(), source.next_frame()]
    assert [len(f or b"") for f in frames] == [320, 320, 320]
    assert frames[2] is not None
    assert frames[2].endswith(bytes(160))
    assert source.next_frame() is None
    assert source.finished
    source.rewind()
    assert source.next_frame() == frames[0]
    assert source.duration == 0.05
    assert WavSource.from_wav(GOOD).duration == 0.5
    with pytest.raises(MediaUsageError):
        WavSource(b"\x00")


def test_sink_stops_at_the_maximum() -> None:
    sink = WavSink(max_duration=0.05)
    for _ in range(2):
        sink.write(bytes(320))
        assert not sink.full
    sink.write(b"\x01\x00" * 160)
    assert sink.full
    assert sink.duration == 0.05
    assert read_wav(sink.to_wav()).pcm == bytes(640) + b"\x01\x00" * 80
    with pytest.raises(MediaUsageError):
        sink.write(b"\x00")
    unlimited = WavSink()
    unlimited.write(bytes(3200))
    assert not unlimited.full
