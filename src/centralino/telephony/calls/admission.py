"""May this call ring? The refusals decided before any phone is disturbed.

Theory of operation. A pure function of the callee's settings and live
state: an unknown number is 404, a disabled callee 403, an extension with
no registered phone 480, and a busy one (a call in progress while its
current status profile refuses call waiting) 486. The caller's own checks
(authenticated, not disabled) come first, in the B2BUA handler.

This is the seam for the routing engine (issue 4): ``plan_call`` will turn
these outcomes into forwards (voicemail, another extension...) instead of
plain refusals; the SIP statuses here are what a call gets when no rule
applies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from centralino.domain.extension import Extension
from centralino.domain.forwarding import AvailableProfile, ForwardProfile

__all__ = ["Refusal", "accepts_multiple_calls", "admit"]


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str


class Refusal(enum.Enum):
    """Why a call to an extension is refused, with its SIP answer."""

    UNKNOWN_NUMBER = _Answer(404, "Not Found")
    CALLER_DISABLED = _Answer(403, "Extension Disabled")
    CALLEE_DISABLED = _Answer(403, "Called Extension Disabled")
    NOT_REGISTERED = _Answer(480, "Temporarily Unavailable")
    BUSY = _Answer(486, "Busy Here")

    @property
    def status(self) -> int:
        """The SIP status code."""
        return self.value.status

    @property
    def reason(self) -> str:
        """The SIP reason phrase."""
        return self.value.reason


def accepts_multiple_calls(extension: Extension) -> bool:
    """Whether the profile of the extension's current status allows call waiting."""
    forwarding = extension.forwarding
    profile: AvailableProfile | ForwardProfile = getattr(
        forwarding.profiles, forwarding.status.value
    )
    return profile.accept_multiple_calls


def admit(callee: Extension | None, *, contacts: int, calls_in_progress: int) -> Refusal | None:
    """Decide whether a call may ring the callee's phones.

    Args:
        callee: the called extension, None when the number is unknown.
        contacts: how many phones the callee has registered.
        calls_in_progress: how many live calls the callee takes part in.

    Returns:
        The refusal, or None when the call may ring.
    """
    if callee is None:
        return Refusal.UNKNOWN_NUMBER
    if callee.options.disabled:
        return Refusal.CALLEE_DISABLED
    if contacts == 0:
        return Refusal.NOT_REGISTERED
    if calls_in_progress > 0 and not accepts_multiple_calls(callee):
        return Refusal.BUSY
    return None
