"""The pure TCP limits: admission caps, refusal logging, connection deadlines."""

from __future__ import annotations

from centralino.net.tcp_limits import (
    Admission,
    ConnectionDeadline,
    Refusal,
    RefusalLog,
    TcpLimits,
)

LIMITS = TcpLimits(
    first_message_timeout=30.0,
    message_timeout=20.0,
    idle_timeout=900.0,
    max_per_address=2,
    max_connections=3,
)


def test_per_address_cap_then_total_cap() -> None:
    admission = Admission(LIMITS)
    assert admission.admit("192.0.2.1") is None
    assert admission.admit("192.0.2.1") is None
    assert admission.admit("192.0.2.1") is Refusal.PER_ADDRESS
    assert admission.admit("192.0.2.2") is None
    assert admission.admit("192.0.2.3") is Refusal.TOTAL
    assert admission.total == 3


def test_released_connections_make_room_again() -> None:
    admission = Admission(LIMITS)
    for _ in range(2):
        admission.admit("192.0.2.1")
    admission.release("192.0.2.1")
    assert admission.admit("192.0.2.1") is None
    assert admission.total == 2


def test_refusals_logged_once_per_address_per_interval_with_their_count() -> None:
    refusals = RefusalLog(interval=60.0)
    assert refusals.refused("192.0.2.1", 0.0) == 1
    assert [refusals.refused("192.0.2.1", t) for t in (1.0, 2.0, 59.0)] == [None] * 3
    assert refusals.refused("192.0.2.2", 5.0) == 1  # another address has its own line
    assert refusals.refused("192.0.2.1", 60.0) == 4  # the three held back, and this one


def test_a_new_connection_has_the_first_message_timeout() -> None:
    deadline = ConnectionDeadline(LIMITS, opened=100.0)
    assert deadline.deadline() == 130.0
    deadline.received(110.0, messages=0, pending=False)  # keep-alives do not extend it
    assert deadline.deadline() == 130.0
    assert not deadline.established


def test_a_message_begun_must_end_within_the_message_timeout() -> None:
    deadline = ConnectionDeadline(LIMITS, opened=100.0)
    deadline.received(101.0, messages=1, pending=False)
    deadline.received(200.0, messages=0, pending=True)
    deadline.received(215.0, messages=0, pending=True)  # trickled bytes do not extend it
    assert deadline.deadline() == 220.0
    deadline.received(219.0, messages=1, pending=False)
    assert deadline.deadline() == 219.0 + 900.0


def test_an_established_connection_lives_on_any_byte_keepalives_included() -> None:
    deadline = ConnectionDeadline(LIMITS, opened=100.0)
    deadline.received(101.0, messages=1, pending=False)
    assert deadline.established
    assert deadline.deadline() == 1001.0
    deadline.received(800.0, messages=0, pending=False)  # a CRLF ping
    assert deadline.deadline() == 1700.0


def test_the_default_idle_timeout_outlives_the_longest_registration() -> None:
    assert TcpLimits().idle_timeout > 3600
