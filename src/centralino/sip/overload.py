"""Overload control: which requests to refuse when work queues up, and counters.

Theory of operation. A SIP server that falls behind makes clients
retransmit, the retransmissions add work, and goodput collapses. The glue
measures how long each message waited between its arrival and its
processing (the *queue delay*); this module decides. While the delay is
under :attr:`OverloadSettings.bound` everything is served. Past it, requests
that would *start* work are refused at once with ``503 Service Unavailable``
and ``Retry-After`` (RFC 3261 §21.5.4), built statelessly from the raw bytes;
everything that belongs to work already admitted is served: responses,
retransmissions (absorbed by their transaction), ACK, CANCEL, and every
request inside a dialog (a To tag), so admitted calls never time out
because new ones flood in.

A request with credentials (``Authorization`` / ``Proxy-Authorization``)
usually answers a challenge this server sent a moment ago: its first half
was admitted. It is refused only past :attr:`OverloadSettings.credentials_factor`
times the bound, so that under load the exchanges already begun finish
first (a registration costs two requests; refusing its second half wastes
the first).

A hard bound alone oscillates: while the delay is under it every new
request is admitted, and each admitted challenge brings its expensive
second half a round trip later, when the queue is already full again.
:class:`Admission` therefore also *throttles* below the bound: it admits
a fraction of the new requests (by a checksum of the request's branch, so
that a retransmission gets the verdict its original got) and
adjusts the fraction every :attr:`OverloadSettings.interval` from the
*smallest* delay seen in it, as CoDel does: a queue that never empties
within an interval is a standing queue (too much admitted work), while a
spike that drains (the process was descheduled, a collector pass) is not.
AIMD: down by a quarter while that delay passes half the bound, up by a
tenth while it stays under a quarter. Offered four times what it can do,
the server settles near a quarter admitted, the queue under half the
bound, and the excess gets its 503 at once.

Nothing here reads a clock: the delay and ``now`` are given.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass

from .codes import Method

__all__ = ["Admission", "OverloadSettings", "SipCounters", "admits"]

_ALWAYS_SERVED = frozenset({Method.ACK, Method.CANCEL})


@dataclass(frozen=True, slots=True, kw_only=True)
class OverloadSettings:
    """When to refuse new work, and what to tell the refused."""

    bound: float = 0.2
    """Queue delay, seconds, beyond which new requests are refused (503).

    Below T1 (0.5 s): an admitted request is answered before its client
    retransmits it. 0 or less turns overload control off."""
    retry_after: int = 5
    """Seconds a refused client is asked to wait (``Retry-After``)."""
    credentials_factor: float = 5.0
    """Requests with credentials are refused past ``bound`` times this."""
    interval: float = 0.1
    """How often, in seconds, the admitted fraction is adjusted."""
    minimum_fraction: float = 0.01
    """The admitted fraction never drops below this (the queue can tell again)."""


@dataclass(slots=True)
class SipCounters:
    """What the SIP server counts, for ``GET /api/v1/health``."""

    received: int = 0
    """Messages handed to the server (datagrams and framed stream messages)."""
    retransmissions_absorbed: int = 0
    """Retransmitted requests answered by their transaction, and ACKs of stateless
    answers dropped, without a full parse."""
    rejected_overload: int = 0
    """New requests answered 503 because the queue delay passed the bound."""
    bad_requests: int = 0
    """Malformed requests answered 400 (or 505...) statelessly."""
    dropped: int = 0
    """Datagrams dropped unread because the intake queue was full."""
    queue_delay: float = 0.0
    """Queue delay of the last message processed, seconds."""
    queue_delay_max: float = 0.0
    """The largest queue delay seen, seconds."""

    def observe_delay(self, delay: float) -> None:
        """Record the queue delay of a message about to be processed."""
        self.queue_delay = delay
        if delay > self.queue_delay_max:
            self.queue_delay_max = delay

    def snapshot(self) -> dict[str, int | float]:
        """The counters as a plain mapping (delays in seconds)."""
        return {
            "received": self.received,
            "retransmissions_absorbed": self.retransmissions_absorbed,
            "rejected_overload": self.rejected_overload,
            "bad_requests": self.bad_requests,
            "dropped": self.dropped,
            "queue_delay": self.queue_delay,
            "queue_delay_max": self.queue_delay_max,
        }


def admits(
    method: str, delay: float, settings: OverloadSettings, *, in_dialog: bool, credentials: bool
) -> bool:
    """Whether to process a request after ``delay`` seconds of queueing.

    Args:
        method: the request's method.
        delay: how long it waited before processing.
        settings: the bound and its factor for credentials.
        in_dialog: its To has a tag.
        credentials: it carries Authorization or Proxy-Authorization.

    Returns:
        False: refuse it now with 503 and ``Retry-After``.
    """
    bound = settings.bound
    if bound <= 0 or delay <= bound:
        return True
    if in_dialog or method in _ALWAYS_SERVED:
        return True
    return credentials and delay <= bound * settings.credentials_factor


_REFUSAL_MEMORY = 32.0
"""Seconds a refused request's retransmissions are refused too (64*T1: the
longest a client retransmits an INVITE)."""
_REFUSALS_KEPT = 100_000
"""At most this many refused identities remembered (the oldest go first)."""


class Admission:
    """Admits new requests: a hard bound on the queue delay and an adaptive fraction."""

    __slots__ = ("_fraction", "_least", "_next", "_now", "_refused", "_settings")

    def __init__(self, settings: OverloadSettings) -> None:
        self._settings = settings
        self._fraction = 1.0
        self._least = float("inf")
        self._next = 0.0
        self._now = 0.0
        self._refused: OrderedDict[str, float] = OrderedDict()
        """Identities refused lately, with when they may be admitted again: a
        retransmission of a refused request waited less in the queue, and
        admitting it would start the call its caller was told to give up."""

    @property
    def fraction(self) -> float:
        """The share of new requests admitted now (1.0: all)."""
        return self._fraction

    def observe(self, delay: float, now: float) -> None:
        """Note the queue delay of a message processed at ``now``; adjust when due."""
        self._now = now
        if delay < self._least:
            self._least = delay
        if now < self._next:
            return
        settings = self._settings
        if self._least > settings.bound / 2:
            self._fraction = max(settings.minimum_fraction, self._fraction * 0.75)
        elif self._least < settings.bound / 4:
            self._fraction = min(1.0, self._fraction + 0.1)
        self._least = float("inf")
        self._next = now + settings.interval

    def admits(
        self,
        method: str,
        delay: float,
        *,
        in_dialog: bool,
        credentials: bool,
        identity: str = "",
    ) -> bool:
        """Whether to process a request after ``delay`` seconds of queueing (see :func:`admits`).

        Args:
            method: the request's method.
            delay: how long it waited.
            in_dialog: its To has a tag.
            credentials: it carries credentials.
            identity: what its retransmissions share (the top Via branch):
                the fraction admits by its checksum, so a retransmitted request
                is admitted again when its original was.
        """
        settings = self._settings
        if settings.bound <= 0 or in_dialog or method in _ALWAYS_SERVED or credentials:
            return admits(method, delay, settings, in_dialog=in_dialog, credentials=credentials)
        if identity and self._refused and self._still_refused(identity):
            return False
        if delay > settings.bound:
            return self._refuse(identity)
        if self._fraction >= 1.0:
            return True
        checksum = zlib.crc32(identity.encode("utf-8", "surrogateescape")) & 0xFFFF
        return checksum < self._fraction * 0x10000

    def _still_refused(self, identity: str) -> bool:
        refused = self._refused
        while refused:  # forget the lapsed, oldest first
            oldest, until = next(iter(refused.items()))
            if until > self._now:
                break
            del refused[oldest]
        return identity in refused

    def _refuse(self, identity: str) -> bool:
        if identity:
            refused = self._refused
            refused[identity] = self._now + _REFUSAL_MEMORY
            refused.move_to_end(identity)
            if len(refused) > _REFUSALS_KEPT:
                refused.popitem(last=False)
        return False
