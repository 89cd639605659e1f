"""Ringing an extension for a call the PBX has already answered (call screening).

Theory of operation. A screened call is answered by the PBX first (the
caller says their name to the screening application), so the callee cannot
be rung with the caller's offer and its answer cannot go back to the
caller. :meth:`Dialer.ring` forks an INVITE carrying the PBX's own offer
(:meth:`~.media.SdpPolicy.offer_locally`, on the callee leg of the same
media session) to every registered contact, like a ring round of
:class:`~.call.Call`, and waits:

* the first 2xx wins: it is acknowledged at once (the offer was ours, the
  ACK has no body), the other forks are cancelled, and the callee's leg is
  held by the PBX (:meth:`~.media.SdpPolicy.callee_answered`): the result
  is a :class:`~.local.CallChannel` to that phone, for the application to
  talk to it before :meth:`Dialer.connect` bridges the two legs;
* every fork failing, or the no-answer timer, gives the outcome (no answer,
  busy, not reachable) instead, so routing can continue with the matching
  rule.

Forks are the call's forks: the call's end cancels or hangs them up, and a
BYE from the answered callee before the bridge comes back here
(:meth:`Dialer.callee_hung_up`) instead of ending the caller's call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.sip.codes import StatusCode
from centralino.sip.message import Response
from centralino.telephony.calls.forking import (
    ANSWERED_ELSEWHERE,
    ForkFailure,
    RingOutcome,
    best_failure,
    classify,
)
from centralino.telephony.calls.legs import CalleeLeg, LegState
from centralino.telephony.calls.local import CallChannel
from centralino.telephony.calls.media import PbxMedia
from centralino.telephony.calls.ports import Cancellable
from centralino.telephony.sip_server import ClientOutcome

if TYPE_CHECKING:
    from centralino.telephony.calls.call import Call

__all__ = ["DialResult", "Dialer"]

log = structlog.get_logger("centralino.calls")


@dataclass(frozen=True, slots=True, kw_only=True)
class DialResult:
    """How a ring ended: the callee's channel, or why nobody answered."""

    channel: CallChannel | None = None
    outcome: RingOutcome = RingOutcome.NO_ANSWER


class Dialer:
    """Rings extensions for one PBX-answered call (see the module docstring)."""

    def __init__(self, call: Call) -> None:
        self._call = call
        self._round: list[CalleeLeg] = []
        self._failures: list[ForkFailure] = []
        self._result: asyncio.Future[DialResult] | None = None
        self._timer: Cancellable | None = None
        self.answered: CalleeLeg | None = None
        self._media: PbxMedia | None = None
        self.offer = b""
        """The PBX's offer to the callee (a re-INVITE before the bridge gets it again)."""

    async def ring(
        self, callee: Extension, bindings: Sequence[Binding], seconds: float | None
    ) -> DialResult:
        """Ring ``callee``'s ``bindings`` with the PBX's offer; wait for the outcome."""
        call = self._call
        # One offer for every fork: the host of the first phone's side (LAN or not).
        to = bindings[0].host if bindings else None
        offer = call.services.sdp.offer_locally(call.id, to=to)
        self.offer = offer or b""
        if offer is None or not bindings:
            return DialResult(outcome=RingOutcome.NOT_REACHABLE)
        self._result = asyncio.get_running_loop().create_future()
        self._round, self._failures, self.answered = [], [], None
        call.callee = callee
        for binding in bindings:
            self._round.append(call.fork(callee, binding, offer, self._on_outcome))
        if seconds is not None:
            self._timer = call.services.schedule(seconds, self._unanswered)
        try:
            return await self._result
        finally:
            self._stop_timer()

    def _on_outcome(self, leg: CalleeLeg, outcome: ClientOutcome) -> None:
        signaling = self._call.services.signaling
        response = outcome.response
        if response is None:
            status = StatusCode.REQUEST_TIMEOUT if outcome.timed_out else 503
            self._failed(leg, ForkFailure(status=status))
        elif response.is_provisional:
            leg.provisional(signaling, response)
        elif not response.is_success:
            self._failed(leg, ForkFailure(status=response.status, reason=response.reason))
        elif leg is self.answered:
            leg.resend_ack(signaling)
        elif self.answered is None and leg in self._round and self._waiting:
            self._answer(leg, response.body, response)
        else:  # a second fork, or an answer after the round: acknowledge and hang up
            self._call.hang_up_late(leg, response)

    @property
    def _waiting(self) -> bool:
        return self._result is not None and not self._result.done()

    def _answer(self, leg: CalleeLeg, body: bytes, response: Response) -> None:
        call = self._call
        signaling = call.services.signaling
        leg.answered(response)
        leg.acknowledge(signaling, leg.invite)
        self._cancel_others(leg)
        media = call.services.sdp.callee_answered(call.id, body)
        if media is None:
            log.info("screening: the callee's answer has no usable audio", call=call.id)
            leg.send_in_dialog(signaling, "BYE")
            leg.failed()
            self._finish(DialResult(outcome=RingOutcome.NOT_REACHABLE))
            return
        self.answered, self._media = leg, media
        channel = CallChannel(call, media, lambda: self._hang_up_callee(leg), party=call.callee)
        self._finish(DialResult(channel=channel))

    def _failed(self, leg: CalleeLeg, failure: ForkFailure) -> None:
        leg.failed()
        if leg not in self._round or not self._waiting:
            return
        self._failures.append(failure)
        if any(fork.state in (LegState.CALLING, LegState.EARLY) for fork in self._round):
            return
        chosen = best_failure(self._failures)
        self._finish(DialResult(outcome=classify(chosen)))

    def _unanswered(self) -> None:
        self._timer = None
        if self._waiting:
            self._cancel_others(None)
            self._finish(DialResult(outcome=RingOutcome.NO_ANSWER))

    def _cancel_others(self, winner: CalleeLeg | None) -> None:
        signaling = self._call.services.signaling
        for fork in self._round:
            if fork is not winner:
                fork.cancel(signaling, ANSWERED_ELSEWHERE if winner else None)

    def _finish(self, result: DialResult) -> None:
        self._stop_timer()
        if self._result is not None and not self._result.done():
            self._result.set_result(result)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _hang_up_callee(self, leg: CalleeLeg) -> None:
        """The application hangs up on the callee (screening refused): BYE that leg only."""
        if leg.state is LegState.ANSWERED:
            leg.send_in_dialog(self._call.services.signaling, "BYE")
        leg.failed()
        if self.answered is leg:
            self.answered = None

    # From the call ----------------------------------------------------------------

    @property
    def media(self) -> PbxMedia | None:
        """The answered callee's leg, held by the PBX (None: nobody answered)."""
        return self._media if self.answered is not None else None

    def callee_hung_up(self) -> None:
        """The answered callee sent BYE before the bridge."""
        leg = self.answered
        if leg is not None:
            leg.failed()
            self.answered = None
        if self._media is not None:
            self._media.close()

    def call_ended(self) -> None:
        """The call ended while ringing: stop ringing, wake the waiter."""
        self._cancel_others(None)
        self._finish(DialResult(outcome=RingOutcome.NOT_REACHABLE))
