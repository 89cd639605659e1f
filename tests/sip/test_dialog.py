"""Dialog creation, routing, CSeq rules and in-dialog request building (§12)."""

from __future__ import annotations

import pytest

from centralino.sip.address import NameAddress
from centralino.sip.dialog import Dialog, DialogId, DialogState
from centralino.sip.errors import LocalProtocolError, PeerError, SipParseError
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response, make_request, make_response
from centralino.sip.uri import Uri

VIA = Via(transport="UDP", host="192.0.2.1").with_parameter("branch", "z9hG4bKnew")


def _invite(*extra: tuple[str, str]) -> Request:
    return make_request(
        "INVITE",
        Uri.parse("sip:bob@example.com"),
        via=Via(transport="UDP", host="192.0.2.1").with_parameter("branch", "z9hG4bK1"),
        from_address=NameAddress.parse("Alice <sip:alice@example.com>;tag=a1"),
        to_address=NameAddress.parse("Bob <sip:bob@example.com>"),
        call_id="c1@example.com",
        cseq=10,
        extra_headers=[("Contact", "<sip:alice@192.0.2.1:5060>"), *extra],
    )


def _answer(invite: Request, status: int, *records: str) -> Response:
    extra = [("Record-Route", value) for value in records]
    extra.append(("Contact", "<sip:bob@192.0.2.2:5062>"))
    return make_response(invite, status, to_tag="b1", extra_headers=extra)


def test_uac_dialog_from_2xx() -> None:
    invite = _invite()
    ok = _answer(invite, 200, "<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>")
    dialog = Dialog.from_uac(invite, ok)
    assert dialog.id == DialogId(call_id="c1@example.com", local_tag="a1", remote_tag="b1")
    assert dialog.state is DialogState.CONFIRMED
    assert [str(r.uri) for r in dialog.route_set] == [
        "sip:p2.example.com;lr",
        "sip:p1.example.com;lr",
    ]
    assert dialog.remote_target == Uri.parse("sip:bob@192.0.2.2:5062")
    bye = dialog.create_request("BYE", via=VIA)
    assert bye.uri == Uri.parse("sip:bob@192.0.2.2:5062")  # loose routing
    assert bye.headers.get_all("route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert bye.headers.cseq().number == 11
    assert bye.headers.to_address().tag == "b1"
    assert bye.headers.from_address().tag == "a1"
    assert Request.parse(bytes(bye)) == bye
    assert dialog.create_request("INFO", via=VIA).headers.cseq().number == 12


def test_ack_for_2xx_reuses_invite_cseq() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _answer(invite, 200))
    ack = dialog.create_ack(invite, via=VIA)
    assert ack.method == "ACK"
    assert str(ack.headers.cseq()) == "10 ACK"
    assert ack.uri == dialog.remote_target
    with pytest.raises(LocalProtocolError):
        dialog.create_request("ACK", via=VIA)


def test_early_dialog_is_confirmed_and_route_set_recomputed() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _answer(invite, 180, "<sip:early.example.com;lr>"))
    assert dialog.state.name == "EARLY"
    dialog.receive_response(_answer(invite, 200, "<sip:final.example.com;lr>"))
    assert dialog.state is DialogState.CONFIRMED
    assert [r.uri.host for r in dialog.route_set] == ["final.example.com"]


def test_early_dialog_ends_on_failure() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _answer(invite, 183))
    dialog.receive_response(_answer(invite, 486))
    assert dialog.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        dialog.create_request("BYE", via=VIA)


def test_strict_route_puts_remote_target_last() -> None:
    invite = _invite()
    dialog = Dialog.from_uac(invite, _answer(invite, 200, "<sip:strict.example.com;method=INVITE>"))
    bye = dialog.create_request("BYE", via=VIA)
    assert bye.uri == Uri.parse("sip:strict.example.com")
    assert bye.headers.get_all("route") == ["<sip:bob@192.0.2.2:5062>"]


def test_uas_dialog_and_remote_cseq_rules() -> None:
    invite = _invite(("Record-Route", "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"))
    dialog = Dialog.from_uas(invite, "b1")
    assert dialog.id == DialogId(call_id="c1@example.com", local_tag="b1", remote_tag="a1")
    assert [r.uri.host for r in dialog.route_set] == ["p1.example.com", "p2.example.com"]
    assert dialog.remote_target == Uri.parse("sip:alice@192.0.2.1:5060")
    assert dialog.remote_sequence == 10
    bye = dialog.create_request("BYE", via=VIA)
    assert bye.headers.cseq().number == 1  # empty local sequence: start at 1
    assert bye.headers.from_address().tag == "b1"
    reinvite = Request(
        method="INVITE",
        uri=invite.uri,
        headers=invite.headers.with_replaced("CSeq", "11 INVITE").with_replaced(
            "Contact", "<sip:alice@198.51.100.7>"
        ),
    )
    dialog.receive_request(reinvite)
    assert dialog.remote_target == Uri.parse("sip:alice@198.51.100.7")  # target refresh
    stale = Request(
        method="INFO", uri=invite.uri, headers=invite.headers.with_replaced("CSeq", "5 INFO")
    )
    with pytest.raises(PeerError) as error:
        dialog.receive_request(stale)
    assert error.value.status == 500


def test_bye_terminates_and_contact_is_added_on_refresh() -> None:
    invite = _invite()
    dialog = Dialog.from_uas(invite, "b1")
    contact = NameAddress.parse("<sip:bob@192.0.2.2>")
    reinvite = dialog.create_request("INVITE", via=VIA, contact=contact, body=b"v=0\r\n")
    assert reinvite.headers.get("contact") == "<sip:bob@192.0.2.2>"
    assert reinvite.headers.content_length() == 5
    bye = Request(
        method="BYE", uri=invite.uri, headers=invite.headers.with_replaced("CSeq", "11 BYE")
    )
    dialog.receive_request(bye)
    assert dialog.state is DialogState.TERMINATED


def test_response_without_to_tag_creates_no_dialog() -> None:
    invite = _invite()
    with pytest.raises(SipParseError):
        Dialog.from_uac(invite, make_response(invite, 180))
