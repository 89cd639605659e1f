"""The login throttle: growing delays per account and per address, time by argument."""

from __future__ import annotations

import pytest

from centralino.admin.login_throttle import LoginThrottle, ThrottlePolicy

ATTACKER, OFFICE = "203.0.113.9", "192.168.1.20"


def fail_freely(
    throttle: LoginThrottle, count: int, *, user: str = "admin", address: str = ATTACKER
) -> None:
    for _ in range(count):
        assert throttle.admit(user, address, 0.0) == 0.0


def test_five_failures_are_free_then_each_attempt_waits_twice_as_long() -> None:
    throttle = LoginThrottle()
    fail_freely(throttle, 5)
    assert throttle.admit("admin", ATTACKER, 0.0) == pytest.approx(1.0)
    now, waits = 1.0, []
    for _ in range(5):
        assert throttle.admit("admin", ATTACKER, now) == 0.0  # admitted exactly on time
        waits.append(throttle.admit("admin", ATTACKER, now))
        now += waits[-1]
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0]


def test_the_delay_is_capped() -> None:
    policy = ThrottlePolicy(max_delay=60.0)
    assert [policy.delay(n) for n in (4, 5, 6, 10, 11, 1000)] == [0, 1, 2, 32, 60, 60]


def test_a_throttled_attempt_is_not_counted() -> None:
    throttle = LoginThrottle()
    fail_freely(throttle, 5)
    for _ in range(100):
        assert throttle.admit("admin", ATTACKER, 0.5) == pytest.approx(0.5)
    assert throttle.admit("admin", ATTACKER, 1.0) == 0.0
    assert throttle.admit("admin", ATTACKER, 1.0) == pytest.approx(2.0)


def test_parallel_attempts_are_counted_as_they_arrive() -> None:
    """Admission counts before the password is checked: a burst gets five, not fifty."""
    throttle = LoginThrottle()
    admitted = sum(throttle.admit("admin", ATTACKER, 0.0) == 0.0 for _ in range(50))
    assert admitted == 5


def test_the_account_is_throttled_from_every_address() -> None:
    throttle = LoginThrottle()
    for index in range(5):
        assert throttle.admit("admin", f"198.51.100.{index}", 0.0) == 0.0
    assert throttle.admit("admin", "198.51.100.200", 0.0) == pytest.approx(1.0)
    assert throttle.admit("bob", "198.51.100.200", 0.0) == 0.0


def test_the_address_is_throttled_for_every_name() -> None:
    """Guessing many user names from one address (unknown names count the same)."""
    throttle = LoginThrottle()
    for index in range(5):
        assert throttle.admit(f"guess{index}", ATTACKER, 0.0) == 0.0
    assert throttle.admit("admin", ATTACKER, 0.0) == pytest.approx(1.0)
    assert throttle.admit("admin", OFFICE, 0.0) == 0.0


def test_an_attacker_cannot_lock_the_owner_out_of_a_trusted_desk() -> None:
    throttle = LoginThrottle()
    assert throttle.admit("admin", OFFICE, 0.0) == 0.0
    throttle.succeeded("admin", OFFICE, 0.0)
    fail_freely(throttle, 5)
    assert throttle.admit("admin", ATTACKER, 0.0) > 0  # the account is under attack...
    assert throttle.admit("admin", OFFICE, 0.0) == 0.0  # ...and the owner's desk logs in
    throttle.succeeded("admin", OFFICE, 0.0)
    assert throttle.admit("admin", "198.51.100.7", 0.0) > 0  # elsewhere: still held back


def test_trust_ends() -> None:
    throttle = LoginThrottle(ThrottlePolicy(trusted_for=100.0, forget_after=10_000.0))
    throttle.admit("admin", OFFICE, 0.0)
    throttle.succeeded("admin", OFFICE, 0.0)
    fail_freely(throttle, 5)
    assert throttle.admit("admin", ATTACKER, 99.0) == 0.0  # the sixth: two seconds now
    assert throttle.admit("admin", OFFICE, 99.5) == 0.0
    throttle.succeeded("admin", OFFICE, 99.5)  # trusted for another 100 s
    assert throttle.admit("admin", OFFICE, 199.0) == 0.0
    throttle.admit("admin", ATTACKER, 199.0)
    assert throttle.admit("admin", OFFICE, 200.0) > 0  # trust over: the account waits


def test_a_success_takes_back_its_own_attempt_but_not_the_failures() -> None:
    """Otherwise each of the owner's logins would hand an attacker free guesses."""
    throttle = LoginThrottle()
    fail_freely(throttle, 4)
    assert throttle.admit("admin", ATTACKER, 0.0) == 0.0
    throttle.succeeded("admin", ATTACKER, 0.0)  # the fifth attempt was right
    assert throttle.admit("bob", ATTACKER, 0.0) == 0.0  # the fifth counted failure
    assert throttle.admit("carol", ATTACKER, 0.0) == pytest.approx(1.0)


def test_a_user_who_only_logs_in_is_never_held_back() -> None:
    throttle = LoginThrottle()
    for second in range(1000):
        assert throttle.admit("admin", OFFICE, float(second)) == 0.0
        throttle.succeeded("admin", OFFICE, float(second))


def test_idle_counters_are_forgotten() -> None:
    throttle = LoginThrottle(ThrottlePolicy(forget_after=3600.0))
    fail_freely(throttle, 5)
    throttle.admit("someone", "198.51.100.1", 3601.0)  # any activity prunes
    for _ in range(5):  # five free failures again
        assert throttle.admit("admin", ATTACKER, 3601.0) == 0.0
    assert throttle.admit("admin", ATTACKER, 3601.0) == pytest.approx(1.0)


def test_memory_is_bounded_under_a_flood_of_names() -> None:
    throttle = LoginThrottle(ThrottlePolicy(max_entries=100))
    for index in range(10_000):
        throttle.admit(f"name{index}", f"10.0.{index // 256}.{index % 256}", 0.0)
    assert throttle.admit("name0", "10.0.0.0", 0.0) == 0.0  # pushed out, not kept
    assert throttle.admit("name9999", "10.0.39.15", 0.0) == 0.0  # young, one failure


def test_an_attempt_never_checked_is_withdrawn() -> None:
    throttle = LoginThrottle()
    for _ in range(20):
        assert throttle.admit("admin", ATTACKER, 0.0) == 0.0
        throttle.withdraw("admin", ATTACKER)
