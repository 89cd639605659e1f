"""CPU-heavy management work off the event loop: threads for hashing, a process for Python.

The calls, the SIP transactions and the HTTP API share one event loop: a
password check (argon2, ~150 ms of one core by design) run on it would hold
every SIP answer for that long. Such work runs on :class:`SlowWork`'s
threads instead (argon2-cffi releases the GIL while it hashes), with two
limits:

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

Work that is Python code (a large CSV import's parsing and validation,
~0.3 ms a row) cannot go to a thread: it holds the interpreter lock, and the
event loop then waits for it at each of its own system calls (up to the
5 ms switch interval each). :func:`run_in_process` runs such a task in a
child process of its own, started for the task and gone after it (about
0.5 s to start: worth it only for seconds of work), at a lower priority. The
task is a module-level generator function; what it yields (bytes) comes back
through a pipe, one frame at a time, to a callback on the event loop. The
loop thread meanwhile sleeps, so the scheduler gives it a core the moment a
datagram arrives, even on a busy machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

from centralino.domain.errors import Busy

__all__ = ["SlowWork", "WorkerFailed", "default_thread_count", "run_in_process", "serve_child"]

T = TypeVar("T")

_BACKGROUND_NICENESS = 10
"""How much lower than the event loop's the threads' priority is (Linux nice)."""

PROCESS_NICENESS = 19
"""The priority of a child process (Linux nice): the lowest, it runs on cores nothing else wants.

Lower than the threads': a thread at the lowest priority, preempted while it
holds the GIL, would keep the loop waiting until it runs again; a process
holds nothing the loop waits for. On an idle core a child runs at full
speed; on a machine busy with other work it waits, not the calls (six runs
each on a busy two-core machine, a 10,000-row import: SIP answers of 26-151 ms
at most with the child at nice 5 or 10, 12-53 ms at 19, four of six under
20 ms; docs/architecture.md)."""

_CHILD = (
    "import os, contextlib\n"
    "with contextlib.suppress(AttributeError, OSError): os.nice({niceness})\n"
    "with contextlib.suppress(OSError), open('/proc/self/autogroup', 'w') as group:\n"
    "    group.write('{niceness}')\n"
    "from centralino.admin.workers import serve_child; serve_child()"
)
"""The child's program: lower its priority first, before its imports (~0.5 s of a core).

The child starts a session of its own; where the kernel groups tasks by
session for fairness (Linux autogroup, on by default for desktops and
shells; a systemd service's cgroup is its own group instead), its group gets
the same low priority. Left in the server's group, its CPU time counted as
the server's: the group then fell behind other sessions' work and the idle
event loop waited 10-65 ms for a core (SIP answers of 24-72 ms at most in
five of six runs on a busy machine; in its own session, 10-18 ms in five of
the six runs where a responder doing nothing else, probed alongside, stayed
under 20 ms)."""
_SOURCE = str(Path(__file__).resolve().parents[2])
"""The directory holding the ``centralino`` package: the child imports the same code."""
_HEADER = 9
"""A frame's header: its kind (one byte) and its length (eight bytes, big-endian)."""
_DATA, _FAILURE, _END = b"D", b"F", b"E"


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


class WorkerFailed(RuntimeError):
    """A child process failed or ended before its task did (its traceback, if any)."""


async def run_in_process(
    task: Callable[[Any], Iterable[bytes]],
    argument: object,
    receive: Callable[[bytes], None],
    *,
    niceness: int = PROCESS_NICENESS,
) -> None:
    """Run ``task(argument)`` in a new child process; ``receive`` each bytes it yields.

    ``task`` is a module-level function (the child imports it by name) and
    ``argument`` is pickled to it; ``receive`` is called on the event loop,
    in order. A cancelled call kills the child.

    The child is started by ``subprocess`` (``vfork``: well under a
    millisecond), not by the event loop's ``subprocess_exec``: uvloop's
    ``fork`` copies the page tables of the whole server, ~10-20 ms with the
    loop waiting.

    Raises:
        OSError: the child could not be started.
        WorkerFailed: the task raised, or the child ended before it finished.
    """
    if not sys.executable:
        raise OSError("no Python interpreter to start a worker process with")
    request = pickle.dumps((task.__module__, task.__qualname__, argument), protocol=5)
    path = os.pathsep.join(filter(None, [_SOURCE, os.environ.get("PYTHONPATH")]))
    child = subprocess.Popen(  # noqa: ASYNC220 (vfork and exec: returns at once)
        [sys.executable, "-c", _CHILD.format(niceness=niceness)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": path},
        start_new_session=True,  # a scheduling group of its own (see _CHILD)
    )
    try:
        await _exchange(child, request, receive)
    finally:
        if child.poll() is None:
            child.kill()
        await asyncio.to_thread(child.wait)


async def _exchange(
    child: subprocess.Popen[bytes], request: bytes, receive: Callable[[bytes], None]
) -> None:
    assert child.stdin is not None
    assert child.stdout is not None
    loop = asyncio.get_running_loop()
    frames = asyncio.StreamReader()
    pipe, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(frames), child.stdout
    )
    try:
        await asyncio.to_thread(_send, child.stdin, request)  # the child reads as it starts
        while (payload := await _next_frame(frames)) is not None:
            receive(payload)
    finally:
        pipe.close()


def _send(pipe: IO[bytes], request: bytes) -> None:
    with pipe:
        pipe.write(request)


async def _next_frame(frames: asyncio.StreamReader) -> bytes | None:
    """The next frame's payload; None at the end.

    Raises:
        WorkerFailed: the task raised, or the child ended early.
    """
    try:
        header = await frames.readexactly(_HEADER)
        payload = await frames.readexactly(int.from_bytes(header[1:], "big"))
    except asyncio.IncompleteReadError as exc:
        raise WorkerFailed("the worker process ended early") from exc
    kind = header[:1]
    if kind == _FAILURE:
        raise WorkerFailed(payload.decode(errors="replace"))
    return None if kind == _END else payload


def serve_child() -> None:
    """The child's side of :func:`run_in_process` (stdin: the request; stdout: frames)."""
    module, name, argument = pickle.load(sys.stdin.buffer)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print cannot break the frames: it goes to stderr
    sys.stdout = sys.stderr
    try:
        for frame in getattr(importlib.import_module(module), name)(argument):
            out.write(_DATA + len(frame).to_bytes(8, "big"))
            out.write(frame)
            out.flush()
    except Exception:
        failure = traceback.format_exc().encode()
        out.write(_FAILURE + len(failure).to_bytes(8, "big") + failure)
    else:
        out.write(_END + bytes(8))
    out.flush()
