"""Call records on SQL: written in batches, searched a keyset page at a time.

Theory of operation. ``add_many`` inserts a batch in one executemany. A
search is one ``SELECT ... WHERE filters AND (sort, id) beyond the key ORDER
BY sort, id LIMIT n + 1``: the extra row tells whether another page follows,
and the last row kept becomes the next page's key. Every filter's index ends
with ``(started_at, id)`` (``storage/tables.py``), so the database reads the
newest matches in order and stops after the page; the duration sort has
``(duration, id)`` and, for the result, trunk and direction filters,
``(filter, duration, id)``.

The extension filter (caller, callee or who answered) is three indexed
look-ups, each ordered and cut to the page, united and cut again: an ``OR``
over three columns would make SQLite either walk the time index skipping
most rows or gather every match of the extension before sorting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    insert,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.call_records import (
    CallDirection,
    CallRecord,
    CallRecordPage,
    CallRecordQuery,
    CallRecordSort,
    CallResult,
    PageKey,
)
from centralino.storage.tables import call_records

__all__ = ["SqlCallRecordRepository"]

_records = call_records.c

_FIELDS = tuple(column.name for column in call_records.columns)


def _row(record: CallRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _FIELDS}


def _record(row: RowMapping) -> CallRecord:
    values = {name: row[name] for name in _FIELDS}
    values["direction"] = CallDirection(values["direction"])
    values["result"] = CallResult(values["result"])
    return CallRecord(**values)


def _filters(query: CallRecordQuery) -> list[ColumnElement[bool]]:
    """Every condition of ``query`` but the extension and the page key."""
    conditions: list[ColumnElement[bool]] = []
    if query.started_from is not None:
        conditions.append(_records.started_at >= query.started_from)
    if query.started_before is not None:
        conditions.append(_records.started_at < query.started_before)
    if query.direction is not None:
        conditions.append(_records.direction == query.direction.value)
    if query.result is not None:
        conditions.append(_records.result == query.result.value)
    if query.trunk is not None:
        conditions.append(_records.trunk == query.trunk)
    return conditions


def _sort_column(query: CallRecordQuery) -> Any:
    return _records.duration if query.sort is CallRecordSort.DURATION else _records.started_at


def _beyond(query: CallRecordQuery, key: PageKey) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the query's order."""
    row, at = tuple_(_sort_column(query), _records.id), tuple_(key.value, key.id)
    return row < at if query.descending else row > at


def _ordered(statement: Select[Any], query: CallRecordQuery, columns: Any) -> Select[Any]:
    sort, record_id = columns
    if query.descending:
        return statement.order_by(sort.desc(), record_id.desc())
    return statement.order_by(sort.asc(), record_id.asc())


class SqlCallRecordRepository:
    """``CallRecordRepository`` on the unit of work's connection (never commits).

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_many(self, records: Sequence[CallRecord]) -> None:
        """Store new records in one statement."""
        if records:
            await self._connection.execute(insert(call_records), [_row(r) for r in records])

    async def get(self, record_id: str) -> CallRecord | None:
        """One record, or None."""
        statement = select(call_records).where(_records.id == record_id)
        row = (await self._connection.execute(statement)).mappings().one_or_none()
        return None if row is None else _record(row)

    async def search(self, query: CallRecordQuery) -> CallRecordPage:
        """One page of the records matching ``query``, and the next page's key."""
        conditions = _filters(query)
        if query.after is not None:
            conditions.append(_beyond(query, query.after))
        fetch = query.limit + 1
        if query.extension is None:
            statement = select(call_records).where(*conditions)
            statement = _ordered(statement, query, (_sort_column(query), _records.id))
        else:
            statement = self._extension_search(query, conditions, fetch)
        rows = (await self._connection.execute(statement.limit(fetch))).mappings().all()
        items = [_record(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        last = items[-1] if more else None
        key = None
        if last is not None:
            value = last.duration if query.sort is CallRecordSort.DURATION else last.started_at
            key = PageKey(value=value, id=last.id)
        return CallRecordPage(items=items, next=key)

    def _extension_search(
        self, query: CallRecordQuery, conditions: list[ColumnElement[bool]], fetch: int
    ) -> Select[Any]:
        """Caller, callee and answerer look-ups, each cut to a page, then merged.

        A call answered by its own callee appears in two look-ups: the union
        keeps one (``DISTINCT`` on the id within the merged rows).
        """
        number = query.extension
        parts = []
        for column in (_records.caller, _records.callee, _records.answered_by):
            part = select(call_records).where(column == number, *conditions)
            parts.append(_ordered(part, query, (_sort_column(query), _records.id)).limit(fetch))
        merged = union_all(*(part.subquery().select() for part in parts)).subquery()
        sort = merged.c.duration if query.sort is CallRecordSort.DURATION else merged.c.started_at
        statement = select(merged).distinct()
        return _ordered(statement, query, (sort, merged.c.id))
