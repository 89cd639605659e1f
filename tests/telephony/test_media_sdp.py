"""How the anchor rewrites SDP: addresses, ports, per-leg codecs, streams."""

from __future__ import annotations

from centralino.media.codecs import default_codecs
from centralino.sip.sdp import Direction, SessionDescription
from centralino.telephony.media.negotiation import (
    LegCodecs,
    anchored_stream,
    answer_for_offerer,
    augment_offer,
    media_address,
    point_at,
)

REGISTRY = default_codecs()


def sdp(
    formats: str,
    *maps: str,
    host: str = "192.168.1.20",
    port: int = 4000,
    extra: str = "",
    version: int = 1,
) -> SessionDescription:
    lines = [
        "v=0",
        f"o=phone 77 {version} IN IP4 {host}",
        "s=-",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {formats}",
        *(f"a=rtpmap:{item}" for item in maps),
    ]
    return SessionDescription.parse("\r\n".join(lines) + "\r\n" + extra)


def names(description: SessionDescription, index: int = 0) -> list[str]:
    return [str(codec) for codec in description.media[index].codecs]


def test_offer_gains_the_codec_the_pbx_transcodes_to() -> None:
    offer = sdp("0 101", "0 PCMU/8000", "101 telephone-event/8000")
    augmented = augment_offer(offer, 0, REGISTRY)
    assert names(augmented) == ["PCMU/8000", "telephone-event/8000", "PCMA/8000"]
    assert augmented.media[0].formats == ("0", "101", "8")


def test_offer_with_both_or_with_no_g711_is_left_alone() -> None:
    both = sdp("8 0", "8 PCMA/8000", "0 PCMU/8000")
    assert augment_offer(both, 0, REGISTRY) == both
    opus = sdp("111", "111 opus/48000/2")
    assert augment_offer(opus, 0, REGISTRY) == opus


def test_answer_with_a_common_codec_passes_unchanged() -> None:
    offer = sdp("0 8 101", "0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000")
    answer = sdp("8 101", "8 PCMA/8000", "101 telephone-event/8000", host="10.0.0.9")
    assert answer_for_offerer(offer, answer, 0, REGISTRY) == answer


def test_answer_loses_the_codecs_only_the_pbx_added() -> None:
    offer = sdp("0", "0 PCMU/8000")
    answer = sdp("0 8", "0 PCMU/8000", "8 PCMA/8000")
    assert names(answer_for_offerer(offer, answer, 0, REGISTRY)) == ["PCMU/8000"]


def test_answer_in_another_codec_becomes_the_offerers_codec_transcoded() -> None:
    offer = sdp("0 101", "0 PCMU/8000", "101 telephone-event/8000")
    answer = sdp("8 101", "8 PCMA/8000", "101 telephone-event/8000")
    cut = answer_for_offerer(offer, answer, 0, REGISTRY)
    assert names(cut) == ["PCMU/8000", "telephone-event/8000"]
    assert LegCodecs.of(cut.media[0].codecs).primary == "PCMU"
    assert LegCodecs.of(answer.media[0].codecs).primary == "PCMA"


def test_leg_codecs_index_both_ways() -> None:
    offer = sdp("8 96", "8 PCMA/8000", "96 telephone-event/8000")
    codecs = LegCodecs.of(offer.media[0].codecs)
    assert codecs.by_payload_type == {8: "PCMA", 96: "TELEPHONE-EVENT"}
    assert codecs.payload_types == {"PCMA": 8, "TELEPHONE-EVENT": 96}
    assert codecs.primary == "PCMA"


def test_point_at_writes_the_pbx_address_and_port_and_drops_rtcp_lines() -> None:
    offer = sdp("0", "0 PCMU/8000", extra="a=rtcp:4001 IN IP4 192.168.1.20\r\na=sendrecv\r\n")
    rewritten = point_at(offer, 0, address="203.0.113.5", port=12000)
    assert rewritten.connection is not None
    assert rewritten.connection.address == "203.0.113.5"
    assert rewritten.media[0].port == 12000
    assert all(attribute.name != "rtcp" for attribute in rewritten.media[0].attributes)
    assert b"192.168.1.20" not in bytes(rewritten).split(b"\r\nc=")[1]


def test_point_at_keeps_a_legacy_hold_as_a_direction() -> None:
    held = sdp("0", "0 PCMU/8000", host="0.0.0.0")
    rewritten = point_at(held, 0, address="127.0.0.1", port=12000)
    assert rewritten.media_direction(rewritten.media[0]) is Direction.SENDONLY


def test_only_the_first_audio_stream_is_anchored_video_is_disabled() -> None:
    offer = SessionDescription.parse(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    index = anchored_stream(offer)
    assert index == 1
    rewritten = point_at(offer, 1, address="127.0.0.1", port=12000)
    assert [media.port for media in rewritten.media] == [0, 12000]


def test_media_address_reads_connection_port_rtcp_and_mux() -> None:
    offer = sdp("0", "0 PCMU/8000", extra="a=rtcp:4009\r\na=rtcp-mux\r\n")
    address = media_address(offer, 0)
    assert address.rtp == ("192.168.1.20", 4000)
    assert address.rtcp == ("192.168.1.20", 4009)
    assert address.rtcp_mux
    held = media_address(sdp("0", "0 PCMU/8000", host="0.0.0.0"), 0)
    assert held.rtp is None
    plain = media_address(sdp("0", "0 PCMU/8000"), 0)
    assert plain.rtcp == ("192.168.1.20", 4001)
