"""The change feed on SQLite and PostgreSQL: outbox writes, the follower, gaps, pruning."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import pytest
from sqlalchemy import insert

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import (
    ChangesMissed,
    DomainEvent,
    ExtensionDeleted,
    MailboxChanged,
    StatusChanged,
)
from centralino.domain.forwarding import Status
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.feed import ChangeFollower
from centralino.storage.tables import changes

NODE = "node-a"
FAR_FUTURE = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)


def _event(index: int) -> DomainEvent:
    return MailboxChanged(mailbox=f"{100 + index % 900}", new=index, saved=0)


async def _commit(units: SqlUnitOfWorkFactory, *events: DomainEvent, actor: str = "t") -> None:
    async with units() as uow:
        await uow.changes.append(list(events), actor=actor)
        await uow.commit()


def _follower(
    database: Database, units: SqlUnitOfWorkFactory, bus: LocalEventBus, **options: float
) -> ChangeFollower:
    return ChangeFollower(database, units, bus, node=NODE, **options)  # type: ignore[arg-type]


def _recorded(bus: LocalEventBus) -> list[DomainEvent]:
    seen: list[DomainEvent] = []
    bus.subscribe(seen.append)
    return seen


async def test_events_are_delivered_in_commit_order_exactly_once(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = _follower(database, units, bus, batch_size=7)
    assert await follower.prepare() == 0
    events = [_event(i) for i in range(50)]
    for start in range(0, 50, 5):
        await _commit(units, *events[start : start + 5])
    assert await follower.catch_up() == 50
    assert seen == events
    assert await follower.catch_up() == 0  # nothing twice
    assert seen == events
    await _commit(units, ExtensionDeleted(number="101"))
    assert await follower.catch_up() == 1
    assert seen[-1] == ExtensionDeleted(number="101")


async def test_a_rolled_back_change_writes_nothing(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    async with units() as uow:
        await uow.changes.append([_event(1)], actor="t")
        await uow.rollback()
    async with units() as uow:
        assert await uow.changes.latest() == 0
        assert (await uow.changes.after(0, 10)).changes == ()


async def test_records_keep_actor_node_and_time(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    before = dt.datetime.now(dt.UTC)
    await _commit(units, _event(1), actor="cli:root")
    async with units() as uow:
        [change] = (await uow.changes.after(0, 10)).changes
    assert (change.actor, change.node, change.event) == ("cli:root", NODE, _event(1))
    assert before - dt.timedelta(seconds=1) <= change.at <= dt.datetime.now(dt.UTC)


async def test_a_restarted_follower_catches_up_in_order(database: Database) -> None:
    """Stopped while 1,000 changes are committed, the node resumes from its saved cursor."""
    units = SqlUnitOfWorkFactory(database, node=NODE)
    first_bus = LocalEventBus()
    first = _recorded(first_bus)
    follower = _follower(database, units, first_bus)
    await follower.prepare()
    await _commit(units, _event(-1))
    await follower.catch_up()
    await follower.stop()  # saves the cursor
    assert first == [_event(-1)]

    events = [_event(i) for i in range(1000)]
    for start in range(0, 1000, 100):
        await _commit(units, *events[start : start + 100])

    bus = LocalEventBus()
    seen = _recorded(bus)
    restarted = _follower(database, units, bus)
    assert await restarted.prepare() == 1  # where the first one stopped
    assert await restarted.catch_up() == 1000
    assert seen == events
    assert restarted.statistics.batches == 4  # 250 a query: applied as a burst


async def test_a_new_node_starts_at_the_newest_change(database: Database) -> None:
    """A node that never ran loads its caches whole: older changes are not replayed."""
    units = SqlUnitOfWorkFactory(database, node=NODE)
    await _commit(units, _event(1), _event(2))
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = _follower(database, units, bus)
    assert await follower.prepare() == 2
    await _commit(units, _event(3))
    await follower.catch_up()
    assert seen == [_event(3)]


async def test_a_cursor_behind_the_pruned_feed_reloads_whole(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = _follower(database, units, bus, retention=dt.timedelta(0))  # type: ignore[arg-type]
    await follower.prepare()
    for index in range(10):
        await _commit(units, _event(index))
    pruned = ChangeFollower(
        database, units, LocalEventBus(), node="other", clock=lambda: FAR_FUTURE
    )
    assert await pruned.prune() == 10
    await _commit(units, _event(10))
    await follower.catch_up()
    assert [type(event) for event in seen] == [ChangesMissed]  # the reload covers event 10
    assert follower.position == 11
    assert follower.statistics.reloads == 1
    await _commit(units, _event(11))
    assert await follower.catch_up() == 1
    assert seen[1:] == [_event(11)]


async def test_a_saved_cursor_behind_the_horizon_restarts_at_the_newest(
    database: Database,
) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    async with units() as uow:
        await uow.changes.save_cursor(NODE, 1)
        await uow.commit()
    for index in range(5):
        await _commit(units, _event(index))
    far = ChangeFollower(database, units, LocalEventBus(), node="x", clock=lambda: FAR_FUTURE)
    await far.prune()
    follower = _follower(database, units, LocalEventBus())
    assert await follower.prepare() == 5


async def test_pruning_keeps_recent_changes(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    await _commit(units, _event(1))
    follower = _follower(database, units, LocalEventBus())
    assert await follower.prune() == 0  # a week's retention
    async with units() as uow:
        assert await uow.changes.latest() == 1
        assert await uow.changes.horizon() == 0


async def test_positions_are_never_reused_after_pruning(database: Database) -> None:
    units = SqlUnitOfWorkFactory(database, node=NODE)
    await _commit(units, _event(1), _event(2))
    far = ChangeFollower(database, units, LocalEventBus(), node="x", clock=lambda: FAR_FUTURE)
    assert await far.prune() == 2
    await _commit(units, _event(3))
    async with units() as uow:
        assert await uow.changes.latest() == 3
        assert await uow.changes.horizon() == 2


async def test_unreadable_records_are_skipped_not_stuck(database: Database) -> None:
    """A newer node's event type is logged and passed over; the cursor moves on."""
    units = SqlUnitOfWorkFactory(database, node=NODE)
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = _follower(database, units, bus)
    await follower.prepare()
    async with database.engine.begin() as connection:
        row = {"at": dt.datetime.now(dt.UTC), "actor": "t", "node": "new", "payload": {}}
        await connection.execute(insert(changes).values(type="SomethingNew", **row))
        await connection.execute(insert(changes).values(type="StatusChanged", **row))
    await _commit(units, _event(1))
    assert await follower.catch_up() == 1
    assert seen == [_event(1)]
    assert follower.position == 3


async def test_a_commit_in_this_process_is_applied_before_it_returns(
    database: Database,
) -> None:
    """Read-your-writes: an API client's change is in this node's caches when it gets 2xx."""
    units = SqlUnitOfWorkFactory(database, node=NODE)
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = _follower(database, units, bus, poll_interval=30)
    await follower.start()
    try:
        dnd = StatusChanged(number="101", old=Status.AVAILABLE, new=Status.DND)
        await _commit(units, dnd)
        assert seen == [dnd]  # no poll, no wait: applied within the commit
        await _commit(units, _event(1), _event(2))
        assert seen == [dnd, _event(1), _event(2)]
    finally:
        await follower.stop()
    await _commit(units, _event(3))  # a stopped follower no longer hooks commits
    assert seen == [dnd, _event(1), _event(2)]


async def test_another_process_is_seen_by_polling_or_notification(database: Database) -> None:
    """A commit through another factory (another process) arrives without a local wake-up.

    SQLite is polled every 0.1 s here; PostgreSQL polls only every 10 s, so an
    arrival within a second proves LISTEN/NOTIFY.
    """
    units = SqlUnitOfWorkFactory(database, node=NODE)
    elsewhere = SqlUnitOfWorkFactory(database, node="node-b")
    bus = LocalEventBus()
    arrived = asyncio.Event()
    bus.subscribe(lambda event: arrived.set())
    follower = _follower(database, units, bus, poll_interval=1 if not database.is_sqlite else 0.1)
    await follower.start()
    try:
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await _commit(elsewhere, _event(1))
        await asyncio.wait_for(arrived.wait(), 5)
        assert time.monotonic() - started < 1
    finally:
        await follower.stop()


@pytest.mark.postgres
async def test_postgres_writers_commit_positions_in_order(database: Database) -> None:
    """A second writer waits for the first one's commit before taking a position."""
    if database.is_sqlite:
        pytest.skip("SQLite has one writer at a time anyway")
    units = SqlUnitOfWorkFactory(database, node=NODE)
    first = units()
    async with first:
        await first.changes.append([_event(1)], actor="t")

        async def second() -> None:
            await _commit(units, _event(2))

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked by the first writer's advisory lock
        await first.commit()
    await asyncio.wait_for(waiting, 5)
    async with units() as uow:
        batch = await uow.changes.after(0, 10)
    assert [change.event for change in batch.changes] == [_event(1), _event(2)]


async def test_a_burst_yields_the_loop_and_a_cancelled_step_repeats_nothing(
    database: Database,
) -> None:
    """Delivery yields to other tasks; cancelled at a yield, nothing is delivered twice."""
    units = SqlUnitOfWorkFactory(database, node=NODE)
    bus = LocalEventBus()
    seen = _recorded(bus)
    follower = ChangeFollower(database, units, bus, node=NODE, slice_seconds=0.0)
    await follower.prepare()
    events = [_event(i) for i in range(30)]
    await _commit(units, *events)
    ticks = 0

    async def other_task() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    tenth = asyncio.Event()
    bus.subscribe(lambda _event: tenth.set() if len(seen) >= 10 else None)
    ticker = asyncio.create_task(other_task())
    step = asyncio.create_task(follower.catch_up())
    await tenth.wait()
    step.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await step
    assert ticks >= 10  # the loop ran other work during the burst
    delivered = len(seen)
    assert 10 <= delivered < 30
    assert await follower.catch_up() == 30 - delivered
    ticker.cancel()
    assert seen == events  # in order, each once
