"""SDP: parse/serialise vectors, model checks, offer/answer, B2BUA helpers."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.sip.errors import LocalProtocolError, SipParseError
from centralino.sip.sdp import (
    STATIC_PAYLOAD_TYPES,
    AddressType,
    Attribute,
    Bandwidth,
    Codec,
    CodecOrder,
    CodecSpec,
    Connection,
    Direction,
    InvalidSdpValue,
    MediaCapabilities,
    MediaDescription,
    Origin,
    SdpError,
    SdpParseError,
    SessionDescription,
    Timing,
    bump_version,
    create_answer,
    is_acceptable,
    is_hold,
    negotiate,
    negotiated_codecs,
    rewrite_connection,
)


def crlf(text: str) -> str:
    return text.strip("\n").replace("\n", "\r\n") + "\r\n"


PHONE_OFFER = crlf("""
v=0
o=1001 2890844526 2890844527 IN IP4 192.0.2.10
s=SIP Call
c=IN IP4 192.0.2.10
t=0 0
m=audio 49170 RTP/AVP 0 8 18 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
""")

BARESIP_OFFER = crlf("""
v=0
o=- 3418238119 3173342720 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
a=tool:baresip 3.10.1
m=audio 10434 RTP/AVP 96 9 0 8 101
b=AS:101
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-rsize
a=rtcp-mux
a=ssrc:1742203429 cname:rhrfbyjkjtukpbx
a=sendrecv
a=label:1
""")

WEBRTC_OFFER = crlf("""
v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=extmap-allow-mixed
a=msid-semantic: WMS stream-1
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:EsAw
a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y
a=ice-options:trickle
a=fingerprint:sha-256 D7:87:8B:2F:3E:8C:63:5B:52:5C:92:5A:33:CB:11:64:48:8F:AB:7A:AB:DE:8A
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=sendrecv
a=msid:stream-1 track-1
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6
a=ssrc:3735928559 msid:stream-1 track-1
""")

G711 = (
    CodecSpec.parse("PCMU/8000"),
    CodecSpec.parse("PCMA/8000"),
    CodecSpec.parse("telephone-event/8000"),
)
AUDIO = MediaCapabilities(codecs=G711)
ORIGIN = Origin(session_id="42", session_version=1, address="203.0.113.5")


def answer_to(offer: SessionDescription, *capabilities: MediaCapabilities) -> SessionDescription:
    negotiation = negotiate(offer, capabilities or (AUDIO,))
    ports = [40000 + 2 * index for index in range(len(offer.media))]
    return create_answer(offer, negotiation, origin=ORIGIN, address="203.0.113.5", ports=ports)


# --- vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [PHONE_OFFER, BARESIP_OFFER, WEBRTC_OFFER])
def test_vectors_round_trip_exactly(text: str) -> None:
    description = SessionDescription.parse(text)
    assert str(description) == text
    assert bytes(description) == text.encode()
    assert SessionDescription.parse(text.encode()) == description


@pytest.mark.parametrize("text", [PHONE_OFFER, BARESIP_OFFER, WEBRTC_OFFER])
def test_lf_only_and_missing_final_newline(text: str) -> None:
    expected = SessionDescription.parse(text)
    assert SessionDescription.parse(text.replace("\r\n", "\n")) == expected
    assert SessionDescription.parse(text.rstrip("\r\n")) == expected


def test_phone_offer_model() -> None:
    description = SessionDescription.parse(PHONE_OFFER)
    assert description.origin == Origin(
        username="1001",
        session_id="2890844526",
        session_version=2890844527,
        address="192.0.2.10",
    )
    assert description.session_name == "SIP Call"
    assert description.connection == Connection(address="192.0.2.10")
    (audio,) = description.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 49170, "RTP/AVP")
    assert audio.formats == ("0", "8", "18", "101")
    assert audio.direction is Direction.SENDRECV
    assert audio.ptime == 20.0
    assert not audio.rtcp_mux
    assert [str(codec) for codec in audio.codecs] == [
        "PCMU/8000",
        "PCMA/8000",
        "G729/8000",
        "telephone-event/8000",
    ]
    assert audio.codecs[2].parameters == "annexb=no"
    assert audio.codecs[3].is_auxiliary


def test_webrtc_offer_model() -> None:
    description = SessionDescription.parse(WEBRTC_OFFER)
    (audio,) = description.media
    assert audio.proto == "UDP/TLS/RTP/SAVPF"
    assert audio.rtcp_mux
    assert audio.connection == Connection(address="0.0.0.0")
    assert description.attributes[0] == Attribute(name="group", value="BUNDLE 0")
    assert Attribute(name="msid-semantic", value=" WMS stream-1") in description.attributes
    codecs = {codec.payload_type: codec for codec in audio.codecs}
    assert codecs[111].channels == 2
    assert codecs[111].parameters == "minptime=10;useinbandfec=1"
    assert codecs[110].clock_rate == 48000
    # An ICE offer's c=0.0.0.0 is a placeholder, not a hold.
    assert not is_hold(description)


def test_static_payload_types_without_rtpmap() -> None:
    text = crlf("""
v=0
o=- 1 1 IN IP6 2001:db8::1
s=-
c=IN IP6 2001:db8::1
t=0 0
m=audio 5004 RTP/AVP 0 8 9 18 96
""")
    description = SessionDescription.parse(text)
    assert description.connection is not None
    assert description.connection.address_type is AddressType.IP6
    names = [codec.encoding_name for codec in description.media[0].codecs]
    assert names == ["PCMU", "PCMA", "G722", "G729"]  # 96 has no rtpmap
    assert STATIC_PAYLOAD_TYPES[10].channels == 2


def test_full_session_level_lines_round_trip() -> None:
    text = crlf("""
v=0
o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5
s=SDP Seminar
i=A Seminar on the session description protocol
u=http://www.example.com/seminars/sdp.pdf
e=j.doe@example.com (Jane Doe)
p=+1 617 555-6011
c=IN IP4 224.2.17.12/127
b=CT:128
t=2873397496 2873404696
r=7d 1h 0 25h
t=0 0
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
m=audio 49170/2 RTP/AVP 0
i=the audio
c=IN IP4 224.2.17.12/127
b=AS:64
k=prompt
a=inactive
m=application 32416 udp wb
a=orient:portrait
""")
    description = SessionDescription.parse(text)
    assert str(description) == text
    assert description.timings[0].repeats == ("7d 1h 0 25h",)
    assert description.media[0].port_count == 2
    assert description.media[0].bandwidths == (Bandwidth(type="AS", value=64),)
    assert description.direction is Direction.RECVONLY
    assert description.media_direction(description.media[0]) is Direction.INACTIVE
    assert description.media_direction(description.media[1]) is Direction.RECVONLY
    assert description.media[1].codecs == ()


def test_lines_out_of_order_are_accepted_and_rewritten_in_order() -> None:
    text = "v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nc=IN IP4 h\nm=audio 1 RTP/AVP 0\na=x\nc=IN IP4 g\n"
    description = SessionDescription.parse(text)
    assert str(description).splitlines()[3] == "c=IN IP4 h"
    assert description.media[0].connection == Connection(address="g")


@pytest.mark.parametrize(
    ("text", "line_number", "message"),
    [
        ("", 1, "starts with v=0"),
        ("v=1\no=- 1 1 IN IP4 h\ns=-\nt=0 0\n", 1, "starts with v=0"),
        ("v=0\ns=-\no=- 1 1 IN IP4 h\nt=0 0\n", 1, "starts with v=0"),
        ("v=0\no=- 1 1 IN IP4 h\nt=0 0\n", 3, "must be s="),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\n", None, "no t= line"),
        ("v=0\no=- 1 IN IP4 h\ns=-\nt=0 0\n", None, "6 fields"),
        ("v=0\no=- x 1 IN IP4 h\ns=-\nt=0 0\n", None, "session id"),
        ("v=0\no=- 1 1 IN IPX h\ns=-\nt=0 0\n", None, "address type"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nx=1\n", 5, "not allowed here"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nhello\n", 5, "<type>=<value>"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\n\n", 5, "<type>=<value>"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nc=IN IP4\n", 5, "3 fields"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nc=IN IP4 h\nc=IN IP4 g\n", 6, "second 'c='"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0\n", 4, "2 fields"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nr=1d 1h 0\nt=0 0\n", 4, "before any 't='"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\nu=x\n", 6, "not allowed"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 70000 RTP/AVP 0\n", 5, "port"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 7/0 RTP/AVP 0\n", 5, "bad port"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP\n", 5, "at least one format"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1\n", 5, "needs media"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 128\n", None, "above 127"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP x\n", None, "payload type"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=rtpmap:0 PCMU\n", None, "a=rtpmap value"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=ptime:fast\n", None, "a=ptime value"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=sendonly:yes\n", None, "takes no value"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=sendonly\na=inactive\n", None, "direction"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\na=bad name\n", None, "attribute name"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nb=AS\n", None, "bandwidth"),
        ("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\ni=a\rb\n", 5, "bad line"),
    ],
)
def test_parse_errors_name_the_line(text: str, line_number: int | None, message: str) -> None:
    with pytest.raises(SdpParseError, match=message) as caught:
        SessionDescription.parse(text)
    if line_number is not None:
        assert caught.value.line_number == line_number


def test_fmtp_for_a_non_numeric_format_is_ignored() -> None:
    text = "v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\na=fmtp:\u00b2 x\n"
    (codec,) = SessionDescription.parse(text).media[0].codecs
    assert codec.parameters is None


def test_errors_join_the_sip_error_tree() -> None:
    with pytest.raises(SipParseError) as caught:
        SessionDescription.parse("v=0\n")
    assert caught.value.status == 400
    with pytest.raises(LocalProtocolError):
        Origin(session_id="x", session_version=0, address="h")


def test_invalid_utf8_is_a_parse_error() -> None:
    with pytest.raises(SdpParseError, match="UTF-8"):
        SessionDescription.parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\xff\r\nt=0 0\r\n")


def test_models_refuse_unwritable_values() -> None:
    with pytest.raises(InvalidSdpValue, match="text"):
        SessionDescription(origin=ORIGIN, information="two\r\nlines")
    with pytest.raises(InvalidSdpValue, match="origin address"):
        Origin(session_id="1", session_version=0, address="a b")
    with pytest.raises(InvalidSdpValue, match="format"):
        MediaDescription(media="audio", port=1, formats=())
    with pytest.raises(InvalidSdpValue, match="t= line"):
        SessionDescription(origin=ORIGIN, timings=())
    with pytest.raises(InvalidSdpValue, match="codec"):
        CodecSpec.parse("PCMU")


# --- offer / answer ----------------------------------------------------------------------


def test_answer_to_phone_offer_uses_answerer_preference() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    answer = answer_to(offer)
    assert str(answer) == crlf("""
v=0
o=- 42 1 IN IP4 203.0.113.5
s=-
c=IN IP4 203.0.113.5
t=0 0
m=audio 40000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=sendrecv
""")
    assert SessionDescription.parse(bytes(answer)) == answer
    (codecs,) = negotiated_codecs(offer, answer)
    assert [codec.payload_type for codec in codecs] == [0, 8, 101]


def test_offerer_order_and_single_codec() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    specs = (CodecSpec.parse("G729/8000"), *G711)
    offerer = MediaCapabilities(codecs=specs, order=CodecOrder.OFFERER)
    (stream,) = negotiate(offer, [offerer])
    assert [c.payload_type for c in stream.codecs] == [0, 8, 18, 101]
    single = MediaCapabilities(codecs=specs, single_codec=True, ptime=30)
    answer = answer_to(offer, single)
    assert answer.media[0].formats == ("18", "101")
    assert answer.media[0].ptime == 30.0
    assert answer.media[0].codecs[0].parameters == "annexb=no"


def test_answer_parameters_override_the_offer() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    event = CodecSpec(encoding_name="telephone-event", clock_rate=8000, parameters="0-15")
    answer = answer_to(offer, MediaCapabilities(codecs=(G711[0], event)))
    assert Attribute(name="fmtp", value="101 0-15") in answer.media[0].attributes


def test_no_common_codec_rejects_stream_and_asks_for_488() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    capabilities = [MediaCapabilities(codecs=(CodecSpec.parse("GSM/8000"),))]
    negotiation = negotiate(offer, capabilities)
    assert not is_acceptable(negotiation)
    answer = create_answer(offer, negotiation, origin=ORIGIN, address="203.0.113.5", ports=[0])
    (audio,) = answer.media
    assert audio.port == 0
    assert audio.formats == ("0", "8", "18", "101")
    assert negotiated_codecs(offer, answer) == ((),)


def test_telephone_event_alone_is_not_a_codec() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    only_events = MediaCapabilities(codecs=(G711[2],))
    assert not is_acceptable(negotiate(offer, [only_events]))


def test_webrtc_offer_needs_the_protocol() -> None:
    offer = SessionDescription.parse(WEBRTC_OFFER)
    assert not is_acceptable(negotiate(offer, [AUDIO]))
    webrtc = dataclasses.replace(AUDIO, protocols=("UDP/TLS/RTP/SAVPF",))
    (stream,) = negotiate(offer, [webrtc])
    # telephone-event/48000 is dropped: no accepted codec runs at 48 kHz.
    assert [c.payload_type for c in stream.codecs] == [0, 8, 126]
    assert stream.rtcp_mux
    assert stream.direction is Direction.SENDRECV


def test_baresip_offer_keeps_rtcp_mux_and_multiple_streams() -> None:
    offer = SessionDescription.parse(BARESIP_OFFER)
    video = MediaDescription(media="video", port=5000, formats=("96",))
    two = dataclasses.replace(offer, media=(*offer.media, video))
    answer = answer_to(two)
    assert [media.port for media in answer.media] == [40000, 0]
    assert answer.media[0].rtcp_mux
    assert answer.media[1].formats == ("96",)
    no_mux = dataclasses.replace(AUDIO, rtcp_mux=False)
    assert not answer_to(offer, no_mux).media[0].rtcp_mux


def test_each_capability_takes_one_stream() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    twice = dataclasses.replace(offer, media=offer.media * 2)
    assert [s.accepted for s in negotiate(twice, [AUDIO])] == [True, False]
    assert [s.accepted for s in negotiate(twice, [AUDIO, AUDIO])] == [True, True]


def test_disabled_stream_stays_disabled() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    disabled = dataclasses.replace(offer, media=(dataclasses.replace(offer.media[0], port=0),))
    assert not is_acceptable(negotiate(disabled, [AUDIO]))


def with_direction(text: str, direction: Direction) -> SessionDescription:
    offer = SessionDescription.parse(text)
    return dataclasses.replace(offer, media=(offer.media[0].with_direction(direction),))


@pytest.mark.parametrize(
    ("offered", "local", "expected"),
    [
        (Direction.SENDRECV, Direction.SENDRECV, Direction.SENDRECV),
        (Direction.SENDONLY, Direction.SENDRECV, Direction.RECVONLY),
        (Direction.RECVONLY, Direction.SENDRECV, Direction.SENDONLY),
        (Direction.INACTIVE, Direction.SENDRECV, Direction.INACTIVE),
        (Direction.SENDRECV, Direction.SENDONLY, Direction.SENDONLY),
        (Direction.SENDONLY, Direction.SENDONLY, Direction.INACTIVE),
        (Direction.SENDRECV, Direction.INACTIVE, Direction.INACTIVE),
    ],
)
def test_answer_direction(offered: Direction, local: Direction, expected: Direction) -> None:
    offer = with_direction(PHONE_OFFER, offered)
    answer = answer_to(offer, dataclasses.replace(AUDIO, direction=local))
    assert answer.media[0].direction is expected
    assert answer.media[0].attributes[-1] == Attribute(name=expected.value)


def test_hold_detection() -> None:
    active = SessionDescription.parse(PHONE_OFFER)
    assert not is_hold(active)
    assert is_hold(with_direction(PHONE_OFFER, Direction.SENDONLY))
    assert is_hold(with_direction(PHONE_OFFER, Direction.INACTIVE))
    assert not is_hold(with_direction(PHONE_OFFER, Direction.RECVONLY))
    legacy = dataclasses.replace(active, connection=Connection(address="0.0.0.0"))
    assert is_hold(legacy)
    assert answer_to(legacy).media[0].direction is Direction.RECVONLY
    session_level = dataclasses.replace(
        active,
        attributes=(Attribute(name="sendonly"),),
        media=(dataclasses.replace(active.media[0], attributes=()),),
    )
    assert is_hold(session_level)
    assert not is_hold(dataclasses.replace(active, media=()))


def test_bump_version() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    bumped = bump_version(offer)
    assert bumped.origin.session_version == offer.origin.session_version + 1
    assert bumped.origin.session_id == offer.origin.session_id
    assert "o=1001 2890844526 2890844528 IN IP4" in str(bumped)


def test_rewrite_connection_for_media_anchoring() -> None:
    offer = SessionDescription.parse(WEBRTC_OFFER)
    rewritten = rewrite_connection(offer, address="2001:db8::5", ports=[30000])
    assert rewritten.connection == Connection(address_type=AddressType.IP6, address="2001:db8::5")
    (audio,) = rewritten.media
    assert audio.port == 30000
    assert audio.connection is None
    assert all(attribute.name != "rtcp" for attribute in audio.attributes)
    assert audio.codecs == offer.media[0].codecs
    with pytest.raises(InvalidSdpValue, match="one port"):
        rewrite_connection(offer, address="192.0.2.1", ports=[])


def test_rewrite_keeps_a_legacy_hold() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    legacy = dataclasses.replace(offer, connection=Connection(address="0.0.0.0"))
    rewritten = rewrite_connection(legacy, address="192.0.2.1", ports=[30000])
    assert rewritten.media[0].direction is Direction.SENDONLY
    assert is_hold(rewritten)
    rejected = dataclasses.replace(offer, media=(dataclasses.replace(offer.media[0], port=0),))
    assert rewrite_connection(rejected, address="192.0.2.1", ports=[1]).media[0].port == 0


def test_create_answer_checks_lengths() -> None:
    offer = SessionDescription.parse(PHONE_OFFER)
    with pytest.raises(InvalidSdpValue, match="one decision"):
        create_answer(offer, negotiate(offer, [AUDIO]), origin=ORIGIN, address="h", ports=[])


def test_codec_matching() -> None:
    opus = CodecSpec.parse("opus/48000/2")
    assert opus.matches(Codec(payload_type=111, encoding_name="OPUS", clock_rate=48000, channels=2))
    assert not opus.matches(CodecSpec.parse("opus/48000"))
    assert CodecSpec.parse("PCMU/8000/1").matches(STATIC_PAYLOAD_TYPES[0])


# --- property tests -----------------------------------------------------------------------

_SPECIAL = {"rtpmap", "fmtp", "ptime", "maxptime", "rtcp-mux", *(d.value for d in Direction)}
_DIRECTION_NAMES = {d.value for d in Direction}


def plain_name(name: str) -> bool:
    return name not in _SPECIAL


def one_direction_at_most(items: list[Attribute]) -> bool:
    return sum(a.name in _DIRECTION_NAMES for a in items) <= 1


def no_space(word: str) -> bool:
    return not any(char.isspace() or char == "\x00" for char in word)


tokens = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.+", min_size=1, max_size=8)
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=20)
words = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10).filter(no_space)
attributes = st.one_of(
    st.builds(Attribute, name=tokens.filter(plain_name), value=st.none() | texts),
    st.builds(Attribute, name=st.sampled_from([*sorted(_DIRECTION_NAMES), "rtcp-mux"])),
    st.builds(
        Attribute,
        name=st.just("rtpmap"),
        value=st.builds(
            "{} {}/{}".format,
            st.integers(0, 127),
            tokens,
            st.integers(1, 96000),
        ),
    ),
)
connections = st.builds(Connection, address_type=st.sampled_from(AddressType), address=words)
media_descriptions = st.builds(
    MediaDescription,
    media=tokens,
    port=st.integers(1, 65535),
    port_count=st.none() | st.integers(1, 4),
    proto=st.sampled_from(["RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", "udp"]),
    formats=st.lists(st.integers(0, 127).map(str), min_size=1, max_size=5).map(tuple),
    information=st.none() | texts,
    connection=st.none() | connections,
    bandwidths=st.lists(
        st.builds(Bandwidth, type=tokens, value=st.integers(0, 10**6)), max_size=2
    ).map(tuple),
    attributes=st.lists(attributes, max_size=6).filter(one_direction_at_most).map(tuple),
)
sessions = st.builds(
    SessionDescription,
    origin=st.builds(
        Origin,
        username=words,
        session_id=st.integers(0, 2**64).map(str),
        session_version=st.integers(0, 2**32),
        address_type=st.sampled_from(AddressType),
        address=words,
    ),
    session_name=texts,
    information=st.none() | texts,
    emails=st.lists(texts, max_size=2).map(tuple),
    connection=st.none() | connections,
    timings=st.lists(
        st.builds(
            Timing,
            start=st.integers(0, 2**40),
            stop=st.integers(0, 2**40),
            repeats=st.lists(texts, max_size=2).map(tuple),
        ),
        min_size=1,
        max_size=2,
    ).map(tuple),
    attributes=st.lists(
        st.builds(Attribute, name=tokens.filter(plain_name), value=texts),
        max_size=3,
    ).map(tuple),
    media=st.lists(media_descriptions, max_size=3).map(tuple),
)


@settings(max_examples=150)
@given(sessions)
def test_generated_models_round_trip(description: SessionDescription) -> None:
    assert SessionDescription.parse(str(description)) == description
    assert SessionDescription.parse(bytes(description)) == description


@given(st.text() | st.binary())
def test_random_input_raises_only_sdp_errors(data: str | bytes) -> None:
    with contextlib.suppress(SdpError):
        SessionDescription.parse(data)


@given(st.lists(st.text(alphabet="vosctmab=0123 IN4P/RTAV:\r\n", max_size=20), max_size=8))
def test_sdp_looking_input_raises_only_sdp_errors(lines: list[str]) -> None:
    with contextlib.suppress(SdpError):
        SessionDescription.parse("v=0\no=- 1 1 IN IP4 h\ns=-\n" + "\n".join(lines))


audio_offers = st.builds(
    MediaDescription,
    media=st.sampled_from(["audio", "video"]),
    port=st.integers(0, 65535),
    proto=st.sampled_from(["RTP/AVP", "RTP/SAVP"]),
    formats=st.lists(st.sampled_from(["0", "8", "9", "18", "101"]), min_size=1, max_size=5).map(
        lambda formats: tuple(dict.fromkeys(formats))
    ),
    attributes=st.lists(
        st.sampled_from(
            [
                Attribute(name="rtpmap", value="101 telephone-event/8000"),
                Attribute(name="sendonly"),
                Attribute(name="rtcp-mux"),
            ]
        ),
        unique=True,
    ).map(tuple),
)


@settings(max_examples=100)
@given(st.lists(audio_offers, max_size=3), st.sampled_from(CodecOrder))
def test_answers_mirror_offers(media: list[MediaDescription], order: CodecOrder) -> None:
    offer = SessionDescription(
        origin=ORIGIN, connection=Connection(address="h"), media=tuple(media)
    )
    negotiation = negotiate(offer, [dataclasses.replace(AUDIO, order=order)])
    ports = [1000] * len(media)
    answer = create_answer(offer, negotiation, origin=ORIGIN, address="192.0.2.1", ports=ports)
    assert SessionDescription.parse(bytes(answer)) == answer
    assert [m.media for m in answer.media] == [m.media for m in offer.media]
    assert sum(stream.accepted for stream in negotiation) <= 1
    for offered, answered in zip(offer.media, answer.media, strict=True):
        assert set(answered.formats) <= set(offered.formats)
        if answered.port != 0:
            assert answered.codecs[0].encoding_name in {"PCMU", "PCMA"}
            assert offered.port != 0
            assert offered.proto == "RTP/AVP"


@settings(max_examples=100)
@given(sessions)
def test_copies_made_without_checks_pass_them(description: SessionDescription) -> None:
    # The parser and rewrite_connection copy checked parts without running
    # __post_init__ again: the copies must be what the checked path builds.
    parsed = SessionDescription.parse(str(description))
    rewritten = rewrite_connection(
        parsed, address="192.0.2.1", ports=[4000 if m.port else 0 for m in parsed.media]
    )
    for result in (parsed, rewritten, bump_version(parsed)):
        checked = dataclasses.replace(
            result, media=tuple(dataclasses.replace(m) for m in result.media)
        )
        assert checked == result
        assert [m.codecs for m in checked.media] == [m.codecs for m in result.media]
        assert SessionDescription.parse(str(result)) == result
