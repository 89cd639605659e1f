"""The call-record use-case: every bad filter named at once, the export across pages."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from centralino.admin import call_records as use_case
from centralino.admin.call_records import CallRecordFilters, CallRecordService, parse_filters
from centralino.domain.call_records import CallRecordSort, CallResult
from centralino.domain.errors import InvalidInput, NotFound
from centralino.storage import SqlUnitOfWorkFactory
from tests.call_record_builders import call_record


def test_good_filters_make_the_query() -> None:
    query = parse_filters(
        CallRecordFilters(
            started_from="2026-12-01T10:00:00+01:00",
            extension="+3906*12#",
            result="voicemail",
            sort="duration",
            order="asc",
            limit="500",
        )
    )
    assert query.started_from == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    assert query.extension == "+3906*12#"
    assert query.result is CallResult.VOICEMAIL
    assert query.sort is CallRecordSort.DURATION
    assert (query.descending, query.limit, query.after) == (False, 500, None)
    assert parse_filters(CallRecordFilters(direction="", limit="")).limit == 50


def test_every_bad_filter_is_named_with_its_reason() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_filters(
            CallRecordFilters(
                started_from="2026-12-01T09:00:00",
                started_before="soon",
                extension="1" * 65,
                trunk="a\x07b",
                direction="up",
                result="won",
                sort="caller",
                order="sideways",
                limit="-1",
                cursor="x" * 201,
            )
        )
    reasons = {error.path: error.reason for error in raised.value.errors}
    assert set(reasons) == {
        "started_from",
        "started_before",
        "extension",
        "trunk",
        "direction",
        "result",
        "sort",
        "order",
        "limit",
        "cursor",
    }
    assert "time zone" in reasons["started_from"]
    assert "internal, inbound, outbound" in reasons["direction"]


async def test_export_walks_every_page_and_get_names_a_missing_record(
    unit_of_work: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(use_case, "EXPORT_PAGE", 3)
    async with unit_of_work() as uow:
        await uow.call_records.add_many([call_record(n) for n in range(10)])
        await uow.commit()
    service = CallRecordService(unit_of_work)
    pieces = [piece async for piece in await service.export_csv(CallRecordFilters(order="asc"))]
    assert len(pieces) == 1 + 4  # the header, then pages of 3, 3, 3 and 1
    rows = list(csv.DictReader(io.StringIO("".join(pieces))))
    assert [row["id"] for row in rows] == [f"cr{n:05d}" for n in range(10)]
    assert (await service.get("cr00004")).id == "cr00004"
    with pytest.raises(NotFound):
        await service.get("cr99999")
    with pytest.raises(InvalidInput):
        await service.export_csv(CallRecordFilters(result="nope"))
