"""RTP data packets (RFC 3550 §5.1) and sequence/timestamp arithmetic.

An :class:`RtpPacket` is one datagram: the fixed 12-byte header, the CSRC
list, an optional header extension (§5.3.1, kept raw: profile word and
data, so RFC 8285 elements survive a relay untouched), the payload and the
padding count. ``RtpPacket.parse(bytes(p)) == p`` for every valid packet.

Sequence numbers (16 bits) and timestamps (32 bits) wrap around, so they are
compared with serial-number arithmetic (RFC 1982): ``a`` is newer than ``b``
when the forward distance from ``b`` to ``a`` is under half the space.
:class:`SequenceExtender` turns the 16-bit sequence of one stream into a
monotonic counter (the "extended highest sequence number" of RFC 3550
§6.4.1 and Appendix A.1), which the receiver statistics and the jitter buffer
use as a total order.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import MediaParseError, MediaUsageError

__all__ = [
    "RTP_VERSION",
    "RtpHeaderExtension",
    "RtpPacket",
    "SequenceExtender",
    "is_rtcp",
    "sequence_add",
    "sequence_diff",
    "sequence_newer",
    "timestamp_add",
    "timestamp_diff",
    "timestamp_newer",
]

RTP_VERSION = 2
_HEADER = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")
_SEQUENCE_MODULUS = 1 << 16
_TIMESTAMP_MODULUS = 1 << 32
_MAX_CSRC = 15


def _serial_diff(a: int, b: int, modulus: int) -> int:
    half = modulus >> 1
    return (a - b + half) % modulus - half


def sequence_add(sequence: int, count: int) -> int:
    """Return ``sequence + count`` modulo 2**16 (``count`` may be negative)."""
    return (sequence + count) % _SEQUENCE_MODULUS


def sequence_diff(a: int, b: int) -> int:
    """Return the signed distance from ``b`` to ``a``, in [-32768, 32767]."""
    return _serial_diff(a, b, _SEQUENCE_MODULUS)


def sequence_newer(a: int, b: int) -> bool:
    """Return True when sequence number ``a`` comes after ``b`` (RFC 1982)."""
    return sequence_diff(a, b) > 0


def timestamp_add(timestamp: int, count: int) -> int:
    """Return ``timestamp + count`` modulo 2**32 (``count`` may be negative)."""
    return (timestamp + count) % _TIMESTAMP_MODULUS


def timestamp_diff(a: int, b: int) -> int:
    """Return the signed distance from timestamp ``b`` to ``a``, in ±2**31."""
    return _serial_diff(a, b, _TIMESTAMP_MODULUS)


def timestamp_newer(a: int, b: int) -> bool:
    """Return True when timestamp ``a`` comes after ``b`` (RFC 1982)."""
    return timestamp_diff(a, b) > 0


def is_rtcp(data: bytes) -> bool:
    """Tell RTCP from RTP on a multiplexed port (RFC 5761 §4: PT 192-223).

    Args:
        data: a datagram.

    Returns:
        True when the second byte is an RTCP packet type.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


class SequenceExtender:
    """Extend one stream's 16-bit sequence numbers to a monotonic counter.

    The first number seen maps to itself; every later number maps to the
    extended value nearest to the highest one so far (so a reordered packet
    from before a wrap lands before it, not 65536 later).
    """

    __slots__ = ("_highest",)

    def __init__(self) -> None:
        self._highest: int | None = None

    @property
    def highest(self) -> int | None:
        """The highest extended sequence number seen, or None before any."""
        return self._highest

    def extend(self, sequence: int) -> int:
        """Return the extended value of ``sequence`` and remember the highest.

        Args:
            sequence: a 16-bit RTP sequence number.

        Returns:
            The extended sequence number (may be below earlier ones).
        """
        if self._highest is None:
            self._highest = sequence
            return sequence
        extended = self._highest + sequence_diff(sequence, self._highest & 0xFFFF)
        self._highest = max(self._highest, extended)
        return extended

    def reset(self, sequence: int) -> int:
        """Restart the counter at ``sequence`` (a new source, RFC 3550 A.1)."""
        self._highest = sequence
        return sequence


@dataclass(frozen=True, slots=True, kw_only=True)
class RtpHeaderExtension:
    """The RFC 3550 §5.3.1 header extension: a profile word and whole words."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise MediaUsageError(f"extension profile {self.profile} is not 16 bits")
        if len(self.data) % 4 or len(self.data) > 0xFFFF * 4:
            raise MediaUsageError("extension data must be whole 32-bit words")


@dataclass(frozen=True, slots=True, kw_only=True)
class RtpPacket:
    """One RTP data packet (RFC 3550 §5.1)."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpHeaderExtension | None = None
    payload: bytes = b""
    padding_size: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise MediaUsageError(f"payload type {self.payload_type} is not 7 bits")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise MediaUsageError(f"sequence number {self.sequence_number} is not 16 bits")
        if not (0 <= self.timestamp <= 0xFFFFFFFF and 0 <= self.ssrc <= 0xFFFFFFFF):
            raise MediaUsageError("timestamp and SSRC are 32-bit unsigned")
        if len(self.csrc) > _MAX_CSRC or not all(0 <= c <= 0xFFFFFFFF for c in self.csrc):
            raise MediaUsageError("at most 15 CSRCs, each 32-bit unsigned")
        if not 0 <= self.padding_size <= 255:
            raise MediaUsageError(f"padding size {self.padding_size} is not 0-255")

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP datagram.

        Args:
            data: the UDP payload.

        Returns:
            The packet, padding removed (its length kept in ``padding_size``).

        Raises:
            MediaParseError: wrong version, or a length that does not add up.
        """
        if len(data) < _HEADER.size:
            raise MediaParseError(f"RTP packet of {len(data)} bytes is shorter than 12")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise MediaParseError(f"RTP version {first >> 6}, expected 2")
        end = len(data)
        padding_size = 0
        if first & 0x20:
            padding_size = data[-1]
            # RFC 3550 §5.1: the count includes itself, so zero is invalid.
            if padding_size == 0:
                raise MediaParseError("RTP padding count of zero")
            end -= padding_size
            if end < _HEADER.size:
                raise MediaParseError(f"RTP padding of {padding_size} bytes eats the header")
        offset = _HEADER.size + 4 * (first & 0x0F)
        if offset > end:
            raise MediaParseError("RTP CSRC list runs past the packet")
        csrc = struct.unpack_from(f"!{first & 0x0F}I", data, _HEADER.size)
        extension = None
        if first & 0x10:
            extension, offset = _parse_extension(data, offset, end)
        return cls(
            payload_type=second & 0x7F,
            sequence_number=sequence,
            timestamp=timestamp,
            ssrc=ssrc,
            marker=bool(second & 0x80),
            csrc=csrc,
            extension=extension,
            payload=data[offset:end],
            padding_size=padding_size,
        )

    def __bytes__(self) -> bytes:
        first = RTP_VERSION << 6 | (0x20 if self.padding_size else 0) | len(self.csrc)
        extension = b""
        if self.extension is not None:
            first |= 0x10
            words = len(self.extension.data) // 4
            extension = _EXTENSION_HEADER.pack(self.extension.profile, words)
            extension += self.extension.data
        padding = b""
        if self.padding_size:
            padding = bytes(self.padding_size - 1) + bytes((self.padding_size,))
        header = _HEADER.pack(
            first,
            self.marker << 7 | self.payload_type,
            self.sequence_number,
            self.timestamp,
            self.ssrc,
        )
        csrc = struct.pack(f"!{len(self.csrc)}I", *self.csrc)
        return b"".join((header, csrc, extension, self.payload, padding))


def _parse_extension(data: bytes, offset: int, end: int) -> tuple[RtpHeaderExtension, int]:
    if offset + _EXTENSION_HEADER.size > end:
        raise MediaParseError("RTP header extension runs past the packet")
    profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
    start = offset + _EXTENSION_HEADER.size
    stop = start + 4 * words
    if stop > end:
        raise MediaParseError("RTP header extension data runs past the packet")
    return RtpHeaderExtension(profile=profile, data=data[start:stop]), stop
