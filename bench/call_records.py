"""Benchmark: call-record search with 1,000,000 records, on SQLite and PostgreSQL.

Floor (issue 12, "Done when"): p95 under 100 ms a page.

Theory of operation. Per backend (an SQLite file in a temporary directory,
then a throw-away PostgreSQL 15 cluster, as /work/shared/PEERS.md says):

1. The database is migrated (``Database.migrate``: the ``call_records``
   table and its indexes as shipped), the table's indexes are dropped, the
   records are bulk-loaded (SQLite: ``executemany`` on the file; PostgreSQL:
   ``COPY``), then the indexes are created again from ``storage/tables.py``
   and the statistics gathered (``ANALYZE``), as a restore would. The fill
   time is reported.
2. The records are synthetic but shaped like a PBX's year: one call every
   ~31 s over 365 days, 400 extensions, 60 % internal / 25 % inbound /
   15 % outbound, three trunks, results mostly answered, a few failed.
3. ``--searches`` searches (default 200) go through the shipped repository
   (``SqlCallRecordRepository`` in a unit of work, as the API does), in a
   fixed, seeded mix: the newest page; a deep page (a cursor in the middle
   of the year); an extension's calls, first and deep; direction, result
   and trunk filters; a day's range by duration; the longest calls overall
   (deep too); an extension in a month with a result; 500-row pages; an
   extension's, a trunk's, the outbound and the failed calls by duration. Each
   is timed (wall clock and this process's CPU time) and checked to return
   rows sorted and filtered as asked.
4. The engine's ``CallRecordWriter`` stores 20,000 more records published
   as ``CallRecordCreated`` events on a bus: time and CPU per record.

    .venv/bin/python bench/call_records.py [--records 1000000] [--searches 200]
        [--backend sqlite|postgresql|both] [--without INDEX ...]

``--without`` leaves an index out (``result``, ``trunk``, ``duration``...: the
name after ``ix_call_records_``, up to its first column), to measure what
each one buys.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from serve_support import postgres  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from centralino.domain.bus import LocalEventBus  # noqa: E402
from centralino.domain.call_records import (  # noqa: E402
    CallDirection,
    CallRecord,
    CallRecordQuery,
    CallRecordSort,
    CallResult,
    PageKey,
)
from centralino.domain.events import CallRecordCreated  # noqa: E402
from centralino.storage import Database, SqlUnitOfWorkFactory  # noqa: E402
from centralino.storage.tables import call_records  # noqa: E402
from centralino.telephony.call_records import CallRecordWriter  # noqa: E402

YEAR_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SPAN = dt.timedelta(days=365)
EXTENSIONS = [str(number) for number in range(100, 500)]
TRUNKS = ["provider-a", "provider-b", "backup"]
COLUMNS = [column.name for column in call_records.columns]
CHUNK = 20_000
TIME_LIMIT = 1800.0
"""The whole run stops (with what it measured) after this many seconds."""


def _result(rng: random.Random) -> CallResult:
    roll = rng.random()
    if roll < 0.70:
        return CallResult.ANSWERED
    if roll < 0.82:
        return CallResult.NO_ANSWER
    if roll < 0.90:
        return CallResult.VOICEMAIL
    if roll < 0.95:
        return CallResult.BUSY
    if roll < 0.98:
        return CallResult.REJECTED
    return CallResult.FAILED


def generate(count: int, seed: int = 12) -> Iterator[tuple[Any, ...]]:
    """``count`` records' rows in column order, oldest first."""
    rng = random.Random(seed)
    step = SPAN / count
    for index in range(count):
        started = YEAR_START + step * index + dt.timedelta(milliseconds=rng.randrange(1000))
        roll = rng.random()
        direction = (
            CallDirection.INTERNAL
            if roll < 0.6
            else CallDirection.INBOUND
            if roll < 0.85
            else CallDirection.OUTBOUND
        )
        result = _result(rng)
        ring = rng.randrange(1, 30)
        talk = rng.randrange(1, 1800) if result is CallResult.ANSWERED else 0
        answered = started + dt.timedelta(seconds=ring) if talk else None
        ended = started + dt.timedelta(seconds=ring + talk)
        extension, other = rng.choice(EXTENSIONS), rng.choice(EXTENSIONS)
        outside = f"+3906{rng.randrange(10_000_000, 99_999_999)}"
        trunk = None if direction is CallDirection.INTERNAL else rng.choice(TRUNKS)
        caller, callee = {
            CallDirection.INTERNAL: (extension, other),
            CallDirection.INBOUND: (outside, f"+390612345{other[-3:]}"),
            CallDirection.OUTBOUND: (extension, outside),
        }[direction]
        answered_by = None
        if talk:
            answered_by = other if direction is not CallDirection.OUTBOUND else outside
        yield (
            f"{index:012d}{rng.getrandbits(64):016x}",
            started,
            answered,
            ended,
            ring + talk,
            talk,
            direction.value,
            caller,
            None,
            callee,
            callee if direction is CallDirection.INBOUND else None,
            trunk,
            answered_by,
            result.value,
            "",
            f"{direction.value} to {callee}",
            None,
            "bench",
        )


def _sqlite_text(value: Any) -> Any:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, no offset)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _chunks(count: int) -> Iterator[list[tuple[Any, ...]]]:
    rows: list[tuple[Any, ...]] = []
    for row in generate(count):
        rows.append(row)
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


WITHOUT: set[str] = set()
"""Indexes left out (``--without``), by their first column."""


def _kept() -> list[Any]:
    return [i for i in call_records.indexes if next(iter(i.columns)).name not in WITHOUT]


def fill_sqlite(path: Path, count: int) -> None:
    """Bulk-load ``count`` records into the migrated SQLite file, indexes rebuilt after."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        for index in call_records.indexes:
            connection.execute(f"DROP INDEX {index.name}")
        marks = ",".join("?" * len(COLUMNS))
        insert = f"INSERT INTO call_records ({','.join(COLUMNS)}) VALUES ({marks})"
        for rows in _chunks(count):
            connection.executemany(insert, [tuple(map(_sqlite_text, row)) for row in rows])
        connection.commit()
        for index in _kept():
            connection.execute(str(CreateIndex(index).compile(dialect=_sqlite_dialect())))
        connection.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()


def _sqlite_dialect() -> Any:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


async def fill_postgresql(database: Database, count: int) -> None:
    """Bulk-load ``count`` records with COPY, indexes rebuilt after."""
    async with database.engine.connect() as connection:
        for index in call_records.indexes:
            await connection.execute(text(f"DROP INDEX {index.name}"))
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for rows in _chunks(count):
            await driver.copy_records_to_table("call_records", records=rows, columns=COLUMNS)
        for index in _kept():
            await connection.execute(CreateIndex(index))
        await connection.commit()
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE call_records"))


Check = Callable[[CallRecordQuery, list[Any]], None]


def _queries(count: int, total: int, rng: random.Random) -> list[tuple[str, CallRecordQuery]]:
    """A fixed mix of searches (names for the breakdown)."""

    def moment() -> dt.datetime:
        return YEAR_START + SPAN * rng.random()

    def started_key() -> PageKey:
        return PageKey(value=moment(), id="0" * 12 + "f" * 16)

    kinds: list[Callable[[], tuple[str, CallRecordQuery]]] = [
        lambda: ("newest page", CallRecordQuery()),
        lambda: ("deep page", CallRecordQuery(after=started_key())),
        lambda: ("deep page ascending", CallRecordQuery(descending=False, after=started_key())),
        lambda: ("extension", CallRecordQuery(extension=rng.choice(EXTENSIONS))),
        lambda: (
            "extension deep",
            CallRecordQuery(extension=rng.choice(EXTENSIONS), after=started_key()),
        ),
        lambda: (
            "direction deep",
            CallRecordQuery(direction=CallDirection.OUTBOUND, after=started_key()),
        ),
        lambda: ("result failed", CallRecordQuery(result=CallResult.FAILED, after=started_key())),
        lambda: ("trunk", CallRecordQuery(trunk=rng.choice(TRUNKS), after=started_key())),
        lambda: _day_by_duration(moment()),
        lambda: (
            "longest deep",
            CallRecordQuery(
                sort=CallRecordSort.DURATION,
                after=PageKey(value=rng.randrange(60, 1800), id="f" * 28),
            ),
        ),
        lambda: _month_extension(moment(), rng.choice(EXTENSIONS)),
        lambda: ("500-row page", CallRecordQuery(limit=500, after=started_key())),
        lambda: (
            "extension by duration",
            CallRecordQuery(extension=rng.choice(EXTENSIONS), sort=CallRecordSort.DURATION),
        ),
        lambda: (
            "trunk by duration",
            CallRecordQuery(trunk=rng.choice(TRUNKS), sort=CallRecordSort.DURATION),
        ),
        lambda: (
            "outbound by duration",
            CallRecordQuery(direction=CallDirection.OUTBOUND, sort=CallRecordSort.DURATION),
        ),
        lambda: (
            "failed by duration",
            CallRecordQuery(result=CallResult.FAILED, sort=CallRecordSort.DURATION),
        ),
    ]
    return [kinds[index % len(kinds)]() for index in range(count)]


def _day_by_duration(day: dt.datetime) -> tuple[str, CallRecordQuery]:
    return (
        "day by duration",
        CallRecordQuery(
            started_from=day,
            started_before=day + dt.timedelta(days=1),
            sort=CallRecordSort.DURATION,
        ),
    )


def _month_extension(start: dt.datetime, extension: str) -> tuple[str, CallRecordQuery]:
    return (
        "extension month answered",
        CallRecordQuery(
            extension=extension,
            started_from=start,
            started_before=start + dt.timedelta(days=30),
            result=CallResult.ANSWERED,
        ),
    )


def _check(query: CallRecordQuery, items: list[Any]) -> None:
    keys = [
        (r.duration if query.sort is CallRecordSort.DURATION else r.started_at, r.id) for r in items
    ]
    assert keys == sorted(keys, reverse=query.descending), "rows out of order"
    for record in items:
        if query.extension is not None:
            assert query.extension in (record.caller, record.callee, record.answered_by)
        if query.result is not None:
            assert record.result is query.result
        if query.trunk is not None:
            assert record.trunk == query.trunk
        if query.direction is not None:
            assert record.direction is query.direction


async def measure(url: str, searches: int, total: int) -> dict[str, Any]:
    """Time ``searches`` searches through the repository on ``url``."""
    database = Database(url)
    units = SqlUnitOfWorkFactory(database)
    rng = random.Random(7)
    timings: list[float] = []
    cpu: list[float] = []
    by_kind: dict[str, list[float]] = {}
    rows = 0
    try:
        async with units() as uow:  # warm the connection pool and the statement cache
            await uow.call_records.search(CallRecordQuery())
        for name, query in _queries(searches, total, rng):
            begin, begin_cpu = time.perf_counter(), time.process_time()
            async with units() as uow:
                page = await uow.call_records.search(query)
            elapsed = time.perf_counter() - begin
            cpu.append(time.process_time() - begin_cpu)
            timings.append(elapsed)
            by_kind.setdefault(name, []).append(elapsed)
            rows += len(page.items)
            _check(query, list(page.items))
    finally:
        await database.dispose()
    return {"timings": timings, "cpu": cpu, "by_kind": by_kind, "rows": rows}


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def report(name: str, fill: float, figures: dict[str, Any]) -> None:
    """Print one backend's figures."""
    timings = sorted(figures["timings"])
    p95 = timings[max(0, round(len(timings) * 0.95) - 1)]
    print(f"\n{name}: fill {fill:.1f} s; {len(timings)} searches, {figures['rows']} rows")
    print(
        f"  page time ms: p50 {_ms(statistics.median(timings))}  p95 {_ms(p95)}"
        f"  max {_ms(timings[-1])}   client CPU/search {_ms(statistics.mean(figures['cpu']))} ms"
    )
    print(f"  floor p95 < 100 ms: {'met' if p95 < 0.1 else 'MISSED'}")
    for kind, values in sorted(figures["by_kind"].items()):
        print(
            f"    {kind:26s} median {_ms(statistics.median(values)):>7} max {_ms(max(values)):>7}"
        )


WRITER_RECORDS = 20_000


async def measure_writer(url: str) -> None:
    """The engine's writer storing ``WRITER_RECORDS`` records published on a bus.

    The events arrive in bursts of 100 with a yield between (as calls end),
    the writer batching as shipped (0.5 s or 200 records); reported: the
    time until the last record is stored and this process's CPU per record
    (the event loop's share: the bus hand-over, SQLAlchemy's statement and
    rows, the driver).
    """
    database = Database(url)
    writer = CallRecordWriter(SqlUnitOfWorkFactory(database))
    bus = LocalEventBus()
    begin, begin_cpu = time.perf_counter(), time.process_time()
    writer.start(bus)
    for burst in range(WRITER_RECORDS // 100):
        for number in range(burst * 100, burst * 100 + 100):
            bus.publish(CallRecordCreated(record=_writer_record(number)))
        await asyncio.sleep(0)
    await writer.stop()
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - begin_cpu
    await database.dispose()
    assert writer.written == WRITER_RECORDS, writer.written
    print(
        f"  writer: {WRITER_RECORDS} records stored in {elapsed:.2f} s,"
        f" CPU {cpu / WRITER_RECORDS * 1e6:.0f} us a record (this process)"
    )


def _writer_record(number: int) -> CallRecord:
    started = YEAR_START + SPAN + dt.timedelta(seconds=number)
    return CallRecord.build(
        id=f"writer{number:010d}",
        started_at=started,
        answered_at=started + dt.timedelta(seconds=4),
        ended_at=started + dt.timedelta(seconds=95),
        direction=CallDirection.INBOUND,
        caller="+390612345678",
        caller_name="Studio Verdi",
        callee="+390611111111",
        did="+390611111111",
        trunk="provider-a",
        answered_by="101",
        result=CallResult.ANSWERED,
        routing_summary="did +390611111111 -> 101",
        node="bench",
    )


async def run_sqlite(records: int, searches: int) -> None:
    """Fill and measure an SQLite file."""
    with tempfile.TemporaryDirectory(prefix="bench-cdr-") as directory:
        path = Path(directory) / "bench.db"
        database = Database(f"sqlite+aiosqlite:///{path}")
        await database.migrate()
        await database.dispose()
        begin = time.perf_counter()
        await asyncio.to_thread(fill_sqlite, path, records)
        fill = time.perf_counter() - begin
        figures = await measure(f"sqlite+aiosqlite:///{path}", searches, records)
        report("SQLite", fill, figures)
        await measure_writer(f"sqlite+aiosqlite:///{path}")


async def run_postgresql(records: int, searches: int) -> None:
    """Fill and measure a throw-away PostgreSQL cluster."""
    with postgres() as cluster:
        url = cluster.create_database()
        database = Database(url)
        try:
            await database.migrate()
            begin = time.perf_counter()
            await fill_postgresql(database, records)
            fill = time.perf_counter() - begin
        finally:
            await database.dispose()
        figures = await measure(url, searches, records)
        report("PostgreSQL 15", fill, figures)
        await measure_writer(url)


async def main() -> None:
    """Parse the arguments and run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--without", action="append", default=[], help="an index to leave out")
    arguments = parser.parse_args()
    WITHOUT.update(arguments.without)
    print(f"{arguments.records} records, {arguments.searches} searches a backend")
    if WITHOUT:
        print(f"without the indexes on: {', '.join(sorted(WITHOUT))}")
    if arguments.backend in ("sqlite", "both"):
        await asyncio.wait_for(run_sqlite(arguments.records, arguments.searches), TIME_LIMIT)
    if arguments.backend in ("postgresql", "both"):
        await asyncio.wait_for(run_postgresql(arguments.records, arguments.searches), TIME_LIMIT)


if __name__ == "__main__":
    asyncio.run(main())
