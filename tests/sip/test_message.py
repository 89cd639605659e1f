"""Message parsing: RFC 4475 torture vectors, round trips, builders, fuzzing."""

from __future__ import annotations

import contextlib
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.sip.address import NameAddress
from centralino.sip.codes import StatusCode
from centralino.sip.errors import SipError, SipParseError
from centralino.sip.headers import Headers, Via
from centralino.sip.message import Request, Response, make_request, make_response, parse_message
from centralino.sip.uri import Uri

VECTORS = pathlib.Path(__file__).parent / "vectors" / "rfc4475"
VALID = sorted((VECTORS / "valid").glob("*.sip"))
INVALID = sorted((VECTORS / "invalid").glob("*.sip"))

# RFC 4475 vectors that are syntactically valid (the parser must accept them)
# and that a later layer rejects or treats specially, with that layer named.
SEMANTIC_ONLY = {
    "badbranch": "transaction layer: bare 'z9hG4bK' branch matched as RFC 2543 (§3.1.3.1)",
    "unkscm": "UAS/proxy (telephony): 416 Unsupported URI Scheme (§3.3.3)",
    "novelsc": "UAS/proxy (telephony): 416 Unsupported URI Scheme (§3.3.4)",
    "unksm2": "registrar (telephony): 416 for a non-SIP address-of-record (§3.3.5)",
    "bext01": "UAS (telephony): 420 Bad Extension with Unsupported (§3.3.7)",
    "invut": "UAS (telephony): 415 Unsupported Media Type (§3.3.8)",
    "regaut01": "authenticator (telephony): challenge the unknown scheme with 401 (§3.3.9)",
    "zeromf": "proxy: 483 Too Many Hops; a UAS answers OPTIONS (§3.3.11)",
    "sdp01": "UAS (telephony): 406 / 488 for an unacceptable Accept (§3.3.14)",
    "bcast": "transport (net): never send to the broadcast sent-by (§3.3.15)",
    "cparam01": "registrar: 'unknownparam' is a Contact header parameter (§3.3.12)",
    "cparam02": "registrar: 'unknownparam' is a URI parameter (§3.3.13)",
    "regescrt": "registrar: store the Contact URI with its escaped Route header (§3.3.10)",
}


def _ids(paths: list[pathlib.Path]) -> list[str]:
    return [path.stem for path in paths]


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_valid_vector_parses_and_round_trips(path: pathlib.Path) -> None:
    data = path.read_bytes()
    message = parse_message(data)
    again = parse_message(bytes(message))
    assert again == message
    assert bytes(again) == bytes(message)


@pytest.mark.parametrize("path", VALID, ids=_ids(VALID))
def test_valid_vector_ignores_trailing_bytes(path: pathlib.Path) -> None:
    data = path.read_bytes()
    message = parse_message(data)
    if "content-length" in message.headers:
        assert parse_message(data + b"garbage after the body\r\n") == message


@pytest.mark.parametrize("path", INVALID, ids=_ids(INVALID))
def test_invalid_vector_is_rejected(path: pathlib.Path) -> None:
    with pytest.raises(SipParseError):
        parse_message(path.read_bytes())


def test_semantic_only_vectors_exist() -> None:
    assert set(SEMANTIC_ONLY) <= {path.stem for path in VALID}


def test_wsinv_details() -> None:
    request = Request.parse((VECTORS / "valid" / "wsinv.sip").read_bytes())
    headers = request.headers
    assert request.method == "INVITE"
    assert request.uri.parameters.names() == ["unknownparam"]
    assert headers.to_address().tag == "1918181833n"
    assert headers.from_address().display_name == 'J Rosenberg \\"'
    assert headers.max_forwards() == 68
    assert headers.cseq().number == 9
    assert [via.host for via in headers.vias()] == [
        "192.0.2.2",
        "spindle.example.com",
        "192.168.255.111",
    ]
    assert headers.get("s") == ""
    assert headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    contacts = headers.contacts()
    assert isinstance(contacts, list)
    assert contacts[0].parameters.get("q") == "0.33"
    assert len(request.body) == 150


def test_esc02_percent_is_not_an_escape_in_method_or_header_name() -> None:
    request = Request.parse((VECTORS / "valid" / "esc02.sip").read_bytes())
    assert request.method == "RE%47IST%45R"
    contacts = request.headers.contacts()
    assert isinstance(contacts, list)
    assert len(contacts) == 2
    assert request.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_dblreq_datagram_keeps_only_the_first_request() -> None:
    request = Request.parse((VECTORS / "valid" / "dblreq.sip").read_bytes())
    assert request.method == "REGISTER"
    assert request.body == b""


def test_unreason_keeps_utf8_reason() -> None:
    response = Response.parse((VECTORS / "valid" / "unreason.sip").read_bytes())
    assert response.status == StatusCode.OK
    assert response.reason.startswith("= 2**3 * 5**2 ")


def test_invalid_errors_carry_status_and_partial_message() -> None:
    with pytest.raises(SipParseError) as bad_version:
        parse_message((VECTORS / "invalid" / "badvers.sip").read_bytes())
    assert bad_version.value.status == StatusCode.VERSION_NOT_SUPPORTED
    assert isinstance(bad_version.value.message, Request)
    with pytest.raises(SipParseError) as missing:
        parse_message((VECTORS / "invalid" / "insuf.sip").read_bytes())
    assert missing.value.status == StatusCode.BAD_REQUEST
    assert "Missing" in missing.value.response_reason


def _invite() -> Request:
    return make_request(
        "INVITE",
        Uri.parse("sip:bob@example.com"),
        via=Via(transport="UDP", host="192.0.2.1", port=5060).with_parameter(
            "branch", "z9hG4bK776asdhds"
        ),
        from_address=NameAddress.parse("Alice <sip:alice@example.com>;tag=1928301774"),
        to_address=NameAddress.parse("Bob <sip:bob@example.com>"),
        call_id="a84b4c76e66710@pc33.example.com",
        cseq=314159,
        extra_headers=[("Timestamp", "54")],
        body=b"v=0\r\n",
    )


def test_make_request_is_valid_and_round_trips() -> None:
    request = _invite()
    assert Request.parse(bytes(request)) == request
    assert request.headers.content_length() == 5


def test_make_response_copies_fields_per_8_2_6() -> None:
    request = _invite().headers.with_prepended("Via", "SIP/2.0/TCP proxy.example.com")
    invite = Request(method="INVITE", uri=Uri.parse("sip:bob@example.com"), headers=request)
    ringing = make_response(invite, StatusCode.RINGING, to_tag="a6c85cf")
    assert ringing.reason == "Ringing"
    assert ringing.headers.get_all("via") == invite.headers.get_all("via")
    assert ringing.headers.to_address().tag == "a6c85cf"
    assert ringing.headers.get("cseq") == "314159 INVITE"
    assert "timestamp" not in ringing.headers
    trying = make_response(invite, StatusCode.TRYING, to_tag="ignored")
    assert trying.headers.to_address().tag is None
    assert trying.headers.get("Timestamp") == "54"
    assert Response.parse(bytes(ringing)) == ringing


def test_response_class_helpers() -> None:
    assert Response(status=180).is_provisional
    assert Response(status=202).is_success
    assert not Response(status=404).is_success


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nTo <sip:a@b>\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0",
        b"SIP/2.0 99 Too Small\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ],
)
def test_rejects_garbage(data: bytes) -> None:
    with pytest.raises(SipParseError):
        parse_message(data)


# Hypothesis -------------------------------------------------------------------

_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
tokens = st.text(_TOKEN_CHARS, min_size=1, max_size=12)
hosts = st.sampled_from(["example.com", "192.0.2.1", "[2001:db8::1]", "a-b.example.org"])
users = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)
values = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=20
).map(str.strip)


@st.composite
def uris(draw: st.DrawFn) -> Uri:
    uri = Uri(
        scheme=draw(st.sampled_from(["sip", "sips"])),
        user=draw(st.none() | users),
        host=draw(hosts),
        port=draw(st.none() | st.integers(1, 65535)),
    )
    for name in draw(st.lists(tokens, max_size=3, unique_by=str.lower)):
        uri = uri.with_parameter(name, draw(st.none() | users))
    return uri


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(tokens)
    body = draw(st.binary(max_size=40))
    branch = "z9hG4bK" + draw(tokens)
    extra = draw(st.lists(st.tuples(tokens.map(lambda t: "X-" + t), values), max_size=4))
    return make_request(
        method,
        draw(uris()),
        via=Via(transport="UDP", host=draw(hosts)).with_parameter("branch", branch),
        from_address=NameAddress(uri=draw(uris())).with_tag(draw(tokens)),
        to_address=NameAddress(uri=draw(uris()), display_name=draw(st.none() | values)),
        call_id=draw(tokens) + "@" + draw(tokens),
        cseq=draw(st.integers(0, 2**31 - 1)),
        max_forwards=draw(st.integers(0, 255)),
        extra_headers=extra,
        body=body,
    )


@given(requests())
@settings(max_examples=150, deadline=None)
def test_generated_request_round_trips(request: Request) -> None:
    assert parse_message(bytes(request)) == request


@given(requests(), st.integers(100, 699), values)
@settings(max_examples=100, deadline=None)
def test_generated_response_round_trips(request: Request, status: int, reason: str) -> None:
    response = make_response(request, status, reason, to_tag="t1")
    assert parse_message(bytes(response)) == response


@given(st.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_sip_errors(data: bytes) -> None:
    with contextlib.suppress(SipError):
        parse_message(data)


@given(st.sampled_from(VALID), st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_vectors_raise_only_sip_errors(path: pathlib.Path, data: st.DataObject) -> None:
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] = data.draw(st.sampled_from(b' \t\r\n:;,<>"\\@%=/0aZ\x00\xff'))
    try:
        message = parse_message(bytes(raw))
    except SipError:
        return
    assert parse_message(bytes(message)) == message


def test_headers_are_unfolded() -> None:
    data = (
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:a@b>\r\n"
        b"From: <sip:c@d>\r\n ;tag=1\r\nCall-ID: x\r\nCSeq: 1\r\n\tOPTIONS\r\n"
        b"Max-Forwards: 70\r\nSubject: one\r\n  two\r\n\r\n"
    )
    request = Request.parse(data)
    assert request.headers.get("subject") == "one two"
    assert request.headers.from_address().tag == "1"
    assert isinstance(request.headers, Headers)
