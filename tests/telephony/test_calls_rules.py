"""The pure parts of the B2BUA: admission refusals and the best fork failure."""

from __future__ import annotations

import pytest

from centralino.telephony.calls import Refusal, accepts_multiple_calls, admit
from centralino.telephony.calls.forking import ForkFailure, best_failure
from tests.telephony.calls_support import extension


def test_unknown_callee_is_404() -> None:
    assert admit(None, contacts=1, calls_in_progress=0) is Refusal.UNKNOWN_NUMBER
    assert Refusal.UNKNOWN_NUMBER.status == 404


def test_disabled_callee_is_403_before_anything_else() -> None:
    callee = extension("102", options={"disabled": True})
    assert admit(callee, contacts=0, calls_in_progress=3) is Refusal.CALLEE_DISABLED


def test_nothing_registered_is_480() -> None:
    assert admit(extension("102"), contacts=0, calls_in_progress=0) is Refusal.NOT_REGISTERED


def test_busy_only_without_call_waiting() -> None:
    waiting = extension("102")
    busy = extension(
        "102", forwarding={"profiles": {"available": {"accept_multiple_calls": False}}}
    )
    assert accepts_multiple_calls(waiting)
    assert admit(waiting, contacts=1, calls_in_progress=1) is None
    assert admit(busy, contacts=1, calls_in_progress=1) is Refusal.BUSY
    assert admit(busy, contacts=1, calls_in_progress=0) is None


def test_the_current_status_profile_decides_call_waiting() -> None:
    assert not accepts_multiple_calls(extension("102", forwarding={"status": "dnd"}))


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
