"""The SIP answer a caller gets when routing ends a call without a phone.

Theory of operation. The routing engine (:func:`centralino.routing.plan_call`)
decides every call; this module only turns its terminal steps into a SIP
status and a reason phrase an administrator can read in a trace or on a
phone's display. Two refusals come before any plan: an unknown number (404)
and a disabled caller (403). Destinations that cannot be reached end the
call with a clear answer: voicemail when the engine runs without its
applications (480 "Voicemail not available"), and an outside number on a
call the PBX already answered (screening's fallback to the mobile or a
number: 503, the answered call is hung up; a ringing call dials out through
the trunks, :mod:`.walker`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from centralino.domain.calls import CallEndReason
from centralino.routing import (
    DialExternal,
    EndCall,
    EndReason,
    SendToVoicemail,
    SkipExtension,
    Step,
)
from centralino.sip.codes import StatusCode

__all__ = ["Answer", "Refusal", "answer_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """A final answer to the caller, and why the call ended."""

    status: int
    reason: str
    why: CallEndReason = CallEndReason.REJECTED


class Refusal(enum.Enum):
    """Refusals decided before any routing plan."""

    UNKNOWN_NUMBER = Answer(status=StatusCode.NOT_FOUND, reason="Not Found")
    CALLER_DISABLED = Answer(status=StatusCode.FORBIDDEN, reason="Extension Disabled")

    @property
    def status(self) -> int:
        """The SIP status code."""
        return self.value.status

    @property
    def reason(self) -> str:
        """The SIP reason phrase."""
        return self.value.reason


_END_ANSWERS = {
    EndReason.EXTENSION_DISABLED: "Called Extension Disabled",
    EndReason.UNKNOWN_EXTENSION: "Not Found",
    EndReason.NO_MOBILE: "No Mobile Number",
    EndReason.VOICEMAIL_OFF: "Voicemail Off",
    EndReason.END_CALL_RULE: "Decline",
    EndReason.FORWARDING_LOOP: "Loop Detected",
}

VOICEMAIL_NOT_AVAILABLE = Answer(
    status=StatusCode.TEMPORARILY_UNAVAILABLE,
    reason="Voicemail not available",
    why=CallEndReason.UNAVAILABLE,
)
NOT_ACCEPTABLE = Answer(
    status=StatusCode.NOT_ACCEPTABLE_HERE,
    reason="No audio in common with the PBX",
    why=CallEndReason.FAILED,
)
NO_TRUNK = Answer(
    status=StatusCode.SERVICE_UNAVAILABLE,
    reason="No trunk for external numbers",
    why=CallEndReason.UNAVAILABLE,
)
SKIPPED = Answer(status=StatusCode.TEMPORARILY_UNAVAILABLE, reason="Temporarily Unavailable")


def answer_for(step: Step) -> Answer:
    """The SIP answer for a step that ends the routing (not ring, not forward).

    Args:
        step: an EndCall, SendToVoicemail, DialExternal or SkipExtension step.

    Returns:
        The status, reason phrase and end reason.

    Raises:
        ValueError: ``step`` rings or forwards.
    """
    match step:
        case EndCall():
            return Answer(status=int(step.sip_status), reason=_END_ANSWERS[step.reason])
        case SendToVoicemail():
            return VOICEMAIL_NOT_AVAILABLE
        case DialExternal():
            return NO_TRUNK
        case SkipExtension():
            return SKIPPED
        case _:
            raise ValueError(f"{type(step).__name__} does not end a call")
