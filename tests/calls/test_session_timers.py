"""Session timers (RFC 4028) through the pure call core: honoured when a peer asks."""

from __future__ import annotations

from collections.abc import Sequence

from centralino.calls.io import LegResponse, NewCall, Respond, SendAck, SendRequest
from centralino.domain.calls import CallEndReason
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request, make_response
from tests.calls.harness import Core, Inbound, changes, extension, of, offer
from tests.calls.test_core import CALLER_PEER, ack_for, invites, sent


def office() -> Core:
    core = Core()
    core.add(extension("101"), "10.0.0.1")
    core.add(extension("102"), "10.0.0.2")
    return core


def timed_invite(core: Core, interval: int = 1800, refresher: str | None = None) -> Inbound:
    inbound = core.invite("101", "102")
    value = str(interval) + (f";refresher={refresher}" if refresher else "")
    headers = inbound.request.headers.with_appended("Session-Expires", value)
    headers = headers.with_appended("Supported", "timer")
    request = Request(
        method="INVITE", uri=inbound.request.uri, headers=headers, body=inbound.request.body
    )
    return Inbound(request, inbound.peer, inbound.transaction)


def answered_call(
    core: Core, inbound: Inbound, answer_headers: Sequence[tuple[str, str]] = ()
) -> tuple[SendRequest, Respond]:
    """101 calls 102 with ``inbound``; 102 answers (with ``answer_headers``); 101 ACKs."""
    out = core.feed(
        NewCall(
            inbound=inbound,
            caller=core.lookup.extensions["101"],
            callee=core.lookup.extensions["102"],
        )
    )
    [fork] = invites(out)
    response = make_response(
        fork.request,
        200,
        to_tag="b1",
        extra_headers=[
            ("Contact", "<sip:phone@10.0.0.2:5062>"),
            ("Content-Type", "application/sdp"),
            *answer_headers,
        ],
        body=offer(5000),
    )
    out = core.feed(LegResponse(handle=fork.handle, response=response))
    [ok] = [r for r in of(out, Respond) if r.response.status == 200]
    core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    return fork, ok


def test_a_caller_asking_for_timers_is_told_it_refreshes_and_silence_ends_the_call() -> None:
    core = office()
    inbound = timed_invite(core, 1800)
    _fork, ok = answered_call(core, inbound)
    headers = ok.response.headers
    assert headers.get("session-expires") == "1800;refresher=uac"
    assert headers.get("require") == "timer"
    out = core.advance(1800 - 32 - 1)
    assert sent(out, "BYE") == []
    out = core.advance(2)
    assert sorted(b.peer.host for b in sent(out, "BYE")) == ["10.0.0.1", "10.0.0.2"]
    [ended] = changes(out)
    assert ended.reason is CallEndReason.FAILED


def refresh(inbound: Inbound, ok: Respond, cseq: int) -> Request:
    response = ok.response.headers
    return make_request(
        "UPDATE",
        response.name_addresses("contact")[0].uri,
        via=Via.parse(f"SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKrefresh{cseq}"),
        from_address=response.from_address(),
        to_address=response.to_address(),
        call_id=response.call_id(),
        cseq=cseq,
        extra_headers=[("Session-Expires", "1800;refresher=uac"), ("Supported", "timer")],
    )


def test_a_bare_update_refresh_is_answered_by_the_pbx_and_keeps_the_call() -> None:
    core = office()
    inbound = timed_invite(core, 1800)
    _fork, ok = answered_call(core, inbound)
    core.advance(900)
    out = core.in_dialog(refresh(inbound, ok, 2), CALLER_PEER)
    [reply] = [r.response for r in of(out, Respond)]
    assert reply.status == 200
    assert reply.headers.get("session-expires") == "1800;refresher=uac"
    assert sent(out, "UPDATE") == []  # the phone never sees it
    out = core.advance(1800 - 32 - 1)
    assert sent(out, "BYE") == []
    out = core.advance(2)
    assert len(sent(out, "BYE")) == 2


def test_a_callee_naming_us_refresher_gets_refreshes_at_half_the_interval() -> None:
    core = office()
    inbound = core.invite("101", "102")
    _fork, _ok = answered_call(
        core,
        inbound,
        [("Session-Expires", "120;refresher=uac"), ("Allow", "INVITE, ACK, BYE, UPDATE")],
    )
    assert sent(core.advance(59), "UPDATE") == []
    [update] = sent(core.advance(2), "UPDATE")
    assert update.peer.host == "10.0.0.2"
    assert update.request.headers.get("session-expires") == "120;refresher=uac"
    core.feed(LegResponse(handle=update.handle, response=make_response(update.request, 200)))
    assert len(sent(core.advance(60), "UPDATE")) == 1
    assert sent(core.advance(1000), "BYE") == []


def test_a_callee_without_update_is_refreshed_by_re_invite_with_our_session() -> None:
    core = office()
    inbound = core.invite("101", "102")
    fork, _ok = answered_call(core, inbound, [("Session-Expires", "120;refresher=uac")])
    [again] = sent(core.advance(61), "INVITE")
    assert again.request.body == fork.request.body
    reply = make_response(again.request, 200, extra_headers=[("Contact", "<sip:phone@10.0.0.2>")])
    out = core.feed(LegResponse(handle=again.handle, response=reply))
    [ack] = of(out, SendAck)
    assert ack.request.headers.cseq().number == again.request.headers.cseq().number


def test_a_422_is_answered_once_with_the_min_se_interval() -> None:
    core = office()
    inbound = core.invite("101", "102")
    out = core.feed(
        NewCall(
            inbound=inbound,
            caller=core.lookup.extensions["101"],
            callee=core.lookup.extensions["102"],
        )
    )
    [fork] = invites(out)
    too_brief = make_response(fork.request, 422, to_tag="x", extra_headers=[("Min-SE", "300")])
    out = core.feed(LegResponse(handle=fork.handle, response=too_brief))
    [again] = invites(out)
    headers = again.request.headers
    assert headers.get("session-expires") == "300"
    assert headers.get("min-se") == "300"
    assert headers.cseq().number == 2
    out = core.feed(
        LegResponse(
            handle=again.handle,
            response=make_response(
                again.request, 422, to_tag="y", extra_headers=[("Min-SE", "600")]
            ),
        )
    )
    assert [r.response.status for r in of(out, Respond)] == [422]


def test_no_timer_without_supported_timer() -> None:
    core = office()
    inbound = core.invite("101", "102")
    headers = inbound.request.headers.with_appended("Session-Expires", "90")
    request = Request(
        method="INVITE", uri=inbound.request.uri, headers=headers, body=inbound.request.body
    )
    _fork, ok = answered_call(core, Inbound(request, inbound.peer, inbound.transaction))
    assert ok.response.headers.get("session-expires") is None
    assert sent(core.advance(3600), "BYE") == []
