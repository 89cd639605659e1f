"""Resending our 2xx to an INVITE until its ACK arrives (RFC 3261 §13.3.1.4).

Theory of operation. Since RFC 6026 the INVITE server transaction leaves 2xx
retransmission to the transaction user. Over UDP we resend the 2xx at T1,
then doubling up to T2; after 64*T1 without an ACK we give up and tell the
call, which ends the session with BYE. Over TCP one send is enough and only
the give-up deadline is kept. Both are timers of the core's heap.
"""

from __future__ import annotations

from collections.abc import Callable

from centralino.calls.context import Context
from centralino.calls.timers import Timer

__all__ = ["T1", "T2", "Retransmitter"]

T1 = 0.5
T2 = 4.0


class Retransmitter:
    """Resends a message on a doubling schedule until stopped or out of time."""

    def __init__(
        self,
        context: Context,
        resend: Callable[[], None],
        give_up: Callable[[], None],
        *,
        reliable: bool,
    ) -> None:
        self._context = context
        self._resend = resend
        self._give_up = give_up
        self._interval = T1
        self._deadline: Timer = context.after(64 * T1, self._expired)
        self._tick_timer: Timer | None = None if reliable else context.after(T1, self._tick)

    def stop(self) -> None:
        """The ACK came (or the call ended): no more sends."""
        self._deadline.cancel()
        if self._tick_timer is not None:
            self._tick_timer.cancel()
            self._tick_timer = None

    def _tick(self, _now: float) -> None:
        self._resend()
        self._interval = min(self._interval * 2, T2)
        self._tick_timer = self._context.after(self._interval, self._tick)

    def _expired(self, _now: float) -> None:
        self.stop()
        self._give_up()
