"""The record of a finished call, as the call core knows it when the call ends.

Theory of operation. :func:`record_of` reads the facts of one ended call
(:class:`CallFacts`) — its times, its two ends, the trunk and DID it crossed, the leg that
answered, why it ended — and writes the
:class:`~centralino.domain.call_records.CallRecord` the node's writer
stores (published as :class:`~centralino.domain.events.CallRecordCreated`).
The *result* is read from how the call ended:

==========================================  ===========
the call ended                              result
==========================================  ===========
after a phone (or the outside) answered     answered
in voicemail (a message, or hung up there)  voicemail
the caller gave up, nobody answered in time no_answer
refused 486 / 600 (busy)                    busy
refused otherwise (rules, restrictions)     rejected
signalling failed, nothing to reach         failed
==========================================  ===========

The PBX's own services (the voicemail menu, the unlock code) answer the
call themselves: *answered*, by nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from centralino.calls.legs import CalleeLeg
from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.calls import CallEndReason
from centralino.domain.extension import Extension

__all__ = ["CallFacts", "record_of", "refused_record", "result_of"]

_BUSY = frozenset({486, 600})

_RESULTS = {
    CallEndReason.VOICEMAIL: CallResult.VOICEMAIL,
    CallEndReason.NO_ANSWER: CallResult.NO_ANSWER,
    CallEndReason.CANCELLED: CallResult.NO_ANSWER,
    CallEndReason.FAILED: CallResult.FAILED,
    CallEndReason.UNAVAILABLE: CallResult.FAILED,
    CallEndReason.REJECTED: CallResult.REJECTED,
    CallEndReason.CALLER_HUNG_UP: CallResult.ANSWERED,
    CallEndReason.CALLEE_HUNG_UP: CallResult.ANSWERED,
}


def result_of(reason: CallEndReason, status: int | None, *, answered: bool) -> CallResult:
    """The result of a call that ended for ``reason`` (with ``status`` sent to the caller)."""
    if answered and reason is not CallEndReason.VOICEMAIL:
        return CallResult.ANSWERED
    if reason is CallEndReason.REJECTED and status in _BUSY:
        return CallResult.BUSY
    return _RESULTS[reason]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFacts:
    """What an ended call knows of itself (written by :meth:`.call.Call.end`)."""

    id: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime
    direction: CallDirection
    caller: Extension
    callee: Extension
    dialled: str
    did: str | None
    inbound_trunk: str | None
    winner: CalleeLeg | None
    forks: Sequence[CalleeLeg]
    answered_locally: bool
    """The PBX answered the caller itself (voicemail, a dial code), not to refuse."""
    phrase: str
    summary: str


def record_of(facts: CallFacts, reason: CallEndReason, status: int | None) -> CallRecord:
    """The record of a call that just ended for ``reason`` (``status`` sent to its caller)."""
    winner = facts.winner
    answered = winner is not None or facts.answered_locally
    answered_by: str | None = None
    trunk = facts.inbound_trunk
    if winner is not None and winner.trunk is not None:  # the outside number answered
        answered_by = winner.outside_number
        trunk = trunk or winner.trunk
    elif winner is not None:
        answered_by = facts.callee.number
    trunk = trunk or next((leg.trunk for leg in reversed(facts.forks) if leg.trunk), None)
    phrase = f"{status} {facts.phrase}".strip() if status is not None else ""
    caller = facts.caller
    name = caller.display_name
    return CallRecord.build(
        id=facts.id,
        started_at=facts.started_at,
        answered_at=facts.answered_at,
        ended_at=facts.ended_at,
        direction=facts.direction,
        caller=caller.number,
        caller_name=name if name != caller.number else None,
        callee=facts.dialled,
        did=facts.did,
        trunk=trunk,
        answered_by=answered_by,
        result=result_of(reason, status, answered=answered),
        reason=phrase or reason.value,
        routing_summary=facts.summary,
    )


def refused_record(
    *,
    id: str,
    at: dt.datetime,
    direction: CallDirection,
    caller: Extension,
    dialled: str,
    did: str | None,
    trunk: str | None,
    status: int,
    reason: str,
    summary: str,
) -> CallRecord:
    """The record of a call refused before anything rang (a plan's refusal)."""
    name = caller.display_name
    return CallRecord.build(
        id=id,
        started_at=at,
        answered_at=None,
        ended_at=at,
        direction=direction,
        caller=caller.number,
        caller_name=name if name != caller.number else None,
        callee=dialled,
        did=did,
        trunk=trunk,
        result=result_of(CallEndReason.REJECTED, status, answered=False),
        reason=f"{status} {reason}".strip(),
        routing_summary=summary,
    )
