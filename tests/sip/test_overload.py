"""Admission control: the hard bound, credentials, and the adaptive fraction (moved time)."""

from __future__ import annotations

import pytest

from centralino.sip.overload import Admission, OverloadSettings, SipCounters, admits

SETTINGS = OverloadSettings(bound=0.2, interval=0.1)


def _admitted(admission: Admission, count: int, delay: float = 0.0) -> int:
    return sum(
        admission.admits(
            "REGISTER", delay, in_dialog=False, credentials=False, identity=f"z9hG4bK{n}"
        )
        for n in range(count)
    )


@pytest.mark.parametrize(
    ("method", "delay", "in_dialog", "credentials", "admitted"),
    [
        ("INVITE", 0.2, False, False, True),
        ("INVITE", 0.21, False, False, False),
        ("REGISTER", 0.9, False, True, True),  # the second half of an admitted exchange
        ("REGISTER", 1.01, False, True, False),
        ("BYE", 30.0, True, False, True),
        ("ACK", 30.0, False, False, True),
        ("CANCEL", 30.0, False, False, True),
        ("OPTIONS", 0.3, False, False, False),
    ],
)
def test_the_hard_bound(
    method: str, delay: float, in_dialog: bool, credentials: bool, admitted: bool
) -> None:
    verdict = admits(method, delay, SETTINGS, in_dialog=in_dialog, credentials=credentials)
    assert verdict is admitted


def test_the_fraction_falls_while_the_queue_fills_and_recovers_after() -> None:
    admission = Admission(SETTINGS)
    assert admission.fraction == 1.0
    now = 0.0
    for _ in range(10):  # a second with a standing queue past half the bound
        admission.observe(0.15, now)
        now += 0.1
    low = admission.fraction
    assert low < 0.1
    assert abs(_admitted(admission, 2000) - low * 2000) <= 40
    for _ in range(20):  # two seconds of an empty queue
        admission.observe(0.0, now)
        now += 0.1
    assert admission.fraction == 1.0
    assert _admitted(admission, 100) == 100


def test_a_spike_that_drains_is_not_a_standing_queue() -> None:
    admission = Admission(SETTINGS)
    admission.observe(0.0, 0.0)
    admission.observe(0.5, 0.02)  # descheduled for half a second...
    admission.observe(0.01, 0.08)  # ...and the queue drained within the interval
    admission.observe(0.0, 0.1)
    assert admission.fraction == 1.0


def test_the_admitted_share_follows_the_fraction() -> None:
    admission = Admission(SETTINGS)
    admission.observe(0.15, 0.0)  # one adjustment: 0.75
    assert admission.fraction == pytest.approx(0.75)
    assert abs(_admitted(admission, 4000) - 3000) <= 80


def test_a_retransmission_gets_the_verdict_of_its_original() -> None:
    admission = Admission(SETTINGS)
    admission.observe(0.15, 0.0)
    admission.observe(0.15, 0.1)  # 0.5625
    for n in range(200):
        first = admission.admits("INVITE", 0.1, in_dialog=False, credentials=False, identity=str(n))
        again = admission.admits("INVITE", 0.1, in_dialog=False, credentials=False, identity=str(n))
        assert first == again


def test_a_retransmission_of_a_request_refused_at_the_bound_is_refused_too() -> None:
    """The original waited past the bound; its retransmission, queued less, must not
    start the call its caller was told (503) to give up."""
    admission = Admission(SETTINGS)
    admission.observe(0.5, 10.0)
    invite = {"in_dialog": False, "credentials": False, "identity": "z9hG4bKlate"}
    assert not admission.admits("INVITE", 0.5, **invite)  # type: ignore[arg-type]
    admission.observe(0.01, 12.0)
    assert not admission.admits("INVITE", 0.01, **invite)  # type: ignore[arg-type]
    other = invite | {"identity": "z9hG4bKother"}
    assert admission.admits("INVITE", 0.01, **other)  # type: ignore[arg-type]
    admission.observe(0.01, 42.1)  # 64*T1 later: the caller stopped retransmitting long ago
    assert admission.admits("INVITE", 0.01, **invite)  # type: ignore[arg-type]


def test_admitted_work_is_never_throttled_by_the_fraction() -> None:
    admission = Admission(SETTINGS)
    for step in range(40):
        admission.observe(0.19, step * 0.1)
    assert admission.fraction == SETTINGS.minimum_fraction
    assert admission.admits("BYE", 0.19, in_dialog=True, credentials=False)
    assert admission.admits("REGISTER", 0.19, in_dialog=False, credentials=True)


def test_turned_off_it_admits_everything() -> None:
    admission = Admission(OverloadSettings(bound=0))
    admission.observe(50.0, 0.0)
    assert _admitted(admission, 10, delay=50.0) == 10


def test_counters_keep_the_worst_delay() -> None:
    counters = SipCounters()
    for delay in (0.1, 0.4, 0.2):
        counters.observe_delay(delay)
    assert (counters.queue_delay, counters.queue_delay_max) == (0.2, 0.4)
    assert counters.snapshot()["queue_delay_max"] == 0.4
