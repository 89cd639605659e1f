"""plan_call: every rule of SPEC §2.3, its steps and its trace texts."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from centralino.routing import (
    CallOrigin,
    DialExternal,
    DialReason,
    EndCall,
    EndReason,
    Forward,
    LiveState,
    RingExtension,
    RoutingPlan,
    Rule,
    SendToVoicemail,
    SipStatus,
    SkipExtension,
    SkipReason,
    lookup_in,
    plan_call,
)

from .helpers import call, callee, extension, plan

MOBILE = "+393331234567"
IDLE_UNREGISTERED = LiveState(registered_contacts=0)


def to_extension(number: str) -> dict[str, str]:
    return {"type": "extension", "number": number}


def status(name: str, internal: Any = None, external: Any = None, **flags: Any) -> dict[str, Any]:
    """A forwarding tab in status ``name`` with that profile's destinations."""
    profile: dict[str, Any] = dict(flags)
    if internal is not None:
        profile["internal"] = internal
    if external is not None:
        profile["external"] = external
    return {"status": name, "profiles": {name: profile}}


def texts(result: RoutingPlan) -> list[str]:
    return [entry.text for entry in result.trace]


# --- disabled ---------------------------------------------------------------


def test_disabled_callee_is_refused_with_403() -> None:
    result = plan(call(), callee(extension(options={"disabled": True})))
    assert result.first == EndCall(
        sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED
    )
    assert texts(result) == ["extension 101 is disabled: calls are refused"]


def test_disabled_member_is_skipped_by_a_ring_group() -> None:
    result = plan(call(from_ring_group=True), callee(extension(options={"disabled": True})))
    assert result.first == SkipExtension(number="101", reason=SkipReason.EXTENSION_DISABLED)


def test_disabled_wins_over_a_matching_exception() -> None:
    exception = {"caller_id": "*", "destination": {"type": "mobile"}}
    ext = extension(options={"disabled": True}, forwarding={"exceptions": [exception]})
    assert isinstance(plan(call(), callee(ext)).first, EndCall)


# --- Available --------------------------------------------------------------


def test_default_extension_rings_20_seconds_then_voicemail() -> None:
    result = plan(call(), callee())
    voicemail = SendToVoicemail(box_number="101")
    assert result.first == RingExtension(
        number="101",
        seconds=20,
        also_ring_mobile=None,
        on_no_answer=voicemail,
        on_busy=voicemail,
        on_not_registered=voicemail,
    )
    assert texts(result) == [
        "status Available: extension 101 rings for 20 s",
        "if extension 101 does not answer within 20 s: external calls go to the voicemail of 101",
        "if extension 101 answers busy: external calls go to the voicemail of 101",
        "if no phone of extension 101 can be reached: external calls go to the voicemail of 101",
    ]


def test_no_answer_seconds_and_no_answer_destination() -> None:
    available = {"no_answer_seconds": 35, "internal": {"no_answer": to_extension("102")}}
    ext = extension(forwarding={"profiles": {"available": available}})
    result = plan(call(caller="105"), callee(ext), callee(extension("102")))
    assert isinstance(result.first, RingExtension)
    assert result.first.seconds == 35
    assert isinstance(result.first.on_no_answer, Forward)
    assert result.first.on_no_answer.number == "102"
    assert isinstance(result.first.on_no_answer.plan.first, RingExtension)
    assert "if extension 101 does not answer within 35 s: internal calls go to extension 102" in (
        texts(result)
    )


def test_not_registered_goes_to_its_destination_without_ringing() -> None:
    available = {"external": {"not_registered": {"type": "number", "number": "+3902555"}}}
    ext = extension("103", forwarding={"profiles": {"available": available}})
    result = plan(call(called="103"), callee(ext, state=IDLE_UNREGISTERED))
    assert result.first == DialExternal(number="+3902555", reason=DialReason.NUMBER)
    assert texts(result) == [
        "extension 103 not registered: its not-registered rule applies, "
        "external calls go to the number +3902555"
    ]


def test_busy_without_call_waiting_goes_to_the_busy_destination() -> None:
    available = {"accept_multiple_calls": False, "internal": {"busy": to_extension("102")}}
    ext = extension(forwarding={"profiles": {"available": available}})
    busy = LiveState(registered_contacts=2, calls_in_progress=1)
    result = plan(call(caller="104"), callee(ext, state=busy), callee(extension("102")))
    assert isinstance(result.first, Forward)
    assert texts(result)[0] == (
        "extension 101 busy: 1 call(s) in progress and call waiting is off; "
        "its busy rule applies, internal calls go to extension 102"
    )


def test_busy_with_call_waiting_rings() -> None:
    busy = LiveState(registered_contacts=1, calls_in_progress=3)
    assert isinstance(plan(call(), callee(state=busy)).first, RingExtension)


def test_ring_mobile_rings_the_mobile_at_the_same_time() -> None:
    ext = extension(mobile=MOBILE, forwarding={"profiles": {"available": {"ring_mobile": True}}})
    result = plan(call(), callee(ext))
    assert isinstance(result.first, RingExtension)
    assert result.first.also_ring_mobile == MOBILE
    assert f"ring the mobile is on: mobile {MOBILE} rings at the same time" in texts(result)


def test_ring_mobile_without_a_mobile_rings_the_phones_only() -> None:
    ext = extension(forwarding={"profiles": {"available": {"ring_mobile": True}}})
    result = plan(call(), callee(ext))
    assert isinstance(result.first, RingExtension)
    assert result.first.also_ring_mobile is None
    assert "ring the mobile is on: no mobile is set to ring" in texts(result)


def test_mobile_is_not_rung_when_the_profile_does_not_ask() -> None:
    result = plan(call(), callee(extension(mobile=MOBILE)))
    assert isinstance(result.first, RingExtension)
    assert result.first.also_ring_mobile is None


# --- internal / external ----------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "origin", "expected"),
    [
        ("102", CallOrigin.INTERNAL, "+3911"),
        ("+390612345678", CallOrigin.EXTERNAL, "+3922"),
    ],
)
def test_origin_chooses_internal_or_external_destinations(
    caller: str, origin: CallOrigin, expected: str
) -> None:
    forwarding = status(
        "away",
        internal={"type": "number", "number": "+3911"},
        external={"type": "number", "number": "+3922"},
    )
    result = plan(call(caller=caller, origin=origin), callee(extension(forwarding=forwarding)))
    assert result.first == DialExternal(number=expected, reason=DialReason.NUMBER)


# --- immediate forward statuses ---------------------------------------------


def test_dnd_forwards_immediately_to_another_extension() -> None:
    forwarding = status("dnd", external=to_extension("103"))
    result = plan(call(), callee(extension(forwarding=forwarding)), callee(extension("103")))
    assert isinstance(result.first, Forward)
    assert result.first.plan.extension == "103"
    assert texts(result) == [
        "status Do Not Disturb: calls forward immediately, external calls go to extension 103"
    ]


@pytest.mark.parametrize("name", ["away", "dnd", "lunch", "business_trip"])
def test_other_statuses_default_to_voicemail_even_when_unregistered(name: str) -> None:
    ext = extension(forwarding={"status": name})
    result = plan(call(), callee(ext, state=IDLE_UNREGISTERED))
    assert result.first == SendToVoicemail(box_number="101")


def test_forward_continues_with_the_target_extensions_own_rules() -> None:
    first = extension(forwarding=status("lunch", external=to_extension("102")))
    second = extension("102", forwarding=status("away", external={"type": "mobile"}), mobile=MOBILE)
    result = plan(call(), callee(first), callee(second))
    assert isinstance(result.first, Forward)
    assert result.first.plan.first == DialExternal(number=MOBILE, reason=DialReason.MOBILE)
    assert result.first.plan.trace[0].extension == "102"
    assert result.first.plan.trace[0].text == (
        "status Away: calls forward immediately, external calls go to the mobile " + MOBILE
    )


def test_forward_to_an_unregistered_extension_applies_its_not_registered_rule() -> None:
    first = extension(forwarding=status("dnd", internal=to_extension("103")))
    result = plan(call(caller="150"), callee(first), callee(extension("103"), IDLE_UNREGISTERED))
    assert isinstance(result.first, Forward)
    assert result.first.plan.trace[0].text.startswith(
        "extension 103 not registered: its not-registered rule applies"
    )


# --- ring groups ------------------------------------------------------------


def test_ring_group_call_to_a_status_refusing_them_skips_the_member() -> None:
    result = plan(call(from_ring_group=True), callee(extension(forwarding={"status": "dnd"})))
    assert result.first == SkipExtension(number="101", reason=SkipReason.REFUSES_RING_GROUP_CALLS)
    assert texts(result) == [
        "status Do Not Disturb does not accept ring-group calls: extension 101 is skipped"
    ]


def test_available_refusing_ring_group_calls_is_skipped() -> None:
    ext = extension(forwarding={"profiles": {"available": {"accept_ring_group_calls": False}}})
    result = plan(call(from_ring_group=True), callee(ext))
    assert result.first == SkipExtension(number="101", reason=SkipReason.REFUSES_RING_GROUP_CALLS)


def test_ring_group_call_rings_the_member_and_hands_back_every_outcome() -> None:
    exception = {"caller_id": "*", "destination": {"type": "end_call"}}
    ext = extension(forwarding={"exceptions": [exception]})
    result = plan(call(from_ring_group=True), callee(ext))
    assert result.first == RingExtension(
        number="101",
        seconds=20,
        also_ring_mobile=None,
        on_no_answer=SkipExtension(number="101", reason=SkipReason.NO_ANSWER),
        on_busy=SkipExtension(number="101", reason=SkipReason.BUSY),
        on_not_registered=SkipExtension(number="101", reason=SkipReason.NOT_REGISTERED),
    )


def test_away_accepting_ring_group_calls_rings_instead_of_forwarding() -> None:
    forwarding = status("away", accept_ring_group_calls=True, external={"type": "end_call"})
    result = plan(call(from_ring_group=True), callee(extension(forwarding=forwarding)))
    assert isinstance(result.first, RingExtension)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (LiveState(registered_contacts=0), SkipReason.NOT_REGISTERED),
        (LiveState(registered_contacts=1, calls_in_progress=1), SkipReason.BUSY),
    ],
)
def test_ring_group_member_not_registered_or_busy_is_skipped(
    state: LiveState, reason: SkipReason
) -> None:
    ext = extension(forwarding={"profiles": {"available": {"accept_multiple_calls": False}}})
    result = plan(call(from_ring_group=True), callee(ext, state=state))
    assert result.first == SkipExtension(number="101", reason=reason)


# --- exceptions -------------------------------------------------------------


def with_exceptions(*exceptions: dict[str, Any], **forwarding: Any) -> dict[str, Any]:
    return {"exceptions": list(exceptions), **forwarding}


def test_exception_on_a_pattern_in_office_hours_matches() -> None:
    exception = {
        "caller_id": "+3906*",
        "window": {"type": "office_hours"},
        "destination": to_extension("103"),
    }
    ext = extension(forwarding=with_exceptions({"caller_id": "555", **_vm()}, exception))
    result = plan(call(), callee(ext), callee(extension("103")))
    assert isinstance(result.first, Forward)
    assert texts(result) == [
        "exception #1 (caller 555) did not match: caller +390612345678 does not match",
        "exception #2 (caller +3906*) matched: caller +390612345678 matches, window 'office "
        "hours' is in effect (schedule 'global' is open, Europe/Rome 10:05 Tue); "
        "the call goes to extension 103",
    ]


def _vm() -> dict[str, Any]:
    return {"destination": {"type": "voicemail"}}


def test_exception_outside_its_window_falls_through_to_the_profile() -> None:
    exception = {"caller_id": "+3906*", "window": {"type": "office_hours"}, **_vm()}
    result = plan(
        call(at="2026-12-01 20:30"), callee(extension(forwarding=with_exceptions(exception)))
    )
    assert isinstance(result.first, RingExtension)
    assert texts(result)[0] == (
        "exception #1 (caller +3906*) did not match: caller +390612345678 matches, but window "
        "'office hours' is not in effect (schedule 'global' is closed, Europe/Rome 20:30 Tue)"
    )


def test_first_matching_exception_wins() -> None:
    first = {"caller_id": "10?", "destination": {"type": "end_call"}}
    second = {"caller_id": "102", "destination": {"type": "mobile"}}
    result = plan(call(caller="102"), callee(extension(forwarding=with_exceptions(first, second))))
    assert result.first == EndCall(sip_status=SipStatus.DECLINE, reason=EndReason.END_CALL_RULE)
    assert len(result.trace) == 1


def test_exception_wins_over_an_immediate_forward_status() -> None:
    exception = {"caller_id": "+390612345678", "destination": {"type": "number", "number": "+3955"}}
    forwarding = with_exceptions(exception, status="dnd")
    result = plan(call(), callee(extension(forwarding=forwarding)))
    assert result.first == DialExternal(number="+3955", reason=DialReason.NUMBER)
    assert all(entry.rule is Rule.EXCEPTION for entry in result.trace)


@pytest.mark.parametrize(
    ("at", "matches"),
    [
        ("2026-12-01 13:30", True),  # break counts as outside office hours
        ("2026-12-01 20:00", True),  # closed
        ("2026-12-05 11:00", True),  # Saturday
        ("2026-12-01 10:00", False),  # open
    ],
)
def test_outside_office_hours_window(at: str, matches: bool) -> None:
    exception = {"caller_id": "*", "window": {"type": "outside_office_hours"}, **_vm()}
    result = plan(call(at=at), callee(extension(forwarding=with_exceptions(exception))))
    assert isinstance(result.first, SendToVoicemail) is matches


def test_specific_window_is_judged_in_the_schedules_time_zone() -> None:
    window = {"type": "specific", "days": ["tue"], "start": "10:00", "end": "11:00"}
    exception = {"caller_id": "*", "window": window, **_vm()}
    ext = extension(forwarding=with_exceptions(exception))
    # 09:30 UTC on Tuesday 1 December 2026 is 10:30 in Rome.
    at_utc = dataclasses.replace(call(), at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC))
    result = plan(at_utc, callee(ext))
    assert isinstance(result.first, SendToVoicemail)
    assert "window 'Tue 10:00-11:00' is in effect (Europe/Rome 10:30 Tue)" in texts(result)[0]


@pytest.mark.parametrize(
    ("at", "matches"),
    [("2026-12-01 10:59", True), ("2026-12-01 11:00", False), ("2026-12-02 10:30", False)],
)
def test_specific_window_bounds_and_days(at: str, matches: bool) -> None:
    window = {"type": "specific", "days": ["tue"], "start": "10:00", "end": "11:00"}
    exception = {"caller_id": "*", "window": window, **_vm()}
    result = plan(call(at=at), callee(extension(forwarding=with_exceptions(exception))))
    assert isinstance(result.first, SendToVoicemail) is matches


# --- destinations -----------------------------------------------------------


def away_to(destination: dict[str, Any], **fields: Any) -> Any:
    return extension(forwarding=status("away", external=destination), **fields)


def test_other_extensions_voicemail() -> None:
    result = plan(
        call(),
        callee(away_to({"type": "extension_voicemail", "number": "109"})),
        callee(extension("109")),
    )
    assert result.first == SendToVoicemail(box_number="109")


def test_voicemail_of_an_unknown_extension_ends_with_404() -> None:
    result = plan(call(), callee(away_to({"type": "extension_voicemail", "number": "199"})))
    assert result.first == EndCall(
        sip_status=SipStatus.NOT_FOUND, reason=EndReason.UNKNOWN_EXTENSION
    )
    assert texts(result)[-1] == "extension 199 does not exist: the call ends (404)"


def test_voicemail_that_is_off_ends_with_480() -> None:
    ext = away_to({"type": "voicemail"}, voicemail={"pin": "1234", "enabled": False})
    result = plan(call(), callee(ext))
    assert result.first == EndCall(
        sip_status=SipStatus.TEMPORARILY_UNAVAILABLE, reason=EndReason.VOICEMAIL_OFF
    )
    assert texts(result)[-1] == "the voicemail of 101 is off: the call ends (480)"


def test_voicemail_of_a_disabled_extension_ends_with_403() -> None:
    box = extension("109", options={"disabled": True})
    result = plan(
        call(), callee(away_to({"type": "extension_voicemail", "number": "109"})), callee(box)
    )
    assert result.first == EndCall(
        sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED
    )


def test_mobile_destination_dials_the_mobile() -> None:
    result = plan(call(), callee(away_to({"type": "mobile"}, mobile=MOBILE)))
    assert result.first == DialExternal(number=MOBILE, reason=DialReason.MOBILE)


def test_mobile_destination_without_a_mobile_ends_with_480() -> None:
    result = plan(call(), callee(away_to({"type": "mobile"})))
    assert result.first == EndCall(
        sip_status=SipStatus.TEMPORARILY_UNAVAILABLE, reason=EndReason.NO_MOBILE
    )
    assert texts(result)[-1] == "extension 101 has no mobile number: the call ends (480)"


def test_end_call_destination_declines_with_603() -> None:
    result = plan(call(), callee(away_to({"type": "end_call"})))
    assert result.first == EndCall(sip_status=SipStatus.DECLINE, reason=EndReason.END_CALL_RULE)


def test_forward_to_an_unknown_extension_ends_with_404() -> None:
    result = plan(call(), callee(away_to(to_extension("199"))))
    assert result.first == EndCall(
        sip_status=SipStatus.NOT_FOUND, reason=EndReason.UNKNOWN_EXTENSION
    )


def test_forward_to_a_disabled_extension_ends_with_its_403() -> None:
    result = plan(
        call(),
        callee(away_to(to_extension("102"))),
        callee(extension("102", options={"disabled": True})),
    )
    assert isinstance(result.first, Forward)
    assert result.first.plan.first == EndCall(
        sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED
    )


# --- loops ------------------------------------------------------------------


def test_forwarding_back_to_the_chain_goes_to_the_closing_extensions_voicemail() -> None:
    first = extension(forwarding=status("dnd", external=to_extension("102")))
    second = extension("102", forwarding=status("dnd", external=to_extension("101")))
    result = plan(call(), callee(first), callee(second))
    assert isinstance(result.first, Forward)
    assert result.first.plan.first == SendToVoicemail(box_number="102")
    assert result.first.plan.trace[-1].text == (
        "forwarding loop: extension 101 is already in the chain 101 → 102 → 101; "
        "the call goes to the voicemail of 102"
    )


def test_loop_without_voicemail_ends_with_482() -> None:
    ext = away_to(to_extension("101"), voicemail={"pin": "1234", "enabled": False})
    result = plan(call(), callee(ext))
    assert result.first == EndCall(
        sip_status=SipStatus.LOOP_DETECTED, reason=EndReason.FORWARDING_LOOP
    )


def chain_of(length: int) -> dict[str, Any]:
    numbers = [str(200 + index) for index in range(length + 1)]
    return {
        number: callee(extension(number, forwarding=status("dnd", external=to_extension(after))))
        for number, after in zip(numbers, [*numbers[1:], "999"], strict=True)
    }


def depth(result: RoutingPlan) -> int:
    return 1 + depth(result.first.plan) if isinstance(result.first, Forward) else 0


def test_chain_longer_than_max_forwards_stops_at_the_limit() -> None:
    directory = chain_of(15)
    result = plan_call(call(called="200"), directory["200"], lookup_in(directory), max_forwards=10)
    assert depth(result) == 10
    last = result
    while isinstance(last.first, Forward):
        last = last.first.plan
    assert last.first == SendToVoicemail(box_number="210")
    assert last.trace[-1].text.startswith("forwarding loop: more than 10 forwards (200 → 201")


def test_a_chain_within_the_limit_reaches_its_end() -> None:
    directory = chain_of(3)
    result = plan_call(call(called="200"), directory["200"], lookup_in(directory))
    assert depth(result) == 3


def test_budget_of_nested_plans_bounds_the_tree() -> None:
    directory: dict[str, Any] = {}
    numbers = [str(300 + index) for index in range(8)]
    for number in numbers:
        others = [n for n in numbers if n != number][:3]
        routes = dict(
            zip(["no_answer", "busy", "not_registered"], map(to_extension, others), strict=True)
        )
        forwarding = {"profiles": {"available": {"external": routes}}}
        directory[number] = callee(extension(number, forwarding=forwarding))
    result = plan_call(call(called="300"), directory["300"], lookup_in(directory), max_plans=20)
    forwards = [step for step in result.steps() if isinstance(step, Forward)]
    assert len(forwards) <= 20


# --- misuse and rendering ---------------------------------------------------


def test_callee_must_be_the_called_extension() -> None:
    with pytest.raises(ValueError, match="call to 102"):
        plan(call(called="102"), callee())


def test_call_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        dataclasses.replace(call(), at=dt.datetime(2026, 12, 1, 10, 5))


def test_render_explains_trace_and_steps() -> None:
    forwarding = status("dnd", external=to_extension("103"))
    result = plan(call(), callee(extension(forwarding=forwarding)), callee(extension("103")))
    assert result.render().splitlines() == [
        "Extension 101:",
        "  ✔ status Do Not Disturb: calls forward immediately, external calls go to extension 103",
        "  Plan:",
        "    → forward to extension 103",
        "      Extension 103:",
        "        ✔ status Available: extension 103 rings for 20 s",
        "        ✔ if extension 103 does not answer within 20 s: "
        "external calls go to the voicemail of 103",
        "        ✔ if extension 103 answers busy: external calls go to the voicemail of 103",
        "        ✔ if no phone of extension 103 can be reached: "
        "external calls go to the voicemail of 103",
        "        Plan:",
        "          → ring extension 103 for 20 s",
        "            if no answer:",
        "              → voicemail of extension 103",
        "            if busy:",
        "              → voicemail of extension 103",
        "            if not reachable:",
        "              → voicemail of extension 103",
    ]


def test_re_planning_a_forward_keeps_the_chain_for_loop_protection() -> None:
    target = callee(extension("102", forwarding=status("dnd", external=to_extension("101"))))
    directory = {"101": callee(), "102": target}
    result = plan_call(call(called="102"), target, lookup_in(directory), forwarded_from=("101",))
    assert result.first == SendToVoicemail(box_number="102")
    assert result.trace[-1].rule is Rule.LOOP
