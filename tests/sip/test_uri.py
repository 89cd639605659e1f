"""URI and name-address parsing, formatting and §19.1.4 equality."""

from __future__ import annotations

import pytest

from centralino.sip.address import NameAddress
from centralino.sip.errors import SipParseError
from centralino.sip.uri import Uri


def test_parses_all_sip_components() -> None:
    uri = Uri.parse("sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr?Subject=hi&X=y")
    assert uri.scheme == "sips"
    assert (uri.user, uri.password) == ("alice", "secret")
    assert (uri.host, uri.port) == ("[2001:db8::1]", 5071)
    assert uri.transport == "tcp"
    assert uri.loose_route
    assert uri.headers == (("Subject", "hi"), ("X", "y"))


def test_unescapes_user_and_parameters() -> None:
    uri = Uri.parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31")
    assert uri.user == "caller"
    assert uri.parameters.get("name") == "value%41"  # never unescaped twice (RFC 3986)
    assert "lr" in uri.parameters
    assert str(uri) == "sip:caller@host5.example.net;lr;name=value%2541"


def test_escaped_null_survives() -> None:
    uri = Uri.parse("sip:null-%00-null@example.com")
    assert uri.user == "null-\x00-null"
    assert str(uri) == "sip:null-%00-null@example.com"


def test_non_utf8_escape_round_trips() -> None:
    uri = Uri.parse("sip:%C3x@example.com")
    assert Uri.parse(str(uri)) == uri
    assert str(uri) == "sip:%C3x@example.com"


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"),
        ("sip:alice@atlanta.com?subject=project", "sip:alice@atlanta.com?subject=project"),
    ],
)
def test_equal_per_rfc3261_19_1_4(left: str, right: str) -> None:
    assert Uri.parse(left) == Uri.parse(right)
    assert hash(Uri.parse(left)) == hash(Uri.parse(right))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp;user=phone"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ("sip:a@b", "sips:a@b"),
        ("sip:a@b", "sip:a@b;maddr=10.0.0.1"),
    ],
)
def test_not_equal_per_rfc3261_19_1_4(left: str, right: str) -> None:
    assert Uri.parse(left) != Uri.parse(right)


def test_tel_uri_ignores_visual_separators() -> None:
    assert Uri.parse("tel:+1-201-555-0123") == Uri.parse("tel:+1.201.555.0123")
    assert Uri.parse("tel:+12015550123").user == "+12015550123"


def test_unknown_scheme_is_kept_opaque() -> None:
    uri = Uri.parse("nobodyknowsthisscheme:totallyopaquecontent")
    assert not uri.is_sip
    assert str(uri) == "nobodyknowsthisscheme:totallyopaquecontent"


@pytest.mark.parametrize(
    "text",
    [
        "sip:",
        "sip:user@",
        "<sip:user@example.com>",
        "sip:user@example.com; lr",
        "sip:user@exa mple.com",
        "sip:user@[::zz]",
        "sip:user@example.com:99999",
        "sip:user@example.com;%zz",
        "nocolon",
        "1sip:x",
    ],
)
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(SipParseError):
        Uri.parse(text)


def test_with_and_without_parameter() -> None:
    uri = Uri.parse("sip:a@b").with_parameter("lr").with_parameter("transport", "tcp")
    assert str(uri) == "sip:a@b;lr;transport=tcp"
    assert str(uri.without_parameter("LR")) == "sip:a@b;transport=tcp"


def test_name_address_forms() -> None:
    quoted = NameAddress.parse('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com> ; tag = 98asjd8')
    assert quoted.display_name == 'J Rosenberg \\"'
    assert quoted.tag == "98asjd8"
    plain = NameAddress.parse("sip:user@example.com;tag=1;expires=60")
    assert plain.uri == Uri.parse("sip:user@example.com")
    assert plain.parameters.get("expires") == "60"
    assert "expires" not in plain.uri.parameters  # §20: header params without <>
    tokens = NameAddress.parse("Alice Smith <sip:alice@example.com;transport=tcp>")
    assert tokens.display_name == "Alice Smith"
    assert tokens.uri.transport == "tcp"


@pytest.mark.parametrize(
    "text",
    [
        '"Mr. J. User <sip:j.user@example.com>',
        "< sip:t.watson@example.org >",
        "Bell, Alexander <sip:a.g.bell@example.com>",
        "sip:user@example.com?Route=x",
        "<sip:joe@example.org>;;;",
        "<sip:a@b",
    ],
)
def test_name_address_rejects(text: str) -> None:
    with pytest.raises(SipParseError):
        NameAddress.parse(text)


def test_name_address_round_trip_and_tag() -> None:
    value = NameAddress.parse('"A \\"B\\"" <sip:a@b>;tag=x;q=0.5')
    assert NameAddress.parse(str(value)) == value
    tagged = NameAddress.parse("<sip:a@b>").with_tag("abc")
    assert str(tagged) == "<sip:a@b>;tag=abc"
