"""Calls as the management side sees them: states, live snapshots, a read port.

Theory of operation. The call engine (``centralino.telephony.calls``) owns the
calls; everything else learns about them in two ways, neither of which
imports the engine: :class:`~centralino.domain.events.CallStateChanged`
domain events on the bus (BLF lamps, call records, CRM hooks consume them),
and the :class:`LiveCalls` port, a read-only view of the calls in progress
right now (the REST API lists it; the routing engine counts the calls of an
extension with it).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["CallEndReason", "CallState", "EmptyLiveCalls", "LiveCall", "LiveCalls"]


class CallState(enum.StrEnum):
    """The life of a call between extensions, as BLF lamps show it."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class CallEndReason(enum.StrEnum):
    """Why a call ended."""

    CALLER_HUNG_UP = "caller_hung_up"
    CALLEE_HUNG_UP = "callee_hung_up"
    CANCELLED = "cancelled"
    """The caller gave up before anyone answered."""
    REJECTED = "rejected"
    """Every phone of the callee refused (busy, declined...): see the status."""
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"
    """Routing sent the call where nothing answers yet (voicemail, a trunk)."""
    VOICEMAIL = "voicemail"
    """Nobody answered: the caller was answered by voicemail (or hung up there)."""
    FAILED = "failed"
    """Signalling broke (no ACK, a phone unreachable mid-call)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCall:
    """A snapshot of one call in progress."""

    id: str
    caller: str
    callee: str
    state: CallState
    started_at: dt.datetime
    answered_at: dt.datetime | None = None
    node: str = ""
    """The node handling the call; empty inside the engine, which knows only its own."""


class LiveCalls(Protocol):
    """The calls in progress, read-only."""

    def calls(self) -> Sequence[LiveCall]:
        """Every call not yet ended, oldest first."""
        ...

    def calls_in_progress(self, number: str) -> int:
        """How many live calls extension ``number`` takes part in (either side)."""
        ...


class EmptyLiveCalls:
    """A ``LiveCalls`` with nothing in it: no call engine is running."""

    def calls(self) -> Sequence[LiveCall]:
        """No calls."""
        return ()

    def calls_in_progress(self, number: str) -> int:
        """Never any."""
        return 0
