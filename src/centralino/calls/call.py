"""A call from an extension: the caller's leg, its ring rounds, and its phase.

Theory of operation. A :class:`Call` is made once the caller is
authenticated and its routing plan says to ring a phone (or the PBX answers
it). :meth:`Call.start` registers it and arms the *setup timer*
(``ring_timeout``: the longest a caller waits for an answer, across
forwards). :meth:`Call.ring` starts a :class:`~.ring.RingRound` towards one
extension's phones; the routing walker (:mod:`.walker`) may start another
round towards another extension when one ends unanswered (``on_ring_end``);
the caller keeps its one leg.

* a 1xx of the current round is relayed to the caller (with its SDP, early
  media);
* the round's first 2xx is relayed to the caller and resent until the
  caller's ACK, which is relayed to the winner (end-to-end ACK, so a
  delayed offer's answer reaches it);
* the caller's CANCEL cancels the round and answers 487; the setup timer
  answers 408; a round ending unanswered goes to the walker, which rings
  elsewhere or refuses the call.

Instead of ringing, the PBX may answer the caller itself
(:meth:`Call.answer_locally`: voicemail, the voicemail menu, screening):
from the caller's ACK on, an application runs on the call's media
(:class:`~.io.StartApplication`); it may ring the screened extension with
the PBX's own offer (:mod:`.dialer`) and bridge the two
(:meth:`Call.connect`). Whatever the path, :meth:`Call.end` runs once:
timers stopped, media released, the registry cleaned, ENDED published.

The phases and their moves are the table ``_MOVES``; a move the table does
not hold is refused (:meth:`Call.can`) and changes nothing:

============  =====================================  ============
from          move                                   to
============  =====================================  ============
RINGING       ANSWER (a fork, or the PBX answers)    ANSWERED
RINGING       END (CANCEL, timeout, refused)         ENDED
ANSWERED      ACK (the caller's ACK)                 CONNECTED
ANSWERED      END (no ACK within 64*T1, BYE)         ENDED
CONNECTED     END (BYE from either side)             ENDED
============  =====================================  ============
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from centralino.calls.context import Context
from centralino.calls.dialer import Dialer
from centralino.calls.io import Announce, ApplicationSpec, Inbound, StartApplication
from centralino.calls.legs import AwaitedAck, CalleeLeg, CallerLeg, Leg, LegState
from centralino.calls.messages import contact_of, extension_address, our_via, outbound_invite
from centralino.calls.outside import CallDirection, OutsideRoute
from centralino.calls.ports import Direction, LocalAnswer, Sdp, SdpRole, Side, body_of
from centralino.calls.records import CallFacts, record_of
from centralino.calls.registry import CallRegistry, DialogKey, InviteKey
from centralino.calls.retransmit import Retransmitter
from centralino.calls.ring import RingEnd, RingRound
from centralino.calls.session_expires import Refresher, Timing, answered, requested, timer_fields
from centralino.calls.session_timer import SessionTimer
from centralino.calls.timers import Timer
from centralino.domain.calls import CallEndReason, CallState, LiveCall
from centralino.domain.events import CallRecordCreated, CallStateChanged
from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.sip.address import NameAddress
from centralino.sip.codes import StatusCode
from centralino.sip.digest import DigestClient
from centralino.sip.headers import Headers
from centralino.sip.message import Request, Response
from centralino.sip.peer import Peer, TransportKind
from centralino.sip.uri import Uri

__all__ = ["Call", "CallPhase", "Move", "RingEndHandler", "Routing"]


class CallPhase(enum.Enum):
    """Where a call stands (see the table in the module docstring)."""

    RINGING = enum.auto()
    ANSWERED = enum.auto()
    CONNECTED = enum.auto()
    ENDED = enum.auto()


class Move(enum.Enum):
    """What can happen to a call's phase."""

    ANSWER = enum.auto()
    ACK = enum.auto()
    END = enum.auto()


_MOVES: dict[tuple[CallPhase, Move], CallPhase] = {
    (CallPhase.RINGING, Move.ANSWER): CallPhase.ANSWERED,
    (CallPhase.RINGING, Move.END): CallPhase.ENDED,
    (CallPhase.ANSWERED, Move.ACK): CallPhase.CONNECTED,
    (CallPhase.ANSWERED, Move.END): CallPhase.ENDED,
    (CallPhase.CONNECTED, Move.END): CallPhase.ENDED,
}

_PUBLIC_STATE = {
    CallPhase.RINGING: CallState.RINGING,
    CallPhase.ANSWERED: CallState.ANSWERED,
    CallPhase.CONNECTED: CallState.ANSWERED,
    CallPhase.ENDED: CallState.ENDED,
}

RingEndHandler = Callable[["Call", RingEnd], None]
"""Decides what follows an unanswered ring round: ring again, or refuse."""


class Routing(Protocol):
    """What walks a call's routing plan, as the PBX's applications reach it."""

    def summary(self) -> str:
        """How the call was routed, short (for its record)."""
        ...

    def screening_dial(self) -> None:
        """Ring the screened extension (its outcome: a DialDone command)."""
        ...

    def fallback(self) -> None:
        """Go on with the plan on the answered call."""
        ...


def new_tag() -> str:
    """A fresh From/To tag."""
    return uuid.uuid4().hex[:12]


class Call:
    """One call: the caller's leg, the callee's forks, the phase."""

    def __init__(
        self,
        context: Context,
        registry: CallRegistry[Call],
        *,
        caller: Extension,
        callee: Extension,
        inbound: Inbound,
        on_ring_end: RingEndHandler | None = None,
    ) -> None:
        self.context = context
        self.registry = registry
        self.id = uuid.uuid4().hex
        self.caller = caller
        self.callee = callee
        self._parties: tuple[str, ...] = (caller.number, callee.number)
        self.phase = CallPhase.RINGING
        self.started_at = context.wall()
        self.answered_at: dt.datetime | None = None
        contact = self._contact(inbound.peer, callee.number)
        self.caller_leg = CallerLeg(context, inbound=inbound, tag=new_tag(), contact=contact)
        self.offer = Sdp.of(inbound.request.body, SdpRole.OFFER)
        """The caller's offer, parsed once (None: a delayed offer)."""
        self.forks: list[CalleeLeg] = []
        self.round: RingRound | None = None
        self.winner: CalleeLeg | None = None
        self.reinvite_pending = False
        self.on_ring_end = on_ring_end
        self._setup_timer: Timer | None = None
        transaction = inbound.transaction
        self._invite_key = InviteKey(
            transaction.branch if transaction else "", transaction.sent_by if transaction else ""
        )
        self.local: LocalAnswer | None = None
        self.local_reason: CallEndReason | None = None
        self.application: ApplicationSpec | None = None
        self.dialer: Dialer | None = None
        self.routing: Routing | None = None
        """The walker of this call's plan (None: the PBX answered a dial code)."""
        self.direction = CallDirection.INTERNAL
        self.did: str | None = None
        self.inbound_trunk: str | None = None
        """The trunk the caller came in on (an inbound call)."""
        self.dialled = callee.number
        """The number the caller dialled (or the DID it reached), for the record."""
        self.end_phrase = ""
        """The reason phrase of the final error the caller got."""
        self.session_timers: dict[Side, SessionTimer] = {}
        """RFC 4028 timers on the legs whose peer asked for one."""
        self.refusal: tuple[int, str] | None = None
        """The final answer that follows a spoken explanation (:meth:`announce`)."""

    @property
    def parties(self) -> tuple[str, ...]:
        """The extensions taking part (the registry counts their calls)."""
        return self._parties

    @parties.setter
    def parties(self, parties: tuple[str, ...]) -> None:
        self._parties = parties
        self.registry.parties_changed(self)

    # Phase --------------------------------------------------------------------

    def can(self, move: Move) -> bool:
        """Whether the phase table allows ``move`` now."""
        return (self.phase, move) in _MOVES

    def _move(self, move: Move) -> bool:
        target = _MOVES.get((self.phase, move))
        if target is None:
            return False
        self.phase = target
        return True

    @property
    def answered_by_pbx(self) -> bool:
        """The PBX answered the caller and no phone is bridged to it."""
        return self.local is not None and self.winner is None

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

    def start(self) -> None:
        """Register the call and arm the setup timer."""
        if self.inbound_trunk is not None:
            self.context.outside.started(self.inbound_trunk)
        self.registry.add(self, self._invite_key)
        key = DialogKey(self.caller_leg.invite.headers.call_id(), self.caller_leg.tag)
        self.registry.index(self, key, Side.CALLER)
        self._publish()
        self._setup_timer = self.context.after(self.context.settings.ring_timeout, self._expired)

    def ring(
        self,
        callee: Extension,
        bindings: Sequence[Binding],
        seconds: float | None,
        outside: Sequence[OutsideRoute] = (),
    ) -> None:
        """Start a ring round: fork to ``callee``'s ``bindings`` (and ``outside``) for ``seconds``.

        ``outside`` rings outside numbers in the same round: the mobile of
        ``ring_mobile``, or the one route of an outside call.
        """
        if self.phase is not CallPhase.RINGING:
            return
        self.callee = callee
        self.parties = (self.caller.number, callee.number)
        self.round = RingRound(self.context, self)
        self.round.start([*bindings, *outside], self._caller_fork, seconds)

    def _caller_fork(self, target: Binding | OutsideRoute) -> CalleeLeg:
        body = b""
        host = target.peer.host if isinstance(target, OutsideRoute) else target.host
        if self.offer is not None:
            relayed = self.context.media.relay(self.id, Direction.TO_CALLEE, self.offer, to=host)
            body = relayed.raw
        if isinstance(target, OutsideRoute):
            return self.fork_outside(target, body)
        return self.fork(self.callee, target, body)

    def fork_outside(self, route: OutsideRoute, body: bytes) -> CalleeLeg:
        """A new leg of this call to an outside number over ``route``'s trunk."""
        peer = route.peer
        addressing = self.context.addressing
        host = addressing.advertised_host_for(peer.host)
        domain = route.from_host or peer.host
        caller = NameAddress(
            uri=Uri(scheme="sip", user=route.caller_id, host=domain),
            display_name=route.caller_name or None,
        )
        request = outbound_invite(
            self.caller_leg.invite,
            target=route.target,
            via=our_via(host, addressing.local_port(peer.kind), peer.kind),
            from_address=caller.with_tag(new_tag()),
            to_address=NameAddress(uri=Uri(scheme="sip", user=route.number, host=domain)),
            call_id=f"{uuid.uuid4().hex}@{host}",
            contact=self._contact(peer, route.caller_id),
            body=body,
        )
        leg = CalleeLeg(self.context, invite=request, peer=peer, contact=self._contact(peer, "pbx"))
        if route.username and route.password:
            leg.digest = DigestClient(username=route.username, password=route.password)
        leg.trunk = route.trunk
        leg.outside_number = route.dialled or route.number
        self.context.outside.started(route.trunk)
        self.forks.append(leg)
        self.registry.index(self, DialogKey(leg.call_id, leg.tag), Side.CALLEE)
        return leg

    def fork(self, callee: Extension, binding: Binding, body: bytes) -> CalleeLeg:
        """A new leg of this call: ``callee``'s contact ``binding``, INVITEd with ``body``."""
        peer = Peer(TransportKind(binding.transport), binding.host, binding.port)
        addressing = self.context.addressing
        host = addressing.advertised_host_for(peer.host)
        request = outbound_invite(
            self.caller_leg.invite,
            target=Uri.parse(binding.contact),
            via=our_via(host, addressing.local_port(peer.kind), peer.kind),
            from_address=extension_address(self.caller, host).with_tag(new_tag()),
            to_address=extension_address(callee, host),
            call_id=f"{uuid.uuid4().hex}@{host}",
            contact=self._contact(peer, self.caller.number),
            body=body,
        )
        leg = CalleeLeg(self.context, invite=request, peer=peer, contact=self._contact(peer, "pbx"))
        self.forks.append(leg)
        self.registry.index(self, DialogKey(leg.call_id, leg.tag), Side.CALLEE)
        return leg

    def _contact(self, peer: Peer, user: str) -> NameAddress:
        addressing = self.context.addressing
        host = addressing.advertised_host_for(peer.host)
        return contact_of(host, addressing.local_port(peer.kind), peer.kind, user)

    # The ring round reports ---------------------------------------------------------

    def ring_provisional(self, leg: CalleeLeg, response: Response) -> None:
        """Relay a fork's 1xx (ringing, early media) to the caller."""
        if self.phase is CallPhase.RINGING and self.round is not None and leg in self.round.legs:
            self.caller_leg.relay(response, self._to_caller(response.body, SdpRole.ANSWER))

    def ring_answered(self, leg: CalleeLeg, response: Response) -> None:
        """A fork answered: relay its 2xx, wait for the caller's ACK."""
        if not self._move(Move.ANSWER):
            return
        self.winner = leg
        self._cancel_setup_timer()
        self.answered_at = self.context.wall()
        role = SdpRole.ANSWER if self.offer is not None else SdpRole.OFFER
        caller_timing = requested(self.caller_leg.invite)
        extra = timer_fields(caller_timing) if caller_timing is not None else ()
        relayed = self.caller_leg.relay(response, self._to_caller(response.body, role), extra)
        self.registry.forget_invite(self, self._invite_key)
        self.expect_ack(self.caller_leg, self.caller_leg.inbound, relayed, self._caller_acked)
        self._start_session_timers(caller_timing, relayed, leg, response)
        self._publish()

    def _start_session_timers(
        self, caller: Timing | None, to_caller: Response, winner: CalleeLeg, answer: Response
    ) -> None:
        """RFC 4028 on either leg whose peer asked for it (see :mod:`.session_timer`)."""
        if caller is not None:
            self.session_timers[Side.CALLER] = SessionTimer(
                self.context,
                self.caller_leg,
                caller,
                we_refresh=(caller.refresher or Refresher.UAC) is Refresher.UAS,
                on_expired=lambda: self.hang_up(Side.CALLER, failed=True),
                allows_update=_allows_update(self.caller_leg.invite.headers),
                session=lambda: to_caller.body,
            )
        callee = answered(answer.headers)
        if callee is not None:
            self.session_timers[Side.CALLEE] = SessionTimer(
                self.context,
                winner,
                callee,
                we_refresh=(callee.refresher or Refresher.UAS) is Refresher.UAC,
                on_expired=lambda: self.hang_up(Side.CALLEE, failed=True),
                allows_update=_allows_update(answer.headers),
                session=lambda: winner.invite.body,
            )

    def ring_ended(self, end: RingEnd) -> None:
        """The round ended unanswered: the walker decides, else the caller hears why."""
        if self.phase is not CallPhase.RINGING:
            return
        if self.on_ring_end is not None:
            self.on_ring_end(self, end)
        elif end.failure is not None:
            failure = end.failure
            self.refuse(failure.status, failure.reason or None, CallEndReason.REJECTED)
        else:
            self.refuse(StatusCode.REQUEST_TIMEOUT, "No Answer", CallEndReason.NO_ANSWER)

    def _caller_acked(self, ack: Request) -> None:
        if self.winner is None or not self._move(Move.ACK):
            return
        body = b""
        answer = Sdp.of(ack.body, SdpRole.ANSWER)
        if answer is not None:
            relayed = self.context.media.relay(
                self.id, Direction.TO_CALLEE, answer, to=self.winner.peer.host
            )
            body = relayed.raw
        self.winner.acknowledge(self.winner.invite, body)

    # The PBX answers ----------------------------------------------------------------

    def answer_locally(
        self, application: ApplicationSpec, *, reason: CallEndReason = CallEndReason.VOICEMAIL
    ) -> bool:
        """Answer the caller with the PBX's own media; ``application`` runs from the ACK on.

        Returns:
            False when the caller's offer cannot be answered (no common audio,
            no media anchoring, no free port): the caller is still waiting.
        """
        if not self.can(Move.ANSWER):
            return False
        caller = self.caller_leg
        local = self.context.media.answer_locally(self.id, self.offer, to=caller.peer.host)
        if local is None:
            return False
        self._move(Move.ANSWER)
        self.stop_ringing()
        self._cancel_setup_timer()
        self.local, self.local_reason, self.application = local, reason, application
        self.answered_at = self.context.wall()
        self.parties = (self.caller.number,)
        response = caller.answer(local.sdp.raw)
        self.registry.forget_invite(self, self._invite_key)
        self.expect_ack(caller, caller.inbound, response, self._local_acked)
        return True

    def announce(self, prompt: str, status: int, reason: str) -> bool:
        """Explain a refusal: ``prompt`` as early media (183), then ``status`` and ``reason``.

        Returns:
            False when the PBX cannot play to the caller (no common audio, no
            media anchoring): the caller is still waiting for an answer.
        """
        if self.phase is not CallPhase.RINGING or self.refusal is not None:
            return False
        caller = self.caller_leg
        local = self.context.media.answer_locally(self.id, self.offer, to=caller.peer.host)
        if local is None:
            return False
        self.refusal = (status, reason)
        self.local = local
        self.parties = (self.caller.number,)
        caller.early(local.sdp.raw)
        self.context.emit(
            StartApplication(
                call_id=self.id,
                application=Announce(prompt=prompt),
                media=local.media,
                party=self.caller,
            )
        )
        return True

    def _local_acked(self, ack: Request) -> None:
        if self.local is None or self.phase is not CallPhase.ANSWERED:
            return
        if self.offer is None:  # we offered in our 200: the answer is in the ACK
            answer = Sdp.of(ack.body, SdpRole.ANSWER)
            if not self.context.media.answer_in_ack(self.id, answer):
                self.application_done()
                return
        self._move(Move.ACK)
        if self.application is not None:
            self.context.emit(
                StartApplication(
                    call_id=self.id,
                    application=self.application,
                    media=self.local.media,
                    party=self.caller,
                )
            )

    def dial(self) -> Dialer:
        """The dialer of this PBX-answered call (call screening)."""
        if self.dialer is None:
            self.dialer = Dialer(self.context, call_id=self.id, fork=self.fork)
        return self.dialer

    def connect(self) -> bool:
        """Bridge the caller to the callee the dialer has answered (screening accepted)."""
        leg = self.dialer.answered if self.dialer is not None else None
        if self.phase is not CallPhase.CONNECTED or leg is None:
            return False
        if leg.state is not LegState.ANSWERED:
            return False
        self.winner = leg
        self.local_reason = None
        self.parties = (self.caller.number, self.callee.number)
        self.context.media.bridge(self.id)
        self._publish()
        return True

    def application_done(self) -> None:
        """The application returned: the PBX hangs up (unless it bridged the call)."""
        if self.refusal is not None and self.phase is CallPhase.RINGING:
            status, reason = self.refusal
            self.refuse(status, reason, CallEndReason.REJECTED)
            return
        if self.winner is not None:
            return  # the parties hang up themselves
        if self.phase in (CallPhase.ANSWERED, CallPhase.CONNECTED):
            self.caller_leg.send_in_dialog("BYE")
            self.end(self.local_reason or CallEndReason.CALLEE_HUNG_UP)

    # The caller's side of the setup -------------------------------------------------

    def cancel(self) -> None:
        """The caller sent CANCEL (or BYE) while ringing."""
        if self.phase is CallPhase.RINGING:
            self.stop_ringing()
            self.refuse(StatusCode.REQUEST_TERMINATED, None, CallEndReason.CANCELLED)

    def _expired(self, _now: float) -> None:
        self._setup_timer = None
        if self.phase is CallPhase.RINGING:
            self.stop_ringing()
            self.refuse(StatusCode.REQUEST_TIMEOUT, "No Answer", CallEndReason.NO_ANSWER)

    def refuse(self, status: int, reason: str | None, why: CallEndReason) -> None:
        """Answer the caller with a final error and end the call."""
        self.stop_ringing()
        self.caller_leg.reject(status, reason)
        self.end_phrase = reason or ""
        self.end(why, status)

    def stop_ringing(self, reason: str | None = None) -> None:
        """Cancel the current round's forks."""
        if self.round is not None and not self.round.over:
            self.round.stop(reason)

    def _cancel_setup_timer(self) -> None:
        if self._setup_timer is not None:
            self._setup_timer.cancel()
            self._setup_timer = None

    # Shared with in-dialog handling --------------------------------------------------

    def expect_ack(
        self, leg: Leg, inbound: Inbound, response: Response, then: Callable[[Request], None]
    ) -> None:
        """We sent 2xx ``response`` to ``inbound`` on ``leg``: resend it until its ACK.

        Args:
            leg: the leg the INVITE came in on.
            inbound: that INVITE (the caller's, or a re-INVITE): its
                transaction carries the resends.
            response: our 2xx.
            then: what to do with the ACK when it comes.
        """
        retransmitter = Retransmitter(
            self.context,
            lambda: self.context.respond(inbound, response),
            lambda: self._ack_missing(leg),
            reliable=leg.peer.kind.reliable,
        )
        cseq = response.headers.cseq().number
        leg.await_ack(AwaitedAck(cseq=cseq, then=then, retransmitter=retransmitter))

    def _ack_missing(self, leg: Leg) -> None:
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
        self.stop_ringing()
        if self.winner is not None and self.winner.ack is None:
            self.winner.acknowledge(self.winner.invite)
        for leg in (self.caller_leg, self.winner):
            if leg is not None and (failed or leg is not self.leg(side)):
                leg.send_in_dialog("BYE")
        reason = (
            CallEndReason.CALLER_HUNG_UP if side is Side.CALLER else CallEndReason.CALLEE_HUNG_UP
        )
        self.end(CallEndReason.FAILED if failed else reason)

    def _to_caller(self, body: bytes, role: SdpRole) -> bytes:
        sdp = Sdp.of(body, role)
        if sdp is None:
            return body
        to = self.caller_leg.peer.host
        return body_of(self.context.media.relay(self.id, Direction.TO_CALLER, sdp, to=to))

    # The end -------------------------------------------------------------------

    def end(self, reason: CallEndReason, status: int | None = None) -> None:
        """End the call once: timers off, media released, registry cleaned, event out."""
        if not self._move(Move.END):
            return
        if self.local_reason is not None and reason is not CallEndReason.FAILED:
            reason = self.local_reason
        self._cancel_setup_timer()
        for timer in self.session_timers.values():
            timer.stop()
        if self.round is not None:
            self.round.stop()
        if self.dialer is not None:
            self.dialer.call_ended()
        handles: list[int] = []
        for leg in (self.caller_leg, *self.forks):
            leg.stop()
            handles += leg.handles
            if isinstance(leg, CalleeLeg) and leg.trunk is not None:
                self.context.outside.ended(leg.trunk)
        if self.inbound_trunk is not None:
            self.context.outside.ended(self.inbound_trunk)
        self.context.forget_later(handles)
        self.context.media.release(self.id)
        self.registry.remove(self)
        self._publish(reason, status)
        self.context.publish(CallRecordCreated(record=record_of(self._facts(), reason, status)))

    def _facts(self) -> CallFacts:
        return CallFacts(
            id=self.id,
            started_at=self.started_at,
            answered_at=self.answered_at,
            ended_at=self.context.wall(),
            direction=self.direction,
            caller=self.caller,
            callee=self.callee,
            dialled=self.dialled,
            did=self.did,
            inbound_trunk=self.inbound_trunk,
            winner=self.winner,
            forks=self.forks,
            answered_locally=self.local is not None and self.refusal is None,
            phrase=self.end_phrase,
            summary=self.routing.summary() if self.routing is not None else "",
        )

    def _publish(self, reason: CallEndReason | None = None, status: int | None = None) -> None:
        self.context.publish(
            CallStateChanged(
                call_id=self.id,
                caller=self.caller.number,
                callee=self.callee.number,
                state=_PUBLIC_STATE[self.phase],
                reason=reason,
                status=status,
            )
        )


def _allows_update(headers: Headers) -> bool:
    return any(value.strip().upper() == "UPDATE" for value in headers.values("allow"))
