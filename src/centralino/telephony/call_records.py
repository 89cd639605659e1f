"""Writes this node's call records to the database, in batches, off the calls' path.

Theory of operation. The call core publishes one ``CallRecordCreated`` event
per finished call on the node's bus. The bus calls subscribers synchronously
on the loop that carries SIP, so :class:`CallRecordWriter` only appends the
record to a list there (no I/O, no allocation beyond the list's slot). A
background task writes what has gathered every ``interval`` seconds, or at
once when ``batch_size`` records wait, in one unit of work per batch (one
``INSERT`` executemany and one commit): a thousand calls ending in a second
cost a handful of transactions, not a thousand.

Nothing is lost on the way:

* A failed batch (the database away, locked, a connection dropped) goes
  back to the head of the list and is tried again at the next tick, in
  order. When a batch fails but some of its records can be written one by
  one, the database is up and the others are refused for themselves (an id
  written twice): those are logged and dropped, so one bad record cannot
  hold the rest back forever.
* :meth:`CallRecordWriter.stop` stops listening, lets the task finish its
  write, and writes everything still waiting (after the engine has ended
  its calls, whose records are among them). What cannot be written then is
  logged with its count.
* The list is bounded (``max_pending``): if the database stays away that
  long, the oldest records are dropped and counted in the log, rather than
  the node running out of memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallRecord
from centralino.domain.events import CallRecordCreated, DomainEvent
from centralino.domain.ports import UnitOfWorkFactory

__all__ = ["CallRecordWriter"]

log = structlog.get_logger("centralino.call_records")

DEFAULT_INTERVAL = 0.5
DEFAULT_BATCH_SIZE = 200
DEFAULT_MAX_PENDING = 100_000
_PROBES = 3


class CallRecordWriter:
    """Stores the records of ``CallRecordCreated`` events through the unit of work.

    Args:
        units: the database's units of work (``uow.call_records``).
        interval: the longest a record waits before it is written (seconds).
        batch_size: the most records one transaction writes; as many
            waiting wake the writer at once.
        max_pending: the most records kept while the database is away.
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        interval: float = DEFAULT_INTERVAL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._units = units
        self._interval, self._batch_size = interval, batch_size
        self._pending: deque[CallRecord] = deque()
        self._max_pending = max_pending
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._stopping = False
        self.written = 0
        """How many records this writer has stored (for tests and metrics)."""
        self.dropped = 0
        """How many records it gave up on (refused by the database, or overflow)."""

    @property
    def pending(self) -> int:
        """How many records wait to be written."""
        return len(self._pending)

    def start(self, bus: LocalEventBus) -> None:
        """Follow ``bus`` and start the background writes (in a running loop)."""
        self._stopping = False
        self._stopped.clear()
        self._unsubscribe = bus.subscribe(self.handle_event)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def handle_event(self, event: DomainEvent) -> None:
        """Keep the record of a ``CallRecordCreated`` event for the next write."""
        if not isinstance(event, CallRecordCreated):
            return
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            log.error("call record dropped: too many waiting", waiting=self._max_pending)
        self._pending.append(event.record)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    async def stop(self) -> None:
        """Stop listening and write every record still waiting."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not await self.flush():
            log.error("call records not written at stop", lost=len(self._pending))
            self.dropped += len(self._pending)
            self._pending.clear()

    async def flush(self) -> bool:
        """Write every waiting record, a batch at a time; False if the database failed."""
        while self._pending:
            batch = [self._pending[i] for i in range(min(self._batch_size, len(self._pending)))]
            try:
                await self._write(batch)
            except Exception:
                log.exception("call records not written; will retry", waiting=len(self._pending))
                if not await self._write_singly(batch):
                    return False
            else:
                self.written += len(batch)
            for _ in batch:
                self._pending.popleft()
        return True

    async def _write(self, records: Sequence[CallRecord]) -> None:
        async with self._units() as uow:
            await uow.call_records.add_many(records)
            await uow.commit()

    async def _write_singly(self, batch: list[CallRecord]) -> bool:
        """Write ``batch`` record by record; True if the database took any (drop the rest).

        When the first ``_PROBES`` records are all refused, the database is
        taken to be away (rather than each record bad): the batch is kept.
        """
        refused: list[CallRecord] = []
        for tried, record in enumerate(batch, start=1):
            try:
                await self._write([record])
            except Exception:
                refused.append(record)
                if tried == len(refused) == min(_PROBES, len(batch)):
                    return False  # nothing went in: the database is away
        self.written += len(batch) - len(refused)
        self.dropped += len(refused)
        for record in refused:
            log.error("call record refused by the database: dropped", id=record.id)
        return True

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            if self._stopping:
                return
            if not await self.flush():  # the database is away: no retry before a pause
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self._interval)
