"""The pure parts of the B2BUA: admission refusals and the best fork failure."""

from __future__ import annotations

import pytest

from centralino.calls.admission import Refusal, answer_for
from centralino.calls.forking import ForkFailure, RingOutcome, best_failure, classify
from centralino.domain.calls import CallEndReason
from centralino.routing import (
    DialExternal,
    DialReason,
    EndCall,
    EndReason,
    SendToVoicemail,
    SipStatus,
    SkipExtension,
    SkipReason,
)


def test_refusals_before_any_plan() -> None:
    assert (Refusal.UNKNOWN_NUMBER.status, Refusal.UNKNOWN_NUMBER.reason) == (404, "Not Found")
    assert Refusal.CALLER_DISABLED.status == 403


def test_voicemail_and_trunks_end_with_a_clear_answer() -> None:
    voicemail = answer_for(SendToVoicemail(box_number="101"))
    assert (voicemail.status, voicemail.reason) == (480, "Voicemail not available")
    assert voicemail.why is CallEndReason.UNAVAILABLE
    trunk = answer_for(DialExternal(number="+39061234", reason=DialReason.NUMBER))
    assert (trunk.status, trunk.reason) == (503, "No trunk for external numbers")


@pytest.mark.parametrize(
    ("step", "status", "reason"),
    [
        (EndCall(sip_status=SipStatus.DECLINE, reason=EndReason.END_CALL_RULE), 603, "Decline"),
        (
            EndCall(sip_status=SipStatus.LOOP_DETECTED, reason=EndReason.FORWARDING_LOOP),
            482,
            "Loop Detected",
        ),
        (
            EndCall(sip_status=SipStatus.FORBIDDEN, reason=EndReason.EXTENSION_DISABLED),
            403,
            "Called Extension Disabled",
        ),
        (SkipExtension(number="101", reason=SkipReason.BUSY), 480, "Temporarily Unavailable"),
    ],
)
def test_end_steps_carry_their_status_and_phrase(step: EndCall, status: int, reason: str) -> None:
    answer = answer_for(step)
    assert (answer.status, answer.reason) == (status, reason)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (486, RingOutcome.BUSY),
        (600, RingOutcome.BUSY),
        (603, RingOutcome.BUSY),
        (408, RingOutcome.NOT_REACHABLE),
        (480, RingOutcome.NOT_REACHABLE),
        (503, RingOutcome.NOT_REACHABLE),
        (488, RingOutcome.REFUSED),
        (487, RingOutcome.REFUSED),
    ],
)
def test_classify_fork_failures(status: int, outcome: RingOutcome) -> None:
    assert classify(ForkFailure(status=status)) is outcome


@pytest.mark.parametrize(
    ("statuses", "best"),
    [
        ((480, 486), 486),
        ((408, 480), 480),
        ((503, 404), 404),
        ((486, 603), 603),
        ((500, 408), 408),
        ((487,), 487),
    ],
)
def test_best_failure(statuses: tuple[int, ...], best: int) -> None:
    failures = [ForkFailure(status=status) for status in statuses]
    assert best_failure(failures).status == best


def test_best_failure_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no fork"):
        best_failure([])
