"""The failed-authentication throttle (pure: time is an argument)."""

from __future__ import annotations

from centralino.telephony.throttle import Throttle, ThrottlePolicy

OFFICE = "198.51.100.7"
OTHER = "192.0.2.1"

POLICY = ThrottlePolicy(
    window=60,
    user_failures=3,
    address_users=3,
    address_failures=10,
    proven_for=600,
    proven_failures=20,
    block_for=100,
    max_block=1000,
    offence_memory=500,
    trusted_pause=5,
)


def _fail(throttle: Throttle, user: str, times: int, now: float, address: str = OFFICE) -> list:
    return [throttle.record_failure(address, user, now) for _ in range(times)]


def test_one_user_past_the_bar_blocks_the_pair_only() -> None:
    throttle = Throttle(POLICY)
    *quiet, block = _fail(throttle, "101", 3, 0)
    assert quiet == [None, None]
    assert block is not None
    assert (block.address, block.user, block.failures, block.until) == (OFFICE, "101", 3, 100)
    assert throttle.refuses(OFFICE, "101", 1)
    assert not throttle.refuses(OFFICE, "102", 1)  # another phone behind the same address
    assert not throttle.refuses(OFFICE, None, 1)  # and requests without credentials
    assert not throttle.refuses(OTHER, "101", 1)


def test_failures_outside_the_window_do_not_count() -> None:
    throttle = Throttle(POLICY)
    throttle.record_failure(OFFICE, "101", 0)
    throttle.record_failure(OFFICE, "101", 30)
    assert throttle.record_failure(OFFICE, "101", 61) is None
    assert not throttle.refuses(OFFICE, "101", 62)


def test_many_user_names_block_the_address_but_not_a_proven_user() -> None:
    throttle = Throttle(POLICY)
    throttle.record_success(OFFICE, "101", 0)
    throttle.record_failure(OFFICE, "admin", 1)
    throttle.record_failure(OFFICE, "1000", 2)
    block = throttle.record_failure(OFFICE, "test", 3)
    assert block is not None
    assert block.user is None  # the whole address
    assert throttle.refuses(OFFICE, "102", 4)
    assert throttle.refuses(OFFICE, "admin", 4)
    assert not throttle.refuses(OFFICE, "101", 4)  # proven: keeps working
    assert not throttle.refuses(OFFICE, None, 4)  # the proven phone is still challenged


def test_an_address_without_proven_users_is_refused_before_any_challenge() -> None:
    throttle = Throttle(POLICY)
    for index in range(3):
        throttle.record_failure(OFFICE, f"user{index}", index)
    assert throttle.refuses(OFFICE, None, 5)


def test_too_many_failures_in_all_block_the_address() -> None:
    throttle = Throttle(ThrottlePolicy(user_failures=8, address_users=3, address_failures=10))
    blocks = [throttle.record_failure(OFFICE, "ab"[i % 2], i) for i in range(10)]
    assert blocks[:-1] == [None] * 9  # two names, never eight failures of one
    assert blocks[-1] is not None
    assert blocks[-1].user is None
    assert throttle.refuses(OFFICE, "c", 11)


def test_a_proven_pair_is_blocked_only_past_the_much_higher_bar() -> None:
    throttle = Throttle(POLICY)
    throttle.record_success(OFFICE, "101", 0)
    blocks = _fail(throttle, "101", 19, 1)
    assert all(block is None or block.user is None for block in blocks)  # address may block
    assert not throttle.refuses(OFFICE, "101", 2)
    block = throttle.record_failure(OFFICE, "101", 2)
    assert block is not None
    assert block.user == "101"
    assert throttle.refuses(OFFICE, "101", 3)


def test_a_success_is_remembered_for_a_while_only() -> None:
    throttle = Throttle(POLICY)
    throttle.record_success(OFFICE, "101", 0)
    for index in range(3):
        throttle.record_failure(OFFICE, f"user{index}", 700 + index)
    assert throttle.refuses(OFFICE, "101", 703)  # proven 703 s ago: no longer


def test_trusted_addresses_are_paused_never_blocked() -> None:
    throttle = Throttle(POLICY)
    blocks = [throttle.record_failure(OFFICE, "101", 0, trusted=True) for _ in range(3)]
    pause = blocks[-1]
    assert pause is not None
    assert pause.trusted
    assert pause.until == 5
    assert throttle.refuses(OFFICE, "101", 4)  # rate-limited...
    assert not throttle.refuses(OFFICE, "101", 5)  # ...for a short while
    assert throttle.blocked(1) == []  # and never listed as a block
    for _ in range(3):  # a repeat is no longer
        block = throttle.record_failure(OFFICE, "101", 6, trusted=True)
    assert block is not None
    assert block.until - block.since == 5


def test_blocks_grow_for_repeat_offenders_up_to_the_maximum() -> None:
    throttle = Throttle(POLICY)
    durations = []
    now = 0.0
    for _ in range(6):
        block = _fail(throttle, "101", 3, now)[-1]
        assert block is not None
        durations.append(block.until - block.since)
        now = block.until + 10
    assert durations == [100, 200, 400, 800, 1000, 1000]


def test_a_block_long_after_the_last_one_is_a_first_offence_again() -> None:
    throttle = Throttle(POLICY)
    first = _fail(throttle, "101", 3, 0)[-1]
    assert first is not None
    again = _fail(throttle, "101", 3, first.until + 501)[-1]
    assert again is not None
    assert again.until - again.since == 100


def test_unblock_lifts_every_block_of_the_address_and_forgets_it() -> None:
    throttle = Throttle(POLICY)
    _fail(throttle, "101", 3, 0)
    for index in range(3):
        throttle.record_failure(OFFICE, f"user{index}", 1)
    lifted = throttle.unblock(OFFICE, 2)
    assert sorted(str(block.user) for block in lifted) == ["101", "None"]
    assert not throttle.refuses(OFFICE, "101", 2)
    assert not throttle.refuses(OFFICE, "user0", 2)
    assert throttle.unblock(OFFICE, 3) == []
    again = _fail(throttle, "101", 3, 4)[-1]
    assert again is not None
    assert again.until - again.since == 100  # offences forgotten


def test_blocked_lists_blocks_in_force_and_next_expiry() -> None:
    throttle = Throttle(POLICY)
    _fail(throttle, "101", 3, 0, address="a")
    _fail(throttle, "102", 3, 50, address="b")
    assert throttle.next_expiry() == 100
    assert [(b.address, b.user) for b in throttle.blocked(60)] == [("a", "101"), ("b", "102")]
    assert [b.address for b in throttle.blocked(120)] == ["b"]
    assert throttle.next_expiry() == 150


def test_a_blocked_pair_is_not_blocked_again_while_blocked() -> None:
    throttle = Throttle(POLICY)
    assert _fail(throttle, "101", 3, 0)[-1] is not None
    assert throttle.refuses(OFFICE, "101", 1)
    # the authenticator refuses before counting; a failure counted anyway starts nothing
    assert throttle.record_failure(OFFICE, "101", 1) is None


def test_the_table_is_bounded() -> None:
    policy = ThrottlePolicy(max_addresses=100, max_users=8, max_proven=8)
    throttle = Throttle(policy)
    for index in range(1000):
        address = f"10.0.{index // 256}.{index % 256}"
        throttle.record_failure(address, "x", index / 100)
        throttle.record_success(address, "y", index / 100)
    assert len(throttle) <= 100
    for index in range(1000):  # names per address are bounded too
        throttle.record_success(OTHER, f"user{index}", 20)
        throttle.record_failure(OTHER, f"guess{index}", 20)
    assert len(throttle) <= 100


def test_the_table_stays_bounded_when_every_address_is_blocked() -> None:
    policy = ThrottlePolicy(max_addresses=50, user_failures=1, address_users=1)
    throttle = Throttle(policy)
    for index in range(500):
        throttle.record_failure(f"10.1.{index // 256}.{index % 256}", "x", 0)
    assert len(throttle) <= 50
    assert len(throttle.blocked(1)) <= 50
