"""Whole calls through the pure call core: events in, commands out, time moved by hand."""

from __future__ import annotations

from collections.abc import Sequence

from centralino.calls import CallPhase
from centralino.calls.forking import RingOutcome
from centralino.calls.io import (
    ApplicationDone,
    Cancel,
    Command,
    Connect,
    ContinueWith,
    Dial,
    DialDone,
    Explain,
    Fallback,
    LeaveMessage,
    PbxAnswers,
    Respond,
    ScreenCall,
    SendRequest,
    StartApplication,
    VoicemailMenu,
)
from centralino.domain.call_records import CallDirection, CallResult
from centralino.domain.calls import CallEndReason, CallState
from centralino.sip.headers import Via
from centralino.sip.message import Request, make_request
from centralino.sip.peer import Peer, TransportKind
from tests.calls.harness import (
    Core,
    Inbound,
    acks,
    changes,
    extension,
    of,
    offer,
    records,
    states,
    statuses,
)

CALLER_PEER = Peer(TransportKind.UDP, "10.0.0.1", 5062)
TO_103 = {"type": "extension", "number": "103"}


def invites(commands: Sequence[Command]) -> list[SendRequest]:
    return [c for c in of(commands, SendRequest) if c.request.method == "INVITE"]


def sent(commands: Sequence[Command], method: str) -> list[SendRequest]:
    return [c for c in of(commands, SendRequest) if c.request.method == method]


def office() -> Core:
    core = Core()
    core.add(extension("101"), "10.0.0.1")
    core.add(extension("102"), "10.0.0.2", "10.0.0.3")
    core.add(extension("103"), "10.0.0.4")
    return core


def ack_for(inbound: Inbound, response_to_caller: Respond, cseq: int = 1) -> Request:
    """The caller's ACK of the 2xx the PBX sent it."""
    response = response_to_caller.response
    headers = response.headers
    return make_request(
        "ACK",
        headers.name_addresses("contact")[0].uri if headers.get("contact") else inbound.request.uri,
        via=Via.parse("SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKack1"),
        from_address=headers.from_address(),
        to_address=headers.to_address(),
        call_id=headers.call_id(),
        cseq=cseq,
    )


def in_dialog_request(
    method: str,
    inbound: Inbound,
    to_caller: Respond,
    cseq: int,
    body: bytes = b"",
    content_type: str = "application/sdp",
) -> Request:
    """A request from the caller inside the answered call."""
    headers = to_caller.response.headers
    extra = [("Content-Type", content_type)] if body else []
    return make_request(
        method,
        headers.name_addresses("contact")[0].uri,
        via=Via.parse(f"SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKin{method}{cseq}"),
        from_address=headers.from_address(),
        to_address=headers.to_address(),
        call_id=headers.call_id(),
        cseq=cseq,
        extra_headers=extra,
        body=body,
    )


def connected(core: Core) -> tuple[Inbound, SendRequest, Respond]:
    """101 calls 102; the second phone answers; 101 ACKs."""
    inbound, out = core.call("101", "102")
    forks = invites(out)
    out = core.answer(forks[1], 200, body=offer(5000))
    [ok] = [r for r in of(out, Respond) if r.response.status == 200]
    core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    return inbound, forks[1], ok


# Forking ---------------------------------------------------------------------------


def test_a_call_forks_to_every_phone_and_the_first_answer_wins() -> None:
    core = office()
    inbound, out = core.call("101", "102")
    forks = invites(out)
    assert [f.peer.host for f in forks] == ["10.0.0.2", "10.0.0.3"]
    assert states(out) == [CallState.RINGING]
    assert core.core.calls_in_progress("102") == 1
    assert statuses(core.answer(forks[0], 180)) == [180]

    out = core.answer(forks[1], 200, body=offer(5000))
    assert statuses(out) == [200]
    [cancel] = sent(out, "CANCEL")
    assert cancel.peer.host == "10.0.0.2"
    assert "Call completed elsewhere" in (cancel.request.headers.get("reason") or "")
    assert states(out) == [CallState.ANSWERED]

    [ok] = of(out, Respond)
    out = core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    [ack] = acks(out)
    assert ack.peer.host == "10.0.0.3"
    call = core.core.call(core.core.calls()[0].id)
    assert call is not None
    assert call.phase is CallPhase.CONNECTED


def test_a_200_before_its_180_is_not_followed_by_a_ringing_answer() -> None:
    core = office()
    _inbound, out = core.call("101", "102")
    forks = invites(out)
    assert statuses(core.answer(forks[0], 200, body=offer(5000))) == [200]
    assert statuses(core.answer(forks[0], 180)) == []


def test_a_second_fork_answering_late_is_acknowledged_and_hung_up() -> None:
    core = office()
    _inbound, out = core.call("101", "102")
    forks = invites(out)
    core.answer(forks[0], 200, body=offer(5000), tag="first")
    out = core.answer(forks[1], 200, body=offer(5002), tag="second")
    assert [a.peer.host for a in acks(out)] == ["10.0.0.3"]
    [bye] = sent(out, "BYE")
    assert bye.peer.host == "10.0.0.3"
    assert statuses(out) == []  # the caller hears nothing of it


def test_a_6xx_from_one_phone_ends_the_round_for_all() -> None:
    core = office()
    core.add(
        extension("102", forwarding={"profiles": {"available": {"internal": {"busy": TO_103}}}}),
        "10.0.0.2",
        "10.0.0.3",
    )
    _inbound, out = core.call("101", "102")
    forks = invites(out)
    core.answer(forks[0], 180)
    out = core.answer(forks[1], 603)
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.2"]
    assert [i.peer.host for i in invites(out)] == ["10.0.0.4"]  # busy: forwarded to 103


# CANCEL ------------------------------------------------------------------------------


def test_cancel_while_ringing_cancels_early_forks_and_later_the_silent_ones() -> None:
    core = office()
    inbound, out = core.call("101", "102")
    forks = invites(out)
    core.answer(forks[0], 180)
    cancel_request = inbound.request  # the CANCEL names the INVITE's transaction
    out = core.feed(Cancel(inbound=Inbound(cancel_request, CALLER_PEER, inbound.transaction)))
    assert statuses(out) == [200, 487]
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.2"]
    assert states(out) == [CallState.ENDED]
    # the silent phone rings only now: it gets its CANCEL then
    out = core.answer(forks[1], 180)
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.3"]
    assert statuses(out) == []
    # and a 200 crossing the CANCEL is acknowledged and hung up
    out = core.answer(forks[0], 200, body=offer(5000))
    assert acks(out)
    assert sent(out, "BYE")
    assert core.core.registry.dialog_count() == 0


def test_a_cancel_for_no_call_gets_481() -> None:
    core = office()
    inbound = core.invite("101", "102")
    assert statuses(core.feed(Cancel(inbound=inbound))) == [481]


# In the call -------------------------------------------------------------------------


def test_a_re_invite_crosses_the_call_and_a_second_one_waits_491() -> None:
    core = office()
    inbound, _fork, ok = connected(core)
    reinvite = in_dialog_request("INVITE", inbound, ok, 2, body=offer(4002))
    out = core.in_dialog(reinvite, CALLER_PEER)
    [relayed] = invites(out)
    assert relayed.peer.host == "10.0.0.3"
    assert relayed.request.body == offer(4002)
    again = in_dialog_request("INVITE", inbound, ok, 3, body=offer(4004))
    assert statuses(core.in_dialog(again, CALLER_PEER)) == [491]

    out = core.answer(relayed, 200, body=offer(5004))
    [back] = of(out, Respond)
    assert back.response.status == 200
    assert back.response.body == offer(5004)
    out = core.in_dialog(ack_for(inbound, back, cseq=2), CALLER_PEER)
    assert [a.peer.host for a in acks(out)] == ["10.0.0.3"]


def test_bye_from_the_caller_hangs_up_the_callee_and_ends_the_call() -> None:
    core = office()
    inbound, _fork, ok = connected(core)
    out = core.in_dialog(in_dialog_request("BYE", inbound, ok, 2), CALLER_PEER)
    assert statuses(out) == [200]
    assert [b.peer.host for b in sent(out, "BYE")] == ["10.0.0.3"]
    [ended] = changes(out)
    assert ended.state is CallState.ENDED
    assert ended.reason is CallEndReason.CALLER_HUNG_UP
    [record] = records(out)
    assert (record.direction, record.result) == (CallDirection.INTERNAL, CallResult.ANSWERED)
    assert (record.caller, record.callee, record.answered_by) == ("101", "102", "102")
    assert record.trunk is None
    assert record.answered_at is not None
    assert len(core.core.registry) == 0
    assert core.media.released
    assert core.core.calls_in_progress("102") == 0


def test_bye_from_the_callee_hangs_up_the_caller() -> None:
    core = office()
    _inbound, fork, _ok = connected(core)
    call = core.core.call(core.core.calls()[0].id)
    assert call is not None
    assert call.winner is not None
    assert call.winner.dialog is not None
    bye = call.winner.dialog  # the callee's BYE mirrors our dialog with it
    request = make_request(
        "BYE",
        call.winner.contact.uri,
        via=Via.parse("SIP/2.0/UDP 10.0.0.3:5062;branch=z9hG4bKbye"),
        from_address=call.winner.invite.headers.to_address().with_tag("b1"),
        to_address=call.winner.invite.headers.from_address(),
        call_id=bye.id.call_id,
        cseq=1,
    )
    out = core.in_dialog(request, fork.peer)
    assert statuses(out) == [200]
    assert [b.peer.host for b in sent(out, "BYE")] == ["10.0.0.1"]
    assert states(out)[-1] is CallState.ENDED


def test_no_ack_for_our_2xx_resends_it_then_hangs_up() -> None:
    core = office()
    _inbound, out = core.call("101", "102")
    core.answer(invites(out)[0], 200, body=offer(5000))
    resent = core.advance(10)
    assert statuses(resent) == [200, 200, 200, 200]  # at 0.5, 1.5, 3.5, 7.5 s
    out = core.advance(30)
    assert sent(out, "BYE")
    assert states(out)[-1] is CallState.ENDED
    assert out
    assert changes(out)[-1].reason is CallEndReason.FAILED


# Routing continuations ------------------------------------------------------------------


def test_the_no_answer_timer_forwards_to_the_next_extension() -> None:
    core = office()
    rule = {"profiles": {"available": {"no_answer_seconds": 5, "internal": {"no_answer": TO_103}}}}
    core.add(extension("102", forwarding=rule), "10.0.0.2")
    _inbound, out = core.call("101", "102")
    core.answer(invites(out)[0], 180)
    assert invites(core.advance(4.9)) == []
    out = core.advance(0.2)
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.2"]
    assert [i.peer.host for i in invites(out)] == ["10.0.0.4"]


def test_busy_and_not_registered_follow_their_rules() -> None:
    core = office()
    core.add(
        extension("105", forwarding={"profiles": {"available": {"internal": {"busy": TO_103}}}}),
        "10.0.0.5",
    )
    core.add(
        extension(
            "106", forwarding={"profiles": {"available": {"internal": {"not_registered": TO_103}}}}
        )
    )
    _inbound, out = core.call("101", "105")
    out = core.answer(invites(out)[0], 486)
    assert [i.peer.host for i in invites(out)] == ["10.0.0.4"]
    _inbound, out = core.call("101", "106")
    assert [i.peer.host for i in invites(out)] == ["10.0.0.4"]


def test_a_refused_call_is_explained_with_its_plan() -> None:
    core = office()
    core.add(extension("104", options={"disabled": True}), "10.0.0.5")
    _inbound, out = core.call("101", "104")
    assert statuses(out) == [403]
    [explain] = of(out, Explain)
    assert (explain.caller, explain.called, explain.status) == ("101", "104", 403)
    assert explain.trace
    assert core.core.calls_in_progress("104") == 0


def test_the_setup_timer_answers_408() -> None:
    core = Core(ring_timeout=30)
    core.add(extension("101"), "10.0.0.1")
    core.add(
        extension("102", forwarding={"profiles": {"available": {"no_answer_seconds": 600}}}),
        "10.0.0.2",
    )
    _inbound, out = core.call("101", "102")
    core.answer(invites(out)[0], 180)
    out = core.advance(30)
    assert statuses(out) == [408]
    assert sent(out, "CANCEL")
    assert core.core.get_timer() is not None  # only the lingering request numbers
    core.advance(60)
    assert core.core.context.pending() == 0


# The PBX answers -------------------------------------------------------------------------


def test_no_answer_hands_the_caller_to_voicemail() -> None:
    core = office()
    rule = {"profiles": {"available": {"no_answer_seconds": 5}}}
    core.add(extension("102", forwarding=rule), "10.0.0.2")
    inbound, out = core.call("101", "102")
    out = core.advance(5)
    [ok] = of(out, Respond)
    assert ok.response.status == 200
    assert b"o=centralino" in ok.response.body
    out = core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    [start] = of(out, StartApplication)
    assert isinstance(start.application, LeaveMessage)
    assert start.application.box.number == "102"
    out = core.feed(ApplicationDone(call_id=start.call_id))
    assert sent(out, "BYE")
    [ended] = changes(out)
    assert ended.reason is CallEndReason.VOICEMAIL
    [record] = records(out)
    assert (record.result, record.answered_by) == (CallResult.VOICEMAIL, None)
    assert "voicemail" in record.routing_summary.lower()


def test_the_voicemail_code_is_answered_and_in_dialog_keys_reach_the_application() -> None:
    core = office()
    inbound = core.invite("101", "*97")
    owner = core.lookup.extensions["101"]
    out = core.feed(
        PbxAnswers(inbound=inbound, caller=owner, application=VoicemailMenu(owner=owner))
    )
    [ok] = of(out, Respond)
    out = core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    [start] = of(out, StartApplication)
    body = b"Signal=5\r\nDuration=160\r\n"
    info = in_dialog_request("INFO", inbound, ok, 2, body, content_type="application/dtmf-relay")
    out = core.in_dialog(info, CALLER_PEER)
    assert statuses(out) == [200]
    assert core.media.pressed == [(start.media, "5")]


def test_an_offer_the_pbx_cannot_answer_gets_488() -> None:
    core = office()
    core.media.can_answer = False
    inbound = core.invite("101", "*97")
    owner = core.lookup.extensions["101"]
    out = core.feed(
        PbxAnswers(inbound=inbound, caller=owner, application=VoicemailMenu(owner=owner))
    )
    assert statuses(out) == [488]


# Screening ---------------------------------------------------------------------------------


def screened(**fields: object) -> tuple[Core, Inbound, Respond, str]:
    core = office()
    screening = extension("102", options={"call_screening": True}, **fields)
    core.add(screening, "10.0.0.2", "10.0.0.3")
    inbound, out = core.call("101", "102")
    assert invites(out) == []  # nobody rings before the name is recorded
    [ok] = of(out, Respond)
    out = core.in_dialog(ack_for(inbound, ok), CALLER_PEER)
    [start] = of(out, StartApplication)
    assert isinstance(start.application, ScreenCall)
    return core, inbound, ok, start.call_id


def test_screening_rings_with_the_pbx_offer_and_bridges_on_accept() -> None:
    core, _inbound, _ok, call_id = screened()
    out = core.feed(Dial(call_id=call_id))
    forks = invites(out)
    assert len(forks) == 2
    assert b"o=centralino" in forks[0].request.body
    out = core.answer(forks[0], 200, body=offer(5000))
    assert [a.peer.host for a in acks(out)] == ["10.0.0.2"]  # acknowledged at once
    [done] = of(out, DialDone)
    assert done.media is not None
    assert done.party.number == "102"
    out = core.feed(Connect(call_id=call_id))
    assert core.media.bridged == [call_id]
    assert core.core.calls_in_progress("102") == 1
    assert states(out) == [CallState.ANSWERED]
    out = core.feed(ApplicationDone(call_id=call_id))
    assert sent(out, "BYE") == []  # bridged: the parties hang up


def test_screening_refused_falls_back_to_voicemail_on_the_answered_call() -> None:
    core, _inbound, _ok, call_id = screened()
    out = core.feed(Dial(call_id=call_id))
    forks = invites(out)
    core.answer(forks[0], 486)
    out = core.answer(forks[1], 486)
    [done] = of(out, DialDone)
    assert done.media is None
    assert done.outcome is RingOutcome.BUSY
    out = core.feed(Fallback(call_id=call_id))
    [continuation] = of(out, ContinueWith)
    assert isinstance(continuation.application, LeaveMessage)
    out = core.feed(ApplicationDone(call_id=call_id))
    [ended] = changes(out)
    assert ended.reason is CallEndReason.VOICEMAIL


def test_the_phase_table_refuses_what_it_does_not_hold() -> None:
    core = office()
    _inbound, _out = core.call("101", "102")
    call = core.core.call(core.core.calls()[0].id)
    assert call is not None
    call.end(CallEndReason.FAILED)
    call.end(CallEndReason.FAILED)
    assert states(core.drain()) == [CallState.ENDED]
    assert call.answer_locally(VoicemailMenu(owner=call.caller)) is False
    assert call.phase is CallPhase.ENDED


def test_a_caller_hanging_up_while_the_fallback_rings_stops_the_plan() -> None:
    rule = {"profiles": {"available": {"internal": {"busy": TO_103, "no_answer": TO_103}}}}
    core, inbound, ok, call_id = screened(forwarding=rule)
    to_104 = {
        "profiles": {
            "available": {"internal": {"not_registered": {"type": "extension", "number": "104"}}}
        }
    }
    core.add(extension("103", forwarding=to_104), "10.0.0.4")
    core.add(extension("104"), "10.0.0.5")
    forks = invites(core.feed(Dial(call_id=call_id)))
    core.answer(forks[0], 486)
    core.answer(forks[1], 486)
    out = core.feed(Fallback(call_id=call_id))
    [ringing_103] = invites(out)
    assert ringing_103.peer.host == "10.0.0.4"
    out = core.in_dialog(in_dialog_request("BYE", inbound, ok, 2), CALLER_PEER)
    assert [c.peer.host for c in sent(out, "CANCEL")] == []  # 103 has not answered 1xx yet
    assert invites(out) == []
    assert states(out)[-1] is CallState.ENDED
    out = core.answer(ringing_103, 180)
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.4"]
    assert invites(out) == []
