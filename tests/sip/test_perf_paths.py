"""Performance paths keep behaviour: parse memo, lean server transactions, fast parsers."""

from __future__ import annotations

import pytest

from centralino.sip.address import NameAddress, parse_header_parameters
from centralino.sip.digest import DigestCredentials, DigestParseError
from centralino.sip.errors import SipParseError
from centralino.sip.headers import Via
from centralino.sip.memo import ParseMemo
from centralino.sip.message import make_request, make_response
from centralino.sip.transaction_layer import TransactionLayer
from centralino.sip.uri import Uri


def test_memo_is_bounded_and_shares_immutable_values() -> None:
    memo: ParseMemo[int] = ParseMemo(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("c", 3)  # full: emptied first
    assert len(memo) == 1
    assert memo.get("c") == 3
    assert memo.get("a") is None
    assert Uri.parse("sip:alice@example.com") is Uri.parse("sip:alice@example.com")
    assert NameAddress.parse("<sip:a@b>;expires=60") is NameAddress.parse("<sip:a@b>;expires=60")


@pytest.mark.parametrize(
    ("text", "display", "uri", "parameters"),
    [
        ("<sip:a@b>;tag=1", None, "sip:a@b", [("tag", "1")]),
        (
            "Alice <sip:alice@example.com;transport=tcp> ; tag = x7 ;q=0.5",
            "Alice",
            "sip:alice@example.com;transport=tcp",
            [("tag", "x7"), ("q", "0.5")],
        ),
        ("<sip:a@b>;TAG=1;x", None, "sip:a@b", [("TAG", "1"), ("x", None)]),
        ("  <sip:a@b>;tag=abc  ", None, "sip:a@b", [("tag", "abc")]),
    ],
)
def test_tagged_values_parse_whole_and_share_their_uri(
    text: str, display: str | None, uri: str, parameters: list[tuple[str, str | None]]
) -> None:
    # A tag is new in every dialog: the <URI> part is remembered, not the whole.
    parsed = NameAddress.parse(text)
    assert parsed.display_name == display
    assert parsed.uri == Uri.parse(uri)
    assert list(parsed.parameters) == parameters
    other_dialog = NameAddress.parse(text.replace("tag", "tag=9;old", 1))
    assert other_dialog.uri is parsed.uri


def test_new_dialogs_do_not_push_repeating_values_out_of_the_memo() -> None:
    contact = NameAddress.parse("<sip:phone@10.0.0.7:5060>;expires=60")
    for dialog in range(10_000):  # a From with a new tag in every registration
        NameAddress.parse(f"<sip:phone@example.com>;tag={dialog}")
    assert NameAddress.parse("<sip:phone@10.0.0.7:5060>;expires=60") is contact


def test_tagged_values_with_bad_parameters_are_refused() -> None:
    with pytest.raises(SipParseError):
        NameAddress.parse("<sip:a@b>;tag=1;=x")
    with pytest.raises(SipParseError):
        NameAddress.parse("<sip:a@b> junk;tag=1")


def test_invalid_texts_are_judged_every_time() -> None:
    for _ in range(2):
        with pytest.raises(SipParseError):
            Uri.parse("sip:bad host@x")


def test_server_transactions_keep_no_request_but_answer_retransmissions() -> None:
    layer = TransactionLayer()
    request = make_request(
        "REGISTER",
        Uri.parse("sip:example.com"),
        via=Via.parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKperf"),
        from_address=NameAddress.parse("<sip:a@example.com>;tag=1"),
        to_address=NameAddress.parse("<sip:a@example.com>"),
        call_id="perf@example.com",
        cseq=1,
    )
    layer.receive_message(request, 0.0, source=("10.0.0.1", 5060))
    event = layer.next_event()
    assert event is not None
    key = event.transaction  # type: ignore[union-attr]
    assert key is not None
    transaction = layer.get(key)
    assert transaction is not None
    assert transaction.request is None
    ok = make_response(request, 200, to_tag="t")
    layer.respond(key, ok, 0.1)
    layer.receive_message(request, 0.2, source=("10.0.0.1", 5060))
    assert [item.message for item in layer.messages_to_send()] == [ok, ok]


@pytest.mark.parametrize(
    "text",
    [";branch=z9hG4bK1;rport", " ; tag = x ", ";maddr=[::1];lr", ';q="1;2"', ";a=b;;c", ";a="],
)
def test_plain_parameter_path_matches_the_general_one(text: str) -> None:
    try:
        parsed = list(parse_header_parameters(text))
    except SipParseError:
        parsed = None
    if text == ";a=b;;c" or text == ";a=":
        assert parsed is None
    else:
        assert parsed is not None


def test_digest_fast_path_leaves_odd_spellings_to_the_general_parser() -> None:
    plain = 'Digest username="u", realm="r", nonce="n", uri="sip:x", response="00"'
    odd = 'Digest username = "u" ,, realm="r", nonce="n", uri="sip:x", response="00"'
    assert DigestCredentials.parse(plain) == DigestCredentials.parse(odd)
    with pytest.raises(DigestParseError, match="bad auth-param"):
        DigestCredentials.parse(plain + ",  ")
