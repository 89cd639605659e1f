"""Routing drives the call: live state for the engine, and a driver per call.

Theory of operation. :class:`LiveRouting` gives the pure routing engine
(:func:`centralino.routing.plan_call`) what it needs about any extension
*now*: its settings and office hours from the directory, its registered
contacts from the registrar, its calls in progress from the call registry.

A :class:`PlanRunner` walks one call's plan (SPEC §2.3), step by step:

* ``RingExtension``: no reachable contact -> ``on_not_registered``;
  otherwise ring every contact for ``seconds`` (the first ring creates the
  :class:`~.call.Call`, later ones are new ring rounds on the same caller
  leg). When the round ends unanswered, the no-answer timer leads to
  ``on_no_answer``, a busy answer (486, 6xx) to ``on_busy``, no phone
  taking the INVITE (408, 480, 5xx) to ``on_not_registered``; any other
  error is relayed to the caller as it is. The mobile is not rung yet (no
  trunks): a log line says so.
* ``Forward``: the target is planned again with fresh live state and the
  chain so far as ``forwarded_from`` (its own rules apply; loops end at the
  engine's loop rule), and its plan is walked.
* ``RingExtension`` of an extension with ``call_screening`` on (first ring
  of the call): the PBX answers the caller and the screening application
  runs (:mod:`centralino.telephony.apps.screening`), with a
  :class:`_Screening` to ring the extension, bridge, or continue the plan
  on the caller's answered leg (:meth:`_Screening.fallback`: voicemail,
  another extension rung and bridged, or a hang-up).
* ``SendToVoicemail``: the PBX answers the caller itself and the
  voicemail application records a message in that box (the call is
  created first when no phone rang); without applications (or when the
  caller's offer has no audio in common) the call ends 480 / 488.
* every other step ends the call with the answer of
  :func:`~.admission.answer_for` and a log line.

The plan of the called extension is logged with its trace, so a refused
call can be explained from the log alone.
"""

from __future__ import annotations

import structlog

from centralino.domain.calls import CallEndReason
from centralino.domain.extension import Extension
from centralino.domain.ports import Clock
from centralino.routing import (
    Call as RoutedCall,
)
from centralino.routing import (
    Callee,
    CallOrigin,
    Forward,
    LiveState,
    RingExtension,
    RoutingPlan,
    SendToVoicemail,
    Step,
    describe_step,
    plan_call,
)
from centralino.telephony.apps.channel import Channel
from centralino.telephony.calls.admission import (
    NOT_ACCEPTABLE,
    Answer,
    Refusal,
    answer_for,
)
from centralino.telephony.calls.call import Call, CallServices, RingEnd
from centralino.telephony.calls.dialer import DialResult
from centralino.telephony.calls.forking import RingOutcome
from centralino.telephony.calls.ports import ExtensionDirectory, Locations
from centralino.telephony.calls.registry import CallRegistry
from centralino.telephony.sip_server import IncomingRequest

__all__ = ["LiveRouting", "PlanRunner"]

log = structlog.get_logger("centralino.calls")


class LiveRouting:
    """Plans calls with what the engine knows now."""

    def __init__(
        self,
        directory: ExtensionDirectory,
        locations: Locations,
        registry: CallRegistry,
        clock: Clock,
    ) -> None:
        self.directory = directory
        self.locations = locations
        self.registry = registry
        self.clock = clock

    def callee(self, number: str) -> Callee | None:
        """Extension ``number`` as the routing engine sees it now (None: unknown)."""
        extension = self.directory.by_number(number)
        if extension is None:
            return None
        state = LiveState(
            registered_contacts=len(self.locations.contacts(number)),
            calls_in_progress=self.registry.calls_in_progress(number),
        )
        return Callee(
            extension=extension, state=state, office_hours=self.directory.schedule_for(extension)
        )

    def new_call(self, caller: Extension, called: str) -> RoutedCall:
        """An internal call from ``caller`` to ``called``, at this moment."""
        return RoutedCall(
            caller=caller.number, called=called, origin=CallOrigin.INTERNAL, at=self.clock.now()
        )

    def plan(self, call: RoutedCall, forwarded_from: tuple[str, ...] = ()) -> RoutingPlan | None:
        """Plan ``call`` now; None when the called extension no longer exists."""
        callee = self.callee(call.called)
        if callee is None:
            return None
        names = self.directory.settings.presence.names()
        return plan_call(
            call, callee, self.callee, forwarded_from=forwarded_from, status_names=names
        )


class PlanRunner:
    """Walks the routing plan of one call (see the module docstring)."""

    def __init__(
        self,
        services: CallServices,
        routing: LiveRouting,
        *,
        caller: Extension,
        incoming: IncomingRequest,
    ) -> None:
        self._services = services
        self._routing = routing
        self._caller = caller
        self._incoming = incoming
        self._chain: tuple[str, ...] = ()
        self._ringing: RingExtension | None = None
        self.call: Call | None = None

    def run(self, called: Extension) -> None:
        """Plan the call to ``called`` and take its first step."""
        routed = self._routing.new_call(self._caller, called.number)
        plan = self._routing.plan(routed)
        if plan is None:
            self._finish(Refusal.UNKNOWN_NUMBER.value)
            return
        self._chain = (called.number,)
        _log_plan(self._caller.number, plan)
        self._take(plan.first)

    # Steps ---------------------------------------------------------------------

    def _take(self, step: Step) -> None:
        match step:
            case RingExtension():
                self._ring(step)
            case Forward():
                self._forward(step.number)
            case SendToVoicemail() if self._services.applications is not None:
                self._voicemail(step)
            case _:
                self._end(step)

    def _ring(self, step: RingExtension) -> None:
        bindings = self._routing.locations.contacts(step.number)
        extension = self._routing.directory.by_number(step.number)
        if not bindings or extension is None:
            log.info("routing: no phone reachable", number=step.number)
            self._take(step.on_not_registered)
            return
        if step.also_ring_mobile:
            log.info("routing: mobile not rung, no trunk yet", mobile=step.also_ring_mobile)
        applications = self._services.applications
        screened = extension.options.call_screening and extension.number != self._caller.number
        if screened and self.call is None and applications is not None:
            self.call = Call(
                self._services, caller=self._caller, callee=extension, incoming=self._incoming
            )
            self.call.start()
            screening = _Screening(self, self.call, step)
            log.info("routing: call screening", call=self.call.id, number=step.number)
            application = applications.screen_call(screening)
            if not self.call.answer_locally(application, reason=CallEndReason.NO_ANSWER):
                self._finish(NOT_ACCEPTABLE)
            return
        self._ringing = step
        if self.call is None:
            self.call = Call(
                self._services,
                caller=self._caller,
                callee=extension,
                incoming=self._incoming,
                on_ring_end=self._ring_ended,
            )
            log.info("call", call=self.call.id, caller=self._caller.number, callee=step.number)
            self.call.start(bindings, step.seconds)
        else:
            log.info("routing: ringing", call=self.call.id, number=step.number)
            self.call.ring(extension, bindings, step.seconds)

    def _voicemail(self, step: SendToVoicemail) -> None:
        applications = self._services.applications
        box = self._routing.directory.by_number(step.box_number)
        if applications is None or box is None:  # pragma: no cover - planned with both
            self._end(step)
            return
        call = self.call
        if call is None:
            call = self.call = Call(
                self._services, caller=self._caller, callee=box, incoming=self._incoming
            )
            call.start()
        call.callee = box
        log.info("routing: voicemail", call=call.id, box=box.number, caller=self._caller.number)
        if not call.answer_locally(applications.leave_message(box, self._caller)):
            self._finish(NOT_ACCEPTABLE)

    def _ring_ended(self, call: Call, end: RingEnd) -> None:
        step = self._ringing
        if step is None:  # pragma: no cover - a round always has its step
            return
        log.info("routing: ring ended", call=call.id, number=step.number, outcome=end.outcome.name)
        if end.outcome is RingOutcome.REFUSED:
            failure = end.failure
            status = failure.status if failure else 480
            reason = failure.reason if failure else None
            self._finish(Answer(status=status, reason=reason or ""))
        else:
            self._take(_after(step, end.outcome))

    def _forward(self, number: str) -> None:
        routed = self._routing.new_call(self._caller, number)
        plan = self._routing.plan(routed, forwarded_from=self._chain)
        if plan is None:
            self._finish(Refusal.UNKNOWN_NUMBER.value)
            return
        log.info("routing: forward", chain=" → ".join((*self._chain, number)))
        self._chain = (*self._chain, number)
        _log_plan(self._caller.number, plan)
        self._take(plan.first)

    def _end(self, step: Step) -> None:
        answer = answer_for(step)
        log.info(
            "routing: call ends",
            caller=self._caller.number,
            step=describe_step(step),
            status=answer.status,
            reason=answer.reason,
        )
        self._finish(answer)

    def _finish(self, answer: Answer) -> None:
        if self.call is None:
            self._incoming.respond(answer.status, answer.reason or None)
            return
        self.call.refuse(answer.status, answer.reason or None, answer.why)


class _Screening:
    """The screening application's hold on the call and on the rest of the plan."""

    def __init__(self, runner: PlanRunner, call: Call, step: RingExtension) -> None:
        self._runner = runner
        self._call = call
        self._step = step
        self._answered: DialResult | None = None

    async def ring(self) -> Channel | None:
        """Ring the screened extension's phones for its no-answer time."""
        result = await self._dial(self._step)
        if result.channel is None:
            return None
        self._answered = result
        return result.channel

    async def _dial(self, step: RingExtension) -> DialResult:
        routing = self._runner._routing
        extension = routing.directory.by_number(step.number)
        bindings = routing.locations.contacts(step.number)
        if extension is None or not bindings:
            return DialResult(outcome=RingOutcome.NOT_REACHABLE)
        return await self._call.dial().ring(extension, bindings, step.seconds)

    def connect(self) -> None:
        """Bridge the caller and the phone that accepted."""
        dialer = self._call.dialer
        if dialer is not None and dialer.answered is not None:
            self._call.connect(dialer.answered)

    async def fallback(self, channel: Channel) -> None:
        """The extension refused or did not answer: its no-answer rule, on the answered call."""
        outcome = self._answered.outcome if self._answered else RingOutcome.NO_ANSWER
        step = self._step
        await self._follow(_after(step, outcome), channel)

    async def _follow(self, step: Step, channel: Channel) -> None:
        runner = self._runner
        for _ in range(16):  # the routing engine's own loop rules end chains sooner
            match step:
                case SendToVoicemail():
                    applications = runner._services.applications
                    box = runner._routing.directory.by_number(step.box_number)
                    if applications is None or box is None:
                        break
                    self._call.callee = box
                    self._call.local_reason = CallEndReason.VOICEMAIL
                    await applications.leave_message(box, runner._caller)(channel)
                    return
                case RingExtension():
                    result = await self._dial(step)
                    if result.channel is not None and self._call.dialer is not None:
                        answered = self._call.dialer.answered
                        if answered is not None:
                            self._call.connect(answered)
                            return
                    step = _after(step, result.outcome)
                case Forward():
                    routed = runner._routing.new_call(runner._caller, step.number)
                    plan = runner._routing.plan(routed, forwarded_from=runner._chain)
                    if plan is None:
                        break
                    runner._chain = (*runner._chain, step.number)
                    step = plan.first
                case _:
                    break
        await channel.hang_up()


def _after(step: RingExtension, outcome: RingOutcome) -> Step:
    """The step an unanswered ring leads to (busy, not reachable, else no answer)."""
    if outcome is RingOutcome.BUSY:
        return step.on_busy
    if outcome is RingOutcome.NOT_REACHABLE:
        return step.on_not_registered
    return step.on_no_answer


def _log_plan(caller: str, plan: RoutingPlan) -> None:
    trace = [entry.text for entry in plan.trace]
    log.info("routing plan", caller=caller, extension=plan.extension, trace=trace)
