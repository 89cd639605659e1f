"""The failed-authentication throttle (pure: time is an argument)."""

from __future__ import annotations

from centralino.telephony.throttle import Throttle


def test_blocks_after_max_failures_within_the_window() -> None:
    throttle = Throttle(max_failures=3, window=60, block_for=300)
    assert throttle.record_failure("192.0.2.1", 0) is None
    assert throttle.record_failure("192.0.2.1", 1) is None
    block = throttle.record_failure("192.0.2.1", 2)
    assert block is not None
    assert (block.address, block.failures, block.until) == ("192.0.2.1", 3, 302)
    assert throttle.is_blocked("192.0.2.1", 301)
    assert not throttle.is_blocked("192.0.2.2", 5)


def test_failures_outside_the_window_do_not_count() -> None:
    throttle = Throttle(max_failures=3, window=60, block_for=300)
    throttle.record_failure("192.0.2.1", 0)
    throttle.record_failure("192.0.2.1", 30)
    assert throttle.record_failure("192.0.2.1", 61) is None
    assert not throttle.is_blocked("192.0.2.1", 62)


def test_block_ends_and_address_starts_afresh() -> None:
    throttle = Throttle(max_failures=2, window=60, block_for=100)
    throttle.record_failure("a", 0)
    throttle.record_failure("a", 1)
    assert throttle.is_blocked("a", 100)
    assert not throttle.is_blocked("a", 101)
    assert throttle.record_failure("a", 102) is None


def test_blocked_lists_current_blocks_only() -> None:
    throttle = Throttle(max_failures=1, window=60, block_for=10)
    throttle.record_failure("a", 0)
    throttle.record_failure("b", 5)
    assert [b.address for b in throttle.blocked(8)] == ["a", "b"]
    assert [b.address for b in throttle.blocked(12)] == ["b"]


def test_table_is_bounded() -> None:
    throttle = Throttle(max_failures=5, window=60, block_for=10, max_addresses=100)
    for index in range(1000):
        throttle.record_failure(f"10.0.{index // 256}.{index % 256}", index / 100)
    assert len(throttle) <= 100


def test_a_blocked_address_does_not_block_again_while_blocked() -> None:
    throttle = Throttle(max_failures=1, window=60, block_for=100)
    assert throttle.record_failure("a", 0) is not None
    assert throttle.record_failure("a", 1) is None
