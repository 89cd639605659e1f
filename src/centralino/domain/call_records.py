"""Call records: one row per call, internal or external, once it has ended (SPEC 2.6).

Theory of operation. The call core knows everything about a call when it
ends: when it started, was answered and ended, who called whom, through which
trunk and DID, who answered, how it ended and why. It builds one
:class:`CallRecord` (:meth:`CallRecord.build` derives the durations and keeps
every text within its column) and publishes it as a
:class:`~centralino.domain.events.CallRecordCreated` event on its node's bus;
the engine's writer (``centralino.telephony.call_records``) stores records in
batches through :class:`CallRecordRepository`. A record is written once, by
the node that handled the call, and never changed: it does not travel on the
change feed (nothing caches it).

Searching. A :class:`CallRecordQuery` filters by a time range (of the start),
an extension (caller, callee or who answered), direction, result and trunk,
sorts by start time or duration, and pages by **keyset**: each page ends with
a :class:`PageKey` (the last row's sort value and id) and the next page starts
strictly after it. Unlike an offset, which makes the database walk and throw
away every earlier row (page 10,000 of 1,000,000 records reads 500,000 rows),
a key lets an index start right at the next row, so a deep page costs what the
first one does, and rows written meanwhile do not shift the pages. The key is
handed to clients as an opaque cursor (:func:`encode_cursor`). There is no
total count (counting a million rows costs more than a page): a page says
whether more follow.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "MAX_PAGE_SIZE",
    "CallDirection",
    "CallRecord",
    "CallRecordPage",
    "CallRecordQuery",
    "CallRecordRepository",
    "CallRecordSort",
    "CallResult",
    "PageKey",
    "decode_cursor",
    "encode_cursor",
]

MAX_PAGE_SIZE = 500
"""The most records one search returns."""

NUMBER_LENGTH = 64
NAME_LENGTH = 128
REASON_LENGTH = 255
ROUTING_LENGTH = 500
ID_LENGTH = 40


class CallDirection(enum.StrEnum):
    """Where a call came from and went to."""

    INTERNAL = "internal"
    """Between the PBX's own extensions (and its applications)."""
    INBOUND = "inbound"
    """From a trunk (the outside world) to the PBX."""
    OUTBOUND = "outbound"
    """From an extension out through a trunk."""


class CallResult(enum.StrEnum):
    """How a call ended for its caller."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    """Refused by a rule or a restriction (403, blocked, no trunk), or declined."""


def _aware(name: str, value: dt.datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name}: must be timezone-aware")


def _whole_seconds(start: dt.datetime | None, end: dt.datetime) -> int:
    """Whole seconds from ``start`` to ``end``, a started second counting whole."""
    if start is None or end <= start:
        return 0
    return math.ceil((end - start) / dt.timedelta(seconds=1))


def _clip(text: str, length: int) -> str:
    return text[:length]


def _clip_optional(text: str | None, length: int) -> str | None:
    return None if not text else text[:length]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """One finished call.

    Times are aware UTC datetimes. ``duration`` (start to end) and
    ``billable`` (answer to end, 0 unanswered) are whole seconds, a started
    second counting whole. ``caller`` and ``callee`` are numbers (the callee
    as dialled, or the DID reached); ``answered_by`` is the extension (or the
    external number) that answered; ``did`` and ``trunk`` are set for calls
    through a trunk. ``routing_summary`` is a short text of how the call was
    routed; ``recording_id`` names its recording (``/api/v1/recordings``);
    ``node`` the node that handled it.
    """

    id: str
    started_at: dt.datetime
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime
    duration: int
    billable: int
    direction: CallDirection
    caller: str
    caller_name: str | None = None
    callee: str
    did: str | None = None
    trunk: str | None = None
    answered_by: str | None = None
    result: CallResult
    reason: str = ""
    routing_summary: str = ""
    recording_id: str | None = None
    node: str = ""

    def __post_init__(self) -> None:
        for name in ("started_at", "answered_at", "ended_at"):
            _aware(name, getattr(self, name))
        if not self.id or len(self.id) > ID_LENGTH:
            raise ValueError(f"id: must be 1 to {ID_LENGTH} characters")
        if self.ended_at < self.started_at:
            raise ValueError("ended_at: must not be before started_at")
        if self.answered_at is not None and not (
            self.started_at <= self.answered_at <= self.ended_at
        ):
            raise ValueError("answered_at: must be between started_at and ended_at")
        if self.duration < 0 or self.billable < 0 or self.billable > self.duration:
            raise ValueError("billable: must be between 0 and duration, and duration >= 0")
        if self.result is CallResult.ANSWERED and self.answered_at is None:
            raise ValueError("answered_at: an answered call has an answer time")

    @classmethod
    def build(
        cls,
        *,
        id: str,
        started_at: dt.datetime,
        answered_at: dt.datetime | None,
        ended_at: dt.datetime,
        direction: CallDirection,
        caller: str,
        callee: str,
        result: CallResult,
        caller_name: str | None = None,
        did: str | None = None,
        trunk: str | None = None,
        answered_by: str | None = None,
        reason: str = "",
        routing_summary: str = "",
        recording_id: str | None = None,
        node: str = "",
    ) -> CallRecord:
        """A record with its durations derived and every text cut to its column.

        Forgiving where the constructor is strict, for the call core: times
        are taken to UTC, an end before the start (a clock step) is moved to
        the start, an answer outside the call is clamped into it.

        Raises:
            ValueError: a naive datetime, or an empty id.
        """
        for name, value in (
            ("started_at", started_at),
            ("answered_at", answered_at),
            ("ended_at", ended_at),
        ):
            _aware(name, value)
        started = started_at.astimezone(dt.UTC)
        ended = max(ended_at.astimezone(dt.UTC), started)
        answered = None
        if answered_at is not None:
            answered = min(max(answered_at.astimezone(dt.UTC), started), ended)
        return cls(
            id=id[:ID_LENGTH],
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            duration=_whole_seconds(started, ended),
            billable=_whole_seconds(answered, ended),
            direction=direction,
            caller=_clip(caller, NUMBER_LENGTH),
            caller_name=_clip_optional(caller_name, NAME_LENGTH),
            callee=_clip(callee, NUMBER_LENGTH),
            did=_clip_optional(did, NUMBER_LENGTH),
            trunk=_clip_optional(trunk, NUMBER_LENGTH),
            answered_by=_clip_optional(answered_by, NUMBER_LENGTH),
            result=CallResult.NO_ANSWER
            if result is CallResult.ANSWERED and answered is None
            else result,
            reason=_clip(reason, REASON_LENGTH),
            routing_summary=_clip(routing_summary, ROUTING_LENGTH),
            recording_id=_clip_optional(recording_id, ID_LENGTH),
            node=_clip(node, NUMBER_LENGTH),
        )


class CallRecordSort(enum.StrEnum):
    """What a search sorts by (the record's id breaks ties)."""

    STARTED_AT = "started_at"
    DURATION = "duration"


@dataclass(frozen=True, slots=True, kw_only=True)
class PageKey:
    """Where a page ended: the last record's sort value and id."""

    value: dt.datetime | int
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecordQuery:
    """A page of call records.

    ``started_from`` (inclusive) and ``started_before`` (exclusive) bound the
    start time; ``extension`` matches the caller, the callee or who answered.
    ``after`` is the previous page's key (None: the first page); it belongs
    to the same sort and order.
    """

    started_from: dt.datetime | None = None
    started_before: dt.datetime | None = None
    extension: str | None = None
    direction: CallDirection | None = None
    result: CallResult | None = None
    trunk: str | None = None
    sort: CallRecordSort = CallRecordSort.STARTED_AT
    descending: bool = True
    limit: int = 50
    after: PageKey | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit: must be between 1 and {MAX_PAGE_SIZE}")
        _aware("started_from", self.started_from)
        _aware("started_before", self.started_before)
        if self.after is not None:
            expected = dt.datetime if self.sort is CallRecordSort.STARTED_AT else int
            if not isinstance(self.after.value, expected) or isinstance(self.after.value, bool):
                raise ValueError("cursor: does not belong to this sort")


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecordPage:
    """One page of records; ``next`` is the key of the following page (None: the last)."""

    items: Sequence[CallRecord]
    next: PageKey | None


class CallRecordRepository(Protocol):
    """Stored call records (written once, never changed)."""

    async def add_many(self, records: Sequence[CallRecord]) -> None:
        """Store new records (in one statement where the database allows)."""
        ...

    async def search(self, query: CallRecordQuery) -> CallRecordPage:
        """One page of the records matching ``query``."""
        ...

    async def get(self, record_id: str) -> CallRecord | None:
        """One record, or None."""
        ...


def encode_cursor(key: PageKey) -> str:
    """The opaque text a client hands back for the page after ``key``."""
    value = key.value.isoformat() if isinstance(key.value, dt.datetime) else key.value
    text = json.dumps([value, key.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: CallRecordSort) -> PageKey:
    """The key :func:`encode_cursor` made, read for ``sort``.

    Raises:
        ValueError: the text is no cursor of this sort.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, record_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, UnicodeError, binascii.Error) as exc:
        raise ValueError("not a cursor this server gave") from exc
    if not isinstance(record_id, str) or not 0 < len(record_id) <= ID_LENGTH:
        raise ValueError("not a cursor this server gave")
    if sort is CallRecordSort.DURATION:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("does not belong to the duration sort")
        return PageKey(value=value, id=record_id)
    try:
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ValueError("does not belong to the started_at sort")
    return PageKey(value=moment, id=record_id)
