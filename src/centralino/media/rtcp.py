"""RTCP packets (RFC 3550 §6.4-6.6) and compound packets (§6.1).

One class per packet type, each with ``parse(body, count)`` over the bytes
after the common 4-byte header and ``__bytes__`` producing the whole packet:

* :class:`SenderReport` (SR, 200) and :class:`ReceiverReport` (RR, 201),
  both carrying :class:`ReportBlock` s;
* :class:`SourceDescription` (SDES, 202): chunks of items (CNAME...);
* :class:`Goodbye` (BYE, 203): sources and an optional reason;
* :class:`UnknownRtcpPacket`: any other type (APP, RTPFB, PSFB, XR), kept
  whole so a relay can forward it.

:func:`parse_compound` splits a datagram into its packets; padding (§6.4.1,
only allowed on the last one) is removed. Parsing random bytes raises only
:class:`MediaParseError`. Receiver statistics live in
:mod:`centralino.media.rtcp_statistics`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from .errors import MediaParseError, MediaUsageError

__all__ = [
    "Goodbye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "RtcpPacketType",
    "SdesChunk",
    "SdesItem",
    "SdesItemType",
    "SenderReport",
    "SourceDescription",
    "UnknownRtcpPacket",
    "compound_bytes",
    "parse_compound",
]

_COMMON = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!IQIII")
_REPORT_BLOCK = struct.Struct("!IB3sIIII")
_MAX_COUNT = 31


class RtcpPacketType(IntEnum):
    """RTCP packet types (RFC 3550 §12.1)."""

    SENDER_REPORT = 200
    RECEIVER_REPORT = 201
    SOURCE_DESCRIPTION = 202
    GOODBYE = 203
    APPLICATION = 204


class SdesItemType(IntEnum):
    """SDES item types (RFC 3550 §6.5)."""

    END = 0
    CNAME = 1
    NAME = 2
    EMAIL = 3
    PHONE = 4
    LOCATION = 5
    TOOL = 6
    NOTE = 7
    PRIVATE = 8


def _header(packet_type: int, count: int, body: bytes) -> bytes:
    if count > _MAX_COUNT:
        raise MediaUsageError(f"RTCP count {count} exceeds 31")
    return _COMMON.pack(0x80 | count, packet_type, len(body) // 4) + body


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportBlock:
    """One reception report (RFC 3550 §6.4.1) about source :attr:`ssrc`."""

    ssrc: int
    fraction_lost: int = 0
    cumulative_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    last_sender_report: int = 0
    delay_since_last_sender_report: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.fraction_lost <= 255:
            raise MediaUsageError(f"fraction lost {self.fraction_lost} is not 8 bits")
        if not -(1 << 23) <= self.cumulative_lost < 1 << 23:
            raise MediaUsageError(f"cumulative lost {self.cumulative_lost} is not 24-bit signed")

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        """Parse the 24-byte block at ``offset`` (the caller checked the length)."""
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        return cls(
            ssrc=ssrc,
            fraction_lost=fraction,
            cumulative_lost=int.from_bytes(lost, "big", signed=True),
            highest_sequence=highest,
            jitter=jitter,
            last_sender_report=lsr,
            delay_since_last_sender_report=dlsr,
        )

    def __bytes__(self) -> bytes:
        return _REPORT_BLOCK.pack(
            self.ssrc,
            self.fraction_lost,
            self.cumulative_lost.to_bytes(3, "big", signed=True),
            self.highest_sequence,
            self.jitter,
            self.last_sender_report,
            self.delay_since_last_sender_report,
        )


def _parse_blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + count * _REPORT_BLOCK.size > len(body):
        raise MediaParseError(f"RTCP report with {count} blocks is too short")
    return tuple(ReportBlock.parse(body, offset + i * _REPORT_BLOCK.size) for i in range(count))


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderReport:
    """SR: what an active sender sent, plus its reception reports (§6.4.1)."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    @classmethod
    def parse(cls, body: bytes, count: int) -> SenderReport:
        """Parse an SR body (after the common header) holding ``count`` blocks."""
        if len(body) < _SENDER_INFO.size:
            raise MediaParseError("RTCP sender report is too short")
        ssrc, ntp, rtp, packets, octets = _SENDER_INFO.unpack_from(body)
        reports = _parse_blocks(body, _SENDER_INFO.size, count)
        return cls(
            ssrc=ssrc,
            ntp_timestamp=ntp,
            rtp_timestamp=rtp,
            packet_count=packets,
            octet_count=octets,
            reports=reports,
            extension=body[_SENDER_INFO.size + count * _REPORT_BLOCK.size :],
        )

    def __bytes__(self) -> bytes:
        info = _SENDER_INFO.pack(
            self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        )
        blocks = b"".join(bytes(block) for block in self.reports)
        body = info + blocks + _pad4(self.extension)
        return _header(RtcpPacketType.SENDER_REPORT, len(self.reports), body)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiverReport:
    """RR: reception reports from a participant that is not sending (§6.4.2)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    @classmethod
    def parse(cls, body: bytes, count: int) -> ReceiverReport:
        """Parse an RR body (after the common header) holding ``count`` blocks."""
        if len(body) < 4:
            raise MediaParseError("RTCP receiver report is too short")
        (ssrc,) = struct.unpack_from("!I", body)
        reports = _parse_blocks(body, 4, count)
        return cls(ssrc=ssrc, reports=reports, extension=body[4 + count * _REPORT_BLOCK.size :])

    def __bytes__(self) -> bytes:
        blocks = b"".join(bytes(block) for block in self.reports)
        body = struct.pack("!I", self.ssrc) + blocks + _pad4(self.extension)
        return _header(RtcpPacketType.RECEIVER_REPORT, len(self.reports), body)


@dataclass(frozen=True, slots=True, kw_only=True)
class SdesItem:
    """One SDES item: a type (:class:`SdesItemType`) and up to 255 bytes."""

    item_type: int
    value: bytes

    def __post_init__(self) -> None:
        if not 1 <= self.item_type <= 255 or len(self.value) > 255:
            raise MediaUsageError("SDES item type is 1-255 and its value at most 255 bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class SdesChunk:
    """The items describing one source (§6.5)."""

    ssrc: int
    items: tuple[SdesItem, ...] = ()

    @property
    def cname(self) -> str | None:
        """The CNAME item decoded as UTF-8 (or None when absent)."""
        for item in self.items:
            if item.item_type == SdesItemType.CNAME:
                return item.value.decode("utf-8", "replace")
        return None

    def __bytes__(self) -> bytes:
        items = b"".join(bytes((i.item_type, len(i.value))) + i.value for i in self.items)
        # The list ends with at least one null octet, then pads to a word.
        data = struct.pack("!I", self.ssrc) + items + b"\x00"
        return _pad4(data)


def _parse_chunk(body: bytes, offset: int) -> tuple[SdesChunk, int]:
    if offset + 4 > len(body):
        raise MediaParseError("RTCP SDES chunk is too short")
    (ssrc,) = struct.unpack_from("!I", body, offset)
    offset += 4
    items = []
    while True:
        if offset >= len(body):
            raise MediaParseError("RTCP SDES item list has no end")
        item_type = body[offset]
        if item_type == SdesItemType.END:
            break
        if offset + 2 > len(body) or offset + 2 + body[offset + 1] > len(body):
            raise MediaParseError("RTCP SDES item runs past the packet")
        length = body[offset + 1]
        items.append(SdesItem(item_type=item_type, value=body[offset + 2 : offset + 2 + length]))
        offset += 2 + length
    offset = (offset + 4) & ~3  # skip the null octet(s) to the next word
    return SdesChunk(ssrc=ssrc, items=tuple(items)), offset


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDescription:
    """SDES: CNAME and other descriptions, one chunk per source (§6.5)."""

    chunks: tuple[SdesChunk, ...] = ()

    @classmethod
    def parse(cls, body: bytes, count: int) -> SourceDescription:
        """Parse an SDES body (after the common header) holding ``count`` chunks."""
        chunks = []
        offset = 0
        for _ in range(count):
            chunk, offset = _parse_chunk(body, offset)
            chunks.append(chunk)
        return cls(chunks=tuple(chunks))

    def __bytes__(self) -> bytes:
        body = b"".join(bytes(chunk) for chunk in self.chunks)
        return _header(RtcpPacketType.SOURCE_DESCRIPTION, len(self.chunks), body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Goodbye:
    """BYE: the listed sources are leaving, with an optional reason (§6.6)."""

    sources: tuple[int, ...] = ()
    reason: bytes | None = None

    @classmethod
    def parse(cls, body: bytes, count: int) -> Goodbye:
        """Parse a BYE body (after the common header) listing ``count`` sources."""
        if 4 * count > len(body):
            raise MediaParseError(f"RTCP BYE with {count} sources is too short")
        sources = struct.unpack_from(f"!{count}I", body)
        reason = None
        offset = 4 * count
        if offset < len(body):
            length = body[offset]
            if offset + 1 + length > len(body):
                raise MediaParseError("RTCP BYE reason runs past the packet")
            reason = body[offset + 1 : offset + 1 + length]
        return cls(sources=sources, reason=reason)

    def __bytes__(self) -> bytes:
        body = struct.pack(f"!{len(self.sources)}I", *self.sources)
        if self.reason is not None:
            if len(self.reason) > 255:
                raise MediaUsageError("BYE reason is longer than 255 bytes")
            body += _pad4(bytes((len(self.reason),)) + self.reason)
        return _header(RtcpPacketType.GOODBYE, len(self.sources), body)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownRtcpPacket:
    """A packet of a type this layer does not interpret, kept byte for byte."""

    packet_type: int
    count: int
    body: bytes

    @classmethod
    def parse_typed(cls, packet_type: int, body: bytes, count: int) -> UnknownRtcpPacket:
        """Keep a packet of ``packet_type`` whole."""
        return cls(packet_type=packet_type, count=count, body=body)

    def __post_init__(self) -> None:
        if not 0 <= self.packet_type <= 255 or not 0 <= self.count <= _MAX_COUNT:
            raise MediaUsageError("RTCP packet type is 8 bits and count 5 bits")

    def __bytes__(self) -> bytes:
        padding = -len(self.body) % 4
        if not padding:
            return _header(self.packet_type, self.count, self.body)
        # A body that lost its padding when parsed gets it back (§6.4.1).
        padded = self.body + bytes(padding - 1) + bytes((padding,))
        packet = bytearray(_header(self.packet_type, self.count, padded))
        packet[0] |= 0x20
        return bytes(packet)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | UnknownRtcpPacket

_PARSERS: dict[int, Callable[[bytes, int], RtcpPacket]] = {
    RtcpPacketType.SENDER_REPORT: SenderReport.parse,
    RtcpPacketType.RECEIVER_REPORT: ReceiverReport.parse,
    RtcpPacketType.SOURCE_DESCRIPTION: SourceDescription.parse,
    RtcpPacketType.GOODBYE: Goodbye.parse,
}


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Split and parse an RTCP compound packet (RFC 3550 §6.1).

    Args:
        data: one UDP datagram.

    Returns:
        The packets in order (at least one).

    Raises:
        MediaParseError: bad version, lengths that do not add up, padding
            anywhere but on the last packet, or an empty datagram.
    """
    packets: list[RtcpPacket] = []
    offset = 0
    if not data:
        raise MediaParseError("empty RTCP datagram")
    while offset < len(data):
        packet, offset = _parse_one(data, offset)
        packets.append(packet)
    return packets


def _parse_one(data: bytes, offset: int) -> tuple[RtcpPacket, int]:
    if offset + _COMMON.size > len(data):
        raise MediaParseError("RTCP header runs past the datagram")
    first, packet_type, words = _COMMON.unpack_from(data, offset)
    if first >> 6 != 2:
        raise MediaParseError(f"RTCP version {first >> 6}, expected 2")
    end = offset + 4 + 4 * words
    if end > len(data):
        raise MediaParseError("RTCP length runs past the datagram")
    body = data[offset + 4 : end]
    if first & 0x20:
        # §6.4.1: only the last packet of a compound may carry padding.
        if end != len(data) or not body or not 0 < body[-1] <= len(body):
            raise MediaParseError("RTCP padding is misplaced or inconsistent")
        body = body[: -body[-1]]
    count = first & 0x1F
    parser = _PARSERS.get(packet_type)
    if parser is None:
        return UnknownRtcpPacket.parse_typed(packet_type, body, count), end
    return parser(body, count), end


def compound_bytes(packets: Iterable[RtcpPacket]) -> bytes:
    """Serialise packets into one compound datagram (no padding added).

    Args:
        packets: the packets, usually an SR or RR first, then SDES.

    Returns:
        The datagram.
    """
    return b"".join(bytes(packet) for packet in packets)
