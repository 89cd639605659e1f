"""The transaction layer's timer heap: many transactions, moved by time only."""

from __future__ import annotations

import time

from centralino.sip.address import NameAddress
from centralino.sip.events import TransactionTerminated
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request, make_response
from centralino.sip.transaction_layer import TransactionLayer
from centralino.sip.uri import Uri


def _register(index: int) -> Request:
    return make_request(
        "REGISTER",
        Uri.parse("sip:pbx.test"),
        via=Via.parse(f"SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{index:08d}"),
        from_address=NameAddress.parse("<sip:101@pbx.test>;tag=1"),
        to_address=NameAddress.parse("<sip:101@pbx.test>"),
        call_id=f"{index}@test",
        cseq=1,
    )


def _answered_layer(count: int, start: float = 0.0, step: float = 0.001) -> TransactionLayer:
    layer = TransactionLayer()
    for index in range(count):
        now = start + index * step
        request = _register(index)
        layer.receive_message(request, now, source=("192.0.2.1", 5060))
        event = layer.next_event()
        assert event is not None
        layer.respond(event.transaction, make_response(request, 200), now)  # type: ignore[attr-defined]
    layer.messages_to_send()
    while layer.next_event() is not None:
        pass
    return layer


def test_timer_j_of_answered_udp_requests_ends_them_in_order() -> None:
    layer = _answered_layer(100)
    assert layer.get_timer() == 32.0  # Timer J = 64*T1 after the first answer
    layer.handle_timer(32.05)
    ended = []
    while (event := layer.next_event()) is not None:
        assert isinstance(event, TransactionTerminated)
        ended.append(event.transaction.branch)
    assert ended == [f"z9hG4bK{index:08d}" for index in range(51)]
    assert len(layer) == 49
    next_deadline = layer.get_timer()
    assert next_deadline is not None
    assert abs(next_deadline - 32.051) < 1e-9
    layer.handle_timer(100.0)
    assert len(layer) == 0
    assert layer.get_timer() is None


def test_get_timer_does_not_scan_every_transaction() -> None:
    layer = _answered_layer(20_000, step=0.0001)
    started = time.perf_counter()
    for _ in range(10_000):
        layer.get_timer()
    assert time.perf_counter() - started < 0.5  # O(1) when nothing changed
