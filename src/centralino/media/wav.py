"""WAV files in and out: any common WAV in, 8 kHz 16-bit mono out.

Reading (:func:`read_wav`) walks the RIFF chunks itself (the stdlib ``wave``
module of Python 3.11 knows neither A-law/mu-law nor WAVE_FORMAT_EXTENSIBLE,
and its errors are not fit for a person) and accepts:

* integer PCM of 8 (unsigned), 16, 24 or 32 bits, kept to 16 bits by
  dropping the low bytes;
* G.711 A-law (format 6) and mu-law (format 7);
* any of these inside WAVE_FORMAT_EXTENSIBLE;
* any number of channels, averaged to mono; any rate, resampled to 8 kHz by
  :func:`~centralino.media.resample.resample` (its header states the quality).

Everything else is refused with an :class:`AudioFormatError` whose
:class:`AudioProblem` code and sentence name the problem: not a WAV (and what
it looks like instead: MP3, Ogg...), an unsupported encoding (float, ADPCM,
GSM...), a corrupt or truncated file, no audio, or more than
``max_duration`` seconds (checked from the header, before any decoding).

Writing: :func:`encode_wav` builds a whole 8 kHz 16-bit mono file;
:func:`wav_header` is its 44-byte header, for glue that streams samples to
disk and rewrites the header at the end. :class:`WavSource` and
:class:`WavSink` (in :mod:`centralino.media.wav_stream`) cut and collect
20 ms frames.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass
from enum import IntEnum
from operator import add

from .codecs.g711 import Law, decode_with
from .errors import AudioFormatError, AudioProblem
from .pcm import SAMPLE_RATE, pcm_from_samples
from .resample import resample

__all__ = [
    "ConvertedAudio",
    "WavEncoding",
    "WavFormat",
    "encode_wav",
    "inspect_wav",
    "read_wav",
    "wav_header",
]

_CHUNK = struct.Struct("<4sI")
_FORMAT = struct.Struct("<HHIIHH")
_STREAMING_SIZE = 0xFFFFFFFF
_BIG_ENDIAN = sys.byteorder == "big"
_SIGN_FLIP = bytes(b ^ 0x80 for b in range(256))
_MAX_CHANNELS = 32
_MAX_SAMPLE_RATE = 384_000
_MIN_SAMPLE_RATE = 1000


class WavEncoding(IntEnum):
    """The WAV format tags this module decodes."""

    PCM = 1
    ALAW = 6
    MULAW = 7


_OTHER_ENCODINGS = {
    2: "Microsoft ADPCM",
    3: "IEEE floating point",
    0x11: "IMA ADPCM",
    0x31: "GSM 6.10",
    0x40: "G.721 ADPCM",
    0x50: "MPEG audio",
    0x55: "MP3",
    0x161: "Windows Media Audio",
}
_SIGNATURES = (
    (0, b"ID3", "an MP3 file"),
    (0, b"\xff\xfb", "an MP3 file"),
    (0, b"\xff\xf3", "an MP3 file"),
    (0, b"OggS", "an Ogg (Vorbis/Opus) file"),
    (0, b"fLaC", "a FLAC file"),
    (0, b"FORM", "an AIFF file"),
    (0, b"RF64", "an RF64 (64-bit WAV) file"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
    (4, b"ftyp", "an MP4/M4A file"),
    (0, b"RIFF", "a RIFF file that is not WAVE audio"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class WavFormat:
    """What a WAV file holds, as its header says."""

    encoding: WavEncoding
    channels: int
    sample_rate: int
    sample_width: int
    frame_count: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.sample_rate


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvertedAudio:
    """A WAV converted to the internal format, with its original format."""

    pcm: bytes
    source: WavFormat

    @property
    def duration(self) -> float:
        """Length in seconds of :attr:`pcm`."""
        return len(self.pcm) / (2 * SAMPLE_RATE)


def _refuse(problem: AudioProblem, reason: str) -> AudioFormatError:
    return AudioFormatError(problem, reason)


def _sniff(data: bytes) -> str:
    for offset, signature, name in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return name
    return "not a WAV file"


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """Return the first chunk of each id; the data chunk may run to the end."""
    found: dict[bytes, bytes] = {}
    offset = 12
    while offset + _CHUNK.size <= len(data):
        chunk_id, size = _CHUNK.unpack_from(data, offset)
        start = offset + _CHUNK.size
        if chunk_id == b"data" and size == _STREAMING_SIZE:
            size = len(data) - start
        if start + size > len(data):
            name = chunk_id.decode("latin-1").strip()
            raise _refuse(
                AudioProblem.TRUNCATED,
                f"the file is cut short: its '{name}' chunk declares {size} bytes, "
                f"only {len(data) - start} are present",
            )
        found.setdefault(chunk_id, data[start : start + size])
        offset = start + size + (size & 1)  # chunks are padded to even sizes
    return found


def _encoding(tag: int, fmt: bytes) -> WavEncoding:
    if tag == 0xFFFE and len(fmt) >= 26:
        (tag,) = struct.unpack_from("<H", fmt, 24)  # first bytes of SubFormat GUID
    try:
        return WavEncoding(tag)
    except ValueError:
        name = _OTHER_ENCODINGS.get(tag, f"format tag {tag:#06x}")
        raise _refuse(
            AudioProblem.UNSUPPORTED_FORMAT,
            f"the audio is {name}; use integer PCM (8/16/24/32-bit), A-law or mu-law",
        ) from None


def _parse_format(fmt: bytes, data_size: int) -> WavFormat:
    if len(fmt) < _FORMAT.size:
        raise _refuse(AudioProblem.CORRUPT, f"the 'fmt' chunk has {len(fmt)} bytes, not 16")
    tag, channels, rate, _, block_align, bits = _FORMAT.unpack_from(fmt)
    encoding = _encoding(tag, fmt)
    if not 0 < channels <= _MAX_CHANNELS or block_align % channels:
        raise _refuse(AudioProblem.CORRUPT, f"the header says {channels} channels")
    if not _MIN_SAMPLE_RATE <= rate <= _MAX_SAMPLE_RATE:
        raise _refuse(AudioProblem.UNSUPPORTED_FORMAT, f"the sample rate is {rate} Hz")
    width = block_align // channels
    allowed = (1, 2, 3, 4) if encoding is WavEncoding.PCM else (1,)
    if width not in allowed or bits > 8 * width or bits == 0:
        raise _refuse(
            AudioProblem.UNSUPPORTED_FORMAT,
            f"{bits}-bit samples in {width}-byte containers are not supported",
        )
    return WavFormat(
        encoding=encoding,
        channels=channels,
        sample_rate=rate,
        sample_width=width,
        frame_count=data_size // block_align,
    )


def inspect_wav(data: bytes) -> tuple[WavFormat, bytes]:
    """Check a WAV file's structure and return its format and sample bytes.

    Args:
        data: the whole file.

    Returns:
        The format and the raw bytes of the data chunk (whole frames only).

    Raises:
        AudioFormatError: the file is not a usable WAV (see the module doc).
    """
    if not data:
        raise _refuse(AudioProblem.EMPTY, "the file is empty")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        if data[:4] == b"RIFF" and len(data) < 12:
            raise _refuse(AudioProblem.TRUNCATED, "the file is cut short in its RIFF header")
        raise _refuse(AudioProblem.NOT_WAV, f"this is {_sniff(data)}, not a WAV file")
    chunks = _chunks(data)
    if b"fmt " not in chunks:
        raise _refuse(AudioProblem.CORRUPT, "the WAV file has no 'fmt' chunk")
    if b"data" not in chunks:
        raise _refuse(AudioProblem.CORRUPT, "the WAV file has no 'data' chunk")
    samples = chunks[b"data"]
    wav_format = _parse_format(chunks[b"fmt "], len(samples))
    if wav_format.frame_count == 0:
        raise _refuse(AudioProblem.EMPTY, "the WAV file holds no audio")
    whole = wav_format.frame_count * wav_format.channels * wav_format.sample_width
    return wav_format, samples[:whole]


def _to_16_bit(wav_format: WavFormat, raw: bytes) -> array[int]:
    if wav_format.encoding is not WavEncoding.PCM:
        law = Law.ALAW if wav_format.encoding is WavEncoding.ALAW else Law.ULAW
        pcm = bytearray(decode_with(law, raw))
    else:
        width = wav_format.sample_width
        pcm = bytearray(2 * (len(raw) // width))
        if width == 1:  # unsigned: flip the sign bit, use as the high byte
            pcm[1::2] = raw.translate(_SIGN_FLIP)
        else:  # keep the two most significant bytes of each little-endian sample
            pcm[0::2] = raw[width - 2 :: width]
            pcm[1::2] = raw[width - 1 :: width]
    samples = array("h", pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def _mix_down(samples: array[int], channels: int) -> list[float]:
    total: list[float] = list(samples[0::channels])
    for channel in range(1, channels):
        total = list(map(add, total, samples[channel::channels]))
    return [value / channels for value in total]


def read_wav(data: bytes, *, max_duration: float = 300.0) -> ConvertedAudio:
    """Convert a WAV file to 8 kHz 16-bit mono PCM.

    Args:
        data: the whole file.
        max_duration: the longest audio accepted, in seconds.

    Returns:
        The converted audio and the file's original format.

    Raises:
        AudioFormatError: the file is not a usable WAV, or is too long; the
            error's ``problem`` and message say which.
    """
    wav_format, raw = inspect_wav(data)
    if wav_format.duration > max_duration:
        raise _refuse(
            AudioProblem.TOO_LONG,
            f"the audio lasts {wav_format.duration:.1f} s, "
            f"more than the {max_duration:g} s allowed",
        )
    samples = _to_16_bit(wav_format, raw)
    if wav_format.channels == 1 and wav_format.sample_rate == SAMPLE_RATE:
        return ConvertedAudio(pcm=pcm_from_samples(samples), source=wav_format)
    mono = _mix_down(samples, wav_format.channels) if wav_format.channels > 1 else samples
    converted = resample(mono, wav_format.sample_rate, SAMPLE_RATE)
    return ConvertedAudio(pcm=pcm_from_samples(converted), source=wav_format)


def wav_header(data_size: int, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return the 44-byte header of a 16-bit mono PCM WAV file.

    Args:
        data_size: the number of sample bytes that follow.
        sample_rate: samples per second.

    Returns:
        The RIFF, fmt and data chunk headers.
    """
    fmt = _FORMAT.pack(WavEncoding.PCM, 1, sample_rate, 2 * sample_rate, 2, 16)
    return (
        _CHUNK.pack(b"RIFF", 4 + _CHUNK.size + len(fmt) + _CHUNK.size + data_size)
        + b"WAVE"
        + _CHUNK.pack(b"fmt ", len(fmt))
        + fmt
        + _CHUNK.pack(b"data", data_size)
    )


def encode_wav(pcm: bytes, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return a complete WAV file holding 16-bit mono PCM.

    Args:
        pcm: 16-bit little-endian mono samples.
        sample_rate: their rate.

    Returns:
        The file bytes (a pad byte is added if ``pcm`` has an odd length).
    """
    return wav_header(len(pcm), sample_rate=sample_rate) + pcm + bytes(len(pcm) & 1)
