"""Calls to and from the outside world through the pure call core (trunk legs).

A fake :class:`~centralino.calls.outside.Outside` stands for the trunks: the
tests check what the core does with its routes and refusals — INVITEs to the
provider, failover, digest answers, spoken refusals, ringing the mobile with
the phones, inbound calls routed by their external rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from centralino.calls.io import (
    Announce,
    ApplicationDone,
    Command,
    LegResponse,
    NewCall,
    OutsideCall,
    Respond,
    StartApplication,
)
from centralino.calls.outside import (
    OutsidePlan,
    OutsideRefusal,
    OutsideRoute,
    outside_party,
)
from centralino.calls.ports import Side
from centralino.domain.call_records import CallDirection, CallResult
from centralino.domain.extension import Extension
from centralino.sip.message import Request, make_response
from centralino.sip.peer import Peer, TransportKind
from centralino.sip.uri import Uri
from tests.calls.harness import Core, Inbound, extension, of, offer, records, statuses
from tests.calls.test_core import invites, sent


def route(
    trunk: str, host: str, number: str = "0612345678", caller_id: str = "+390211"
) -> OutsideRoute:
    peer = Peer(TransportKind.UDP, host, 5060)
    return OutsideRoute(
        trunk=trunk,
        peer=peer,
        target=Uri.parse(f"sip:{number}@{host}:5060"),
        number=number,
        caller_id=caller_id,
        username="acct",
        password="secret-password",
    )


@dataclass
class FakeOutside:
    """Trunks as a table: number -> plan or refusal; counts calls per trunk."""

    plans: dict[str, OutsidePlan | OutsideRefusal] = field(default_factory=dict)
    asked: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def plan(
        self, caller: Extension, number: str, *, presented: str | None = None, direct: bool = True
    ) -> OutsidePlan | OutsideRefusal:
        self.asked.append((caller.number, number, presented, direct))
        return self.plans.get(number, OutsideRefusal(status=404, reason=f"No route for {number}"))

    def started(self, trunk: str) -> None:
        self.counts[trunk] = self.counts.get(trunk, 0) + 1

    def ended(self, trunk: str) -> None:
        self.counts[trunk] -= 1


def office() -> tuple[Core, FakeOutside]:
    core = Core()
    outside = FakeOutside()
    core.core.context.outside = outside
    core.add(extension("101"), "10.0.0.1")
    return core, outside


def dial(core: Core, number: str) -> list[Command]:
    inbound = core.invite("101", number)
    return core.feed(
        OutsideCall(inbound=inbound, caller=core.lookup.extensions["101"], number=number)
    )


def final_to_caller(commands: Sequence[Command]) -> list[int]:
    return [s for s in statuses(commands) if s >= 200]


def test_an_outside_number_goes_to_the_first_trunk_with_its_caller_id() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsidePlan(routes=(route("alpha", "198.51.100.1"),))
    out = dial(core, "0612345678")
    [invite] = invites(out)
    request = invite.request
    assert (invite.peer.host, str(request.uri)) == (
        "198.51.100.1",
        "sip:0612345678@198.51.100.1:5060",
    )
    assert request.headers.from_address().uri.user == "+390211"
    assert request.headers.to_address().uri.user == "0612345678"
    assert outside.asked == [("101", "0612345678", None, True)]
    assert outside.counts == {"alpha": 1}
    out = core.answer(invite, 200, body=offer(7000))
    assert 200 in statuses(out)
    [call] = core.core.calls()
    assert core.core.call(call.id).direction is CallDirection.OUTBOUND  # type: ignore[union-attr]


def test_a_trunk_answering_503_fails_over_to_the_next_and_404_does_not() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsidePlan(
        routes=(route("alpha", "198.51.100.1"), route("beta", "203.0.113.1"))
    )
    [first] = invites(dial(core, "0612345678"))
    out = core.answer(first, 503)
    [second] = invites(out)
    assert second.peer.host == "203.0.113.1"
    assert final_to_caller(out) == []
    out = core.answer(second, 404)
    assert final_to_caller(out) == [404]
    assert outside.counts == {"alpha": 0, "beta": 0}
    [record] = records(out)
    assert (record.direction, record.result, record.trunk) == (
        CallDirection.OUTBOUND,
        CallResult.REJECTED,
        "beta",
    )
    assert (record.callee, record.reason) == ("0612345678", "404 Not Found")


def test_a_4xx_from_the_first_trunk_is_the_callers_answer() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsidePlan(
        routes=(route("alpha", "198.51.100.1"), route("beta", "203.0.113.1"))
    )
    [first] = invites(dial(core, "0612345678"))
    out = core.answer(first, 486)
    assert invites(out) == []
    assert final_to_caller(out) == [486]
    [record] = records(out)
    assert record.result is CallResult.BUSY


def test_a_timeout_fails_over_and_every_trunk_failing_ends_with_the_last_failure() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsidePlan(
        routes=(route("alpha", "198.51.100.1"), route("beta", "203.0.113.1"))
    )
    [first] = invites(dial(core, "0612345678"))
    [second] = invites(core.fail(first))
    out = core.answer(second, 502)
    assert final_to_caller(out) == [502]


def test_a_provider_challenge_is_answered_once_with_the_trunk_account() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsidePlan(routes=(route("alpha", "198.51.100.1"),))
    [invite] = invites(dial(core, "0612345678"))
    challenge = make_response(
        invite.request,
        407,
        to_tag="p1",
        extra_headers=[("Proxy-Authenticate", 'Digest realm="provider", nonce="abc", qop="auth"')],
    )
    out = core.feed(LegResponse(handle=invite.handle, response=challenge))
    [again] = invites(out)
    headers = again.request.headers
    assert headers.cseq().number == 2
    credentials = headers.get("proxy-authorization") or ""
    assert 'username="acct"' in credentials
    assert 'realm="provider"' in credentials
    assert headers.top_via().branch != invite.request.headers.top_via().branch
    assert final_to_caller(out) == []
    # A second challenge: the credentials are wrong; the trunk counts as failed.
    second = make_response(
        again.request,
        407,
        to_tag="p2",
        extra_headers=[("Proxy-Authenticate", 'Digest realm="provider", nonce="def"')],
    )
    out = core.feed(LegResponse(handle=again.handle, response=second))
    assert final_to_caller(out) == [503]
    [response] = [r.response for r in of(out, Respond) if r.response.status == 503]
    assert response.reason == "Trunk authentication failed"


def test_a_refusal_with_a_prompt_is_spoken_as_early_media_then_403() -> None:
    core, outside = office()
    outside.plans["0612345678"] = OutsideRefusal(
        status=403, reason="External calls disabled", prompt="external_calls_disabled"
    )
    out = dial(core, "0612345678")
    assert statuses(out) == [183]
    [start] = of(out, StartApplication)
    assert start.application == Announce(prompt="external_calls_disabled")
    out = core.feed(ApplicationDone(call_id=start.call_id))
    [refusal] = [r.response for r in of(out, Respond)]
    assert (refusal.status, refusal.reason) == (403, "External calls disabled")
    assert core.core.calls() == []
    [record] = records(out)
    assert (record.result, record.reason) == (CallResult.REJECTED, "403 External calls disabled")


def test_a_refusal_without_applications_is_a_plain_final_answer() -> None:
    core = Core(applications=False)
    outside = FakeOutside()
    core.core.context.outside = outside
    core.add(extension("101"), "10.0.0.1")
    outside.plans["0612345678"] = OutsideRefusal(
        status=403, reason="External calls disabled", prompt="external_calls_disabled"
    )
    out = dial(core, "0612345678")
    assert statuses(out) == [403]


def inbound_call(core: Core, callee: str, caller: str = "+393351111111") -> list[Command]:
    inbound = core.invite(caller, callee)
    return core.feed(
        NewCall(
            inbound=inbound,
            caller=outside_party(caller),
            callee=core.lookup.extensions[callee],
            trunk="alpha",
            did="+390212345",
        )
    )


def test_ring_mobile_rings_the_mobile_with_the_phones_and_the_first_answer_wins() -> None:
    core, outside = office()
    core.add(
        extension(
            "102",
            mobile="+393359999999",
            forwarding={"profiles": {"available": {"ring_mobile": True}}},
        ),
        "10.0.0.2",
    )
    outside.plans["+393359999999"] = OutsidePlan(
        routes=(route("alpha", "198.51.100.1", "+393359999999"),)
    )
    out = inbound_call(core, "102")
    forks = invites(out)
    assert sorted(f.peer.host for f in forks) == ["10.0.0.2", "198.51.100.1"]
    # The mobile's caller ID request presents the outside caller (a forwarded call).
    assert outside.asked == [("102", "+393359999999", "+393351111111", False)]
    [mobile] = [f for f in forks if f.peer.host == "198.51.100.1"]
    [phone] = [f for f in forks if f.peer.host == "10.0.0.2"]
    core.answer(phone, 180)
    out = core.answer(mobile, 200, body=offer(7000))
    assert [c.peer.host for c in sent(out, "CANCEL")] == ["10.0.0.2"]
    [call] = core.core.calls()
    live = core.core.call(call.id)
    assert live is not None
    assert live.direction is CallDirection.INBOUND
    assert (live.inbound_trunk, live.did) == ("alpha", "+390212345")
    assert outside.counts == {"alpha": 2}
    live.hang_up(Side.CALLER)
    [record] = records(core.drain())
    assert (record.direction, record.result, record.trunk, record.did) == (
        CallDirection.INBOUND,
        CallResult.ANSWERED,
        "alpha",
        "+390212345",
    )
    assert (record.caller, record.answered_by) == ("+393351111111", "+393359999999")
    assert outside.counts == {"alpha": 0}


def test_an_inbound_call_follows_the_external_rules_to_an_outside_number() -> None:
    core, outside = office()
    rules = {
        "profiles": {
            "available": {
                "internal": {"busy": {"type": "voicemail"}},
                "external": {"busy": {"type": "number", "number": "+390288888888"}},
            }
        }
    }
    core.add(extension("102", forwarding=rules), "10.0.0.2")
    outside.plans["+390288888888"] = OutsidePlan(
        routes=(route("alpha", "198.51.100.1", "+390288888888"),)
    )
    [phone] = invites(inbound_call(core, "102"))
    out = core.answer(phone, 486)
    [forwarded] = invites(out)
    assert forwarded.peer.host == "198.51.100.1"
    assert outside.asked == [("102", "+390288888888", "+393351111111", False)]


def test_an_internal_call_to_a_busy_extension_keeps_its_internal_rule() -> None:
    core, outside = office()
    rules = {
        "profiles": {
            "available": {
                "internal": {"busy": {"type": "end_call"}},
                "external": {"busy": {"type": "number", "number": "+390288888888"}},
            }
        }
    }
    core.add(extension("102", forwarding=rules), "10.0.0.2")
    _inbound, out = core.call("101", "102")
    out = core.answer(invites(out)[0], 486)
    assert invites(out) == []
    assert outside.asked == []


def test_a_provider_s_record_route_is_copied_into_our_answers() -> None:
    core, _outside = office()
    core.add(extension("102"), "10.0.0.2")
    inbound = core.invite("+393351111111", "102")
    route = "<sip:198.51.100.1:5060;lr>"
    request = inbound.request
    headers = request.headers.with_prepended("Record-Route", route)
    inbound = Inbound(
        Request(method="INVITE", uri=request.uri, headers=headers, body=request.body),
        inbound.peer,
        inbound.transaction,
    )
    out = core.feed(
        NewCall(
            inbound=inbound,
            caller=outside_party("+393351111111"),
            callee=core.lookup.extensions["102"],
            trunk="alpha",
        )
    )
    [phone] = invites(out)
    assert phone.request.headers.get("record-route") is None  # each leg has its own path
    ringing = core.answer(phone, 180)
    answered = core.answer(phone, 200, body=offer(7000))
    for response in [r.response for r in of([*ringing, *answered], Respond)]:
        assert response.headers.get_all("record-route") == [route]
