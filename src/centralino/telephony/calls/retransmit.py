"""Retransmitting our 2xx to an INVITE until its ACK arrives (RFC 3261 §13.3.1.4).

Theory of operation. Since RFC 6026 the INVITE server transaction leaves 2xx
retransmission to the transaction user. Over UDP we resend the 2xx at T1,
then doubling up to T2; after 64*T1 without an ACK we give up and tell the
call, which ends the session with BYE. Over TCP one send is enough and the
retransmitter only keeps the give-up deadline.
"""

from __future__ import annotations

from collections.abc import Callable

from centralino.telephony.calls.ports import Cancellable, Scheduler

__all__ = ["T1", "T2", "Retransmitter"]

T1 = 0.5
T2 = 4.0


class Retransmitter:
    """Resends a message on a doubling schedule until stopped or out of time."""

    def __init__(
        self,
        schedule: Scheduler,
        resend: Callable[[], None],
        give_up: Callable[[], None],
        *,
        reliable: bool,
    ) -> None:
        self._schedule = schedule
        self._resend = resend
        self._give_up = give_up
        self._interval = T1
        self._timers: list[Cancellable] = [schedule(64 * T1, self._expired)]
        if not reliable:
            self._timers.append(schedule(T1, self._tick))

    def stop(self) -> None:
        """The ACK came (or the call ended): no more sends."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _tick(self) -> None:
        if not self._timers:
            return
        self._resend()
        self._interval = min(self._interval * 2, T2)
        self._timers.append(self._schedule(self._interval, self._tick))

    def _expired(self) -> None:
        self.stop()
        self._give_up()
