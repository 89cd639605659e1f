"""One media clock per event loop: a single 20 ms timer drives every prompt.

Theory of operation. Playing a prompt means sending one RTP packet every
20 ms. A sleep per stream per frame (a timer, a wake-up, a task step each)
costs more than the packet itself once hundreds of callers hear prompts at
once, so every playing stream joins the loop's :class:`MediaClock`
instead: one timer on a fixed schedule (tick *n* is due at the start plus
n * 20 ms, so there is no drift), and on each tick the clock calls
:meth:`ClockClient.tick` of every client, in the order they joined.

* The clock runs only while it has clients: the first client starts it and
  gets its first tick at once (one prompt alone starts without delay); a
  client joining a running clock gets the next tick (within 20 ms).
* A late loop is caught up: every tick whose time has come is run, each
  with its own scheduled time, as a sleep per frame against a fixed
  schedule would (the phone's jitter buffer absorbs the burst; the audio
  stays in real time).
* A client leaves by returning False from :meth:`ClockClient.tick` or by
  :meth:`MediaClock.remove`; one that raises is logged and removed, the
  others keep their ticks.

The media policy (:class:`~.anchor.AnchorSdp`, one per engine) owns the
clock and hands it to every endpoint: no clock lives at module level.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog

from centralino.media.pcm import FRAME_DURATION

__all__ = ["ClockClient", "MediaClock"]

log = structlog.get_logger("centralino.media")

_EARLY = 0.001
"""A tick this close to its time runs now (loop timers have millisecond granularity)."""


class ClockClient(Protocol):
    """Something sent on every tick (a playing prompt)."""

    def tick(self, at: float) -> bool:
        """The tick scheduled for ``at`` (loop time) is due: False to leave the clock."""
        ...


class MediaClock:
    """A fixed 20 ms schedule shared by every client on one event loop.

    Args:
        interval: seconds between ticks.
    """

    def __init__(self, interval: float = FRAME_DURATION) -> None:
        self.interval = interval
        self._clients: dict[ClockClient, None] = {}  # an ordered set
        self._start = 0.0
        self._next = 0  # the number of the next tick to run
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._clients)

    @property
    def running(self) -> bool:
        """Whether the timer is armed (there are clients)."""
        return self._timer is not None

    def add(self, client: ClockClient) -> None:
        """Join: ``client`` ticks from now on (at once when the clock was idle)."""
        self._clients[client] = None
        if self._timer is None:
            self._start = asyncio.get_running_loop().time()
            self._next = 0
            self._run()

    def remove(self, client: ClockClient) -> None:
        """Leave (nothing happens when ``client`` is not on the clock)."""
        self._clients.pop(client, None)

    def _run(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        clients = self._clients
        while True:
            at = self._start + self._next * self.interval
            if at > now + _EARLY:
                break
            self._next += 1
            for client in list(clients):
                if client not in clients:
                    continue  # removed by an earlier client's tick
                try:
                    keep = client.tick(at)
                except Exception:
                    log.exception("media clock client failed: removed")
                    keep = False
                if not keep:
                    clients.pop(client, None)
            if not clients:
                break
        if clients:
            self._timer = loop.call_at(self._start + self._next * self.interval, self._run)
        else:
            self._timer = None

    def stop(self) -> None:
        """Drop every client and disarm the timer."""
        self._clients.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
