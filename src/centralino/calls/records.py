"""The record of a finished call, as the call core knows it when the call ends.

Theory of operation. :func:`record_of` reads one ended :class:`~.call.Call`
— its times, its two ends, the trunk and DID it crossed, the leg that
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

from typing import TYPE_CHECKING

from centralino.domain.call_records import CallRecord, CallResult
from centralino.domain.calls import CallEndReason

if TYPE_CHECKING:
    from centralino.calls.call import Call

__all__ = ["record_of", "result_of"]

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


def record_of(call: Call, reason: CallEndReason, status: int | None) -> CallRecord:
    """The record of ``call``, which just ended for ``reason``."""
    winner = call.winner
    answered = winner is not None or (call.local is not None and call.refusal is None)
    answered_by: str | None = None
    trunk = call.inbound_trunk
    if winner is not None and winner.trunk is not None:  # the outside number answered
        answered_by = winner.invite.headers.to_address().uri.user
        trunk = trunk or winner.trunk
    elif winner is not None:
        answered_by = call.callee.number
    trunk = trunk or next((leg.trunk for leg in reversed(call.forks) if leg.trunk), None)
    phrase = f"{status} {call.end_phrase}".strip() if status is not None else ""
    caller = call.caller
    name = caller.display_name
    return CallRecord.build(
        id=call.id,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.context.wall(),
        direction=call.direction,
        caller=caller.number,
        caller_name=name if name != caller.number else None,
        callee=call.dialled,
        did=call.did,
        trunk=trunk,
        answered_by=answered_by,
        result=result_of(reason, status, answered=answered),
        reason=phrase or reason.value,
        routing_summary=call.routing.summary() if call.routing is not None else "",
    )
