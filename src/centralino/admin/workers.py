"""A bounded pool of threads for CPU-heavy management work (password hashing).

The calls, the SIP transactions and the HTTP API share one event loop: a
password check (argon2, ~150 ms of one core by design) run on it would hold
every SIP answer for that long. Such work runs here instead, on threads
(argon2-cffi releases the GIL while it hashes), with two limits:

- **Cores.** By default one thread fewer than the machine has cores (at
  least one): on the two-core machine the PBX is sized for, hashing takes at
  most one core and the event loop keeps the other. Where the system allows
  it (Linux), the threads also run at a lower scheduling priority, so the
  loop wins a core whenever both want it.
- **Queue.** At most ``max_queued`` jobs wait; beyond that :meth:`run`
  refuses at once with :class:`~centralino.domain.errors.Busy` (HTTP 503 and
  ``Retry-After``) instead of letting a storm of logins pile up work and
  memory.

The composition root creates one pool and shuts it down at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from centralino.domain.errors import Busy

__all__ = ["SlowWork", "default_thread_count"]

T = TypeVar("T")

_BACKGROUND_NICENESS = 10
"""How much lower than the event loop's the threads' priority is (Linux nice)."""


def default_thread_count() -> int:
    """One thread fewer than the cores (at least one): a core stays for the loop."""
    return max(1, (os.cpu_count() or 2) - 1)


def _lower_priority() -> None:
    """Make the calling thread yield the CPU to the event loop (best effort)."""
    # Not Linux, or not permitted: a plain thread.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICENESS)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nothing left to count
        loop.call_soon_threadsafe(callback)


class SlowWork:
    """Runs blocking functions on a few low-priority threads, with a bounded queue."""

    def __init__(self, threads: int | None = None, max_queued: int = 8) -> None:
        self._threads = threads or default_thread_count()
        self._limit = self._threads + max_queued
        self._pending = 0
        self._executor = ThreadPoolExecutor(
            self._threads, thread_name_prefix="slow-work", initializer=_lower_priority
        )

    @property
    def pending(self) -> int:
        """Jobs running or waiting now."""
        return self._pending

    def check_room(self) -> None:
        """Raise :class:`Busy` when a job submitted now would be refused."""
        if self._pending >= self._limit:
            raise Busy("the server is busy checking passwords; try again shortly", 1)

    async def run(self, function: Callable[..., T], *arguments: object) -> T:
        """Run ``function(*arguments)`` on a thread and return its result.

        Raises:
            Busy: the queue is full (nothing was run).
        """
        self.check_room()
        loop = asyncio.get_running_loop()
        job = self._executor.submit(function, *arguments)
        self._pending += 1
        # Released when the thread is done, not when the caller stops waiting:
        # a cancelled request whose hash is already running still holds a place.
        job.add_done_callback(lambda _job: _call_soon(loop, self._release))
        return await asyncio.wrap_future(job)

    def _release(self) -> None:
        self._pending -= 1

    def shutdown(self) -> None:
        """Stop the threads once the jobs already submitted are done."""
        self._executor.shutdown(wait=True, cancel_futures=True)
