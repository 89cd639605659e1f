"""The call-record writer: batches, interval, flush on stop, the database away, the wiring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallDirection, CallRecordQuery, CallResult
from centralino.domain.events import CallRecordCreated, ExtensionDeleted
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.telephony.call_records import CallRecordWriter
from tests.call_record_builders import call_record
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, contact_uri, extension, sdp, start_calls


class CountingUnits:
    """A unit-of-work factory that counts units and can fail the next ones."""

    def __init__(self, units: SqlUnitOfWorkFactory) -> None:
        self.units = units
        self.opened = 0
        self.fail_next = 0

    def __call__(self) -> Any:
        self.opened += 1
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("database away")
        return self.units()


@pytest.fixture
async def units(tmp_path: Path) -> AsyncIterator[CountingUnits]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    await database.migrate()
    try:
        yield CountingUnits(SqlUnitOfWorkFactory(database))
    finally:
        await database.dispose()


async def stored(units: CountingUnits) -> list[str]:
    async with units.units() as uow:
        page = await uow.call_records.search(CallRecordQuery(limit=500, descending=False))
    return [record.id for record in page.items]


def publish(bus: LocalEventBus, numbers: range) -> None:
    for number in numbers:
        bus.publish(CallRecordCreated(record=call_record(number)))


async def test_a_full_batch_wakes_the_writer_one_transaction_a_batch(
    units: CountingUnits,
) -> None:
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=60, batch_size=200)
    writer.start(bus)
    publish(bus, range(450))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if writer.written == 450:
            break
    # Woken by a full batch, long before the interval, it writes all that waits:
    # 200, 200 and 50, one unit of work each.
    assert (writer.written, writer.pending, units.opened) == (450, 0, 3)
    await writer.stop()
    assert await stored(units) == [f"cr{n:05d}" for n in range(450)]
    assert (writer.written, writer.dropped, writer.pending) == (450, 0, 0)


async def test_a_few_records_are_written_after_the_interval(units: CountingUnits) -> None:
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=0.05, batch_size=200)
    writer.start(bus)
    publish(bus, range(3))
    bus.publish(ExtensionDeleted(number="101"))  # other events are ignored
    for _ in range(100):
        await asyncio.sleep(0.02)
        if writer.written == 3:
            break
    assert await stored(units) == ["cr00000", "cr00001", "cr00002"]
    await writer.stop()


async def test_stop_writes_what_is_waiting_and_stops_listening(units: CountingUnits) -> None:
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=60)
    writer.start(bus)
    publish(bus, range(5))
    assert await stored(units) == []
    await writer.stop()
    assert await stored(units) == [f"cr{n:05d}" for n in range(5)]
    publish(bus, range(5, 7))  # after stop: not listening any more
    assert writer.pending == 0


async def test_records_wait_while_the_database_is_away(units: CountingUnits) -> None:
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=0.02, batch_size=10)
    units.fail_next = 8  # the batch, then the probes of single records, several ticks
    writer.start(bus)
    publish(bus, range(4))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if writer.written == 4:
            break
    assert await stored(units) == [f"cr{n:05d}" for n in range(4)]
    assert writer.dropped == 0
    await writer.stop()


async def test_a_record_the_database_refuses_does_not_hold_the_others(
    units: CountingUnits,
) -> None:
    async with units.units() as uow:
        await uow.call_records.add_many([call_record(1)])
        await uow.commit()
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=60)
    writer.start(bus)
    publish(bus, range(4))  # record 1 is there already
    await writer.stop()
    assert await stored(units) == [f"cr{n:05d}" for n in range(4)]
    assert (writer.written, writer.dropped) == (3, 1)


async def test_at_stop_with_the_database_away_the_loss_is_counted(units: CountingUnits) -> None:
    bus = LocalEventBus()
    writer = CallRecordWriter(units, interval=60)
    writer.start(bus)
    publish(bus, range(3))
    units.fail_next = 1000
    await writer.stop()
    assert (writer.written, writer.dropped, writer.pending) == (0, 3, 0)


async def test_the_waiting_list_is_bounded(units: CountingUnits) -> None:
    writer = CallRecordWriter(units, interval=60, batch_size=1000, max_pending=5)
    bus = LocalEventBus()
    writer.start(bus)
    publish(bus, range(8))
    assert (writer.pending, writer.dropped) == (5, 3)
    await writer.stop()
    assert await stored(units) == [f"cr{n:05d}" for n in range(3, 8)]


async def test_a_call_through_the_engine_leaves_its_record_at_stop() -> None:
    """The wiring: the core's CallRecordCreated reaches the writer of ``build_engine``."""
    store = InMemoryStore()
    store.seed(extensions=[extension("101"), extension("102")])
    telephony, _registry = await start_calls(store, FakeClock(), LocalEventBus())
    caller = SipPhone(telephony.port(), "101")
    callee = SipPhone(telephony.port(), "102")
    try:
        assert (await caller.register()).status == 200
        assert (await callee.register()).status == 200
        dialed = await caller.dial("102")
        invite = await callee.request("INVITE")
        callee.answer(invite, 200, body=sdp(30000))
        answer = await caller.response(200)
        caller.send(caller.ack_for(dialed.invite, answer))
        await callee.request("ACK")
        caller.in_dialog(
            "BYE",
            local=dialed.invite.headers.from_address(),
            remote=answer.headers.to_address(),
            call_id=dialed.invite.headers.call_id(),
            target=contact_uri(answer),
        )
        assert (await caller.response(200, "BYE")).status == 200
        callee.answer(await callee.request("BYE"), 200)
    finally:
        caller.close()
        callee.close()
        await telephony.stop()  # the writer's last flush
    [record] = store.state.call_records.values()
    assert (record.caller, record.callee, record.answered_by) == ("101", "102", "102")
    assert record.direction is CallDirection.INTERNAL
    assert record.result is CallResult.ANSWERED
    assert record.answered_at is not None
