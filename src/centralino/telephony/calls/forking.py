"""Choosing the one answer a caller gets when every fork failed (RFC 3261 §16.7).

Theory of operation. A call rings every registered contact of the callee at
once. When all of them end without a 2xx, the caller hears the *best* of
their final responses: a 6xx (a phone said "nobody here will take it")
first, then 486 Busy Here (one phone is busy: the callee is busy), then the
other 4xx, then 480 (not available), then 408 (no answer), then the 5xx.
A fork that timed out or could not be reached counts as 408 or 503.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from centralino.sip.codes import StatusCode
from centralino.sip.message import Response

__all__ = ["ForkFailure", "best_failure", "rank"]


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
