"""ITU-T G.711 companding by lookup tables (the stdlib ``audioop`` is gone).

The per-sample maths follow the reference C code of the G.191 software tools
(Sun Microsystems' ``g711.c``, also what ``audioop`` did), so results are
bit-exact with it:

* mu-law keeps the top 14 bits of a 16-bit sample, A-law the top 13;
* decoding is a 256-entry table, applied to a whole payload with two
  ``bytes.translate`` calls (low and high byte) and one interleave, all in C;
* encoding is a 65536-entry table indexed by the unsigned 16-bit sample
  (built on first use from the segment search, about 10 ms), applied with
  ``map`` over an ``array('H')``.
"""

from __future__ import annotations

import sys
from array import array
from enum import StrEnum
from functools import cache

from ..errors import MediaUsageError

__all__ = [
    "Law",
    "alaw_decode_sample",
    "alaw_encode_sample",
    "decode_table",
    "decode_with",
    "encode_table",
    "encode_with",
    "ulaw_decode_sample",
    "ulaw_encode_sample",
]

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159
_ULAW_SEGMENT_ENDS = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_ALAW_SEGMENT_ENDS = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_BIG_ENDIAN = sys.byteorder == "big"


class Law(StrEnum):
    """The two G.711 companding laws."""

    ULAW = "ulaw"
    ALAW = "alaw"


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for segment, end in enumerate(ends):
        if value <= end:
            return segment
    return len(ends)


def ulaw_encode_sample(sample: int) -> int:
    """Encode one signed 16-bit sample to a mu-law byte (G.711 §3)."""
    value = sample >> 2
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = _segment(value, _ULAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def ulaw_decode_sample(code: int) -> int:
    """Decode one mu-law byte to a signed 16-bit sample."""
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return _ULAW_BIAS - magnitude if code & 0x80 else magnitude - _ULAW_BIAS


def alaw_encode_sample(sample: int) -> int:
    """Encode one signed 16-bit sample to an A-law byte (G.711 §2)."""
    value = sample >> 3
    mask = 0xD5
    if value < 0:
        value, mask = -value - 1, 0x55
    segment = _segment(value, _ALAW_SEGMENT_ENDS)
    if segment >= 8:
        return 0x7F ^ mask
    shift = 1 if segment < 2 else segment
    return ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask


def alaw_decode_sample(code: int) -> int:
    """Decode one A-law byte to a signed 16-bit sample."""
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


@cache
def decode_table(law: Law) -> tuple[bytes, bytes]:
    """Return the (low byte, high byte) translate tables of ``law``.

    Args:
        law: the companding law.

    Returns:
        Two 256-byte tables for ``bytes.translate``.
    """
    decode = ulaw_decode_sample if law is Law.ULAW else alaw_decode_sample
    values = [decode(code) & 0xFFFF for code in range(256)]
    return bytes(v & 0xFF for v in values), bytes(v >> 8 for v in values)


@cache
def encode_table(law: Law) -> bytes:
    """Return the 65536-entry encode table of ``law``, by unsigned sample."""
    encode = ulaw_encode_sample if law is Law.ULAW else alaw_encode_sample
    # Only the top 14 (mu-law) or 13 (A-law) bits matter: compute one code per
    # 4 or 8 consecutive samples and repeat it.
    step = 4 if law is Law.ULAW else 8
    codes = [
        encode(unsigned - 0x10000 if unsigned & 0x8000 else unsigned)
        for unsigned in range(0, 0x10000, step)
    ]
    return bytes(code for code in codes for _ in range(step))


def decode_with(law: Law, payload: bytes) -> bytes:
    """Decode a G.711 payload to 16-bit little-endian PCM.

    Args:
        law: the companding law.
        payload: the coded bytes.

    Returns:
        The PCM, two bytes per payload byte.
    """
    low_table, high_table = decode_table(law)
    pcm = bytearray(2 * len(payload))
    pcm[0::2] = payload.translate(low_table)
    pcm[1::2] = payload.translate(high_table)
    return bytes(pcm)


def encode_with(law: Law, pcm: bytes) -> bytes:
    """Encode 16-bit little-endian PCM to G.711.

    Args:
        law: the companding law.
        pcm: the audio, an even number of bytes.

    Returns:
        One byte per sample.

    Raises:
        MediaUsageError: ``pcm`` has an odd length.
    """
    if len(pcm) % 2:
        raise MediaUsageError(f"16-bit PCM of odd length {len(pcm)}")
    samples = array("H", pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return bytes(map(encode_table(law).__getitem__, samples))
