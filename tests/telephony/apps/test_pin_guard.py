"""Wrong voicemail PINs across calls lock the mailbox for a while."""

from __future__ import annotations

from centralino.telephony.apps.voicemail import PinGuard, voicemail_menu
from tests.telephony.apps.fakes import InMemoryMailboxes, Keys
from tests.telephony.apps.test_voicemail import PROMPTS, channel, extension


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_mailbox_locks_after_too_many_wrong_pins_then_unlocks() -> None:
    clock = Clock()
    guard = PinGuard(max_failures=3, window=60.0, lock=300.0, clock=clock)
    guard.failed("101")
    guard.failed("101")
    assert not guard.locked("101")
    guard.failed("101")
    assert guard.locked("101")
    assert not guard.locked("102")
    clock.now += 301
    assert not guard.locked("101")


def test_failures_outside_the_window_and_a_right_pin_start_the_count_again() -> None:
    clock = Clock()
    guard = PinGuard(max_failures=3, window=60.0, lock=300.0, clock=clock)
    guard.failed("101")
    guard.failed("101")
    clock.now += 61
    guard.failed("101")
    assert not guard.locked("101")
    guard.succeeded("101")
    guard.failed("101")
    guard.failed("101")
    assert not guard.locked("101")


async def test_wrong_pins_over_several_calls_lock_out_even_the_right_pin() -> None:
    guard = PinGuard(max_failures=4, window=900.0, lock=900.0)
    mailboxes = InMemoryMailboxes()
    owner = extension()
    first = channel(Keys("1#"), Keys("2#"), Keys("3#"))
    await voicemail_menu(first, mailboxes, owner, PROMPTS, own_phone=False, guard=guard)
    second = channel(Keys("4#"), Keys("1234#"), Keys("1234#"))
    await voicemail_menu(second, mailboxes, owner, PROMPTS, own_phone=False, guard=guard)
    assert "you-have" not in second.said()
    assert second.said().count("wrong-pin") == 3
    assert guard.locked("101")


async def test_a_right_pin_before_the_limit_opens_the_mailbox() -> None:
    guard = PinGuard(max_failures=4)
    phone = channel(Keys("9#"), Keys("1234#"), Keys("*"))
    await voicemail_menu(
        phone, InMemoryMailboxes(), extension(), PROMPTS, own_phone=False, guard=guard
    )
    assert "you-have" in phone.said()
