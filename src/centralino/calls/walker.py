"""Routing drives the call: one walker of routing steps per call, ringing or answered.

Theory of operation. :class:`LiveRouting` gives the pure routing engine
(:func:`centralino.routing.plan_call`) what it needs about any extension
*now*: settings and office hours and registered contacts from the
:class:`~.ports.Lookup`, calls in progress from the registry.

A :class:`Walker` walks one call's plan (SPEC §2.3), step by step. The same
steps serve a call still ringing and a call the PBX has answered (call
screening's fallback), each in its own way:

============================  =============================  ==============================
step                          ringing call                   answered call
============================  =============================  ==============================
``RingExtension``             a ring round with the          the dialer rings with the
                              caller's offer; its end        PBX's offer; an answer is
                              leads to ``on_no_answer``,     bridged at once; no answer
                              ``on_busy`` or                 leads on like a ringing call
                              ``on_not_registered``
``Forward``                   the target is planned again (its own rules apply; loops end
                              at the engine's loop rule) and its plan is walked
``SendToVoicemail``           the PBX answers, voicemail     voicemail runs on the
                              records a message              answered call
anything else                 the caller gets the step's     the PBX hangs up
                              SIP answer
============================  =============================  ==============================

A ``RingExtension`` to an extension with ``call_screening`` on (the call's
first ring) is answered by the PBX, which runs the screening application:
it asks for a ring (:meth:`Walker.screening_dial`), a bridge, or the rest
of the plan (:meth:`Walker.fallback`). The mobile is not rung yet (no
trunks). Plans are traced in :attr:`Walker.trace` so a refused call can be
explained.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from centralino.calls.admission import NOT_ACCEPTABLE, Answer, Refusal, answer_for
from centralino.calls.call import Call, CallPhase
from centralino.calls.context import Context
from centralino.calls.dialer import DialResult
from centralino.calls.forking import ForkFailure, RingOutcome
from centralino.calls.io import ContinueWith, DialDone, Explain, Inbound, LeaveMessage, ScreenCall
from centralino.calls.outside import (
    Attempts,
    CallDirection,
    OutsidePlan,
    OutsideRefusal,
    OutsideRoute,
    outside_party,
)
from centralino.calls.records import refused_record
from centralino.calls.registry import CallRegistry
from centralino.calls.ring import RingEnd
from centralino.domain.call_records import CallRecord
from centralino.domain.calls import CallEndReason
from centralino.domain.events import CallRecordCreated
from centralino.domain.extension import Extension
from centralino.routing import Call as RoutedCall
from centralino.routing import (
    Callee,
    CallOrigin,
    DialExternal,
    Forward,
    LiveState,
    RingExtension,
    RoutingPlan,
    SendToVoicemail,
    Step,
    describe_step,
    plan_call,
)
from centralino.routing.outbound import failover

__all__ = ["LiveRouting", "Walker", "after"]

_CHALLENGES = (401, 407)

_MAX_STEPS = 32
"""Steps one call may take (the routing engine's loop rules end chains sooner)."""


class LiveRouting:
    """Plans calls with what the engine knows now."""

    def __init__(self, context: Context, registry: CallRegistry[Call]) -> None:
        self._context = context
        self._registry = registry

    def callee(self, number: str) -> Callee | None:
        """Extension ``number`` as the routing engine sees it now (None: unknown)."""
        lookup = self._context.lookup
        extension = lookup.by_number(number)
        if extension is None:
            return None
        state = LiveState(
            registered_contacts=len(lookup.contacts(number)),
            calls_in_progress=self._registry.calls_in_progress(number),
        )
        return Callee(extension=extension, state=state, office_hours=lookup.schedule_for(extension))

    def plan(
        self,
        caller: Extension,
        called: str,
        forwarded_from: tuple[str, ...] = (),
        *,
        origin: CallOrigin = CallOrigin.INTERNAL,
        did: str | None = None,
    ) -> RoutingPlan | None:
        """Plan a call from ``caller`` to ``called`` now; None: no such extension.

        An external call (``origin``) has an outside caller: its number is
        the caller ID the external forwarding rules and exceptions match.
        """
        callee = self.callee(called)
        if callee is None:
            return None
        call = RoutedCall(
            caller=caller.number, called=called, origin=origin, at=self._context.wall(), did=did
        )
        names = self._context.lookup.status_names()
        return plan_call(
            call, callee, self.callee, forwarded_from=forwarded_from, status_names=names
        )


class Walker:
    """Walks the routing plan of one call (see the module docstring)."""

    def __init__(
        self,
        context: Context,
        registry: CallRegistry[Call],
        *,
        caller: Extension,
        inbound: Inbound,
        trunk: str | None = None,
        did: str | None = None,
    ) -> None:
        self._context = context
        self._registry = registry
        self._routing = LiveRouting(context, registry)
        self._caller = caller
        self._inbound = inbound
        self._trunk = trunk
        self._did = did
        self._origin = CallOrigin.EXTERNAL if trunk is not None else CallOrigin.INTERNAL
        self._chain: tuple[str, ...] = ()
        self._step: RingExtension | None = None
        self._attempts: Attempts | None = None
        self._went_outside = False
        """The outside routes not yet tried (while an outside number rings)."""
        self._steps = 0
        self._outcome = RingOutcome.NO_ANSWER
        self.call: Call | None = None
        self.trace: list[str] = []

    def summary(self) -> str:
        """The routing trace, one line (the start and the end of it when long)."""
        lines = [line.strip() for line in self.trace if line.strip()]
        if len(lines) > 8:
            lines = [*lines[:3], "...", *lines[-4:]]
        return "; ".join(lines)

    def run(self, called: Extension) -> None:
        """Plan the call to ``called`` and take its first step."""
        self._plan_and_take(called.number)

    def dial_outside(self, number: str) -> None:
        """The caller dialled ``number``, no extension: dial out.

        An extension's own restrictions apply; a call from a trunk (a DID
        whose default destination is a number) presents its outside caller.
        """
        self._chain = (self._did or number,)
        external = self._origin is CallOrigin.EXTERNAL
        self._outside(number, self._caller, direct=not external, presented=self._presented())

    def _plan_and_take(self, number: str) -> None:
        plan = self._routing.plan(
            self._caller, number, self._chain, origin=self._origin, did=self._did
        )
        if plan is None:
            self._finish(Refusal.UNKNOWN_NUMBER.value)
            return
        self._chain = (*self._chain, number)
        self.trace += [entry.text for entry in plan.trace]
        self.take(plan.first)

    # Steps ---------------------------------------------------------------------

    @property
    def _answered(self) -> bool:
        return self.call is not None and self.call.answered_by_pbx

    def take(self, step: Step) -> None:
        """Take ``step`` (as a ringing or as an answered call); nothing once the call ended."""
        if self.call is not None and self.call.phase is CallPhase.ENDED:
            return
        self._steps += 1
        if self._steps > _MAX_STEPS:
            self._finish(answer_for_loop())
            return
        self.trace.append(describe_step(step))
        match step:
            case RingExtension():
                self._ring(step)
            case Forward():
                self._plan_and_take(step.number)
            case SendToVoicemail() if self._context.settings.applications:
                self._voicemail(step)
            case DialExternal() if not self._answered:
                self._dial_external(step)
            case _:
                self._finish(answer_for(step))

    def _ring(self, step: RingExtension) -> None:
        lookup = self._context.lookup
        bindings = lookup.contacts(step.number)
        extension = lookup.by_number(step.number)
        if not bindings or extension is None:
            self.take(step.on_not_registered)
            return
        self._step = step
        if self._answered:
            assert self.call is not None
            self.call.callee = extension
            self.call.dial().ring(extension, bindings, step.seconds, self._dialled)
            return
        screened = extension.options.call_screening and extension.number != self._caller.number
        if screened and self.call is None and self._context.settings.applications:
            call = self._new_call(extension, on_ring_end=None)
            if not call.answer_locally(
                ScreenCall(callee=extension), reason=CallEndReason.NO_ANSWER
            ):
                self._finish(NOT_ACCEPTABLE)
            return
        if self.call is None:
            self._new_call(extension, on_ring_end=self._ring_ended)
        assert self.call is not None
        self.call.ring(extension, bindings, step.seconds, self._mobile(step, extension))

    def _mobile(self, step: RingExtension, extension: Extension) -> tuple[OutsideRoute, ...]:
        """The mobile rung with the phones (``ring_mobile``): the first route of its plan."""
        if not step.also_ring_mobile:
            return ()
        plan = self._context.outside.plan(
            extension, step.also_ring_mobile, presented=self._presented(), direct=False
        )
        if isinstance(plan, OutsideRefusal) or not plan.routes:
            self.trace.append(f"mobile {step.also_ring_mobile} not rung: {_why(plan)}")
            return ()
        route = plan.routes[0]
        self.trace.append(f"mobile {step.also_ring_mobile} rung over trunk {route.trunk}")
        return (route,)

    def _presented(self) -> str | None:
        """The caller ID a forwarded call presents: an outside caller's own."""
        return self._caller.number if self._origin is CallOrigin.EXTERNAL else None

    # Outside numbers -----------------------------------------------------------------

    def _dial_external(self, step: DialExternal) -> None:
        """A forwarding rule sends the call outside: the forwarding extension's rules apply."""
        lookup = self._context.lookup
        owner = (lookup.by_number(self._chain[-1]) if self._chain else None) or self._caller
        self._outside(step.number, owner, direct=False, presented=self._presented())

    def _outside(
        self, number: str, owner: Extension, *, direct: bool, presented: str | None = None
    ) -> None:
        self._went_outside = True
        plan = self._context.outside.plan(owner, number, presented=presented, direct=direct)
        self.trace += plan.trace
        if isinstance(plan, OutsideRefusal):
            self._refuse_outside(number, plan)
            return
        self._step = None
        self._attempts = Attempts(plan)
        self._next_attempt(number, None)

    def _refuse_outside(self, number: str, refusal: OutsideRefusal) -> None:
        answer = Answer(status=refusal.status, reason=refusal.reason)
        if refusal.prompt is None or not self._context.settings.applications:
            self._finish(answer)
            return
        call = self.call or self._new_call(outside_party(number), on_ring_end=None)
        self._outbound(call)
        if call.announce(refusal.prompt, refusal.status, refusal.reason):
            self._explain(answer)
        else:
            self._finish(answer)

    def _next_attempt(self, number: str, failure: ForkFailure | None) -> None:
        attempts = self._attempts
        route = attempts.take() if attempts is not None else None
        if route is None:
            status = failure.status if failure is not None else 503
            reason = (failure.reason if failure is not None else None) or "No trunk available"
            self._finish(Answer(status=status, reason=reason))
            return
        self.trace.append(f"trunk {route.trunk}: {route.number} as {route.caller_id}")
        callee = outside_party(number)
        call = self.call or self._new_call(callee, on_ring_end=self._ring_ended)
        self._outbound(call)
        call.on_ring_end = self._ring_ended
        call.ring(callee, (), None, (route,))

    def _outbound(self, call: Call) -> None:
        """A call going out: OUTBOUND unless it came in from a trunk; dialled as first dialled."""
        if call.direction is CallDirection.INTERNAL:
            call.direction = CallDirection.OUTBOUND
        if self._chain:
            call.dialled = self._chain[0]

    def _outside_ended(self, end: RingEnd) -> None:
        failure = end.failure
        if failure is not None and failure.status in _CHALLENGES:  # our credentials failed
            failure = ForkFailure(status=503, reason="Trunk authentication failed")
        if failure is None:  # nobody answered in time: the number, not the trunk
            self._finish(Answer(status=408, reason="No Answer", why=CallEndReason.NO_ANSWER))
        elif failover(failure.status):
            self.trace.append(f"trunk failed: {failure.status} {failure.reason or ''}".rstrip())
            self._next_attempt(self.call.callee.number if self.call else "", failure)
        else:
            self._finish(Answer(status=failure.status, reason=failure.reason or ""))

    def _new_call(
        self, callee: Extension, *, on_ring_end: Callable[[Call, RingEnd], None] | None
    ) -> Call:
        call = Call(
            self._context,
            self._registry,
            caller=self._caller,
            callee=callee,
            inbound=self._inbound,
            on_ring_end=on_ring_end,
        )
        self.call = call
        call.routing = self
        if self._trunk is not None:
            call.direction = CallDirection.INBOUND
            call.inbound_trunk = self._trunk
            call.did = self._did
        call.start()
        return call

    def _voicemail(self, step: SendToVoicemail) -> None:
        box = self._context.lookup.by_number(step.box_number)
        if box is None:  # pragma: no cover - planned with the box
            self._finish(answer_for(step))
            return
        application = LeaveMessage(box=box, caller=self._caller)
        call = self.call
        if call is not None and self._answered:
            call.callee = box
            call.local_reason = CallEndReason.VOICEMAIL
            self._context.emit(ContinueWith(call_id=call.id, application=application))
            return
        if call is None:
            call = self._new_call(box, on_ring_end=None)
        call.callee = box
        if not call.answer_locally(application):
            self._finish(NOT_ACCEPTABLE)

    def _ring_ended(self, call: Call, end: RingEnd) -> None:
        step = self._step
        if step is None:
            if self._attempts is not None:
                self._outside_ended(end)
            return
        if end.outcome is RingOutcome.REFUSED:
            failure = end.failure
            status = failure.status if failure else 480
            reason = failure.reason if failure else None
            self._finish(Answer(status=status, reason=reason or ""))
        else:
            self.take(after(step, end.outcome))

    def _refused(self, answer: Answer) -> CallRecord:
        """The record of a call refused before it rang anything (no Call was made)."""
        if self._trunk is not None:
            direction = CallDirection.INBOUND
        elif self._went_outside:
            direction = CallDirection.OUTBOUND
        else:
            direction = CallDirection.INTERNAL
        return refused_record(
            id=uuid.uuid4().hex,
            at=self._context.wall(),
            direction=direction,
            caller=self._caller,
            dialled=self._chain[0] if self._chain else "",
            did=self._did,
            trunk=self._trunk,
            status=answer.status,
            reason=answer.reason,
            summary=self.summary(),
        )

    def _explain(self, answer: Answer) -> None:
        self._context.emit(
            Explain(
                caller=self._caller.number,
                called=self._chain[0] if self._chain else "",
                status=answer.status,
                reason=answer.reason,
                trace=tuple(self.trace),
            )
        )

    def _finish(self, answer: Answer) -> None:
        self._explain(answer)
        call = self.call
        if call is None:
            self._context.reply(self._inbound, answer.status, answer.reason or None)
            self._context.publish(CallRecordCreated(record=self._refused(answer)))
        elif self._answered:
            self._context.emit(ContinueWith(call_id=call.id, application=None))
        else:
            call.refuse(answer.status, answer.reason or None, answer.why)

    # The answered call ------------------------------------------------------------

    def _dialled(self, result: DialResult) -> None:
        call, step = self.call, self._step
        if call is None or step is None:  # pragma: no cover - dialled from a call
            return
        if result.media is not None and call.connect():
            self._context.emit(ContinueWith(call_id=call.id, application=None, bridged=True))
            return
        self.take(after(step, result.outcome))

    def screening_dial(self) -> None:
        """Screening asks to ring the screened extension (its outcome: DialDone)."""
        call, step = self.call, self._step
        if call is None or step is None:
            return
        lookup = self._context.lookup
        extension = lookup.by_number(step.number)
        bindings = lookup.contacts(step.number)
        party = extension or call.callee

        def done(result: DialResult) -> None:
            self._outcome = result.outcome
            self._context.emit(
                DialDone(call_id=call.id, media=result.media, party=party, outcome=result.outcome)
            )

        if extension is None or not bindings:
            done(DialResult(outcome=RingOutcome.NOT_REACHABLE))
            return
        call.dial().ring(extension, bindings, step.seconds, done)

    def fallback(self) -> None:
        """The screened extension refused or missed: its rule, on the answered call."""
        step = self._step
        if step is not None and self.call is not None:
            self.take(after(step, self._outcome))  # answered, then refused: no answer


def after(step: RingExtension, outcome: RingOutcome) -> Step:
    """The step an unanswered ring leads to (busy, not reachable, else no answer)."""
    if outcome is RingOutcome.BUSY:
        return step.on_busy
    if outcome is RingOutcome.NOT_REACHABLE:
        return step.on_not_registered
    return step.on_no_answer


def answer_for_loop() -> Answer:
    """Too many steps: a loop the routing engine did not catch."""
    return Answer(status=482, reason="Loop Detected")


def _why(plan: OutsidePlan | OutsideRefusal) -> str:
    if isinstance(plan, OutsideRefusal):
        return plan.reason
    return "no trunk available"
