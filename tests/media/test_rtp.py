"""RTP packets: hand-built vectors, round trips, fuzzing, serial arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.errors import MediaParseError, MediaUsageError
from centralino.media.rtp import (
    RtpHeaderExtension,
    RtpPacket,
    SequenceExtender,
    is_rtcp,
    sequence_add,
    sequence_diff,
    sequence_newer,
    timestamp_add,
    timestamp_diff,
    timestamp_newer,
)

PLAIN = bytes.fromhex("80000001000000a0deadbeef") + b"\xff" * 160
# V=2 P=1 X=1 CC=2, M=1 PT=101, seq 65535, ts 0x12345678, SSRC, 2 CSRCs,
# extension 0xBEDE with one word, 3 payload bytes, 3 padding bytes.
FULL = bytes.fromhex("b2e5ffff12345678112233440000000100000002bede000110aa0000010203000003")


def test_plain_packet_vector() -> None:
    packet = RtpPacket.parse(PLAIN)
    assert packet == RtpPacket(
        payload_type=0, sequence_number=1, timestamp=160, ssrc=0xDEADBEEF, payload=b"\xff" * 160
    )
    assert bytes(packet) == PLAIN


def test_full_packet_vector() -> None:
    packet = RtpPacket.parse(FULL)
    assert packet.marker
    assert packet.payload_type == 101
    assert packet.sequence_number == 0xFFFF
    assert packet.timestamp == 0x12345678
    assert packet.ssrc == 0x11223344
    assert packet.csrc == (1, 2)
    assert packet.extension == RtpHeaderExtension(profile=0xBEDE, data=bytes.fromhex("10aa0000"))
    assert packet.payload == b"\x01\x02\x03"
    assert packet.padding_size == 3
    assert bytes(packet) == FULL


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "shorter than 12"),
        (bytes.fromhex("40000001000000a0deadbeef"), "version 1"),
        (bytes.fromhex("a0000001000000a0deadbe00"), "padding count of zero"),
        (bytes.fromhex("a0000001000000a0deadbe20"), "eats the header"),
        (bytes.fromhex("83000001000000a0deadbeef00000001"), "CSRC list"),
        (bytes.fromhex("90000001000000a0deadbeefbede"), "extension runs past"),
        (bytes.fromhex("90000001000000a0deadbeefbede0002ffffffff"), "extension data"),
    ],
)
def test_malformed_packets(data: bytes, message: str) -> None:
    with pytest.raises(MediaParseError, match=message):
        RtpPacket.parse(data)


def test_invalid_fields_are_local_misuse() -> None:
    with pytest.raises(MediaUsageError):
        RtpPacket(payload_type=128, sequence_number=0, timestamp=0, ssrc=0)
    with pytest.raises(MediaUsageError):
        RtpPacket(payload_type=0, sequence_number=0, timestamp=0, ssrc=0, csrc=(0,) * 16)
    with pytest.raises(MediaUsageError):
        RtpHeaderExtension(profile=1, data=b"abc")


u32 = st.integers(0, 0xFFFFFFFF)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence_number=st.integers(0, 0xFFFF),
    timestamp=u32,
    ssrc=u32,
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15).map(tuple),
    extension=st.none()
    | st.builds(
        RtpHeaderExtension,
        profile=st.integers(0, 0xFFFF),
        data=st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4)),
    ),
    payload=st.binary(max_size=200),
    padding_size=st.integers(0, 255),
)


@given(packets)
def test_round_trip(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@given(st.binary(max_size=80))
def test_random_bytes_raise_only_parse_errors(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except MediaParseError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet


def test_is_rtcp() -> None:
    assert is_rtcp(bytes.fromhex("80c8"))
    assert not is_rtcp(PLAIN)
    assert not is_rtcp(b"\x80")


def test_sequence_arithmetic_wraps() -> None:
    assert sequence_add(0xFFFF, 1) == 0
    assert sequence_add(0, -1) == 0xFFFF
    assert sequence_diff(0, 0xFFFF) == 1
    assert sequence_diff(0xFFFF, 0) == -1
    assert sequence_newer(2, 0xFFF0)
    assert not sequence_newer(0xFFF0, 2)
    assert not sequence_newer(5, 5)
    assert timestamp_add(0xFFFFFF00, 0x200) == 0x100
    assert timestamp_diff(0x100, 0xFFFFFF00) == 0x200
    assert timestamp_newer(0x100, 0xFFFFFF00)


@given(st.integers(0, 0xFFFF), st.integers(-32768, 32767))
def test_sequence_add_and_diff_are_inverse(start: int, count: int) -> None:
    assert sequence_diff(sequence_add(start, count), start) == count


def test_sequence_extender_across_wrap_and_reorder() -> None:
    extender = SequenceExtender()
    values = [extender.extend(s) for s in (65534, 65535, 1, 0, 2)]
    assert values == [65534, 65535, 65537, 65536, 65538]
    assert extender.highest == 65538
    assert extender.reset(7) == 7
    assert extender.extend(8) == 8
