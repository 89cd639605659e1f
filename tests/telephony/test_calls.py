"""Calls through the B2BUA on loopback UDP: scripted phones, the real engine.

The engine is the real ``Telephony`` (registrar, digest authenticator,
directory) over the in-memory fakes, with the B2BUA's handlers installed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from centralino.calls import Call
from centralino.calls.registry import CallRegistry
from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import CallEndReason, CallState
from centralino.domain.events import CallStateChanged, DomainEvent
from centralino.sip.message import Request, Response
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import (
    Dialed,
    SipPhone,
    contact_uri,
    extension,
    sdp,
    start_calls,
)


class Engine:
    """The engine, its call registry and every CallStateChanged published."""

    def __init__(self, telephony: Telephony, registry: CallRegistry[Call]) -> None:
        self.telephony = telephony
        self.registry = registry
        self.events: list[CallStateChanged] = []
        self.phones: list[SipPhone] = []

    def record(self, event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            self.events.append(event)

    def states(self) -> list[CallState]:
        return [event.state for event in self.events]

    async def phone(self, number: str, *, register: bool = True) -> SipPhone:
        phone = SipPhone(self.telephony.port(), number)
        self.phones.append(phone)
        if register:
            assert (await phone.register()).status == 200
        return phone


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    store.seed(
        extensions=[
            extension("101"),
            extension("102", options={"sip_id": "alice"}),
            extension("103"),
            extension("104", options={"disabled": True}),
            extension(
                "105", forwarding={"profiles": {"available": {"accept_multiple_calls": False}}}
            ),
        ]
    )
    return store


@pytest.fixture
async def engine(store: InMemoryStore) -> AsyncIterator[Engine]:
    bus = LocalEventBus()
    clock = FakeClock()
    telephony, registry = await start_calls(store, clock, bus, ring_timeout=1.5)
    harness = Engine(telephony, registry)
    bus.subscribe(harness.record)
    try:
        yield harness
    finally:
        for phone in harness.phones:
            phone.close()
        await telephony.stop()


async def _ring(
    engine: Engine, caller: SipPhone, callee: SipPhone, target: str = "102"
) -> tuple[Dialed, Request]:
    dialed = await caller.dial(target)
    invite = await callee.request("INVITE")
    return dialed, invite


async def _connect(
    engine: Engine, caller: SipPhone, callee: SipPhone
) -> tuple[Dialed, Request, Response, Response]:
    dialed, invite = await _ring(engine, caller, callee)
    callee.answer(invite, 180)
    await caller.response(180)
    ok = callee.answer(invite, 200, body=sdp(30000))
    answer = await caller.response(200)
    caller.send(caller.ack_for(dialed.invite, answer))
    await callee.request("ACK")
    return dialed, invite, ok, answer


async def test_happy_path_relays_ringing_answer_sdp_and_ack(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite = await _ring(engine, caller, callee)
    assert invite.body == dialed.invite.body  # SDP relayed unchanged
    assert invite.headers.call_id() != dialed.invite.headers.call_id()
    assert invite.headers.from_address().uri.user == "101"
    assert invite.headers.max_forwards() == 69
    callee.answer(invite, 180)
    ringing = await caller.response(180)
    callee.answer(invite, 200, body=sdp(30000))
    answer = await caller.response(200)
    assert answer.headers.to_address().tag == ringing.headers.to_address().tag
    assert answer.body == sdp(30000)
    caller.send(caller.ack_for(dialed.invite, answer))
    ack = await callee.request("ACK")
    assert ack.headers.call_id() == invite.headers.call_id()
    assert engine.states() == [CallState.RINGING, CallState.ANSWERED]
    [live] = engine.registry.calls()
    assert (live.caller, live.callee, live.state) == ("101", "102", CallState.ANSWERED)
    assert live.answered_at is not None


async def test_bye_from_caller_ends_both_sides(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite, _ok, answer = await _connect(engine, caller, callee)
    caller.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),
        remote=answer.headers.to_address(),
        call_id=dialed.invite.headers.call_id(),
        target=contact_uri(answer),
    )
    assert (await caller.response(200, "BYE")).status == 200
    bye = await callee.request("BYE")
    assert bye.headers.call_id() == invite.headers.call_id()
    callee.answer(bye, 200)
    assert engine.events[-1].reason is CallEndReason.CALLER_HUNG_UP
    assert len(engine.registry) == 0
    assert engine.registry.dialog_count() == 0


async def test_bye_from_callee_ends_both_sides(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite, ok, _answer = await _connect(engine, caller, callee)
    callee.in_dialog(
        "BYE",
        local=ok.headers.to_address(),
        remote=invite.headers.from_address(),
        call_id=invite.headers.call_id(),
        target=contact_uri(invite),
    )
    assert (await callee.response(200, "BYE")).status == 200
    bye = await caller.request("BYE")
    assert bye.headers.call_id() == dialed.invite.headers.call_id()
    assert engine.events[-1].reason is CallEndReason.CALLEE_HUNG_UP
    assert engine.registry.dialog_count() == 0


async def test_cancel_from_caller_cancels_the_fork(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite = await _ring(engine, caller, callee)
    callee.answer(invite, 180)
    ringing = await caller.response(180)
    caller.cancel(dialed.invite)
    cancelled = await caller.response(200, "CANCEL")
    assert cancelled.headers.to_address().tag == ringing.headers.to_address().tag  # §9.2
    assert (await caller.final()).status == 487
    cancel = await callee.request("CANCEL")
    assert cancel.headers.vias()[0].branch == invite.headers.vias()[0].branch
    callee.answer(cancel, 200)
    callee.answer(invite, 487)
    assert engine.events[-1].reason is CallEndReason.CANCELLED
    assert engine.registry.dialog_count() == 0


async def test_unauthenticated_invite_is_challenged_and_never_rings(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    await caller.dial("102", auth=False)
    challenge = await caller.final()
    assert challenge.status == 407
    assert challenge.headers.get("proxy-authenticate")
    assert await callee.silent("INVITE")
    assert engine.events == []


async def test_an_invite_out_of_hops_is_483_before_any_challenge(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    uri = f"sip:102@127.0.0.1:{caller.server_port}"
    invite = caller.new_request(
        "INVITE", uri, to="<sip:102@127.0.0.1>", call_id="hops-0", tag="h0", body=b""
    )
    caller.send(
        dataclasses.replace(invite, headers=invite.headers.with_replaced("Max-Forwards", "0"))
    )
    assert (await caller.final()).status == 483
    assert await callee.silent("INVITE")


async def test_unknown_number_is_404(engine: Engine) -> None:
    caller = await engine.phone("101")
    await caller.dial("999")
    assert (await caller.final()).status == 404


async def test_sip_id_reaches_the_extension(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    await caller.dial("alice")
    invite = await callee.request("INVITE")
    assert invite.headers.to_address().uri.user == "102"


async def test_nothing_registered_goes_to_voicemail_not_there_yet(engine: Engine) -> None:
    caller = await engine.phone("101")
    await caller.dial("103")
    final = await caller.final()
    assert (final.status, final.reason) == (480, "Voicemail not available")


async def test_disabled_callee_is_403(engine: Engine) -> None:
    caller = await engine.phone("101")
    await caller.dial("104")
    assert (await caller.final()).status == 403


async def test_disabled_caller_is_403(engine: Engine, store: InMemoryStore) -> None:
    caller = await engine.phone("101")
    callee = await engine.phone("102")
    store.seed(extensions=[extension("101", options={"disabled": True})])
    await engine.telephony.directory.load()
    await caller.dial("102")
    refused = await caller.final()
    assert (refused.status, refused.reason) == (403, "Extension disabled")
    assert await callee.silent("INVITE")


async def test_busy_callee_without_call_waiting_follows_its_busy_rule(engine: Engine) -> None:
    caller, callee, third = [await engine.phone(n) for n in ("101", "105", "103")]
    await caller.dial("105")
    await callee.request("INVITE")  # ringing: one call in progress
    await third.dial("105")
    final = await third.final()
    assert (final.status, final.reason) == (480, "Voicemail not available")
    assert await callee.silent("INVITE")


async def test_fork_to_two_contacts_first_200_wins(engine: Engine) -> None:
    caller = await engine.phone("101")
    desk, mobile = await engine.phone("102"), await engine.phone("102")
    dialed = await caller.dial("102")
    to_desk, to_mobile = await desk.request("INVITE"), await mobile.request("INVITE")
    assert to_desk.headers.call_id() != to_mobile.headers.call_id()
    desk.answer(to_desk, 180, tag="desk")
    mobile.answer(to_mobile, 180, tag="mobile")
    mobile.answer(to_mobile, 200, tag="mobile", body=sdp(31000))
    answer = await caller.response(200)
    assert answer.body == sdp(31000)
    cancel = await desk.request("CANCEL")
    assert "elsewhere" in (cancel.headers.get("reason") or "")
    desk.answer(cancel, 200, tag="desk")
    desk.answer(to_desk, 487, tag="desk")
    caller.send(caller.ack_for(dialed.invite, answer))
    assert (await mobile.request("ACK")).headers.call_id() == to_mobile.headers.call_id()


async def test_late_200_from_a_second_fork_is_acked_and_hung_up(engine: Engine) -> None:
    caller = await engine.phone("101")
    desk, mobile = await engine.phone("102"), await engine.phone("102")
    await caller.dial("102")
    to_desk, to_mobile = await desk.request("INVITE"), await mobile.request("INVITE")
    desk.answer(to_desk, 200, tag="desk", body=sdp(32000))
    await caller.response(200)
    mobile.answer(to_mobile, 200, tag="mobile", body=sdp(33000))
    assert (await mobile.request("ACK")).headers.call_id() == to_mobile.headers.call_id()
    assert (await mobile.request("BYE")).headers.call_id() == to_mobile.headers.call_id()


async def test_all_forks_fail_the_best_error_wins(engine: Engine) -> None:
    caller = await engine.phone("101")
    desk, mobile = await engine.phone("102"), await engine.phone("102")
    await caller.dial("102")
    to_desk, to_mobile = await desk.request("INVITE"), await mobile.request("INVITE")
    desk.answer(to_desk, 480, tag="desk")
    mobile.answer(to_mobile, 488, tag="mobile")
    assert (await caller.final()).status == 488  # neither busy nor unreachable: relayed
    assert engine.events[-1].reason is CallEndReason.REJECTED
    assert engine.events[-1].status == 488


async def test_a_busy_phone_sends_the_call_to_the_busy_rule(engine: Engine) -> None:
    caller = await engine.phone("101")
    desk, mobile = await engine.phone("102"), await engine.phone("102")
    await caller.dial("102")
    to_desk, to_mobile = await desk.request("INVITE"), await mobile.request("INVITE")
    desk.answer(to_desk, 480, tag="desk")
    mobile.answer(to_mobile, 486, tag="mobile")
    final = await caller.final()
    assert (final.status, final.reason) == (480, "Voicemail not available")
    assert engine.events[-1].reason is CallEndReason.UNAVAILABLE


async def test_200_before_180_is_accepted(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite = await _ring(engine, caller, callee)
    callee.answer(invite, 200, body=sdp(30000))
    callee.answer(invite, 180)
    answer = await caller.response(200)
    caller.send(caller.ack_for(dialed.invite, answer))
    await callee.request("ACK")
    assert engine.states() == [CallState.RINGING, CallState.ANSWERED]


async def test_no_answer_times_out_with_408(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    _dialed, invite = await _ring(engine, caller, callee)
    callee.answer(invite, 180)
    assert (await caller.final(wait=4)).status == 408
    cancel = await callee.request("CANCEL")
    callee.answer(cancel, 200)
    callee.answer(invite, 487)
    assert engine.events[-1].reason is CallEndReason.NO_ANSWER
    assert len(engine.registry) == 0


async def test_reinvite_hold_is_relayed_both_ways(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite, _ok, answer = await _connect(engine, caller, callee)
    hold = sdp(20000, "sendonly")
    reinvite = caller.in_dialog(
        "INVITE",
        local=dialed.invite.headers.from_address(),
        remote=answer.headers.to_address(),
        call_id=dialed.invite.headers.call_id(),
        target=contact_uri(answer),
        body=hold,
    )
    relayed = await callee.request("INVITE")
    assert relayed.body == hold
    assert relayed.headers.call_id() == invite.headers.call_id()
    callee.answer(relayed, 200, body=sdp(30000, "recvonly"))
    held = await caller.response(200)
    assert held.body == sdp(30000, "recvonly")
    caller.send(caller.ack_for(reinvite, held))
    reack = await callee.request("ACK")
    assert reack.headers.cseq().number == relayed.headers.cseq().number
    _assert_same_dialog(reack, relayed)


async def test_unknown_dialog_gets_481_and_other_calls_carry_on(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, _invite, _ok, answer = await _connect(engine, caller, callee)
    stray = caller.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),
        remote=answer.headers.to_address().with_tag("nobody"),
        call_id="no-such-call",
        target=contact_uri(answer),
    )
    assert stray.method == "BYE"
    assert (await caller.final("BYE")).status == 481
    caller.sock.sendto(b"INVITE garbage\r\n\r\n", ("127.0.0.1", engine.telephony.port()))
    assert len(engine.registry) == 1


def _assert_same_dialog(first: Request, second: Request) -> None:
    assert first.headers.call_id() == second.headers.call_id()
    assert first.headers.from_address().tag == second.headers.from_address().tag


async def test_cancel_of_an_unknown_invite_is_481(engine: Engine) -> None:
    caller = await engine.phone("101")
    dialed = await caller.dial("102", auth=False)
    await caller.final()  # the 407
    caller.cancel(dialed.invite)
    assert (await caller.final("CANCEL")).status == 481


async def test_bye_while_ringing_cancels_the_call(engine: Engine) -> None:
    caller, callee = await engine.phone("101"), await engine.phone("102")
    dialed, invite = await _ring(engine, caller, callee)
    ringing = callee.answer(invite, 180)
    early = await caller.response(180)
    assert ringing.status == 180
    caller.in_dialog(
        "BYE",
        local=dialed.invite.headers.from_address(),
        remote=early.headers.to_address(),
        call_id=dialed.invite.headers.call_id(),
        target=contact_uri(early),
    )
    assert (await caller.response(200, "BYE")).status == 200
    assert (await caller.final()).status == 487
    assert (await callee.request("CANCEL")).headers.call_id() == invite.headers.call_id()
    assert engine.events[-1].reason is CallEndReason.CANCELLED
    assert engine.registry.dialog_count() == 0
