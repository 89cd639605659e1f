"""RTCP: hand-built compound vectors, round trips, fuzzing, receiver statistics."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.media.errors import MediaParseError, MediaUsageError
from centralino.media.rtcp import (
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    UnknownRtcpPacket,
    compound_bytes,
    parse_compound,
)
from centralino.media.rtcp_statistics import ReceiverStatistics, ntp_middle, ntp_timestamp
from centralino.media.rtp import RtpPacket

# SR from 0x01020304 with one report block, then SDES with CNAME "ab@host".
SR_SDES = bytes.fromhex(
    "81c8000c"
    "01020304"
    "e4f1a2b3c4d5e6f7"
    "000000a0"
    "00000010"
    "00000a00"
    "0a0b0c0d"
    "40fffffe"
    "0001ffff"
    "00000011"
    "12345678"
    "00010000"
    "81ca0004"
    "01020304"
    "0107"
    "61624068"
    "6f737400"
    "0000"
)
BYE_REASON = bytes.fromhex("81cb0003010203040462796521000000")


def test_sender_report_and_sdes_vector() -> None:
    sr, sdes = parse_compound(SR_SDES)
    assert sr == SenderReport(
        ssrc=0x01020304,
        ntp_timestamp=0xE4F1A2B3C4D5E6F7,
        rtp_timestamp=160,
        packet_count=16,
        octet_count=2560,
        reports=(
            ReportBlock(
                ssrc=0x0A0B0C0D,
                fraction_lost=64,
                cumulative_lost=-2,
                highest_sequence=0x1FFFF,
                jitter=17,
                last_sender_report=0x12345678,
                delay_since_last_sender_report=65536,
            ),
        ),
    )
    assert isinstance(sdes, SourceDescription)
    assert sdes.chunks[0].cname == "ab@host"
    assert compound_bytes([sr, sdes]) == SR_SDES


def test_bye_with_reason_vector() -> None:
    (bye,) = parse_compound(BYE_REASON)
    assert bye == Goodbye(sources=(0x01020304,), reason=b"bye!")
    assert bytes(bye) == BYE_REASON


def test_receiver_report_and_unknown_packet() -> None:
    rr = ReceiverReport(ssrc=9, reports=(ReportBlock(ssrc=1, cumulative_lost=5),))
    app = UnknownRtcpPacket(packet_type=204, count=1, body=b"\x00\x00\x00\x09NAME\x01\x02")
    data = compound_bytes([rr, app])
    assert parse_compound(data) == [rr, app]
    # The APP body was not whole words: it travels with RTCP padding.
    assert data[len(bytes(rr))] & 0x20


def test_padding_on_the_last_packet_only() -> None:
    padded = bytes.fromhex("a0c900020000000900000004")
    assert parse_compound(padded) == [ReceiverReport(ssrc=9)]
    with pytest.raises(MediaParseError, match="padding"):
        parse_compound(padded + bytes.fromhex("80c9000100000009"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x80\xc9", "header runs past"),
        (bytes.fromhex("40c9000100000009"), "version 1"),
        (bytes.fromhex("80c9000500000009"), "length runs past"),
        (bytes.fromhex("81c9000100000009"), "1 blocks is too short"),
        (bytes.fromhex("80c8000100000009"), "sender report is too short"),
        (bytes.fromhex("81ca0002000000090105abcd"), "runs past"),
        (bytes.fromhex("81ca00020000000901000100"), "no end"),
        (bytes.fromhex("82cb000100000009"), "2 sources"),
        (bytes.fromhex("81cb00020000000909616263"), "reason runs past"),
    ],
)
def test_malformed_compounds(data: bytes, message: str) -> None:
    with pytest.raises(MediaParseError, match=message):
        parse_compound(data)


def test_invalid_fields_are_local_misuse() -> None:
    with pytest.raises(MediaUsageError):
        ReportBlock(ssrc=1, fraction_lost=256)
    with pytest.raises(MediaUsageError):
        ReportBlock(ssrc=1, cumulative_lost=1 << 23)
    with pytest.raises(MediaUsageError):
        SdesItem(item_type=0, value=b"")
    with pytest.raises(MediaUsageError):
        bytes(ReceiverReport(ssrc=1, reports=(ReportBlock(ssrc=1),) * 32))


u32 = st.integers(0, 0xFFFFFFFF)
words = st.binary(max_size=12).map(lambda b: b + bytes(-len(b) % 4))
blocks = st.builds(
    ReportBlock,
    ssrc=u32,
    fraction_lost=st.integers(0, 255),
    cumulative_lost=st.integers(-(1 << 23), (1 << 23) - 1),
    highest_sequence=u32,
    jitter=u32,
    last_sender_report=u32,
    delay_since_last_sender_report=u32,
)
block_lists = st.lists(blocks, max_size=3).map(tuple)
rtcp_packets: st.SearchStrategy[RtcpPacket] = st.one_of(
    st.builds(
        SenderReport,
        ssrc=u32,
        ntp_timestamp=st.integers(0, (1 << 64) - 1),
        rtp_timestamp=u32,
        packet_count=u32,
        octet_count=u32,
        reports=block_lists,
        extension=words,
    ),
    st.builds(ReceiverReport, ssrc=u32, reports=block_lists, extension=words),
    st.builds(
        SourceDescription,
        chunks=st.lists(
            st.builds(
                SdesChunk,
                ssrc=u32,
                items=st.lists(
                    st.builds(
                        SdesItem, item_type=st.integers(1, 255), value=st.binary(max_size=20)
                    ),
                    max_size=3,
                ).map(tuple),
            ),
            max_size=3,
        ).map(tuple),
    ),
    st.builds(
        Goodbye,
        sources=st.lists(u32, max_size=4).map(tuple),
        reason=st.none() | st.binary(min_size=1, max_size=20),
    ),
    st.builds(
        UnknownRtcpPacket,
        packet_type=st.integers(204, 207),
        count=st.integers(0, 31),
        body=st.binary(max_size=20),
    ),
)


@given(st.lists(rtcp_packets, min_size=1, max_size=4))
def test_compound_round_trip(packets: list[RtcpPacket]) -> None:
    # Padding may only end a compound: an odd-length unknown body goes last.
    odd = [p for p in packets if isinstance(p, UnknownRtcpPacket) and len(p.body) % 4]
    even = [p for p in packets if p not in odd]
    ordered = even + odd[:1]
    assert parse_compound(compound_bytes(ordered)) == ordered


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_parse_errors(data: bytes) -> None:
    with contextlib.suppress(MediaParseError):
        parse_compound(data)


def test_ntp_helpers() -> None:
    ntp = ntp_timestamp(1.5)
    assert ntp >> 32 == 2_208_988_801
    assert ntp & 0xFFFFFFFF == 1 << 31
    assert ntp_middle(ntp) == ((2_208_988_801 & 0xFFFF) << 16) | 0x8000


def _packet(sequence: int, timestamp: int) -> RtpPacket:
    return RtpPacket(payload_type=0, sequence_number=sequence, timestamp=timestamp, ssrc=7)


def test_statistics_loss_and_wrap() -> None:
    stats = ReceiverStatistics(ssrc=7, clock_rate=8000)
    sequences = [65530 + i for i in range(6)] + [i for i in range(10) if i not in (2, 3)]
    for index, sequence in enumerate(sequences):
        stats.receive(_packet(sequence & 0xFFFF, 160 * index), 0.02 * index)
    block = stats.report_block(now=1.0)
    assert block.highest_sequence == 65536 + 9
    assert block.cumulative_lost == 2
    assert block.fraction_lost == (2 << 8) // 16
    assert block.jitter == 0
    # Next interval: nothing lost.
    stats.receive(_packet(10, 160 * 16), 0.32)
    assert stats.report_block(now=1.1).fraction_lost == 0


def test_statistics_jitter_follows_a8() -> None:
    stats = ReceiverStatistics(ssrc=7, clock_rate=8000)
    arrivals = [0.0, 0.030, 0.040, 0.070]
    for index, arrival in enumerate(arrivals):
        stats.receive(_packet(index, 160 * index), arrival)
    expected = 0.0
    for d in (80, 80, 80):  # |transit differences| in timestamp units
        expected += (d - expected) / 16
    assert stats.jitter == pytest.approx(expected)


def test_statistics_duplicates_make_loss_negative_and_restart() -> None:
    stats = ReceiverStatistics(ssrc=7, clock_rate=8000)
    for sequence in (1, 2, 2, 3):
        stats.receive(_packet(sequence, 0), 0.0)
    assert stats.cumulative_lost == -1
    # A big jump is ignored once, believed when the next packet follows it.
    stats.receive(_packet(20000, 0), 0.1)
    assert stats.extended_highest_sequence == 3
    stats.receive(_packet(20001, 0), 0.12)
    assert stats.extended_highest_sequence == 20001
    assert stats.packets_received == 1


def test_statistics_lsr_and_dlsr() -> None:
    stats = ReceiverStatistics(ssrc=7, clock_rate=8000)
    report = SenderReport(
        ssrc=7, ntp_timestamp=0x0000ABCD12340000, rtp_timestamp=0, packet_count=0, octet_count=0
    )
    stats.receive_sender_report(report, arrival_time=10.0)
    block = stats.report_block(now=10.5)
    assert block.last_sender_report == 0xABCD1234
    assert block.delay_since_last_sender_report == 32768
