"""Choosing the one answer a caller gets when every fork failed (RFC 3261 §16.7).

Theory of operation. A call rings every registered contact of the callee at
once. When all of them end without a 2xx, the caller hears the *best* of
their final responses: a 6xx (a phone said "nobody here will take it")
first, then 486 Busy Here (one phone is busy: the callee is busy), then the
other 4xx, then 480 (not available), then 408 (no answer), then the 5xx.
A fork that timed out or could not be reached counts as 408 or 503.

:func:`classify` tells the routing driver what that answer means for the
forwarding rules: busy (486, or a 6xx: the user declined), not reachable
(408, 480, 5xx: no phone took the INVITE) or refused for another reason
(a 4xx such as 488: relayed to the caller as it is).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from centralino.sip.codes import StatusCode
from centralino.sip.message import Response

__all__ = ["ANSWERED_ELSEWHERE", "ForkFailure", "RingOutcome", "best_failure", "classify", "rank"]

ANSWERED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'
"""RFC 3326 Reason of the CANCEL sent to forks that lost: no missed-call entry."""


class RingOutcome(enum.Enum):
    """How a ring round ended without an answer, as the forwarding rules see it."""

    NO_ANSWER = enum.auto()
    BUSY = enum.auto()
    NOT_REACHABLE = enum.auto()
    REFUSED = enum.auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class ForkFailure:
    """How one fork ended without a 2xx."""

    status: int
    reason: str = ""
    response: Response | None = None


def rank(status: int) -> int:
    """Lower is better: the preference order of final error statuses."""
    if status >= StatusCode.BUSY_EVERYWHERE:
        return 0
    if status == StatusCode.BUSY_HERE:
        return 1
    if status in (StatusCode.REQUEST_TERMINATED, StatusCode.REQUEST_TIMEOUT):
        return 5 if status == StatusCode.REQUEST_TIMEOUT else 6
    if status == StatusCode.TEMPORARILY_UNAVAILABLE:
        return 4
    if 400 <= status < 500:
        return 2
    if 300 <= status < 400:
        return 3
    return 7


def best_failure(failures: Iterable[ForkFailure]) -> ForkFailure:
    """The failure to relay to the caller (ties: the first to arrive).

    Raises:
        ValueError: no failures at all.
    """
    ranked = sorted(enumerate(failures), key=lambda item: (rank(item[1].status), item[0]))
    if not ranked:
        raise ValueError("no fork failed")
    return ranked[0][1]


_NOT_REACHABLE = frozenset(
    {StatusCode.REQUEST_TIMEOUT, StatusCode.TEMPORARILY_UNAVAILABLE, StatusCode.NOT_FOUND}
)


def classify(failure: ForkFailure) -> RingOutcome:
    """What the best fork failure means for the forwarding rules.

    Args:
        failure: the failure chosen by :func:`best_failure`.

    Returns:
        BUSY for 486 and 6xx, NOT_REACHABLE for 404, 408, 480 and 5xx,
        REFUSED for anything else (the caller gets it as it is).
    """
    status = failure.status
    if status == StatusCode.BUSY_HERE or status >= StatusCode.BUSY_EVERYWHERE:
        return RingOutcome.BUSY
    if status in _NOT_REACHABLE or 500 <= status < 600:
        return RingOutcome.NOT_REACHABLE
    return RingOutcome.REFUSED
