"""The routing engine: (call, callee, lookup) -> RoutingPlan with a trace.

Theory of operation. A plan for one extension is decided by four stages,
tried in order; the first that returns a step decides (SPEC §2.3):

1. *enabled*: a disabled extension takes no calls: 403 Forbidden.
2. *ring group*: a call from a ring group never follows the member's own
   forwarding: the member rings when its status accepts ring-group calls and
   a phone is free, otherwise it is skipped; every outcome hands the call
   back to the ring group (:class:`SkipExtension`). The member rings for its
   Available ``no_answer_seconds``; the ring group's own timer may stop it
   sooner.
3. *exceptions*: in their order, the first whose caller ID and time window
   both match sends the call to its destination.
4. *status profile*: Available checks registration (no phone -> the
   not-registered rule, no ringing) and busy (calls in progress without call
   waiting -> the busy rule), then rings for ``no_answer_seconds`` (with the
   mobile when ``ring_mobile``) and carries the no-answer, busy and
   not-registered destinations as continuations. Any other status forwards
   at once to its single destination.

Internal calls (the caller is an extension) use the ``internal``
destinations, external calls the ``external`` ones, never the other side.

A destination becomes a step: voicemail boxes are checked to exist and be
on (else 404 / 480), the mobile must be set (else 480), ``end_call`` is a
deliberate refusal: 603 Decline. Forwarding to an extension plans that
extension with its *own* rules, nested in a :class:`Forward` step. A forward
that would revisit an extension of the chain, go deeper than
``max_forwards``, or exceed the per-call budget of nested plans is a loop:
the call goes to the voicemail of the extension whose rule closed it (when
that box is on), else ends with 482 Loop Detected.

Nested plans use the live state known when the call arrives. The call engine
may plan a continuation again when it fires (``plan_call`` for the target
with a fresh state and ``forwarded_from`` = the chain so far) and should do
so for a no-answer forward, which comes seconds later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from centralino.domain import destination as dest
from centralino.domain.forwarding import ForwardProfile, Status
from centralino.routing.call import Call, Callee, CallOrigin, ExtensionLookup
from centralino.routing.plan import (
    DialExternal,
    DialReason,
    EndCall,
    EndReason,
    Forward,
    RingExtension,
    RoutingPlan,
    Rule,
    SendToVoicemail,
    SipStatus,
    SkipExtension,
    SkipReason,
    Step,
    TraceEntry,
)
from centralino.routing.rules import (
    STATUS_NAMES,
    caller_matches,
    describe_destination,
    judge_window,
)

__all__ = ["MAX_FORWARDS", "MAX_PLANS", "plan_call"]

MAX_FORWARDS = 10
"""The longest chain of forwards from the called extension."""

MAX_PLANS = 64
"""The most nested extension plans one call may build (a bound on the tree)."""


def plan_call(
    call: Call,
    callee: Callee,
    lookup: ExtensionLookup,
    *,
    forwarded_from: tuple[str, ...] = (),
    max_forwards: int = MAX_FORWARDS,
    max_plans: int = MAX_PLANS,
    status_names: Mapping[Status, str] = STATUS_NAMES,
) -> RoutingPlan:
    """Decide how a call to an extension is routed, and explain why.

    A pure function: equal inputs give equal plans.

    Args:
        call: the call (caller, origin, DID, ring group, moment).
        callee: the called extension, its live state and its schedule.
        lookup: finds any other extension a rule forwards to.
        forwarded_from: when re-planning a forward, the chain of extensions the
            call has already been forwarded through (loop protection).
        max_forwards: the longest chain of forwards before it counts as a loop.
        max_plans: the most nested extension plans one call may build.
        status_names: the display names of the statuses, for the trace.

    Returns:
        The plan: its first step, the continuations and the trace.

    Raises:
        ValueError: ``call.called`` is not the callee's number.
    """
    if call.called != callee.number:
        raise ValueError(f"call to {call.called} planned with extension {callee.number}")
    planner = _Planner(
        call=call,
        lookup=lookup,
        max_forwards=max_forwards,
        budget=max_plans,
        status_names=status_names,
    )
    return planner.plan(callee, chain=(*forwarded_from, callee.number))


@dataclass(slots=True, kw_only=True)
class _Planner:
    """The state of one ``plan_call``: the inputs and the remaining budget."""

    call: Call
    lookup: ExtensionLookup
    max_forwards: int
    budget: int
    status_names: Mapping[Status, str]

    def plan(self, callee: Callee, chain: tuple[str, ...]) -> RoutingPlan:
        frame = _Frame(planner=self, callee=callee, chain=chain)
        step = next(s for stage in _STAGES if (s := stage(frame)) is not None)
        return RoutingPlan(extension=callee.number, first=step, trace=tuple(frame.trace))


@dataclass(slots=True, kw_only=True)
class _Frame:
    """Planning one extension of the chain; collects its trace."""

    planner: _Planner
    callee: Callee
    chain: tuple[str, ...]
    trace: list[TraceEntry] = field(default_factory=list)

    @property
    def number(self) -> str:
        return self.callee.number

    @property
    def call(self) -> Call:
        return self.planner.call

    def note(self, rule: Rule, matched: bool, text: str) -> None:
        self.trace.append(TraceEntry(extension=self.number, rule=rule, matched=matched, text=text))

    def describe(self, destination: dest.Destination) -> str:
        return describe_destination(destination, self.number, self.callee.extension.mobile)

    def side(self) -> str:
        return f"{self.call.origin.value} calls"

    def profile(self) -> ForwardProfile | None:
        """The current non-available profile, or None when Available."""
        status = self.callee.extension.forwarding.status
        if status is Status.AVAILABLE:
            return None
        profile: ForwardProfile = getattr(self.callee.extension.forwarding.profiles, status.value)
        return profile

    def is_busy(self, accept_multiple_calls: bool) -> bool:
        return self.callee.state.calls_in_progress > 0 and not accept_multiple_calls


# --- stage 1: enabled -------------------------------------------------------


def _enabled(frame: _Frame) -> Step | None:
    if not frame.callee.extension.options.disabled:
        return None
    if frame.call.from_ring_group:
        frame.note(Rule.ENABLED, True, f"extension {frame.number} is disabled: it is skipped")
        return SkipExtension(number=frame.number, reason=SkipReason.EXTENSION_DISABLED)
    frame.note(Rule.ENABLED, True, f"extension {frame.number} is disabled: calls are refused")
    return EndCall(sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED)


# --- stage 2: ring group ----------------------------------------------------


def _ring_group(frame: _Frame) -> Step | None:
    if not frame.call.from_ring_group:
        return None
    forwarding = frame.callee.extension.forwarding
    profile = frame.profile() or forwarding.profiles.available
    name = frame.planner.status_names[forwarding.status]
    skip = _ring_group_skip(frame, name, profile.accept_ring_group_calls)
    if skip is not None:
        return skip
    if frame.is_busy(profile.accept_multiple_calls):
        frame.note(Rule.BUSY, True, f"extension {frame.number} busy (call waiting off): skipped")
        return SkipExtension(number=frame.number, reason=SkipReason.BUSY)
    text = f"ring-group call, status {name} accepts it: extension {frame.number} rings"
    frame.note(Rule.RING_GROUP, True, f"{text}; its own forwarding does not apply")
    _note_mobile(frame, profile.ring_mobile)
    return _ring(frame, profile.ring_mobile, _ring_group_continuations(frame.number))


def _ring_group_skip(frame: _Frame, name: str, accepts: bool) -> Step | None:
    if not accepts:
        text = f"status {name} does not accept ring-group calls: extension {frame.number}"
        frame.note(Rule.RING_GROUP, True, f"{text} is skipped")
        return SkipExtension(number=frame.number, reason=SkipReason.REFUSES_RING_GROUP_CALLS)
    if not frame.callee.state.registered:
        text = f"extension {frame.number} not registered: skipped by the ring group"
        frame.note(Rule.REGISTRATION, True, text)
        return SkipExtension(number=frame.number, reason=SkipReason.NOT_REGISTERED)
    return None


def _ring_group_continuations(number: str) -> tuple[Step, Step, Step]:
    return (
        SkipExtension(number=number, reason=SkipReason.NO_ANSWER),
        SkipExtension(number=number, reason=SkipReason.BUSY),
        SkipExtension(number=number, reason=SkipReason.NOT_REGISTERED),
    )


# --- stage 3: exceptions ----------------------------------------------------


def _exceptions(frame: _Frame) -> Step | None:
    callee, call = frame.callee, frame.call
    for index, exception in enumerate(callee.extension.forwarding.exceptions, start=1):
        rule = f"exception #{index} (caller {exception.caller_id})"
        if not caller_matches(exception.caller_id, call.caller):
            frame.note(
                Rule.EXCEPTION, False, f"{rule} did not match: caller {call.caller} does not match"
            )
            continue
        window = judge_window(exception.window, callee.office_hours, call.at)
        if not window.holds:
            text = f"{rule} did not match: caller {call.caller} matches, but {window.text}"
            frame.note(Rule.EXCEPTION, False, text)
            continue
        text = f"{rule} matched: caller {call.caller} matches, {window.text}"
        frame.note(
            Rule.EXCEPTION,
            True,
            f"{text}; the call goes to {frame.describe(exception.destination)}",
        )
        return _destination(frame, exception.destination)
    return None


# --- stage 4: status profile ------------------------------------------------


def _profile(frame: _Frame) -> Step:
    profile = frame.profile()
    if profile is None:
        return _available(frame)
    name = frame.planner.status_names[frame.callee.extension.forwarding.status]
    target = profile.internal if frame.call.origin is CallOrigin.INTERNAL else profile.external
    text = (
        f"status {name}: calls forward immediately, {frame.side()} go to {frame.describe(target)}"
    )
    frame.note(Rule.STATUS, True, text)
    return _destination(frame, target)


def _available(frame: _Frame) -> Step:
    profile = frame.callee.extension.forwarding.profiles.available
    routes = profile.internal if frame.call.origin is CallOrigin.INTERNAL else profile.external
    number, side = frame.number, frame.side()
    if not frame.callee.state.registered:
        text = f"extension {number} not registered: its not-registered rule applies, {side} go to"
        frame.note(Rule.REGISTRATION, True, f"{text} {frame.describe(routes.not_registered)}")
        return _destination(frame, routes.not_registered)
    if frame.is_busy(profile.accept_multiple_calls):
        calls = frame.callee.state.calls_in_progress
        text = f"extension {number} busy: {calls} call(s) in progress and call waiting is off;"
        frame.note(
            Rule.BUSY,
            True,
            f"{text} its busy rule applies, {side} go to {frame.describe(routes.busy)}",
        )
        return _destination(frame, routes.busy)
    seconds = profile.no_answer_seconds
    frame.note(Rule.STATUS, True, f"status Available: extension {number} rings for {seconds} s")
    _note_mobile(frame, profile.ring_mobile)
    outcomes = (
        (f"if extension {number} does not answer within {seconds} s", routes.no_answer),
        (f"if extension {number} answers busy", routes.busy),
        (f"if no phone of extension {number} can be reached", routes.not_registered),
    )
    steps = [_continuation(frame, label, target) for label, target in outcomes]
    return _ring(frame, profile.ring_mobile, (steps[0], steps[1], steps[2]))


def _continuation(frame: _Frame, label: str, target: dest.Destination) -> Step:
    frame.note(Rule.NO_ANSWER, True, f"{label}: {frame.side()} go to {frame.describe(target)}")
    return _destination(frame, target)


def _ring(frame: _Frame, ring_mobile: bool, then: tuple[Step, Step, Step]) -> RingExtension:
    mobile = frame.callee.extension.mobile if ring_mobile else None
    seconds = frame.callee.extension.forwarding.profiles.available.no_answer_seconds
    no_answer, busy, not_registered = then
    return RingExtension(
        number=frame.number,
        seconds=seconds,
        also_ring_mobile=mobile,
        on_no_answer=no_answer,
        on_busy=busy,
        on_not_registered=not_registered,
    )


def _note_mobile(frame: _Frame, ring_mobile: bool) -> None:
    if ring_mobile:
        mobile = frame.callee.extension.mobile
        said = f"mobile {mobile} rings at the same time" if mobile else "no mobile is set to ring"
        frame.note(Rule.STATUS, mobile is not None, f"ring the mobile is on: {said}")


_STAGES: tuple[Callable[[_Frame], Step | None], ...] = (
    _enabled,
    _ring_group,
    _exceptions,
    _profile,
)


# --- destinations -----------------------------------------------------------


def _destination(frame: _Frame, target: dest.Destination) -> Step:
    return _DESTINATIONS[type(target)](frame, target)


def _own_voicemail(frame: _Frame, target: dest.Destination) -> Step:
    return _voicemail_box(frame, frame.callee)


def _other_voicemail(frame: _Frame, target: dest.Destination) -> Step:
    assert isinstance(target, dest.ExtensionVoicemail)
    box = frame.planner.lookup(target.number)
    if box is None:
        return _unknown(frame, target.number)
    return _voicemail_box(frame, box)


def _voicemail_box(frame: _Frame, box: Callee) -> Step:
    if box.extension.options.disabled:
        text = f"extension {box.number} is disabled: its voicemail takes no calls (403)"
        frame.note(Rule.DESTINATION, False, text)
        return EndCall(sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED)
    if not box.extension.voicemail.enabled:
        text = f"the voicemail of {box.number} is off: the call ends (480)"
        frame.note(Rule.DESTINATION, False, text)
        return EndCall(sip_status=SipStatus.TEMPORARILY_UNAVAILABLE, reason=EndReason.VOICEMAIL_OFF)
    return SendToVoicemail(box_number=box.number)


def _mobile(frame: _Frame, target: dest.Destination) -> Step:
    mobile = frame.callee.extension.mobile
    if mobile is None:
        text = f"extension {frame.number} has no mobile number: the call ends (480)"
        frame.note(Rule.DESTINATION, False, text)
        return EndCall(sip_status=SipStatus.TEMPORARILY_UNAVAILABLE, reason=EndReason.NO_MOBILE)
    return DialExternal(number=mobile, reason=DialReason.MOBILE)


def _number(frame: _Frame, target: dest.Destination) -> Step:
    assert isinstance(target, dest.ExternalNumber)
    return DialExternal(number=target.number, reason=DialReason.NUMBER)


def _end(frame: _Frame, target: dest.Destination) -> Step:
    return EndCall(sip_status=SipStatus.DECLINE, reason=EndReason.END_CALL_RULE)


def _unknown(frame: _Frame, number: str) -> Step:
    frame.note(Rule.DESTINATION, False, f"extension {number} does not exist: the call ends (404)")
    return EndCall(sip_status=SipStatus.NOT_FOUND, reason=EndReason.UNKNOWN_EXTENSION)


def _forward(frame: _Frame, target: dest.Destination) -> Step:
    assert isinstance(target, dest.ExtensionDestination)
    number, planner = target.number, frame.planner
    loop = _loop_reason(frame, number)
    if loop is not None:
        return _loop_fallback(frame, loop)
    callee = planner.lookup(number)
    if callee is None:
        return _unknown(frame, number)
    planner.budget -= 1
    return Forward(number=number, plan=planner.plan(callee, chain=(*frame.chain, number)))


def _loop_reason(frame: _Frame, number: str) -> str | None:
    chain = " → ".join((*frame.chain, number))
    if number in frame.chain:
        return f"extension {number} is already in the chain {chain}"
    if len(frame.chain) > frame.planner.max_forwards:
        return f"more than {frame.planner.max_forwards} forwards ({chain})"
    if frame.planner.budget <= 0:
        return f"too many forwarding branches for one call ({chain})"
    return None


def _loop_fallback(frame: _Frame, why: str) -> Step:
    extension = frame.callee.extension
    if extension.voicemail.enabled:
        text = f"forwarding loop: {why}; the call goes to the voicemail of {frame.number}"
        frame.note(Rule.LOOP, True, text)
        return SendToVoicemail(box_number=frame.number)
    frame.note(Rule.LOOP, True, f"forwarding loop: {why}; the call ends (482)")
    return EndCall(sip_status=SipStatus.LOOP_DETECTED, reason=EndReason.FORWARDING_LOOP)


_DESTINATIONS: dict[type, Callable[[_Frame, dest.Destination], Step]] = {
    dest.Voicemail: _own_voicemail,
    dest.ExtensionVoicemail: _other_voicemail,
    dest.Mobile: _mobile,
    dest.ExtensionDestination: _forward,
    dest.ExternalNumber: _number,
    dest.EndCall: _end,
}
