"""Call records for the API and the CLI: searched with checked filters, exported as CSV.

Theory of operation. Every door hands the filters over as text (query
parameters, command-line options); :func:`parse_filters` checks each and
builds the domain's :class:`~centralino.domain.call_records.CallRecordQuery`,
or raises ``InvalidInput`` naming every bad field and why (a time without a
zone, a range that ends before it starts, an unknown direction, a cursor this
server did not give or that belongs to another sort). Nothing is read until
the filters are good.

Searches page by keyset (see ``domain/call_records.py``): a page carries the
opaque ``next_cursor`` of the one after it, or None at the end. The CSV
export walks those pages (:data:`EXPORT_PAGE` records each) and yields the
file a page at a time, so a year of calls never sits in memory; every text
cell goes through :func:`~centralino.admin.csv_io.neutralise` (a caller name
chosen by an outside caller could otherwise be a spreadsheet formula).

Today the system owner alone logs in; the ``call_reports`` right (issue 13)
will be checked here, for every door at once.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from centralino.admin.csv_io import neutralise
from centralino.domain.call_records import (
    MAX_PAGE_SIZE,
    CallDirection,
    CallRecord,
    CallRecordQuery,
    CallRecordSort,
    CallResult,
    PageKey,
    decode_cursor,
    encode_cursor,
)
from centralino.domain.errors import FieldError, InvalidInput, NotFound
from centralino.domain.ports import UnitOfWorkFactory

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_PAGE",
    "CallRecordFilters",
    "CallRecordService",
    "FoundRecords",
    "csv_row",
    "parse_filters",
    "record_document",
]

EXPORT_PAGE = 500
"""Records read per page while exporting."""

CSV_COLUMNS = (
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "duration",
    "billable",
    "direction",
    "caller",
    "caller_name",
    "callee",
    "did",
    "trunk",
    "answered_by",
    "result",
    "reason",
    "routing_summary",
    "recording_id",
    "node",
)
"""The export's columns: the record's fields, named as in the API."""

_NUMBER = re.compile(r"^[0-9A-Za-z+*#._@-]{1,64}$")
"""An extension or a phone number as a filter (no spaces, no control characters)."""
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
_MAX_CURSOR = 200
_Choice = TypeVar("_Choice", CallDirection, CallResult, CallRecordSort)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecordFilters:
    """A search as the doors receive it: every value text, None when not given.

    ``started_from`` / ``started_before`` are ISO 8601 times with a zone
    (``2026-12-01T00:00:00Z``); ``sort`` is ``started_at`` or ``duration``;
    ``order`` ``asc`` or ``desc``; ``limit`` 1 to 500; ``cursor`` the
    ``next_cursor`` of the previous page.
    """

    started_from: str | None = None
    started_before: str | None = None
    extension: str | None = None
    direction: str | None = None
    result: str | None = None
    trunk: str | None = None
    sort: str | None = None
    order: str | None = None
    limit: str | int | None = None
    cursor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundRecords:
    """One page of records and the cursor of the next (None: this is the last)."""

    items: tuple[CallRecord, ...]
    next_cursor: str | None


class _Checker:
    """Collects the errors of every field, so that one answer names them all."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(FieldError(path=path, reason=reason))

    def time(self, path: str, text: str | None) -> dt.datetime | None:
        if text is None or text == "":
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(path, "must be an ISO 8601 time such as 2026-12-01T09:00:00Z")
            return None
        if moment.utcoffset() is None:
            self.fail(path, "must say its time zone (Z or +01:00)")
            return None
        return moment.astimezone(dt.UTC)

    def choice(self, path: str, text: str | None, kind: type[_Choice]) -> _Choice | None:
        if text is None or text == "":
            return None
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            self.fail(path, f"must be one of {allowed}")
            return None

    def pattern(self, path: str, text: str | None, rule: re.Pattern[str], what: str) -> str | None:
        if text is None or text == "":
            return None
        if not rule.match(text):
            self.fail(path, what)
            return None
        return text

    def limit(self, value: str | int | None) -> int:
        if value is None or value == "":
            return 50
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= MAX_PAGE_SIZE:
            self.fail("limit", f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
            return 50
        return number

    def descending(self, text: str | None) -> bool:
        if text in (None, "", "desc"):
            return True
        if text == "asc":
            return False
        self.fail("order", "must be asc or desc")
        return True

    def cursor(self, text: str | None, sort: CallRecordSort) -> PageKey | None:
        if text is None or text == "":
            return None
        try:
            if len(text) > _MAX_CURSOR:
                raise ValueError("not a cursor this server gave")
            return decode_cursor(text, sort)
        except ValueError as exc:
            self.fail("cursor", str(exc))
            return None


def parse_filters(filters: CallRecordFilters) -> CallRecordQuery:
    """The query ``filters`` describe.

    Raises:
        InvalidInput: one error per bad field, naming it and the reason.
    """
    check = _Checker()
    started_from = check.time("started_from", filters.started_from)
    started_before = check.time("started_before", filters.started_before)
    if started_from and started_before and started_before <= started_from:
        check.fail("started_before", "must be after started_from")
    number_rule = "must be a number (digits, + * # . _ @ -), at most 64 characters"
    extension = check.pattern("extension", filters.extension, _NUMBER, number_rule)
    trunk_rule = "must be a trunk name, at most 64 characters"
    trunk = check.pattern("trunk", filters.trunk, _NAME, trunk_rule)
    direction = check.choice("direction", filters.direction, CallDirection)
    result = check.choice("result", filters.result, CallResult)
    sort = check.choice("sort", filters.sort, CallRecordSort) or CallRecordSort.STARTED_AT
    descending = check.descending(filters.order)
    limit = check.limit(filters.limit)
    after = check.cursor(filters.cursor, sort)
    if check.errors:
        raise InvalidInput(check.errors)
    return CallRecordQuery(
        started_from=started_from,
        started_before=started_before,
        extension=extension,
        direction=direction,
        result=result,
        trunk=trunk,
        sort=sort,
        descending=descending,
        limit=limit,
        after=after,
    )


def _time(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def record_document(record: CallRecord) -> dict[str, str | int | None]:
    """A record as plain JSON values (CLI output), keys as :data:`CSV_COLUMNS`."""
    return {
        "id": record.id,
        "started_at": _time(record.started_at),
        "answered_at": _time(record.answered_at),
        "ended_at": _time(record.ended_at),
        "duration": record.duration,
        "billable": record.billable,
        "direction": record.direction.value,
        "caller": record.caller,
        "caller_name": record.caller_name,
        "callee": record.callee,
        "did": record.did,
        "trunk": record.trunk,
        "answered_by": record.answered_by,
        "result": record.result.value,
        "reason": record.reason,
        "routing_summary": record.routing_summary,
        "recording_id": record.recording_id,
        "node": record.node,
    }


def csv_row(document: Mapping[str, str | int | None]) -> list[str]:
    """The CSV cells of a record's document, formulas neutralised."""
    return ["" if (value := document[c]) is None else neutralise(str(value)) for c in CSV_COLUMNS]


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


class CallRecordService:
    """Search, read and export the call records.

    Args:
        units: the unit-of-work factory.
    """

    def __init__(self, units: UnitOfWorkFactory) -> None:
        self._units = units

    async def search(self, filters: CallRecordFilters) -> FoundRecords:
        """One page of the records matching ``filters``.

        Raises:
            InvalidInput: a bad filter (each named).
        """
        query = parse_filters(filters)
        async with self._units() as uow:
            page = await uow.call_records.search(query)
        cursor = None if page.next is None else encode_cursor(page.next)
        return FoundRecords(items=tuple(page.items), next_cursor=cursor)

    async def get(self, record_id: str) -> CallRecord:
        """One record.

        Raises:
            NotFound: there is no such record.
        """
        async with self._units() as uow:
            record = await uow.call_records.get(record_id)
        if record is None:
            raise NotFound("call record", record_id)
        return record

    async def export_csv(self, filters: CallRecordFilters) -> AsyncIterator[str]:
        """Every record matching ``filters`` (from ``cursor`` on) as CSV text, in pieces.

        The first piece is the header; each next is one page of rows. The
        filters are checked before the first piece is yielded; ``limit`` is
        ignored (the export pages by itself).

        Raises:
            InvalidInput: a bad filter (each named), at the first step.
        """
        query = parse_filters(filters)
        return self._export(query)

    async def _export(self, query: CallRecordQuery) -> AsyncIterator[str]:
        yield _csv_text([list(CSV_COLUMNS)])
        after = query.after
        while True:
            page_query = dataclasses.replace(query, limit=EXPORT_PAGE, after=after)
            async with self._units() as uow:
                page = await uow.call_records.search(page_query)
            if page.items:
                yield _csv_text([csv_row(record_document(r)) for r in page.items])
            if page.next is None:
                return
            after = page.next
