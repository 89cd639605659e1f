"""Call records on SQLite and PostgreSQL: filters, sorts, keyset pages, round trips."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Connection, inspect

from centralino.domain.call_records import (
    CallDirection,
    CallRecord,
    CallRecordQuery,
    CallRecordSort,
    CallResult,
)
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.database import alembic_config
from tests.call_record_builders import T0, call_record
from tests.fakes import InMemoryStore

EXTENSIONS = ("101", "102", "103", "104")
TRUNKS = ("alpha", "beta")


def varied(count: int) -> list[CallRecord]:
    """Records of every shape; several share a start time (ties broken by id)."""
    rng = random.Random(3)
    records = []
    for number in range(count):
        direction = rng.choice(list(CallDirection))
        result = rng.choice(list(CallResult))
        answered = result in (CallResult.ANSWERED, CallResult.VOICEMAIL)
        start = T0 + dt.timedelta(minutes=number // 3)  # three calls a minute
        caller, callee = rng.choice(EXTENSIONS), rng.choice(EXTENSIONS)
        if direction is CallDirection.INBOUND:
            caller = "+390612345678"
        if direction is CallDirection.OUTBOUND:
            callee = "+390698765432"
        records.append(
            call_record(
                number,
                started_at=start,
                answered_at=start + dt.timedelta(seconds=3) if answered else None,
                ended_at=start + dt.timedelta(seconds=rng.randrange(4, 40)),
                direction=direction,
                result=result,
                caller=caller,
                callee=callee,
                answered_by=rng.choice(EXTENSIONS) if answered else None,
                trunk=None if direction is CallDirection.INTERNAL else rng.choice(TRUNKS),
                did="+390612345000" if direction is CallDirection.INBOUND else None,
                caller_name="Zoë Ünal" if number % 5 == 0 else None,
                recording_id=f"rec{number}" if number % 7 == 0 else None,
            )
        )
    return records


RECORDS = varied(120)


async def fill(units: SqlUnitOfWorkFactory) -> None:
    async with units() as uow:
        await uow.call_records.add_many(RECORDS[:60])
        await uow.call_records.add_many(RECORDS[60:])
        await uow.call_records.add_many([])
        await uow.commit()


async def every_page(units: SqlUnitOfWorkFactory, query: CallRecordQuery) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        async with units() as uow:
            page = await uow.call_records.search(query)
        pages.append([record.id for record in page.items])
        if page.next is None:
            return pages
        assert len(pages) < 200
        query = CallRecordQuery(**{**_fields(query), "after": page.next})


def _fields(query: CallRecordQuery) -> dict[str, object]:
    return {name: getattr(query, name) for name in query.__dataclass_fields__}


def expected(
    matches: Callable[[CallRecord], bool], sort: CallRecordSort, descending: bool
) -> list[str]:
    def key(record: CallRecord) -> tuple[object, str]:
        value = record.duration if sort is CallRecordSort.DURATION else record.started_at
        return (value, record.id)

    chosen = sorted((r for r in RECORDS if matches(r)), key=key, reverse=descending)
    return [record.id for record in chosen]


async def test_round_trip_and_get(unit_of_work: SqlUnitOfWorkFactory) -> None:
    await fill(unit_of_work)
    async with unit_of_work() as uow:
        for record in RECORDS[:10]:
            assert await uow.call_records.get(record.id) == record
        assert await uow.call_records.get("nope") is None
        found = await uow.call_records.get(RECORDS[0].id)
    assert found is not None
    assert found.started_at.tzinfo is not None
    assert found.caller_name == "Zoë Ünal"


FILTERS: list[tuple[str, dict[str, object], Callable[[CallRecord], bool]]] = [
    ("everything", {}, lambda r: True),
    (
        "time range",
        {
            "started_from": T0 + dt.timedelta(minutes=5),
            "started_before": T0 + dt.timedelta(minutes=20),
        },
        lambda r: T0 + dt.timedelta(minutes=5) <= r.started_at < T0 + dt.timedelta(minutes=20),
    ),
    (
        "extension",
        {"extension": "103"},
        lambda r: "103" in (r.caller, r.callee, r.answered_by),
    ),
    (
        "direction",
        {"direction": CallDirection.INBOUND},
        lambda r: r.direction is CallDirection.INBOUND,
    ),
    ("result", {"result": CallResult.BUSY}, lambda r: r.result is CallResult.BUSY),
    ("trunk", {"trunk": "beta"}, lambda r: r.trunk == "beta"),
    (
        "all at once",
        {
            "extension": "102",
            "result": CallResult.ANSWERED,
            "started_from": T0 + dt.timedelta(minutes=3),
        },
        lambda r: (
            "102" in (r.caller, r.callee, r.answered_by)
            and r.result is CallResult.ANSWERED
            and r.started_at >= T0 + dt.timedelta(minutes=3)
        ),
    ),
]


@pytest.mark.parametrize(("name", "filters", "matches"), FILTERS, ids=[f[0] for f in FILTERS])
@pytest.mark.parametrize("sort", list(CallRecordSort))
@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
async def test_filters_sorts_and_pages_walk_every_match_once(
    unit_of_work: SqlUnitOfWorkFactory,
    name: str,
    filters: dict[str, object],
    matches: Callable[[CallRecord], bool],
    sort: CallRecordSort,
    descending: bool,
) -> None:
    await fill(unit_of_work)
    query = CallRecordQuery(sort=sort, descending=descending, limit=7, **filters)  # type: ignore[arg-type]
    pages = await every_page(unit_of_work, query)
    want = expected(matches, sort, descending)
    assert [record for page in pages for record in page] == want
    assert all(len(page) == 7 for page in pages[:-1])
    assert len(pages[-1]) <= 7
    assert want  # every filter of the table matches something


@pytest.mark.parametrize(("name", "filters", "matches"), FILTERS, ids=[f[0] for f in FILTERS])
async def test_the_in_memory_fake_pages_like_the_database(
    name: str, filters: dict[str, object], matches: Callable[[CallRecord], bool]
) -> None:
    units = InMemoryStore()
    await fill(units)  # type: ignore[arg-type]
    for sort in CallRecordSort:
        query = CallRecordQuery(sort=sort, limit=7, **filters)  # type: ignore[arg-type]
        pages = await every_page(units, query)  # type: ignore[arg-type]
        assert [record for page in pages for record in page] == expected(matches, sort, True)


async def test_a_page_exactly_full_says_whether_more_follow(
    unit_of_work: SqlUnitOfWorkFactory,
) -> None:
    await fill(unit_of_work)
    async with unit_of_work() as uow:
        whole = await uow.call_records.search(CallRecordQuery(limit=120))
        short = await uow.call_records.search(CallRecordQuery(limit=119))
    assert len(whole.items) == 120
    assert whole.next is None
    assert short.next is not None
    assert short.next.id == short.items[-1].id


async def test_a_call_answered_by_its_callee_is_listed_once_for_them(
    unit_of_work: SqlUnitOfWorkFactory,
) -> None:
    records = [
        call_record(n, caller="201", callee="202", answered_by="202" if n % 2 else None)
        for n in range(6)
    ]
    async with unit_of_work() as uow:
        await uow.call_records.add_many(records)
        await uow.commit()
    async with unit_of_work() as uow:
        page = await uow.call_records.search(CallRecordQuery(extension="202", limit=4))
        rest = await uow.call_records.search(
            CallRecordQuery(extension="202", limit=4, after=page.next)
        )
    assert [r.id for r in [*page.items, *rest.items]] == [r.id for r in reversed(records)]


def _downgrade_and_upgrade(connection: Connection) -> tuple[bool, bool, int]:
    """From head down to 0006 (no call records) and up again, a group kept meanwhile."""
    connection.exec_driver_sql("INSERT INTO groups (name, data) VALUES ('sales', '{}')")
    command.downgrade(alembic_config(connection), "0006")
    gone = "call_records" not in inspect(connection).get_table_names()
    command.upgrade(alembic_config(connection), "head")
    back = "call_records" in inspect(connection).get_table_names()
    groups = connection.exec_driver_sql("SELECT count(*) FROM groups").scalar_one()
    return gone, back, groups


async def test_migration_0007_adds_the_table_and_keeps_the_rest(database: Database) -> None:
    async with database.engine.begin() as connection:
        gone, back, groups = await connection.run_sync(_downgrade_and_upgrade)
    assert (gone, back, groups) == (True, True, 1)
    units = SqlUnitOfWorkFactory(database)
    await fill(units)
    async with units() as uow:
        assert len((await uow.call_records.search(CallRecordQuery(limit=500))).items) == 120
