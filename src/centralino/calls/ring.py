"""A ring round: fork an INVITE to every phone of an extension, first answer wins.

Theory of operation. A :class:`RingRound` sends one INVITE per registered
contact (a :class:`~.legs.CalleeLeg` each, written by the caller of the
round: the call relays the caller's offer, the screening dialer sends the
PBX's own) and follows their answers for as long as the legs live:

* a 1xx of a ringing round goes to the :class:`RingListener` (the call
  relays it to the caller: ringback, early media);
* the first 2xx wins: the other legs are cancelled (RFC 3326 "answered
  elsewhere", so phones log no missed call) and the listener gets it; a
  resent 2xx of the winner gets our ACK again; any later 2xx (another fork,
  or after the round ended) is acknowledged and hung up at once;
* a final error ends that leg; when every leg has failed (a 6xx at once,
  RFC 3261 §16.7), or the no-answer timer fires, the round ends with a
  :class:`RingEnd`: its outcome for the forwarding rules and the failure
  to relay (:mod:`.forking`).

The same object serves a ringing call and the dialer of an answered one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from centralino.calls.context import Context, Outcome
from centralino.calls.forking import (
    ANSWERED_ELSEWHERE,
    ForkFailure,
    RingOutcome,
    best_failure,
    classify,
)
from centralino.calls.io import LegFailure
from centralino.calls.legs import CalleeLeg
from centralino.calls.timers import Timer
from centralino.sip.codes import StatusCode
from centralino.sip.message import Request, Response

__all__ = ["LegFactory", "RingEnd", "RingListener", "RingRound"]

_CHALLENGES = (StatusCode.UNAUTHORIZED, StatusCode.PROXY_AUTHENTICATION_REQUIRED)
_INTERVAL_TOO_BRIEF = 422
"""RFC 4028 §6: the session interval asked for is below the peer's Min-SE."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RingEnd:
    """How a ring round ended without an answer (``failure``: the best fork error)."""

    outcome: RingOutcome
    failure: ForkFailure | None = None


class RingListener(Protocol):
    """Who a round reports to."""

    def ring_provisional(self, leg: CalleeLeg, response: Response) -> None:
        """A fork of the ringing round answered 1xx."""
        ...

    def ring_answered(self, leg: CalleeLeg, response: Response) -> None:
        """The first 2xx of the round (the others are being cancelled)."""
        ...

    def ring_ended(self, end: RingEnd) -> None:
        """The round is over without an answer."""
        ...


LegFactory = Callable[[Any], CalleeLeg]
"""Writes the leg (its INVITE) towards one target: a registered contact
(:class:`~centralino.domain.location.Binding`), or an outside number over a
trunk (:class:`~.outside.OutsideRoute`)."""


class RingRound:
    """One round of forks (see the module docstring)."""

    def __init__(self, context: Context, listener: RingListener) -> None:
        self._context = context
        self._listener = listener
        self.legs: list[CalleeLeg] = []
        self._failures: list[ForkFailure] = []
        self._timer: Timer | None = None
        self.winner: CalleeLeg | None = None
        self.over = False

    def start(self, targets: Sequence[Any], make_leg: LegFactory, seconds: float | None) -> None:
        """Fork to ``targets``; ``seconds``: the no-answer timer (None: none)."""
        if seconds is not None:
            self._timer = self._context.after(seconds, self._unanswered)
        for target in targets:
            leg = make_leg(target)
            self.legs.append(leg)
            leg.send(leg.invite, self._outcome_handler(leg))

    def _outcome_handler(self, leg: CalleeLeg) -> Callable[[Outcome], None]:
        return lambda outcome: self._on_outcome(leg, outcome)

    def stop(self, reason: str | None = None) -> None:
        """End the round: cancel every leg still ringing (not the winner)."""
        self.over = True
        self._stop_timer()
        for leg in self.legs:
            if leg is not self.winner:
                leg.cancel(reason)

    # Outcomes -----------------------------------------------------------------------

    def _on_outcome(self, leg: CalleeLeg, outcome: Outcome) -> None:
        if isinstance(outcome, LegFailure):
            status = StatusCode.REQUEST_TIMEOUT if outcome.timed_out else 503
            self._failed(leg, ForkFailure(status=status))
            return
        response = outcome.response
        if response.is_provisional:
            leg.provisional(response)
            if not self.over and response.status > StatusCode.TRYING:
                self._listener.ring_provisional(leg, response)
        elif response.is_success:
            self._success(leg, response)
        elif self._sent_again(leg, response):
            return
        else:
            self._failed(leg, ForkFailure(status=response.status, reason=response.reason))

    def _sent_again(self, leg: CalleeLeg, response: Response) -> bool:
        """A challenge (trunk legs) or a 422: the INVITE goes again, once, amended."""
        if self.over:
            return False
        if response.status in _CHALLENGES:
            return self._retried(leg, leg.authenticate(response))
        if response.status == _INTERVAL_TOO_BRIEF:
            return self._retried(leg, leg.with_interval(response))
        return False

    def _retried(self, leg: CalleeLeg, invite: Request | None) -> bool:
        """Send ``leg``'s INVITE again (credentials, a longer session interval)."""
        if invite is None or self.over:
            return False
        leg.send(invite, self._outcome_handler(leg))
        return True

    def _success(self, leg: CalleeLeg, response: Response) -> None:
        if leg is self.winner:
            leg.resend_ack()  # the phone resent its 2xx: our ACK was lost
        elif self.over:
            hang_up_late(leg, response)
        else:
            self.winner = leg
            leg.answered(response)
            self.stop(ANSWERED_ELSEWHERE)
            self._listener.ring_answered(leg, response)

    def _failed(self, leg: CalleeLeg, failure: ForkFailure) -> None:
        leg.failed()
        if self.over:
            return
        self._failures.append(failure)
        if failure.status >= StatusCode.BUSY_EVERYWHERE:
            chosen = failure  # a 6xx speaks for every phone (RFC 3261 §16.7)
        elif any(other.ringing for other in self.legs):
            return
        else:
            chosen = best_failure(self._failures)
        self.stop()
        self._listener.ring_ended(RingEnd(outcome=classify(chosen), failure=chosen))

    def _unanswered(self, _now: float) -> None:
        self._timer = None
        if not self.over:
            self.stop()
            self._listener.ring_ended(RingEnd(outcome=RingOutcome.NO_ANSWER))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def hang_up_late(leg: CalleeLeg, response: Response) -> None:
    """A second fork answered (or one answered after the end): ACK, then BYE."""
    leg.answered(response)
    leg.acknowledge(leg.invite)
    leg.send_in_dialog("BYE")
    leg.failed()
