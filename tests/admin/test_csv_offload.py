"""A large CSV file is validated in a child process: same results, same errors as in-process.

``offload_lines=0`` sends every file to the child (``workers.run_in_process``),
so that small files exercise it; a service built with a seeded generator
(the ``services`` fixture) validates in-process, and the two are compared.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator

import pytest

from centralino.admin.context import Actor
from centralino.admin.csv_service import CHUNK_SIZE, CsvService
from centralino.admin.services import ManagementServices
from centralino.admin.workers import WorkerFailed, run_in_process
from centralino.domain.errors import Conflict, InvalidInput
from centralino.domain.events import ExtensionCreated
from tests.admin.test_csv import errors_of, rows_csv
from tests.fakes import FakeClock, InMemoryStore, RecordingEventBus

pytestmark = pytest.mark.usefixtures("groups")


@pytest.fixture
def offloaded(store: InMemoryStore, clock: FakeClock) -> CsvService:
    return CsvService(store, clock, offload_lines=0)


def numbered(count: int, start: int = 200) -> str:
    return rows_csv(
        ["number", "first_name", "dids"],
        *[
            [str(start + index), f"Name{index}", f'["06{start + index:08d}"]']
            for index in range(count)
        ],
    )


async def test_a_child_validates_and_the_import_stores_every_chunk(
    offloaded: CsvService, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    count = CHUNK_SIZE * 2 + 7  # three chunks, the last one short
    created = await offloaded.import_csv(actor, numbered(count))
    assert created.numbers == [str(200 + index) for index in range(count)]
    assert len(store.state.extensions) == count
    assert [extension.number for extension in created[CHUNK_SIZE - 1 : CHUNK_SIZE + 1]] == [
        str(200 + CHUNK_SIZE - 1),
        str(200 + CHUNK_SIZE),
    ]
    assert created[-1] == store.state.extensions[str(200 + count - 1)]
    assert bus.events[0] == ExtensionCreated(number="200", extension=created[0])
    assert store.commits == 1


async def test_a_file_of_whole_chunks(
    offloaded: CsvService, actor: Actor, store: InMemoryStore
) -> None:
    created = await offloaded.import_csv(actor, numbered(CHUNK_SIZE * 2))
    assert len(created) == len(store.state.extensions) == CHUNK_SIZE * 2
    assert created[-1].number == str(200 + CHUNK_SIZE * 2 - 1)
    with pytest.raises(InvalidInput) as caught:
        await offloaded.import_csv(actor, "number,first_name\n")
    assert [error.reason for error in caught.value.errors] == ["no extension rows"]


async def test_the_child_reports_the_same_errors_as_the_loop(
    offloaded: CsvService, services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await services.extensions.create(actor, {"number": "101"})
    text = rows_csv(
        ["number", "rights"],
        ["100", ""],
        ["101", ""],
        ["102", '[{"group":"no-such-group"}]'],
        ["100", ""],
        ["1003", ""],
    )
    with pytest.raises(InvalidInput) as here:
        await services.csv.import_csv(actor, text)
    with pytest.raises(InvalidInput) as there:
        await offloaded.import_csv(actor, text)
    assert (
        errors_of(there)
        == errors_of(here)
        == [
            (2, "number"),
            (3, "rights.0.group"),
            (4, "number"),
            (5, "number"),
        ]
    )
    assert list(store.state.extensions) == ["101"]


async def test_the_child_reports_conflicts_and_unreadable_files(
    offloaded: CsvService, services: ManagementServices, actor: Actor
) -> None:
    await services.extensions.create(actor, {"number": "101", "dids": ["0612345600"]})
    taken = rows_csv(["number", "dids"], ["100", ""], ["102", '["0612345600"]'])
    with pytest.raises(Conflict) as caught:
        await offloaded.import_csv(actor, taken)
    assert (caught.value.row, caught.value.path) == (2, "dids.0")
    twice = rows_csv(["number", "meeting_room"], ["100", "board"], ["103", "board"])
    with pytest.raises(Conflict) as caught:
        await offloaded.import_csv(actor, twice)
    assert (caught.value.row, caught.value.path) == (2, "meeting_room")
    with pytest.raises(InvalidInput) as unreadable:
        await offloaded.import_csv(actor, "first_name\nAda\n")
    assert errors_of(unreadable) == [(0, "header")]


async def test_rows_may_reference_each_other_and_existing_extensions(
    offloaded: CsvService, services: ManagementServices, actor: Actor
) -> None:
    await services.extensions.create(actor, {"number": "105"})
    busy = '{"type":"extension","number":"%s"}'
    column = "forwarding.profiles.available.internal.busy"
    text = rows_csv(["number", column], ["100", busy % "101"], ["101", busy % "105"])
    created = await offloaded.import_csv(actor, text)
    assert [reference.number for extension in created for reference in extension.references()] == [
        "101",
        "105",
    ]
    missing = rows_csv(["number", column], ["102", busy % "109"])
    with pytest.raises(InvalidInput) as here:
        await services.csv.import_csv(actor, missing)
    with pytest.raises(InvalidInput) as there:
        await offloaded.import_csv(actor, missing)
    assert errors_of(there) == errors_of(here) == [(1, f"{column}.number")]


async def test_without_a_worker_process_the_loop_validates(
    offloaded: CsvService, actor: Actor, store: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", "")
    created = await offloaded.import_csv(actor, numbered(3))
    assert created.numbers == ["200", "201", "202"]
    assert len(store.state.extensions) == 3


def _echo(argument: tuple[int, bool]) -> Iterator[bytes]:
    count, fail = argument
    for index in range(count):
        yield str(index).encode() * 100_000  # larger than a pipe's buffer
    if fail:
        raise ValueError("broken task")


async def test_run_in_process_streams_frames_and_reports_failures() -> None:
    frames: list[bytes] = []
    await run_in_process(_echo, (3, False), frames.append)
    assert frames == [b"0" * 100_000, b"1" * 100_000, b"2" * 100_000]
    with pytest.raises(WorkerFailed, match="broken task"):
        await run_in_process(_echo, (1, True), lambda _frame: None)


def _forever(_argument: None) -> Iterator[bytes]:
    yield str(os.getpid()).encode()
    time.sleep(60)


async def test_a_cancelled_run_kills_its_process() -> None:
    pids: list[int] = []
    started = asyncio.Event()

    def receive(frame: bytes) -> None:
        pids.append(int(frame))
        started.set()

    task = asyncio.create_task(run_in_process(_forever, None, receive))
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
