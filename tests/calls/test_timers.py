"""The core's timer heap: cancelled timers let go of what they held, and are swept."""

from __future__ import annotations

import gc
import weakref

from centralino.calls.timers import Timers


class _Call:
    def expired(self, now: float) -> None:
        raise AssertionError("a cancelled timer ran")


def test_a_cancelled_timer_no_longer_keeps_its_call_alive() -> None:
    timers = Timers()
    call = _Call()
    alive = weakref.ref(call)
    timer = timers.start(180.0, call.expired)
    timer.cancel()
    del call
    gc.collect()
    assert alive() is None  # before its deadline: the 180 s setup timer held whole calls
    timers.expire(200.0)  # and it never runs


def test_many_cancelled_timers_leave_the_live_one_first() -> None:
    timers = Timers()
    for n in range(20_000):
        timers.start(1000.0 + n, _Call().expired).cancel()
    live = timers.start(5.0, lambda now: None)
    assert len(timers) == 1
    assert timers.next_deadline() == live.at
