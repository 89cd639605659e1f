"""Transaction machines and layer: timers moved by hand, never by sleeping."""

from __future__ import annotations

import pytest

from centralino.sip.address import NameAddress
from centralino.sip.codes import Method, StatusCode
from centralino.sip.errors import LocalProtocolError
from centralino.sip.events import (
    OutgoingMessage,
    RequestReceived,
    ResponseReceived,
    TimerName,
    TransactionEvent,
    TransactionTerminated,
    TransactionTimedOut,
    TransportError,
)
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response, make_request, make_response
from centralino.sip.transaction import TimerSettings
from centralino.sip.transaction_layer import TransactionLayer
from centralino.sip.uri import Uri

PEER = ("192.0.2.9", 5060)


def _request(method: str, branch: str = "z9hG4bKabc", cseq: int = 1) -> Request:
    return make_request(
        method,
        Uri.parse("sip:bob@example.com"),
        via=Via(transport="UDP", host="192.0.2.1").with_parameter("branch", branch),
        from_address=NameAddress.parse("<sip:alice@example.com>;tag=a1"),
        to_address=NameAddress.parse("<sip:bob@example.com>"),
        call_id="call-1@example.com",
        cseq=cseq,
    )


def _drain(layer: TransactionLayer) -> list[TransactionEvent]:
    events: list[TransactionEvent] = []
    while (event := layer.next_event()) is not None:
        events.append(event)
    return events


def _sent(layer: TransactionLayer) -> list[Request | Response]:
    return [item.message for item in layer.messages_to_send()]


def _run_timers_until(layer: TransactionLayer, end: float) -> list[tuple[float, OutgoingMessage]]:
    """Fire timers up to ``end``; return (time, message) for each message sent."""
    sent: list[tuple[float, OutgoingMessage]] = []
    while (deadline := layer.get_timer()) is not None and deadline <= end:
        layer.handle_timer(deadline)
        sent += [(deadline, item) for item in layer.messages_to_send()]
    return sent


# INVITE client ----------------------------------------------------------------


def test_invite_client_retransmits_with_timer_a_through_loss() -> None:
    layer = TransactionLayer()
    invite = _request(Method.INVITE)
    key = layer.send_request(invite, 0.0, destination=PEER)
    delivered: list[Request | Response] = []
    dropped = 0
    now = 0.0
    outgoing = _sent(layer)
    times = []
    while not delivered:
        for message in outgoing:
            if dropped < 2:  # the network loses the first two datagrams
                dropped += 1
            else:
                delivered.append(message)
        if delivered:
            break
        deadline = layer.get_timer()
        assert deadline is not None
        now = deadline
        times.append(now)
        layer.handle_timer(now)
        outgoing = _sent(layer)
    assert times == [0.5, 1.5]  # T1, then 2*T1 later
    assert delivered == [invite]
    layer.receive_message(make_response(invite, 180, to_tag="b1"), 1.6)
    layer.receive_message(make_response(invite, 200, to_tag="b1"), 2.0)
    events = _drain(layer)
    assert [e.response.status for e in events if isinstance(e, ResponseReceived)] == [180, 200]
    assert all(e.transaction == key for e in events if isinstance(e, ResponseReceived))
    # RFC 6026 Accepted: a 2xx retransmission still reaches the user.
    layer.receive_message(make_response(invite, 200, to_tag="b1"), 2.5)
    assert [type(e) for e in _drain(layer)] == [ResponseReceived]
    assert layer.get_timer() == pytest.approx(2.0 + 32)
    layer.handle_timer(34.0)
    assert _drain(layer) == [TransactionTerminated(transaction=key)]
    assert len(layer) == 0


def test_invite_client_timer_b_times_out() -> None:
    layer = TransactionLayer()
    key = layer.send_request(_request(Method.INVITE), 0.0, destination=PEER)
    layer.messages_to_send()
    sent = _run_timers_until(layer, 100.0)
    assert [time for time, _ in sent] == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert _drain(layer) == [
        TransactionTimedOut(transaction=key, timer=TimerName.B),
        TransactionTerminated(transaction=key),
    ]


def test_invite_client_proceeding_stops_retransmissions_and_timer_b() -> None:
    layer = TransactionLayer()
    invite = _request(Method.INVITE)
    layer.send_request(invite, 0.0)
    layer.receive_message(make_response(invite, 100), 0.1)
    assert layer.get_timer() is None  # §17.1.1.2: no timeout once Proceeding


def test_invite_client_acks_non_2xx_and_absorbs_retransmissions() -> None:
    layer = TransactionLayer()
    invite = _request(Method.INVITE).headers.with_appended("Route", "<sip:proxy.example.com;lr>")
    request = Request(method="INVITE", uri=Uri.parse("sip:bob@example.com"), headers=invite)
    key = layer.send_request(request, 0.0, destination=PEER)
    layer.messages_to_send()
    busy = make_response(request, StatusCode.BUSY_HERE, to_tag="b9")
    layer.receive_message(busy, 0.2)
    (ack,) = _sent(layer)
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    assert ack.uri == request.uri
    assert ack.headers.cseq().number == 1
    assert ack.headers.cseq().method == "ACK"
    assert ack.headers.to_address().tag == "b9"
    assert ack.headers.get_all("via") == request.headers.get_all("via")
    assert ack.headers.get("route") == "<sip:proxy.example.com;lr>"
    assert [type(e) for e in _drain(layer)] == [ResponseReceived]
    layer.receive_message(busy, 0.3)  # retransmitted 486: ACK again, user not told
    assert _sent(layer) == [ack]
    assert _drain(layer) == []
    layer.handle_timer(0.2 + 32)  # Timer D
    assert _drain(layer) == [TransactionTerminated(transaction=key)]


def test_invite_client_on_reliable_transport() -> None:
    layer = TransactionLayer()
    invite = _request(Method.INVITE)
    key = layer.send_request(invite, 0.0, reliable=True)
    assert layer.get_timer() == pytest.approx(32.0)  # B only, no A
    layer.messages_to_send()
    layer.receive_message(make_response(invite, 603, to_tag="x"), 1.0)
    assert [m.method for m in _sent(layer) if isinstance(m, Request)] == ["ACK"]
    assert [type(e) for e in _drain(layer)] == [ResponseReceived, TransactionTerminated]
    assert layer.get(key) is None  # Timer D = 0 on reliable transports


# Non-INVITE client ------------------------------------------------------------


def test_non_invite_client_timer_e_backs_off_to_t2_then_f() -> None:
    layer = TransactionLayer()
    key = layer.send_request(_request(Method.OPTIONS), 0.0)
    layer.messages_to_send()
    sent = _run_timers_until(layer, 40.0)
    times = [time for time, _ in sent]
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]  # intervals 0.5, 1, 2, 4, 4, 4
    assert times[-1] == pytest.approx(31.5)
    assert _drain(layer)[0] == TransactionTimedOut(transaction=key, timer=TimerName.F)


def test_non_invite_client_proceeding_retransmits_every_t2() -> None:
    layer = TransactionLayer(TimerSettings(t1=0.5, t2=4.0))
    request = _request(Method.REGISTER)
    layer.send_request(request, 0.0)
    layer.messages_to_send()
    layer.receive_message(make_response(request, 100), 0.1)
    sent = _run_timers_until(layer, 12.0)
    assert [time for time, _ in sent] == [0.5, 4.5, 8.5]
    layer.receive_message(make_response(request, 200, to_tag="r"), 9.0)
    assert layer.get_timer() == pytest.approx(9.0 + 5.0)  # Timer K = T4
    layer.receive_message(make_response(request, 200, to_tag="r"), 10.0)
    events = _drain(layer)
    assert [e.response.status for e in events if isinstance(e, ResponseReceived)] == [100, 200]


def test_non_invite_client_reliable_completes_at_once() -> None:
    layer = TransactionLayer()
    request = _request(Method.BYE)
    key = layer.send_request(request, 0.0, reliable=True)
    layer.receive_message(make_response(request, 200), 0.1)
    assert [type(e) for e in _drain(layer)] == [ResponseReceived, TransactionTerminated]
    assert layer.get(key) is None


def test_transport_error_terminates_client() -> None:
    layer = TransactionLayer()
    key = layer.send_request(_request(Method.OPTIONS), 0.0)
    layer.transport_error(key, 0.1)
    assert _drain(layer) == [
        TransportError(transaction=key),
        TransactionTerminated(transaction=key),
    ]


# INVITE server ----------------------------------------------------------------


def _receive_invite(layer: TransactionLayer, reliable: bool = False) -> RequestReceived:
    layer.receive_message(_request(Method.INVITE), 0.0, source=PEER, reliable=reliable)
    (event,) = _drain(layer)
    assert isinstance(event, RequestReceived)
    return event


def test_invite_server_sends_trying_and_absorbs_retransmissions() -> None:
    layer = TransactionLayer()
    event = _receive_invite(layer)
    (trying,) = layer.messages_to_send()
    assert isinstance(trying.message, Response)
    assert trying.message.status == 100
    assert trying.destination == PEER
    layer.receive_message(event.request, 0.3, source=PEER)
    assert _drain(layer) == []
    assert _sent(layer) == [trying.message]


def test_invite_server_non_2xx_retransmits_with_g_until_ack() -> None:
    layer = TransactionLayer()
    event = _receive_invite(layer)
    assert event.transaction is not None
    layer.messages_to_send()
    busy = make_response(event.request, 486, to_tag="s1")
    layer.respond(event.transaction, busy, 1.0)
    assert _sent(layer) == [busy]
    sent = _run_timers_until(layer, 9.5)
    assert [time for time, _ in sent] == [1.5, 2.5, 4.5, 8.5]  # 0.5, 1, 2, 4 (T2 cap)
    ack = Request(
        method="ACK",
        uri=event.request.uri,
        headers=event.request.headers.with_replaced("CSeq", "1 ACK"),
    )
    layer.receive_message(ack, 9.6, source=PEER)
    assert _drain(layer) == []  # the non-2xx ACK is absorbed by the transaction
    assert layer.get_timer() == pytest.approx(9.6 + 5.0)  # Timer I = T4
    layer.handle_timer(14.6)
    assert _drain(layer) == [TransactionTerminated(transaction=event.transaction)]


def test_invite_server_timer_h_without_ack() -> None:
    layer = TransactionLayer()
    event = _receive_invite(layer, reliable=True)
    assert event.transaction is not None
    layer.respond(event.transaction, make_response(event.request, 404, to_tag="s"), 0.0)
    layer.messages_to_send()
    assert _run_timers_until(layer, 100.0) == []  # reliable: no Timer G
    assert _drain(layer)[0] == TransactionTimedOut(transaction=event.transaction, timer=TimerName.H)


def test_invite_server_2xx_goes_accepted_and_2xx_ack_reaches_dialog() -> None:
    layer = TransactionLayer()
    event = _receive_invite(layer)
    key = event.transaction
    assert key is not None
    layer.messages_to_send()
    ok = make_response(event.request, 200, to_tag="s2")
    layer.respond(key, ok, 1.0)
    layer.receive_message(event.request, 1.2, source=PEER)  # absorbed (RFC 6026)
    assert _sent(layer) == [ok]
    layer.respond(key, ok, 1.5)  # the TU retransmits its 2xx
    assert _sent(layer) == [ok]
    ack = _request(Method.ACK, branch="z9hG4bKnewbranch")
    layer.receive_message(ack, 1.6, source=PEER)
    assert _drain(layer) == [RequestReceived(transaction=None, request=ack, source=PEER)]
    layer.handle_timer(1.0 + 32)  # Timer L
    assert _drain(layer) == [TransactionTerminated(transaction=key)]


def test_cancel_matches_its_invite() -> None:
    layer = TransactionLayer()
    event = _receive_invite(layer)
    cancel = _request(Method.CANCEL)
    layer.receive_message(cancel, 0.5, source=PEER)
    (cancel_event,) = _drain(layer)
    assert isinstance(cancel_event, RequestReceived)
    assert cancel_event.transaction != event.transaction
    assert layer.find_invite(cancel) == event.transaction


# Non-INVITE server ------------------------------------------------------------


def test_non_invite_server_paths() -> None:
    layer = TransactionLayer()
    request = _request(Method.REGISTER)
    layer.receive_message(request, 0.0, source=PEER)
    (event,) = _drain(layer)
    assert isinstance(event, RequestReceived)
    key = event.transaction
    assert key is not None
    assert layer.messages_to_send() == []  # no automatic 100 for non-INVITE
    layer.receive_message(request, 0.2, source=PEER)  # Trying: absorbed
    assert _drain(layer) == []
    assert _sent(layer) == []
    ok = make_response(request, 200, to_tag="r")
    layer.respond(key, ok, 0.3)
    layer.receive_message(request, 0.4, source=PEER)
    assert _sent(layer) == [ok, ok]
    with pytest.raises(LocalProtocolError):
        layer.respond(key, ok, 0.5)
    layer.handle_timer(0.3 + 32)  # Timer J = 64*T1
    assert _drain(layer) == [TransactionTerminated(transaction=key)]
    with pytest.raises(LocalProtocolError):
        layer.respond(key, ok, 40.0)


def test_non_invite_server_provisional_then_retransmission() -> None:
    layer = TransactionLayer()
    request = _request(Method.SUBSCRIBE)
    layer.receive_message(request, 0.0, source=PEER, reliable=True)
    (event,) = _drain(layer)
    assert isinstance(event, RequestReceived)
    assert event.transaction is not None
    trying = make_response(request, 100)
    layer.respond(event.transaction, trying, 0.1)
    layer.receive_message(request, 0.2, source=PEER)
    assert _sent(layer) == [trying, trying]
    layer.respond(event.transaction, make_response(request, 202, to_tag="n"), 0.3)
    assert [type(e) for e in _drain(layer)] == [TransactionTerminated]  # Timer J = 0


# Layer misc -------------------------------------------------------------------


def test_stray_response_is_reported_without_transaction() -> None:
    layer = TransactionLayer()
    response = make_response(_request(Method.INVITE), 200, to_tag="z")
    layer.receive_message(response, 0.0)
    assert _drain(layer) == [ResponseReceived(transaction=None, response=response)]


def test_rfc2543_requests_are_matched_without_cookie() -> None:
    layer = TransactionLayer()
    old = _request(Method.OPTIONS, branch="oldstyle1")
    layer.receive_message(old, 0.0, source=PEER)
    layer.receive_message(old, 0.1, source=PEER)
    assert len([e for e in _drain(layer) if isinstance(e, RequestReceived)]) == 1
    assert len(layer) == 1


def test_misuse_is_a_local_error() -> None:
    layer = TransactionLayer()
    with pytest.raises(LocalProtocolError):
        layer.send_request(_request(Method.ACK), 0.0)
    layer.send_request(_request(Method.OPTIONS), 0.0)
    with pytest.raises(LocalProtocolError):
        layer.send_request(_request(Method.OPTIONS), 0.0)
    key = layer.send_request(_request(Method.INVITE, branch="z9hG4bKother"), 0.0)
    with pytest.raises(LocalProtocolError):
        layer.respond(key, make_response(_request(Method.INVITE), 200), 0.0)


def test_stateless_messages_pass_through() -> None:
    layer = TransactionLayer()
    ack = _request(Method.ACK)
    layer.send_stateless(ack, destination=PEER)
    assert layer.messages_to_send() == [OutgoingMessage(message=ack, destination=PEER)]
