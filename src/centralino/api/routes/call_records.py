"""Call records over REST: search (JSON pages), export (CSV), read one.

``GET /api/v1/call-records`` takes the filters as query parameters (all
optional): ``started_from`` / ``started_before`` (ISO 8601 with a zone),
``extension`` (caller, callee or who answered), ``direction``, ``result``,
``trunk``, ``sort`` (``started_at`` | ``duration``), ``order`` (``desc``
by default), ``limit`` (1-500, 50 by default) and ``cursor`` (the previous
page's ``next_cursor``). Pages are keyset pages: follow ``next_cursor``
until it is null. ``GET /api/v1/call-records.csv`` streams every matching
record as CSV, with the same filters. A bad filter is a 422 naming it.

The routes sit behind the same login as every other management route; the
``call_reports`` right (issue 13) will be checked in the use-case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from centralino.admin.call_records import CallRecordFilters
from centralino.api.dependencies import Services
from centralino.domain.call_records import (
    MAX_PAGE_SIZE,
    CallDirection,
    CallRecord,
    CallRecordSort,
    CallResult,
)
from centralino.domain.errors import NotFound

__all__ = ["CallRecordOut", "CallRecordPageOut", "router"]

router = APIRouter(tags=["call records"])

_TEXT = r"^[^\x00-\x1f\x7f]*$"
_Text = Annotated[str | None, Query(max_length=64, pattern=_TEXT)]
_Cursor = Annotated[
    str | None,
    Query(max_length=200, pattern=_TEXT, description="The previous page's next_cursor."),
]
_CSV_HEADERS = {"Content-Disposition": 'attachment; filename="call-records.csv"'}


class CallRecordOut(BaseModel):
    """A finished call; ``duration`` and ``billable`` in whole seconds."""

    id: str
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime
    duration: int
    billable: int
    direction: CallDirection
    caller: str
    caller_name: str | None
    callee: str
    did: str | None
    trunk: str | None
    answered_by: str | None
    result: CallResult
    reason: str
    routing_summary: str
    recording_id: str | None
    node: str

    @classmethod
    def of(cls, record: CallRecord) -> CallRecordOut:
        """The API form of a record."""
        return cls.model_validate(record, from_attributes=True)


class CallRecordPageOut(BaseModel):
    """One page of records; ``next_cursor`` fetches the next (null: the last page)."""

    items: list[CallRecordOut]
    next_cursor: str | None


async def _filters(
    started_from: _Text = None,
    started_before: _Text = None,
    extension: _Text = None,
    direction: CallDirection | None = None,
    result: CallResult | None = None,
    trunk: _Text = None,
    sort: CallRecordSort | None = None,
    order: Literal["asc", "desc"] | None = None,
    cursor: _Cursor = None,
) -> CallRecordFilters:
    """The filters both the JSON pages and the CSV export take (all but ``limit``)."""
    return CallRecordFilters(
        started_from=started_from,
        started_before=started_before,
        extension=extension,
        direction=None if direction is None else direction.value,
        result=None if result is None else result.value,
        trunk=trunk,
        sort=None if sort is None else sort.value,
        order=order,
        cursor=cursor,
    )


_Filters = Annotated[CallRecordFilters, Depends(_filters)]


@router.get("/call-records", response_model=CallRecordPageOut)
async def search_call_records(
    services: Services,
    filters: _Filters,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE_SIZE, description="50 by default.")
    ] = None,
) -> CallRecordPageOut:
    """One page of call records, newest first unless asked otherwise."""
    found = await services.call_records.search(dataclasses.replace(filters, limit=limit))
    items = [CallRecordOut.of(record) for record in found.items]
    return CallRecordPageOut(items=items, next_cursor=found.next_cursor)


@router.get(
    "/call-records.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The records as CSV"}},
)
async def export_call_records(services: Services, filters: _Filters) -> StreamingResponse:
    """Every matching call record as CSV (streamed a page at a time)."""
    pieces = await services.call_records.export_csv(filters)
    return StreamingResponse(pieces, media_type="text/csv; charset=utf-8", headers=_CSV_HEADERS)


@router.get("/call-records/{record_id}", response_model=CallRecordOut)
async def get_call_record(record_id: str, services: Services) -> CallRecordOut:
    """One call record."""
    if not 0 < len(record_id) <= 40 or not record_id.isprintable():
        raise NotFound("call record", record_id)
    return CallRecordOut.of(await services.call_records.get(record_id))
