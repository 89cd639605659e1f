"""Call records in the domain: derived durations, the rules of a record, cursors, queries."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from centralino.domain.call_records import (
    CallDirection,
    CallRecordQuery,
    CallRecordSort,
    CallResult,
    PageKey,
    decode_cursor,
    encode_cursor,
)
from centralino.domain.changes import UnknownEvent, encode_event
from centralino.domain.events import CallRecordCreated
from tests.call_record_builders import T0, call_record


def test_build_derives_whole_seconds_a_started_second_counting() -> None:
    record = call_record(
        0,
        started_at=T0,
        answered_at=T0 + dt.timedelta(seconds=7.2),
        ended_at=T0 + dt.timedelta(seconds=70.5),
    )
    assert (record.duration, record.billable) == (71, 64)
    unanswered = call_record(1, answered_at=None, result=CallResult.BUSY)
    assert unanswered.billable == 0
    assert unanswered.result is CallResult.BUSY


def test_build_is_forgiving_where_the_constructor_is_strict() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    record = call_record(
        0,
        started_at=T0.astimezone(paris),
        answered_at=T0 - dt.timedelta(seconds=5),  # before the start: clamped
        ended_at=T0 - dt.timedelta(seconds=1),  # a clock step back: the end is the start
        caller="9" * 100,
        caller_name="",
        routing_summary="x" * 900,
    )
    assert record.started_at.tzinfo is dt.UTC
    assert record.ended_at == record.started_at
    assert record.answered_at == record.started_at
    assert (record.duration, record.billable) == (0, 0)
    assert len(record.caller) == 64
    assert record.caller_name is None
    assert len(record.routing_summary) == 500
    # Answered without an answer time cannot be: it is a no-answer.
    assert call_record(2, answered_at=None, result=CallResult.ANSWERED).result is (
        CallResult.NO_ANSWER
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"started_at": dt.datetime(2026, 12, 1, 9, 0)}, "started_at"),
        ({"ended_at": T0 - dt.timedelta(seconds=1)}, "ended_at"),
        ({"answered_at": T0 + dt.timedelta(days=1)}, "answered_at"),
        ({"billable": 1000}, "billable"),
        ({"answered_at": None}, "answered_at"),  # result stays answered
        ({"id": ""}, "id"),
    ],
)
def test_the_constructor_refuses_an_impossible_record(
    changes: dict[str, object], field: str
) -> None:
    good = call_record(0, started_at=T0)
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(good, **changes)  # type: ignore[arg-type]


def test_build_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="started_at"):
        call_record(0, started_at=dt.datetime(2026, 12, 1, 9, 0))


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (CallRecordSort.STARTED_AT, PageKey(value=T0 + dt.timedelta(microseconds=7), id="cr1")),
        (CallRecordSort.DURATION, PageKey(value=3600, id="cr2")),
    ],
)
def test_cursors_round_trip(sort: CallRecordSort, key: PageKey) -> None:
    cursor = encode_cursor(key)
    assert cursor.isascii()
    assert "=" not in cursor
    assert decode_cursor(cursor, sort) == key


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzEsMl0", "WyJ4IiwiYSJd"])
def test_a_cursor_this_server_did_not_give_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError):
        decode_cursor(cursor, CallRecordSort.STARTED_AT)


def test_a_cursor_of_another_sort_is_refused() -> None:
    by_duration = encode_cursor(PageKey(value=60, id="cr1"))
    by_time = encode_cursor(PageKey(value=T0, id="cr1"))
    with pytest.raises(ValueError, match="started_at"):
        decode_cursor(by_duration, CallRecordSort.STARTED_AT)
    with pytest.raises(ValueError, match="duration"):
        decode_cursor(by_time, CallRecordSort.DURATION)
    with pytest.raises(ValueError, match="cursor"):
        CallRecordQuery(sort=CallRecordSort.DURATION, after=PageKey(value=T0, id="x"))


@pytest.mark.parametrize("limit", [0, 501])
def test_a_page_holds_1_to_500_records(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        CallRecordQuery(limit=limit)


def test_call_record_created_stays_on_its_node() -> None:
    event = CallRecordCreated(record=call_record(0, direction=CallDirection.INBOUND))
    with pytest.raises(UnknownEvent):
        encode_event(event)
