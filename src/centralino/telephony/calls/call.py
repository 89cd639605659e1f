"""A call from an extension: the caller's leg, the forks, and its state.

Theory of operation. A :class:`Call` is made once the caller is
authenticated and its routing plan says to ring a phone. :meth:`Call.start`
registers it and arms the *setup timer* (``ring_timeout``: the longest a
caller waits for an answer, across forwards). :meth:`Call.ring` forks the
INVITE to every registered contact of one extension (one
:class:`CalleeLeg` each) for a number of seconds: a *ring round*. The
routing driver (:mod:`.plan_runner`) may start another round towards
another extension when one ends unanswered; the caller keeps its one leg.
Each fork's responses come back to :meth:`Call._on_outcome`:

* a 1xx of the current round is relayed to the caller (with its SDP, early
  media) while ringing;
* the first 2xx of the current round wins: the other forks are cancelled,
  the 2xx is relayed to the caller and retransmitted until the caller's ACK,
  which is relayed to the winner (end-to-end ACK, so a delayed offer's
  answer reaches it); a later 2xx (another fork, or a fork of an earlier
  round) is acknowledged and hung up at once;
* a final error ends the fork; when every fork of the round has failed (a
  6xx at once), or the round's no-answer timer fires, the round is over and
  its :class:`RingEnd` (no answer, busy, not reachable, refused: see
  :func:`~.forking.classify`) goes to the routing driver, which rings
  elsewhere or ends the call with :meth:`Call.refuse`.

The caller's CANCEL cancels every fork and answers 487; the setup timer
answers 408. Instead of a fork, the PBX may answer the caller itself
(:meth:`Call.answer_locally`: voicemail, the voicemail menu); the
application then runs over the caller's leg (:mod:`.local`) and the call
no longer counts as one of the callee's calls in progress. After the
answer, in-dialog requests are handled by :mod:`.in_dialog`. Whatever the
path, :meth:`Call.end` runs once: timers stopped, the SDP policy released,
the registry cleaned, ENDED published.

The phases and their moves, as a table (anything else is ignored):

============  =====================================  ============
from          event                                  to
============  =====================================  ============
RINGING       a fork of the round answers            ANSWERED
RINGING       a round ends: the driver rings again   RINGING
RINGING       CANCEL, setup timeout, driver refuses  ENDED
ANSWERED      the caller's ACK                       CONNECTED
ANSWERED      no ACK within 64*T1, BYE               ENDED
CONNECTED     BYE from either side                   ENDED
============  =====================================  ============
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from centralino.domain.calls import CallEndReason, CallState, LiveCall
from centralino.domain.events import CallStateChanged
from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.domain.ports import Clock, EventBus
from centralino.net.transport import Peer, TransportKind
from centralino.sip.address import NameAddress
from centralino.sip.codes import StatusCode
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response
from centralino.sip.uri import Uri
from centralino.telephony.calls.dialer import Dialer
from centralino.telephony.calls.forking import (
    ANSWERED_ELSEWHERE,
    ForkFailure,
    RingOutcome,
    best_failure,
    classify,
)
from centralino.telephony.calls.legs import AwaitedAck, CalleeLeg, CallerLeg, Leg, LegState
from centralino.telephony.calls.local import CallChannel, run_application
from centralino.telephony.calls.media import Direction, LocalAnswer, SdpPolicy
from centralino.telephony.calls.messages import contact_of, extension_address, outbound_invite
from centralino.telephony.calls.ports import (
    Application,
    Applications,
    Cancellable,
    Scheduler,
    Signaling,
)
from centralino.telephony.calls.registry import CallRegistry, DialogKey, InviteKey, Side
from centralino.telephony.calls.retransmit import Retransmitter
from centralino.telephony.sip_server import ClientOutcome, IncomingRequest, new_tag

__all__ = ["ANSWERED_ELSEWHERE", "Call", "CallPhase", "CallServices", "RingEnd", "RingEndHandler"]

log = structlog.get_logger("centralino.calls")


class CallPhase(enum.Enum):
    """Where a call stands (see the table in the module docstring)."""

    RINGING = enum.auto()
    ANSWERED = enum.auto()
    CONNECTED = enum.auto()
    ENDED = enum.auto()


_PUBLIC_STATE = {
    CallPhase.RINGING: CallState.RINGING,
    CallPhase.ANSWERED: CallState.ANSWERED,
    CallPhase.CONNECTED: CallState.ANSWERED,
    CallPhase.ENDED: CallState.ENDED,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RingEnd:
    """How a ring round ended without an answer (``failure``: the best fork error)."""

    outcome: RingOutcome
    failure: ForkFailure | None = None


RingEndHandler = Callable[["Call", RingEnd], None]
"""Decides what follows an unanswered ring round: ring again, or refuse."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallServices:
    """What every call uses: signalling, timers, media policy, registry, events."""

    signaling: Signaling
    schedule: Scheduler
    sdp: SdpPolicy
    registry: CallRegistry
    events: EventBus
    clock: Clock
    ring_timeout: float = 180.0
    """The longest a caller waits for an answer, across forwards (then 408)."""
    applications: Applications | None = None
    """Voicemail and the other PBX applications; None: none (voicemail answers 480)."""


class Call:
    """One call: the caller's leg, the callee's forks, the phase."""

    def __init__(
        self,
        services: CallServices,
        *,
        caller: Extension,
        callee: Extension,
        incoming: IncomingRequest,
        on_ring_end: RingEndHandler | None = None,
    ) -> None:
        self.services = services
        self.id = uuid.uuid4().hex
        self.caller = caller
        self.callee = callee
        self.parties: tuple[str, ...] = (caller.number, callee.number)
        self.phase = CallPhase.RINGING
        self.started_at = services.clock.now()
        self.answered_at: dt.datetime | None = None
        contact = self._contact(incoming.peer, callee.number)
        self.caller_leg = CallerLeg(incoming=incoming, tag=new_tag(), contact=contact)
        self.forks: list[CalleeLeg] = []
        self.round: list[CalleeLeg] = []
        self.failures: list[ForkFailure] = []
        self.winner: CalleeLeg | None = None
        self.reinvite_pending = False
        self._on_ring_end = on_ring_end
        self._ring_timer: Cancellable | None = None
        self._setup_timer: Cancellable | None = None
        self._invite_key = _invite_key(incoming)
        self.local: LocalAnswer | None = None
        self.local_reason: CallEndReason | None = None
        self.dialer: Dialer | None = None

    # Views --------------------------------------------------------------------

    def snapshot(self) -> LiveCall:
        """The call as the management side sees it."""
        return LiveCall(
            id=self.id,
            caller=self.caller.number,
            callee=self.callee.number,
            state=_PUBLIC_STATE[self.phase],
            started_at=self.started_at,
            answered_at=self.answered_at,
        )

    def leg(self, side: Side) -> Leg | None:
        """The leg facing ``side`` (the callee's: the one that answered)."""
        if side is Side.CALLER:
            return self.caller_leg
        if self.winner is None and self.dialer is not None:
            return self.dialer.answered  # screening: the callee before the bridge
        return self.winner

    def other(self, side: Side) -> Leg | None:
        """The leg facing the other party."""
        return self.leg(Side.CALLEE if side is Side.CALLER else Side.CALLER)

    # Setup --------------------------------------------------------------------

    def start(self, bindings: Sequence[Binding] = (), seconds: float | None = None) -> None:
        """Register the call, arm the setup timer, and ring ``bindings`` (if any)."""
        registry = self.services.registry
        registry.add(self, self._invite_key)
        a_leg = self.caller_leg
        registry.index(self, DialogKey(a_leg.invite.headers.call_id(), a_leg.tag), Side.CALLER)
        self._publish()
        self._setup_timer = self.services.schedule(self.services.ring_timeout, self._setup_expired)
        if bindings:
            self.ring(self.callee, bindings, seconds)

    def ring(self, callee: Extension, bindings: Sequence[Binding], seconds: float | None) -> None:
        """Start a ring round: fork to ``callee``'s ``bindings`` for ``seconds``.

        Args:
            callee: the extension rung now (a forward changes it).
            bindings: its registered contacts (at least one).
            seconds: the no-answer timer of the round; None rings until the
                setup timer.
        """
        if self.phase is not CallPhase.RINGING:
            return
        self.callee = callee
        self.parties = (self.caller.number, callee.number)
        self.round, self.failures = [], []
        if seconds is not None:
            self._ring_timer = self.services.schedule(seconds, self._round_unanswered)
        for binding in bindings:
            self._fork(binding)

    def _fork(self, binding: Binding) -> None:
        offer = self.caller_leg.invite.body
        body = self.services.sdp.relay(self.id, Direction.TO_CALLEE, offer, to=binding.host)
        self.round.append(self.fork(self.callee, binding, body, self._on_outcome))

    def fork(
        self,
        callee: Extension,
        binding: Binding,
        body: bytes,
        on_outcome: Callable[[CalleeLeg, ClientOutcome], None],
    ) -> CalleeLeg:
        """INVITE ``binding`` of ``callee`` with ``body``: a new leg of this call.

        The leg is one of the call's forks (stopped at its end) and indexed
        for its in-dialog requests; its responses go to ``on_outcome``.
        """
        signaling = self.services.signaling
        peer = Peer(TransportKind(binding.transport), binding.host, binding.port)
        host = signaling.advertised_host_for(peer.host)
        request = outbound_invite(
            self.caller_leg.invite,
            target=Uri.parse(binding.contact),
            via=Via.parse(signaling.via(peer.kind, to=peer.host)),
            from_address=extension_address(self.caller, host).with_tag(new_tag()),
            to_address=extension_address(callee, host),
            call_id=f"{uuid.uuid4().hex}@{host}",
            contact=self._contact(peer, self.caller.number),
            body=body,
        )
        leg = CalleeLeg(invite=request, peer=peer, contact=self._contact(peer, "pbx"))
        self.forks.append(leg)
        self.services.registry.index(self, DialogKey(leg.call_id, leg.tag), Side.CALLEE)
        leg.start(signaling, lambda outcome: on_outcome(leg, outcome))
        return leg

    def _contact(self, peer: Peer, user: str) -> NameAddress:
        signaling = self.services.signaling
        host = signaling.advertised_host_for(peer.host)
        return contact_of(host, signaling.local_port(peer.kind), peer.kind, user)

    # Fork responses -------------------------------------------------------------

    def _on_outcome(self, leg: CalleeLeg, outcome: ClientOutcome) -> None:
        response = outcome.response
        if response is None:
            status = StatusCode.REQUEST_TIMEOUT if outcome.timed_out else 503
            self._fork_failed(leg, ForkFailure(status=status))
        elif response.is_provisional:
            self._on_provisional(leg, response)
        elif response.is_success:
            self._on_success(leg, response)
        else:
            failure = ForkFailure(status=response.status, reason=response.reason)
            self._fork_failed(leg, failure)

    def _on_provisional(self, leg: CalleeLeg, response: Response) -> None:
        leg.provisional(self.services.signaling, response)
        current = self.phase is CallPhase.RINGING and leg in self.round
        if current and response.status > StatusCode.TRYING:
            self.caller_leg.relay(response, self._to_caller(response.body))

    def _on_success(self, leg: CalleeLeg, response: Response) -> None:
        if leg is self.winner:
            leg.resend_ack(self.services.signaling)  # the phone resent its 2xx
        elif self.phase is CallPhase.RINGING and leg in self.round:
            self._answer(leg, response)
        else:
            self.hang_up_late(leg, response)

    def _answer(self, leg: CalleeLeg, response: Response) -> None:
        self.winner = leg
        leg.answered(response)
        self._stop_ringing(ANSWERED_ELSEWHERE)
        self._cancel_timers()
        self.phase = CallPhase.ANSWERED
        self.answered_at = self.services.clock.now()
        relayed = self.caller_leg.relay(response, self._to_caller(response.body))
        self.services.registry.forget_invite(self, self._invite_key)
        self.expect_ack(self.caller_leg, self.caller_leg.incoming, relayed, self._caller_acked)
        self._publish()

    def hang_up_late(self, leg: CalleeLeg, response: Response) -> None:
        """A second fork answered (or one answered after the end): ACK, then BYE."""
        leg.answered(response)
        leg.acknowledge(self.services.signaling, leg.invite)
        leg.send_in_dialog(self.services.signaling, "BYE")
        leg.failed()

    def _fork_failed(self, leg: CalleeLeg, failure: ForkFailure) -> None:
        leg.failed()
        if self.phase is not CallPhase.RINGING or leg not in self.round:
            return
        self.failures.append(failure)
        if failure.status >= StatusCode.BUSY_EVERYWHERE:
            self._stop_ringing()  # a 6xx speaks for every phone (RFC 3261 §16.7)
            chosen = failure
        elif any(_ringing(fork) for fork in self.round):
            return
        else:
            chosen = best_failure(self.failures)
        self._round_over(RingEnd(outcome=classify(chosen), failure=chosen))

    def _round_unanswered(self) -> None:
        self._ring_timer = None
        if self.phase is CallPhase.RINGING:
            self._stop_ringing()
            self._round_over(RingEnd(outcome=RingOutcome.NO_ANSWER))

    def _round_over(self, end: RingEnd) -> None:
        self._cancel_ring_timer()
        self.round = []
        if self._on_ring_end is not None:
            self._on_ring_end(self, end)
        elif end.failure is not None:
            failure = end.failure
            self.refuse(failure.status, failure.reason or None, CallEndReason.REJECTED)
        else:
            self.refuse(StatusCode.REQUEST_TIMEOUT, "No Answer", CallEndReason.NO_ANSWER)

    # The PBX answers ----------------------------------------------------------------

    def answer_locally(
        self, application: Application, *, reason: CallEndReason = CallEndReason.VOICEMAIL
    ) -> bool:
        """Answer the caller with the PBX's own media and run ``application`` on it.

        Args:
            application: what talks to the caller (from the ACK on).
            reason: the end reason published when the call ends.

        Returns:
            False when the caller's offer cannot be answered (no common audio,
            no media anchoring, no free port): the caller is still waiting.
        """
        if self.phase is not CallPhase.RINGING:
            return False
        caller = self.caller_leg
        local = self.services.sdp.answer_locally(self.id, caller.invite.body, to=caller.peer.host)
        if local is None:
            return False
        self._stop_ringing()
        self._cancel_timers()
        self.local, self.local_reason = local, reason
        self.phase = CallPhase.ANSWERED
        self.answered_at = self.services.clock.now()
        self.parties = (self.caller.number,)
        response = self.caller_leg.answer(local.body)
        self.services.registry.forget_invite(self, self._invite_key)
        channel = CallChannel(self, local.media, self._application_hangs_up)

        delayed = not self.caller_leg.invite.body.strip()

        def acked(ack: Request) -> None:
            if self.phase is not CallPhase.ANSWERED:
                return
            if delayed and not self.services.sdp.answer_in_ack(self.id, ack.body):
                log.info("no usable answer in the ACK to our offer: hanging up", call=self.id)
                self._application_hangs_up()
                return
            self.phase = CallPhase.CONNECTED
            run_application(application, channel, self._application_hangs_up)

        self.expect_ack(self.caller_leg, self.caller_leg.incoming, response, acked)
        return True

    def dial(self) -> Dialer:
        """Ring extensions for this PBX-answered call (call screening)."""
        if self.dialer is None:
            self.dialer = Dialer(self)
        return self.dialer

    def connect(self, leg: CalleeLeg) -> None:
        """Bridge the caller to ``leg``, answered through :meth:`dial` (screening accepted)."""
        if self.phase is not CallPhase.CONNECTED or leg.state is not LegState.ANSWERED:
            return
        self.winner = leg
        self.local_reason = None
        self.parties = (self.caller.number, self.callee.number)
        self.services.sdp.bridge(self.id)
        self._publish()

    def _application_hangs_up(self) -> None:
        if self.winner is not None:
            return  # the application bridged the call: the parties hang up
        if self.phase in (CallPhase.ANSWERED, CallPhase.CONNECTED):
            self.caller_leg.send_in_dialog(self.services.signaling, "BYE")
            self.end(self.local_reason or CallEndReason.CALLEE_HUNG_UP)

    # Caller side of the setup -----------------------------------------------------

    def cancel(self) -> None:
        """The caller sent CANCEL (or BYE) while ringing."""
        if self.phase is CallPhase.RINGING:
            self._stop_ringing()
            self.refuse(StatusCode.REQUEST_TERMINATED, None, CallEndReason.CANCELLED)

    def _setup_expired(self) -> None:
        self._setup_timer = None
        if self.phase is CallPhase.RINGING:
            self._stop_ringing()
            self.refuse(StatusCode.REQUEST_TIMEOUT, "No Answer", CallEndReason.NO_ANSWER)

    def refuse(self, status: int, reason: str | None, why: CallEndReason) -> None:
        """Answer the caller with a final error and end the call."""
        self.caller_leg.reject(status, reason)
        self.end(why, status)

    def _cancel_ring_timer(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_ring_timer()
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None

    def _stop_ringing(self, reason: str | None = None) -> None:
        self._cancel_ring_timer()
        for fork in self.forks:
            if fork is not self.winner:
                fork.cancel(self.services.signaling, reason)

    def _caller_acked(self, ack: Request) -> None:
        if self.winner is None or self.phase is not CallPhase.ANSWERED:
            return
        self.phase = CallPhase.CONNECTED
        to = self.winner.peer.host
        body = self.services.sdp.relay(self.id, Direction.TO_CALLEE, ack.body, to=to)
        self.winner.acknowledge(self.services.signaling, self.winner.invite, body)

    # Shared with in-dialog handling --------------------------------------------------

    def expect_ack(
        self,
        leg: Leg,
        incoming: IncomingRequest,
        response: Response,
        then: Callable[[Request], None],
    ) -> None:
        """We sent 2xx ``response`` to ``incoming`` on ``leg``: resend it until its ACK.

        Args:
            leg: the leg the INVITE came in on.
            incoming: the INVITE (its server transaction carries the resends).
            response: our 2xx.
            then: what to do with the ACK when it comes.
        """
        retransmitter = Retransmitter(
            self.services.schedule,
            lambda: incoming.send_response(response),
            lambda: self._ack_missing(leg),
            reliable=leg.peer.kind.reliable,
        )
        cseq = response.headers.cseq().number
        leg.await_ack(AwaitedAck(cseq=cseq, then=then, retransmitter=retransmitter))

    def _ack_missing(self, leg: Leg) -> None:
        log.info("no ACK for our 2xx: ending the call", call=self.id)
        self.hang_up(Side.CALLER if leg is self.caller_leg else Side.CALLEE, failed=True)

    def hang_up(self, side: Side, *, failed: bool = False) -> None:
        """``side`` hung up (BYE): hang up the other side and end the call."""
        if self.phase is CallPhase.RINGING:
            self.cancel()
            return
        if self.phase is CallPhase.ENDED:
            return
        if side is Side.CALLEE and self.winner is None and self.dialer is not None:
            self.dialer.callee_hung_up()  # screening: the caller stays with the PBX
            return
        signaling = self.services.signaling
        self._stop_ringing()
        if self.winner is not None and self.winner.ack is None:
            self.winner.acknowledge(signaling, self.winner.invite)
        for leg in (self.caller_leg, self.winner):
            if leg is not None and (failed or leg is not self.leg(side)):
                leg.send_in_dialog(signaling, "BYE")
        reason = (
            CallEndReason.CALLER_HUNG_UP if side is Side.CALLER else CallEndReason.CALLEE_HUNG_UP
        )
        self.end(CallEndReason.FAILED if failed else reason)

    def _to_caller(self, body: bytes) -> bytes:
        to = self.caller_leg.peer.host
        return self.services.sdp.relay(self.id, Direction.TO_CALLER, body, to=to)

    # The end -------------------------------------------------------------------

    def end(self, reason: CallEndReason, status: int | None = None) -> None:
        """End the call once: timers off, media released, registry cleaned, event out."""
        if self.phase is CallPhase.ENDED:
            return
        if self.local_reason is not None and reason is not CallEndReason.FAILED:
            reason = self.local_reason
        self.phase = CallPhase.ENDED
        self._cancel_timers()
        if self.dialer is not None:
            self.dialer.call_ended()
        for leg in (self.caller_leg, *self.forks):
            leg.stop()
        self.services.sdp.release(self.id)
        self.services.registry.remove(self)
        self._publish(reason, status)
        log.info("call ended", call=self.id, reason=reason.value, status=status)

    def _publish(self, reason: CallEndReason | None = None, status: int | None = None) -> None:
        event = CallStateChanged(
            call_id=self.id,
            caller=self.caller.number,
            callee=self.callee.number,
            state=_PUBLIC_STATE[self.phase],
            reason=reason,
            status=status,
        )
        self.services.events.publish(event)


def _ringing(fork: CalleeLeg) -> bool:
    return fork.state in (LegState.CALLING, LegState.EARLY)


def _invite_key(incoming: IncomingRequest) -> InviteKey:
    key = incoming.transaction
    return InviteKey(key.branch if key else "", key.sent_by if key else "")
