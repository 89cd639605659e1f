"""The change-feed follower: committed changes, from any process, onto this process's bus.

Theory of operation. Every process that keeps caches of the shared state
(a ``centralino serve`` node: its call engine, its email notifier) runs one
:class:`ChangeFollower`. It owns a cursor, the feed position this node has
applied, and repeats one step, :meth:`ChangeFollower.catch_up`: read the
records past the cursor in batches of ``batch_size`` (250), hand each event
to the bus in order, advance the cursor, save it (so a restart resumes where
it stopped). A burst of changes is applied as a burst: one query per batch,
bounded memory, and the event loop is yielded between batches and whenever
delivering has taken ``slice_seconds`` (4 ms), so that SIP and RTP never
wait long for a burst of ten thousand changes.

When it steps:

- at once, when this process committed a change: the unit-of-work factory's
  ``on_commit`` hook awaits :meth:`ChangeFollower.applied`, so a use-case
  returns only once its change is applied here (read-your-writes for API
  clients: a phone can register the moment its extension exists);
- on PostgreSQL, when ``NOTIFY centralino_changes`` arrives (every writer
  sends it in its transaction, delivered at commit), with a slow poll
  (``poll_interval`` x 10) as a safety net for a lost notification or a
  dropped listening connection;
- on SQLite, every ``poll_interval`` (an indexed range query on the primary
  key; nothing is read when nothing is new).

Gaps. :meth:`prepare` runs before the caches load: a node that never ran, or
whose saved cursor fell behind the feed's horizon (records pruned while it
was down), starts at the newest position, since the caches about to load
are whole; otherwise it resumes from its saved cursor and replays what it
missed (the caches apply it idempotently; the registrar ends registrations
whose credentials changed meanwhile). A running follower that finds its
cursor behind the horizon (it was stalled longer than the retention) jumps
to the newest position and publishes ``ChangesMissed``: every cache reloads
whole.

Pruning: every ``prune_interval`` the follower deletes records older than
``retention`` (any node may; the deletes are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.changes import Change
from centralino.domain.events import ChangesMissed
from centralino.storage.changes import FEED_CHANNEL
from centralino.storage.database import Database
from centralino.storage.unit_of_work import SqlUnitOfWorkFactory
from centralino.tasks import cancel_and_wait

__all__ = ["ChangeFollower", "FollowerStatistics"]

_SAVE_EVERY = 1.0
"""Seconds between two saves of the cursor while a burst is being applied."""

log = structlog.get_logger("centralino.storage")


class FollowerStatistics:
    """What a follower did, for health checks and benchmarks."""

    __slots__ = ("applied", "batches", "reloads")

    def __init__(self) -> None:
        self.applied = 0
        self.batches = 0
        self.reloads = 0


class ChangeFollower:
    """Follows the change feed for one node and publishes its events on ``bus``.

    Args:
        database: the shared database (its URL says whether to LISTEN).
        units: unit-of-work factory on that database.
        bus: this process's event bus (the caches subscribe to it).
        node: this node's name (whose cursor is saved).
        poll_interval: seconds between polls on SQLite (x10 on PostgreSQL).
        retention: how long records are kept before pruning.
        batch_size: records read (and decoded) per query.
        slice_seconds: the longest the follower delivers events before it
            yields the event loop to the calls.
        prune_interval: seconds between prunes.
        clock: the current time (for pruning).
        on_applied: called with each applied change after its delivery
            (benchmarks measure the commit-to-applied time with it).
        apply_timeout: the longest a commit in this process waits for its
            change to be applied here.
    """

    def __init__(
        self,
        database: Database,
        units: SqlUnitOfWorkFactory,
        bus: LocalEventBus,
        *,
        node: str,
        poll_interval: float = 0.25,
        retention: dt.timedelta = dt.timedelta(days=7),
        batch_size: int = 250,
        slice_seconds: float = 0.004,
        prune_interval: float = 3600.0,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_applied: Callable[[Change], None] | None = None,
        apply_timeout: float = 1.0,
    ) -> None:
        self._database = database
        self._units = units
        self._bus = bus
        self._node = node
        self._listen = not database.is_sqlite
        self._interval = poll_interval * (10 if self._listen else 1)
        self._retention = retention
        self._batch_size = batch_size
        self._slice = slice_seconds
        self._prune_interval = prune_interval
        self._clock = clock
        self._on_applied = on_applied
        self._apply_timeout = apply_timeout
        self._position: int | None = None
        self._saved: int | None = None
        self._saved_at = 0.0
        self._wake = asyncio.Event()
        self._step_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._forget_hook: Callable[[], None] | None = None
        self._listener: Any = None
        self.statistics = FollowerStatistics()

    @property
    def position(self) -> int:
        """The newest position applied (after :meth:`prepare`)."""
        if self._position is None:
            raise RuntimeError("the follower was not prepared")
        return self._position

    async def prepare(self) -> int:
        """Choose where to start (call before the caches load); return the position."""
        async with self._units() as uow:
            saved = await uow.changes.cursor(self._node)
            latest = await uow.changes.latest()
            horizon = await uow.changes.horizon()
        if saved is None or saved < horizon or saved > latest:
            self._position = latest
        else:
            self._position = saved
        self._saved = saved
        log.info("change feed", node=self._node, resume_from=self._position, newest=latest)
        return self._position

    async def start(self) -> None:
        """Follow the feed in the background (after :meth:`prepare` and the caches' load)."""
        if self._position is None:
            await self.prepare()
        self._forget_hook = self._units.on_commit(self.applied)
        if self._listen:
            await self._start_listening()
        self._tasks = [
            asyncio.create_task(self._follow(), name="change-feed"),
            asyncio.create_task(self._prune_loop(), name="change-feed-prune"),
        ]

    def wake(self) -> None:
        """Step as soon as possible (something was committed)."""
        self._wake.set()

    async def applied(self) -> None:
        """Apply what this process just committed before returning (bounded, never raises).

        After ``apply_timeout`` seconds, or on a database error, the change is
        left to the background loop (woken) and the caller goes on.
        """
        try:
            await asyncio.wait_for(self.catch_up(), self._apply_timeout)
        except TimeoutError:  # a burst (a large import): the loop goes on with it
            log.info("a burst of changes is applied in the background", node=self._node)
            self._wake.set()
        except Exception:
            log.warning("change not applied at commit; the follower will retry", exc_info=True)
            self._wake.set()

    async def stop(self) -> None:
        """Stop following; the cursor stays saved."""
        if self._forget_hook is not None:
            self._forget_hook()
            self._forget_hook = None
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        await self._stop_listening()
        with contextlib.suppress(Exception):
            await self._save()

    async def catch_up(self) -> int:
        """Apply every record past the cursor, batch by batch; return how many."""
        async with self._step_lock:
            applied, first = 0, True
            while True:
                delivered, more = await self._step(check_horizon=first)
                first = False
                applied += delivered
                if not more:
                    return applied
                await asyncio.sleep(0)  # let calls through between batches

    async def prune(self) -> int:
        """Delete records older than the retention; return how many."""
        async with self._units() as uow:
            pruned = await uow.changes.prune(self._clock() - self._retention)
            await uow.commit()
        if pruned:
            log.info("change feed pruned", records=pruned)
        return pruned

    # Internals ---------------------------------------------------------------------

    async def _step(self, *, check_horizon: bool) -> tuple[int, bool]:
        position = self.position
        due = check_horizon or time.monotonic() - self._saved_at >= _SAVE_EVERY
        save = position != self._saved and due
        async with self._units() as uow:
            # The cursor is saved late, first thing in the next poll (writes
            # before reads: an SQLite reader cannot become a writer once
            # another commit has passed it), and within a burst at most every
            # _SAVE_EVERY seconds. A crash replays what followed the saved
            # position, which every cache applies idempotently.
            if save:
                await uow.changes.save_cursor(self._node, position)
            horizon = await uow.changes.horizon() if check_horizon else 0
            latest = await uow.changes.latest() if position < horizon else position
            batch = await uow.changes.after(latest, self._batch_size)
            await uow.commit()
        if save:
            self._saved, self._saved_at = position, time.monotonic()
        if position < horizon:
            self._missed(position, horizon, latest)
        if batch.changes:
            self.statistics.batches += 1
        await self._deliver(batch.changes)
        self._position = batch.through
        return len(batch.changes), batch.through - latest >= self._batch_size

    async def _deliver(self, changes: tuple[Change, ...]) -> None:
        """Publish ``changes`` in order, yielding the loop every ``slice_seconds`` of work.

        The position follows each delivered change, so a step cancelled at a
        yield (a bounded wait at commit) never delivers a change twice.
        """
        started = time.perf_counter()
        for change in changes:
            self._bus.publish(change.event)
            self._position = change.position
            self.statistics.applied += 1
            if self._on_applied is not None:
                self._on_applied(change)
            if time.perf_counter() - started > self._slice:
                await asyncio.sleep(0)  # calls go first
                started = time.perf_counter()

    async def _save(self) -> None:
        if self._position is not None and self._position != self._saved:
            async with self._units() as uow:
                await uow.changes.save_cursor(self._node, self._position)
                await uow.commit()
            self._saved = self._position

    def _missed(self, position: int, horizon: int, latest: int) -> None:
        log.warning(
            "change feed pruned past this node's cursor: reloading",
            cursor=position,
            horizon=horizon,
        )
        self._position = latest
        self.statistics.reloads += 1
        self._bus.publish(
            ChangesMissed(reason=f"cursor {position} is behind the horizon {horizon}")
        )

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.catch_up()
            except Exception:
                log.exception("change feed step failed; retrying")
                await asyncio.sleep(self._interval)

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.prune()
            except Exception:
                log.exception("change feed prune failed")
            await asyncio.sleep(self._prune_interval)

    async def _start_listening(self) -> None:
        """LISTEN on a connection of its own (PostgreSQL); the poll covers failures."""
        try:
            connection = await self._database.engine.connect()
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.add_listener(FEED_CHANNEL, self._notified)
            driver.add_termination_listener(self._listener_lost)
            self._listener = connection
        except Exception:
            log.exception("LISTEN failed; the change feed is polled only")

    def _notified(self, *_args: object) -> None:
        self._wake.set()

    def _listener_lost(self, *_args: object) -> None:
        log.warning("the change feed's LISTEN connection closed; polling only")

    async def _stop_listening(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
