"""Call records for the tests: one builder with sensible defaults."""

from __future__ import annotations

import datetime as dt
from typing import Any

from centralino.domain.call_records import CallDirection, CallRecord, CallResult

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def call_record(number: int, **changes: Any) -> CallRecord:
    """Record ``number``: an answered internal call 101 -> 102, ``number`` minutes after T0."""
    started = changes.pop("started_at", T0 + dt.timedelta(minutes=number))
    answered = changes.pop("answered_at", started + dt.timedelta(seconds=5))
    ended = changes.pop("ended_at", started + dt.timedelta(seconds=65 + number))
    fields: dict[str, Any] = {
        "id": f"cr{number:05d}",
        "started_at": started,
        "answered_at": answered,
        "ended_at": ended,
        "direction": CallDirection.INTERNAL,
        "caller": "101",
        "callee": "102",
        "result": CallResult.ANSWERED if answered is not None else CallResult.NO_ANSWER,
        "answered_by": "102" if answered is not None else None,
        "node": "A",
    }
    fields.update(changes)
    return CallRecord.build(**fields)
