"""The one internal audio format: 8 kHz, 16-bit signed little-endian, mono.

Everything inside the media layer speaks this format: codecs decode to it,
WAV sources convert to it, tones are generated in it, the mixer and the DTMF
detector read it. Audio travels as ``bytes``; arithmetic works on
``array('h')`` (converted here, byte-swapped on big-endian hosts so the
bytes are always little-endian). RTP frames are 20 ms: 160 samples, 320
bytes.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator

from .errors import MediaUsageError

__all__ = [
    "FRAME_BYTES",
    "FRAME_DURATION",
    "FRAME_SAMPLES",
    "SAMPLE_MAX",
    "SAMPLE_MIN",
    "SAMPLE_RATE",
    "clip_sample",
    "duration_of",
    "pcm_from_samples",
    "samples_from_pcm",
    "split_frames",
]

SAMPLE_RATE = 8000
FRAME_DURATION = 0.020
FRAME_SAMPLES = 160
FRAME_BYTES = 2 * FRAME_SAMPLES
SAMPLE_MIN = -32768
SAMPLE_MAX = 32767
_BIG_ENDIAN = sys.byteorder == "big"


def clip_sample(value: float) -> int:
    """Round ``value`` and saturate it to the 16-bit range."""
    return max(SAMPLE_MIN, min(SAMPLE_MAX, round(value)))


def samples_from_pcm(pcm: bytes) -> array[int]:
    """Return the samples of 16-bit little-endian PCM.

    Args:
        pcm: audio bytes; an odd trailing byte is an error.

    Returns:
        A signed 16-bit array.

    Raises:
        MediaUsageError: ``pcm`` has an odd length.
    """
    if len(pcm) % 2:
        raise MediaUsageError(f"16-bit PCM of odd length {len(pcm)}")
    samples = array("h", pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def pcm_from_samples(samples: Iterable[int]) -> bytes:
    """Return 16-bit little-endian PCM for samples already in range.

    Args:
        samples: integers in [-32768, 32767] (use :func:`clip_sample` first).

    Returns:
        The PCM bytes.

    Raises:
        OverflowError: a sample is out of the 16-bit range.
    """
    values = samples if isinstance(samples, array) else array("h", samples)
    if _BIG_ENDIAN:
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def duration_of(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> float:
    """Return the duration in seconds of 16-bit mono PCM."""
    return len(pcm) / (2 * sample_rate)


def split_frames(
    pcm: bytes, frame_bytes: int = FRAME_BYTES, *, pad: bool = True
) -> Iterator[bytes]:
    """Cut PCM into frames, the last one padded with silence (or dropped).

    Args:
        pcm: 16-bit PCM.
        frame_bytes: bytes per frame (320 for 20 ms at 8 kHz).
        pad: pad a short last frame with zeros; when False, drop it.

    Returns:
        An iterator over frames of exactly ``frame_bytes``.
    """
    for start in range(0, len(pcm), frame_bytes):
        frame = pcm[start : start + frame_bytes]
        if len(frame) < frame_bytes:
            if not pad:
                return
            frame += bytes(frame_bytes - len(frame))
        yield frame
