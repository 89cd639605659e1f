"""What every call of the core shares: the clock, the timers, the commands, the ports.

Theory of operation. One :class:`Context` per :class:`~.core.CallCore`.
The core sets :attr:`Context.now` before each step; calls read the time
there (never from a clock). Whatever a call wants done goes through the
context as a command (:meth:`respond`, :meth:`send_request`,
:meth:`send_ack`, :meth:`publish`...) into one queue the glue drains.

A request the core sends is numbered; its responses and failure come back
with that number and go to the callback given with it. An INVITE's number
stays known after its 2xx (a phone resends its 2xx until our ACK, and a
late fork's 2xx must still be acknowledged and hung up): the call that
sent it forgets its numbers a while after it ends (:meth:`forget_later`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from centralino.calls.io import (
    Command,
    Inbound,
    LegFailure,
    LegResponse,
    Publish,
    Respond,
    SendAck,
    SendRequest,
)
from centralino.calls.outside import NoOutside, Outside
from centralino.calls.ports import Addressing, Lookup, MediaPolicy
from centralino.calls.timers import Timer, Timers
from centralino.domain.events import CallRecordCreated, CallStateChanged
from centralino.sip.message import Request, Response, make_response
from centralino.sip.peer import Peer

__all__ = ["LINGER", "Context", "CoreSettings", "Outcome", "OutcomeHandler"]

LINGER = 32.0
"""Seconds a call's request numbers outlive it (64*T1: the longest a 2xx is resent)."""

Outcome = LegResponse | LegFailure
OutcomeHandler = Callable[[Outcome], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreSettings:
    """The core's configuration."""

    ring_timeout: float = 180.0
    """The longest a caller waits for an answer, across forwards (then 408)."""
    applications: bool = False
    """Whether the PBX's applications (voicemail, screening) can run."""
    epoch: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    """The wall-clock time at monotonic time ``epoch_monotonic``."""
    epoch_monotonic: float = 0.0


class Context:
    """The core's shared state (see the module docstring)."""

    def __init__(
        self,
        settings: CoreSettings,
        *,
        lookup: Lookup,
        addressing: Addressing,
        media: MediaPolicy,
        outside: Outside | None = None,
    ) -> None:
        self.settings = settings
        self.lookup = lookup
        self.addressing = addressing
        self.media = media
        self.outside: Outside = NoOutside() if outside is None else outside
        self.now = settings.epoch_monotonic
        self.timers = Timers()
        self.commands: deque[Command] = deque()
        self._handles = itertools.count(1)
        self._outcomes: dict[int, OutcomeHandler] = {}

    # Time ---------------------------------------------------------------------

    def wall(self) -> dt.datetime:
        """The wall-clock time now."""
        offset = self.now - self.settings.epoch_monotonic
        return self.settings.epoch + dt.timedelta(seconds=offset)

    def after(self, seconds: float, action: Callable[[float], None]) -> Timer:
        """Run ``action(now)`` ``seconds`` from now."""
        return self.timers.start(self.now + seconds, action)

    # Commands -----------------------------------------------------------------

    def respond(self, inbound: Inbound, response: Response) -> None:
        """Answer ``inbound`` (or resend our answer)."""
        self.commands.append(Respond(inbound=inbound, response=response))

    def reply(self, inbound: Inbound, status: int, reason: str | None = None) -> Response:
        """Answer ``inbound`` with a bare status (a To-tag out of a dialog, §8.2.6.2)."""
        request = inbound.request
        tag = None
        if status > 100 and request.headers.to_address().tag is None:
            tag = self.addressing.tag_for(request)
        response = make_response(request, status, reason, to_tag=tag)
        self.respond(inbound, response)
        return response

    def send_request(self, request: Request, peer: Peer, on_outcome: OutcomeHandler) -> int:
        """Start a client transaction; its outcomes go to ``on_outcome``."""
        handle = next(self._handles)
        self._outcomes[handle] = on_outcome
        self.commands.append(SendRequest(handle=handle, request=request, peer=peer))
        return handle

    def send_ack(self, request: Request, peer: Peer) -> None:
        """Send an ACK of a 2xx."""
        self.commands.append(SendAck(request=request, peer=peer))

    def publish(self, event: CallStateChanged | CallRecordCreated) -> None:
        """Publish a domain event."""
        self.commands.append(Publish(event=event))

    def emit(self, command: Command) -> None:
        """Any other command."""
        self.commands.append(command)

    # Outcomes -----------------------------------------------------------------

    def deliver(self, outcome: Outcome) -> None:
        """Give ``outcome`` to whoever sent its request (unknown numbers are dropped)."""
        handler = self._outcomes.get(outcome.handle)
        if handler is None:
            return
        if isinstance(outcome, LegFailure) or _last(outcome.response):
            del self._outcomes[outcome.handle]
        handler(outcome)

    def forget_later(self, handles: Iterable[int]) -> None:
        """Drop the numbers ``handles`` after :data:`LINGER` seconds."""
        kept = list(handles)
        if kept:
            self.after(LINGER, lambda _now: self._forget(kept))

    def _forget(self, handles: list[int]) -> None:
        for handle in handles:
            self._outcomes.pop(handle, None)

    def pending(self) -> int:
        """How many request numbers are known (a leak check)."""
        return len(self._outcomes)


def _last(response: Response) -> bool:
    """A final answer after which nothing more comes (an INVITE's 2xx may be resent)."""
    if response.is_provisional:
        return False
    return not (response.is_success and response.headers.cseq().method == "INVITE")
