"""Ringing an extension for a call the PBX has already answered (call screening).

Theory of operation. A screened call is answered by the PBX first (the
caller says their name to the screening application), so the callee cannot
be rung with the caller's offer and its answer cannot go back to the
caller. :meth:`Dialer.ring` runs a :class:`~.ring.RingRound` whose INVITEs
carry the PBX's own offer (:meth:`~.ports.MediaPolicy.offer_locally`, on
the callee leg of the same media session), and reports how it ended:

* the first 2xx wins: it is acknowledged at once (the offer was ours, the
  ACK has no body), the other forks are cancelled, and the callee's leg is
  held by the PBX (:meth:`~.ports.MediaPolicy.callee_answered`): the
  result carries that media, for the application to talk to the callee
  before the call bridges the two legs;
* every fork failing, or the no-answer timer, gives the outcome (no answer,
  busy, not reachable) instead, so routing can continue with the matching
  rule.

Forks are the call's forks (the call's end cancels or hangs them up), and a
BYE from the answered callee before the bridge comes back here
(:meth:`Dialer.callee_hung_up`) instead of ending the caller's call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from centralino.calls.context import Context
from centralino.calls.forking import RingOutcome
from centralino.calls.legs import CalleeLeg, LegState
from centralino.calls.ports import Sdp, SdpRole
from centralino.calls.ring import RingEnd, RingRound
from centralino.domain.extension import Extension
from centralino.domain.location import Binding
from centralino.sip.message import Response

__all__ = ["DialResult", "Dialer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DialResult:
    """How a ring ended: the callee's held media, or why nobody answered."""

    media: object | None = None
    outcome: RingOutcome = RingOutcome.NO_ANSWER


Fork = Callable[[Extension, Binding, bytes], CalleeLeg]
DialDoneHandler = Callable[[DialResult], None]


class Dialer:
    """Rings extensions for one PBX-answered call (see the module docstring)."""

    def __init__(self, context: Context, *, call_id: str, fork: Fork) -> None:
        self._context = context
        self._call_id = call_id
        self._fork = fork
        self._round: RingRound | None = None
        self._on_done: DialDoneHandler | None = None
        self.answered: CalleeLeg | None = None
        self.media: object | None = None
        self.offer: Sdp | None = None
        """The PBX's offer to the callee (a re-INVITE before the bridge gets it again)."""

    def ring(
        self,
        callee: Extension,
        bindings: Sequence[Binding],
        seconds: float | None,
        on_done: DialDoneHandler,
    ) -> None:
        """Ring ``callee``'s ``bindings`` with the PBX's offer; ``on_done(result)`` once."""
        # One offer for every fork: the host of the first phone's side (LAN or not).
        to = bindings[0].host if bindings else ""
        self.offer = self._context.media.offer_locally(self._call_id, to=to)
        self._on_done = on_done
        self.answered = self.media = None
        offer = self.offer
        if offer is None or not bindings:
            self._finish(DialResult(outcome=RingOutcome.NOT_REACHABLE))
            return
        self._round = RingRound(self._context, self)
        self._round.start(bindings, lambda binding: self._fork(callee, binding, offer.raw), seconds)

    # The round reports ----------------------------------------------------------------

    def ring_provisional(self, leg: CalleeLeg, response: Response) -> None:
        """Nothing to relay: the caller hears the PBX's ringback."""

    def ring_answered(self, leg: CalleeLeg, response: Response) -> None:
        """The first 2xx: ACK it, hold the callee's leg, report."""
        leg.acknowledge(leg.invite)
        answer = Sdp.of(response.body, SdpRole.ANSWER)
        media = self._context.media.callee_answered(self._call_id, answer)
        if media is None:  # the callee's answer has no usable audio
            leg.send_in_dialog("BYE")
            leg.failed()
            self._finish(DialResult(outcome=RingOutcome.NOT_REACHABLE))
            return
        self.answered, self.media = leg, media
        self._finish(DialResult(media=media))

    def ring_ended(self, end: RingEnd) -> None:
        """Nobody answered."""
        self._finish(DialResult(outcome=end.outcome))

    def _finish(self, result: DialResult) -> None:
        on_done, self._on_done = self._on_done, None
        if on_done is not None:
            on_done(result)

    # From the call and the application -------------------------------------------

    def hang_up_callee(self) -> None:
        """The application hangs up on the callee (screening refused): BYE that leg only."""
        leg = self.answered
        if leg is None:
            return
        if leg.state is LegState.ANSWERED:
            leg.send_in_dialog("BYE")
        leg.failed()
        self.answered = None

    def callee_hung_up(self) -> None:
        """The answered callee sent BYE before the bridge."""
        leg = self.answered
        if leg is not None:
            leg.failed()
            self.answered = None
        if self.media is not None:
            self._context.media.close(self.media)

    def call_ended(self) -> None:
        """The call ended while ringing: stop ringing, report."""
        if self._round is not None:
            self._round.stop()
        self._finish(DialResult(outcome=RingOutcome.NOT_REACHABLE))
