"""Header collection, compact forms, list splitting and typed accessors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.sip.errors import SipParseError
from centralino.sip.headers import ContactStar, CSeq, Headers, Via, canonical_name


def test_lookup_is_case_insensitive_and_knows_compact_forms() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("VIA", "SIP/2.0/TCP b"), ("i", "x@y")])
    assert canonical_name("m") == "contact"
    assert headers.get_all("Via") == ["SIP/2.0/UDP a", "SIP/2.0/TCP b"]
    assert headers.get("call-ID") == "x@y"
    assert "Call-Id" in headers
    assert "Contact" not in headers


def test_keeps_original_spelling_and_order() -> None:
    headers = Headers([("MaX-fOrWaRdS", "70"), ("v", "SIP/2.0/UDP a")])
    assert list(headers) == [("MaX-fOrWaRdS", "70"), ("v", "SIP/2.0/UDP a")]
    assert headers == Headers([("Max-Forwards", "70"), ("Via", "SIP/2.0/UDP a")])


def test_splits_only_list_headers_and_respects_quotes_and_brackets() -> None:
    headers = Headers(
        [
            ("Contact", '"Doe, John" <sip:a@b;x=1,2>, <sip:c@d>'),
            ("Contact", "<sip:e@f>"),
            ("Date", "Sat, 15 Oct 2005 04:44:56 GMT"),
            ("WWW-Authenticate", 'Digest realm="a,b", nonce="n"'),
        ]
    )
    assert headers.values("contact") == ['"Doe, John" <sip:a@b;x=1,2>', "<sip:c@d>", "<sip:e@f>"]
    assert headers.values("date") == ["Sat, 15 Oct 2005 04:44:56 GMT"]
    assert len(headers.values("www-authenticate")) == 1


def test_editing_returns_new_collections() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a, SIP/2.0/UDP b"), ("To", "<sip:x@y>")])
    assert headers.without_first_value("via").get_all("via") == ["SIP/2.0/UDP b"]
    assert headers.with_prepended("Via", "SIP/2.0/UDP z").get_all("v")[0] == "SIP/2.0/UDP z"
    replaced = headers.with_replaced("to", "<sip:q@r>")
    assert replaced.get("To") == "<sip:q@r>"
    assert headers.get("To") == "<sip:x@y>"
    assert "to" not in headers.without("TO")
    assert headers.with_appended("X-A", "1").get("x-a") == "1"


def test_via_accessors_with_lws_and_rport() -> None:
    via = Via.parse("SIP  /   2.0 /UDP    192.0.2.2 : 5070 ;rport;branch=z9hG4bK390skdjuw")
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "UDP",
        "192.0.2.2",
        5070,
    )
    assert via.branch == "z9hG4bK390skdjuw"
    assert via.is_rfc3261_branch
    assert via.wants_rport
    assert via.rport is None
    assert via.sent_by == "192.0.2.2:5070"
    answered = via.with_parameter("received", "10.0.0.1").with_parameter("rport", "4000")
    assert answered.received == "10.0.0.1"
    assert answered.rport == 4000
    assert Via.parse(str(answered)) == answered


def test_via_default_ports() -> None:
    assert Via.parse("SIP/2.0/TLS example.com").sent_by == "example.com:5061"
    assert Via.parse("SIP/2.0/UDP Example.COM").sent_by == "example.com:5060"


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP 192.0.2.15;;,;,,",
        "SIP/2.0 192.0.2.15",
        "SIP/2.0/UDP host;received=notanip",
        "SIP/2.0/UDP host;rport=99999",
        "SIP/2.0/UDP host;ttl=300",
        "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP host;Received",
        "SIP/2.0/UDP host;RPORT=x;branch=z9hG4bK1",
        "SIP/2.0/UDP host;branch=z9hG4bK1;TTL",
        "SIP/2.0/UDP host;rport;BRANCH",
    ],
)
def test_via_rejects(text: str) -> None:
    with pytest.raises(SipParseError):
        Via.parse(text)


def test_cseq_and_scalars() -> None:
    headers = Headers(
        [("CSeq", "0009 INVITE"), ("Max-Forwards", "0068"), ("l", "150"), ("Expires", "3600")]
    )
    assert headers.cseq() == CSeq(number=9, method="INVITE")
    assert str(headers.cseq()) == "9 INVITE"
    assert headers.max_forwards() == 68
    assert headers.content_length() == 150
    assert headers.expires() == 3600
    assert Headers().max_forwards() is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSeq", "36893488147419103232 INVITE"),
        ("CSeq", "1"),
        ("Max-Forwards", "300"),
        ("Content-Length", "-1"),
        ("Expires", "99999999999"),
    ],
)
def test_scalar_out_of_range(name: str, value: str) -> None:
    headers = Headers([(name, value)])
    accessor = {
        "CSeq": headers.cseq,
        "Max-Forwards": headers.max_forwards,
        "Content-Length": headers.content_length,
        "Expires": headers.expires,
    }[name]
    with pytest.raises(SipParseError):
        accessor()


def test_contacts_star_and_list() -> None:
    assert Headers([("Contact", "*")]).contacts() == ContactStar()
    contacts = Headers([("m", "<sip:a@b>;expires=60, sip:c@d;q=0.5")]).contacts()
    assert isinstance(contacts, list)
    assert [c.parameters.get("expires") for c in contacts] == ["60", None]


def test_single_valued_fields_must_be_single() -> None:
    headers = Headers([("Call-ID", "a@b"), ("i", "c@d")])
    with pytest.raises(SipParseError, match="repeated"):
        headers.call_id()
    with pytest.raises(SipParseError, match="missing"):
        Headers().call_id()


_VIA_ELEMENT = st.builds(
    lambda transport, host, port, branch, rport: (
        f"SIP/2.0/{transport} {host}{'' if port is None else f':{port}'}"
        f";branch=z9hG4bK{branch}{';rport' if rport else ''}"
    ),
    st.sampled_from(["UDP", "TCP", "tls"]),
    st.sampled_from(["192.0.2.1", "pbx.example.com", "[2001:db8::1]"]),
    st.none() | st.integers(min_value=0, max_value=65535),
    st.text(alphabet="abcdef0123456789", min_size=1, max_size=12),
    st.booleans(),
)


@given(st.lists(st.lists(_VIA_ELEMENT, min_size=1, max_size=3), min_size=1, max_size=3))
def test_top_via_alone_equals_the_first_of_every_via(lines: list[list[str]]) -> None:
    fields = [("Via", ", ".join(line)) for line in lines]
    lazy = Headers(fields)
    eager = Headers(fields)
    assert lazy.top_via() == eager.vias()[0]
    assert lazy.vias() == eager.vias()  # reading the top first changes nothing after
    stamped = lazy.with_top_via(lazy.top_via().with_parameter("received", "198.51.100.7"))
    assert stamped.top_via() == Headers(list(stamped)).vias()[0]
    assert stamped.vias()[1:] == eager.vias()[1:]


def test_top_via_skips_empty_elements_and_requires_one() -> None:
    headers = Headers([("Via", " , SIP/2.0/UDP a.example.com;branch=z9hG4bK1, junk")])
    assert headers.top_via().host == "a.example.com"
    with pytest.raises(SipParseError):
        Headers([("To", "<sip:a@b>")]).top_via()
    with pytest.raises(SipParseError):
        Headers([("Via", "SIP/2.0/UDP <bad")]).top_via()


def test_a_via_text_parsed_again_gives_the_same_value() -> None:
    text = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKmemo;rport"
    assert Via.parse(text) == Via.parse(text) == Headers([("v", text)]).top_via()
    for _ in range(2):  # a bad text is judged anew each time, never remembered
        with pytest.raises(SipParseError):
            Via.parse("SIP/2.0/UDP 192.0.2.1;received=not-an-address")


_FIELD_NAMES = st.sampled_from(["Via", "v", "VIA", "To", "t", "From", "CSeq", "X-Custom", "x"])
_FIELD_VALUES = st.text(alphabet="abc;=, \t<>:@", max_size=12)


@given(st.lists(st.tuples(_FIELD_NAMES, _FIELD_VALUES), max_size=8))
def test_parsed_lines_look_up_as_built_fields(pairs: list[tuple[str, str]]) -> None:
    parsed = Headers.parse([f"{name} :{value}" for name, value in pairs])
    built = Headers([(name, value.strip(" \t")) for name, value in pairs])
    assert parsed == built
    assert list(parsed) == list(built)
    for name in ("via", "To", "f", "cseq", "x-custom", "x", "contact"):
        assert parsed.get_all(name) == built.get_all(name)


def test_parse_rejects_lines_without_a_token_name() -> None:
    for line in ("no colon here", "bad name: value", ": empty"):
        with pytest.raises(SipParseError):
            Headers.parse([line])


@given(st.lists(st.tuples(_FIELD_NAMES, _FIELD_VALUES), max_size=8))
def test_a_new_top_via_looks_up_as_built_fields(pairs: list[tuple[str, str]]) -> None:
    headers = Headers.parse([f"{name}: {value}" for name, value in pairs])
    if not headers.get_all("via"):
        return
    try:
        headers.by_name()
        stamped = headers.with_top_via(Via(transport="UDP", host="192.0.2.9"))
    except SipParseError:
        return  # an unbalanced quote or bracket in the first Via line
    built = Headers(list(stamped))
    assert stamped == built
    for name in ("via", "v", "to", "cseq", "x-custom", "contact"):
        assert stamped.get_all(name) == built.get_all(name)
