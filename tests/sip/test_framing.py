"""Stream framing: byte-by-byte feeding, pipelining, keep-alives, limits."""

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.sip.codes import StatusCode
from centralino.sip.errors import SipError, SipParseError
from centralino.sip.framing import (
    FramingEvent,
    KeepAlivePing,
    KeepAlivePong,
    MessageReceived,
    MessageRejected,
    StreamClosed,
    StreamFramer,
)
from centralino.sip.message import Request, parse_message

VECTORS = pathlib.Path(__file__).parent / "vectors" / "rfc4475"
# Every valid vector carries Content-Length, so each frames on a stream too
# (dblreq becomes two messages there, see below).
STREAMABLE = sorted((VECTORS / "valid").glob("*.sip"))
OPTIONS = (
    b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
    b"To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: c1\r\n"
    b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 4\r\n\r\nbody"
)


def _drain(framer: StreamFramer) -> list[FramingEvent]:
    events: list[FramingEvent] = []
    while (event := framer.next_event()) is not None:
        events.append(event)
    return events


def _feed_bytewise(framer: StreamFramer, data: bytes) -> list[FramingEvent]:
    events: list[FramingEvent] = []
    for index in range(len(data)):
        framer.receive_data(data[index : index + 1])
        events += _drain(framer)
    return events


@pytest.mark.parametrize("path", STREAMABLE, ids=[p.stem for p in STREAMABLE])
def test_vectors_byte_by_byte(path: pathlib.Path) -> None:
    data = path.read_bytes()
    events = _feed_bytewise(StreamFramer(), data)
    assert all(isinstance(event, MessageReceived) for event in events)
    assert isinstance(events[0], MessageReceived)
    assert events[0].message == parse_message(data)


def test_dblreq_is_two_messages_on_a_stream() -> None:
    framer = StreamFramer()
    framer.receive_data((VECTORS / "valid" / "dblreq.sip").read_bytes())
    events = _drain(framer)
    methods = [
        e.message.method
        for e in events
        if isinstance(e, MessageReceived) and isinstance(e.message, Request)
    ]
    assert methods == ["REGISTER", "INVITE"]


def test_several_messages_in_one_chunk_with_keepalives() -> None:
    framer = StreamFramer()
    framer.receive_data(b"\r\n\r\n" + OPTIONS + OPTIONS + b"\r\n\r\n" + OPTIONS[:10])
    events = _drain(framer)
    assert [type(e) for e in events] == [
        KeepAlivePing,
        MessageReceived,
        MessageReceived,
        KeepAlivePing,
    ]
    framer.receive_data(OPTIONS[10:])
    assert [type(e) for e in _drain(framer)] == [MessageReceived]


def test_byte_by_byte_ping_is_not_mistaken_for_pongs() -> None:
    events = _feed_bytewise(StreamFramer(), b"\r\n\r\n" + OPTIONS)
    assert [type(e) for e in events] == [KeepAlivePing, MessageReceived]


def test_single_crlf_is_a_pong() -> None:
    framer = StreamFramer()
    framer.receive_data(b"\r\n")
    assert framer.next_event() is None  # could still become a ping
    framer.receive_data(OPTIONS)
    assert [type(e) for e in _drain(framer)] == [KeepAlivePong, MessageReceived]
    framer.receive_data(b"\r\n")
    framer.receive_data(b"")
    assert [type(e) for e in _drain(framer)] == [KeepAlivePong, StreamClosed]


def test_invalid_message_with_intact_framing_is_rejected_not_fatal() -> None:
    bad = OPTIONS.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    framer = StreamFramer()
    framer.receive_data(bad + OPTIONS)
    events = _drain(framer)
    assert isinstance(events[0], MessageRejected)
    assert events[0].error.status == StatusCode.BAD_REQUEST
    assert isinstance(events[1], MessageReceived)


def test_missing_content_length_means_empty_body() -> None:
    framer = StreamFramer()
    framer.receive_data(OPTIONS.replace(b"Content-Length: 4\r\n", b"")[:-4] + OPTIONS)
    assert [type(e) for e in _drain(framer)] == [MessageReceived, MessageReceived]


def test_head_too_large_is_fatal_513() -> None:
    framer = StreamFramer(max_head_size=100)
    framer.receive_data(b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: " + b"y" * 200)
    with pytest.raises(SipParseError) as error:
        framer.next_event()
    assert error.value.status == StatusCode.MESSAGE_TOO_LARGE
    with pytest.raises(SipParseError):
        framer.receive_data(b"more")


def test_body_too_large_is_fatal_413() -> None:
    framer = StreamFramer(max_body_size=3)
    framer.receive_data(OPTIONS)
    with pytest.raises(SipParseError) as error:
        framer.next_event()
    assert error.value.status == StatusCode.REQUEST_ENTITY_TOO_LARGE


def test_oversized_request_carries_its_head_to_be_answered() -> None:
    framer = StreamFramer(max_body_size=3)
    framer.receive_data(OPTIONS)
    with pytest.raises(SipParseError) as error:
        framer.next_event()
    request = error.value.message
    assert isinstance(request, Request)
    assert request.method == "OPTIONS"
    assert request.headers.call_id() == "c1"


def test_head_too_large_carries_the_whole_lines_read() -> None:
    head, _ = OPTIONS.split(b"\r\n\r\n")
    framer = StreamFramer(max_head_size=len(head) + 10)
    framer.receive_data(head + b"\r\nX-Long: " + b"y" * 200)
    with pytest.raises(SipParseError) as error:
        framer.next_event()
    assert error.value.status == StatusCode.MESSAGE_TOO_LARGE
    request = error.value.message
    assert isinstance(request, Request)
    assert request.headers.get("x-long") is None  # the cut line is left out


def test_garbage_over_the_limit_carries_no_message() -> None:
    framer = StreamFramer(max_head_size=100)
    framer.receive_data(b"\x16\x03\x01" + b"\xff" * 300)
    with pytest.raises(SipParseError) as error:
        framer.next_event()
    assert error.value.message is None


def test_message_pending_ignores_keepalives_in_progress() -> None:
    framer = StreamFramer()
    assert not framer.message_pending
    framer.receive_data(b"\r\n")  # a ping or a pong: not known yet
    assert _drain(framer) == []
    assert not framer.message_pending
    framer.receive_data(b"\r\n" + OPTIONS[:10])
    assert [type(e) for e in _drain(framer)] == [KeepAlivePing]
    assert framer.message_pending
    framer.receive_data(OPTIONS[10:])
    assert [type(e) for e in _drain(framer)] == [MessageReceived]
    assert not framer.message_pending


@pytest.mark.parametrize("value", [b"-1", b"abc", b"4\r\nContent-Length: 5"])
def test_unusable_content_length_is_fatal(value: bytes) -> None:
    framer = StreamFramer()
    framer.receive_data(OPTIONS.replace(b"Content-Length: 4", b"Content-Length: " + value))
    with pytest.raises(SipParseError):
        framer.next_event()


def test_close_mid_message_is_an_error_and_clean_close_an_event() -> None:
    framer = StreamFramer()
    framer.receive_data(OPTIONS[:-1])
    framer.receive_data(b"")
    with pytest.raises(SipParseError):
        framer.next_event()
    clean = StreamFramer()
    clean.receive_data(OPTIONS)
    clean.receive_data(b"")
    assert [type(e) for e in _drain(clean)] == [MessageReceived, StreamClosed]
    assert clean.next_event() is None


@given(st.lists(st.sampled_from(STREAMABLE), min_size=1, max_size=4), st.data())
@settings(max_examples=60, deadline=None)
def test_random_chunking_gives_the_same_messages(
    paths: list[pathlib.Path], data: st.DataObject
) -> None:
    stream = b"".join(path.read_bytes() for path in paths)
    whole = StreamFramer()
    whole.receive_data(stream)
    expected = _drain(whole)
    framer = StreamFramer()
    events: list[FramingEvent] = []
    position = 0
    while position < len(stream):
        size = data.draw(st.integers(1, 400))
        framer.receive_data(stream[position : position + size])
        events += _drain(framer)
        position += size
    assert events == expected


@given(st.binary(max_size=400))
@settings(max_examples=200, deadline=None)
def test_random_stream_bytes_raise_only_sip_errors(data: bytes) -> None:
    framer = StreamFramer(max_head_size=200, max_body_size=100)
    try:
        framer.receive_data(data)
        framer.receive_data(b"")
        _drain(framer)
    except SipError:
        pass
