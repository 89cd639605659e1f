"""The pre-scan: the key it finds is the full parse's key, or it gives up."""

from __future__ import annotations

import pathlib

from hypothesis import given
from hypothesis import strategies as st

from centralino.sip.errors import SipError
from centralino.sip.message import Request, Response, parse_message
from centralino.sip.prescan import prescan, stateless_response
from centralino.sip.transaction_layer import server_key

VECTORS = pathlib.Path(__file__).parent / "vectors" / "rfc4475"


def _parsed_request(data: bytes) -> Request | None:
    try:
        message = parse_message(data)
    except SipError:
        return None
    return message if isinstance(message, Request) else None


def test_rfc4475_vectors_scan_to_the_full_parse_key() -> None:
    agreed = 0
    for path in sorted(VECTORS.rglob("*.sip")):
        data = path.read_bytes()
        scan = prescan(data)
        request = _parsed_request(data)
        if scan is None or request is None:
            continue
        assert scan.key == server_key(request), path.name
        assert scan.method == request.method, path.name
        agreed += 1
    assert agreed >= 10  # most valid vectors are plain enough to scan


def test_a_response_is_not_scanned() -> None:
    assert prescan(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n") is None


_BASE = (
    "{method} sip:bob@example.com SIP/2.0\r\n"
    "{via_name}: SIP/2.0/{transport} {host}{port};branch={branch}{params}{more_vias}\r\n"
    "Max-Forwards: 70\r\n"
    "{to_name}: <sip:bob@example.com>{to_tag}\r\n"
    "From: <sip:alice@example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33\r\n"
    "{cseq_name}:{space}{number} {cseq_method}\r\n"
    "{authorization}"
    "Content-Length: 0\r\n\r\n"
)

_token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_",
    min_size=1,
    max_size=12,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    method = draw(st.sampled_from(["INVITE", "REGISTER", "OPTIONS", "BYE", "CANCEL", "ACK", "FOO"]))
    mismatched = draw(st.booleans()) and draw(st.booleans())
    fields = {
        "method": method,
        "via_name": draw(st.sampled_from(["Via", "via", "VIA", "v", "Via "])),
        "transport": draw(st.sampled_from(["UDP", "TCP", "TLS", "udp", "tls"])),
        "host": draw(st.sampled_from(["192.0.2.1", "PC33.Atlanta.COM", "[2001:DB8::1]", "h"])),
        "port": draw(st.sampled_from(["", ":5060", ":5061", ":07", " : 9"])),
        "branch": draw(st.sampled_from(["z9hG4bK", "z9hg4bk", "x"])) + draw(_token),
        "params": draw(st.sampled_from(["", ";rport", ";received=192.0.2.9;rport=5", ";ttl=3"])),
        "more_vias": draw(st.sampled_from(["", ", SIP/2.0/UDP other:5;branch=z9hG4bKx"])),
        "to_name": draw(st.sampled_from(["To", "t", "TO"])),
        "to_tag": draw(st.sampled_from(["", ";tag=8321234356", " ;TAG=x"])),
        "cseq_name": draw(st.sampled_from(["CSeq", "cseq", "CSEQ"])),
        "space": draw(st.sampled_from([" ", "", "\t"])),
        "number": draw(st.integers(min_value=0, max_value=2**31 - 1)),
        "cseq_method": "OPTIONS" if mismatched and method != "OPTIONS" else method,
        "authorization": draw(
            st.sampled_from(
                ["", 'Authorization: Digest username="a"\r\n', "proxy-authorization: x\r\n"]
            )
        ),
    }
    if method == "INVITE":
        fields["cseq_method"] = "INVITE"
    data = _BASE.format(**fields).encode()
    return data, bool(fields["authorization"])


@given(requests())
def test_generated_requests_scan_to_the_full_parse_key(case: tuple[bytes, bool]) -> None:
    data, credentials = case
    scan = prescan(data)
    request = _parsed_request(data)
    if request is None:
        return  # the full parse refuses it; the scan may say anything
    key = server_key(request)
    if not key.branch.startswith("z9hG4bK") or key.branch == "z9hG4bK":
        assert scan is None  # RFC 2543 matching is the full path's
        return
    assert scan is not None
    assert scan.key == key
    assert scan.method == request.method
    assert scan.in_dialog == (request.headers.to_address().tag is not None)
    assert scan.credentials == credentials


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    prescan(data)
    stateless_response(data, 503, "Service Unavailable")


_INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n"
    b"v: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK77ef4c2312983.1\r\n"
    b"Max-Forwards: 70\r\n"
    b"t: Bob <sip:bob@example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_a_stateless_503_copies_the_identifying_lines_and_adds_a_tag() -> None:
    raw = stateless_response(_INVITE, 503, "Service Unavailable", headers=(("Retry-After", "5"),))
    assert raw is not None
    response = parse_message(raw)
    request = parse_message(_INVITE)
    assert isinstance(response, Response)
    assert isinstance(request, Request)
    assert response.status == 503
    assert response.headers.get_all("via") == request.headers.get_all("via")
    assert response.headers.call_id() == request.headers.call_id()
    assert response.headers.cseq() == request.headers.cseq()
    assert response.headers.from_address() == request.headers.from_address()
    tag = response.headers.to_address().tag
    assert tag
    assert response.headers.get("retry-after") == "5"
    assert stateless_response(_INVITE, 503, "Service Unavailable") is not None
    again = stateless_response(_INVITE, 503, "x")
    assert again is not None
    assert parse_message(again).headers.to_address().tag == tag  # same for a retransmission


def test_no_via_no_stateless_response() -> None:
    without_via = b"\r\n".join(
        line for line in _INVITE.split(b"\r\n") if not line.lower().startswith((b"via", b"v:"))
    )
    assert stateless_response(without_via, 503, "x") is None
