"""The office-hours status switch and the next change of office state."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.domain.forwarding import Status
from centralino.domain.office_hours import Holiday, OfficeHours, Period
from centralino.routing import automatic_status, next_change

from .helpers import SCHEDULE, extension, rome


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-12-01 10:00", Status.AVAILABLE),
        ("2026-12-01 13:30", Status.AWAY),
        ("2026-12-01 19:00", Status.DND),
        ("2026-12-05 10:00", Status.DND),
    ],
)
def test_automatic_status_follows_the_office(at: str, expected: Status) -> None:
    ext = extension(forwarding={"auto_switch_by_office_hours": True, "status": "lunch"})
    assert automatic_status(ext, SCHEDULE, rome(at)) is expected


def test_no_switch_without_auto_switch() -> None:
    ext = extension(forwarding={"status": "lunch"})
    assert automatic_status(ext, SCHEDULE, rome("2026-12-01 19:00")) is None


def test_no_switch_when_already_in_the_right_status() -> None:
    ext = extension(forwarding={"auto_switch_by_office_hours": True, "status": "dnd"})
    assert automatic_status(ext, SCHEDULE, rome("2026-12-01 19:00")) is None


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-12-01 10:05", "2026-12-01 13:00"),
        ("2026-12-01 13:05", "2026-12-01 14:00"),
        ("2026-12-01 14:00", "2026-12-01 18:00"),
        ("2026-12-01 18:30", "2026-12-02 09:00"),
        ("2026-12-04 19:00", "2026-12-07 09:00"),
        ("2026-12-01 08:59", "2026-12-01 09:00"),
    ],
)
def test_next_change(at: str, expected: str) -> None:
    assert next_change(SCHEDULE, rome(at)) == rome(expected).astimezone(dt.UTC)


def test_next_change_skips_holidays() -> None:
    schedule = OfficeHours(holidays=[Holiday(date="2026-12-08")])
    assert next_change(schedule, rome("2026-12-07 18:30")) == rome("2026-12-09 09:00").astimezone(
        dt.UTC
    )


def test_next_change_is_none_when_the_office_never_opens() -> None:
    assert next_change(OfficeHours(periods=[], breaks=[]), rome("2026-12-01 10:00")) is None


def test_next_change_across_a_daylight_saving_gap() -> None:
    # On Sunday 29 March 2026 Rome jumps from 02:00 to 03:00 (01:00 UTC).
    schedule = OfficeHours(periods=[Period(day="sun", start="01:00", end="02:30")], breaks=[])
    change = next_change(schedule, rome("2026-03-29 01:30"))
    assert change == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)


def test_next_change_in_a_repeated_hour() -> None:
    # On Sunday 25 October 2026 Rome goes back from 03:00 to 02:00 (01:00 UTC).
    schedule = OfficeHours(periods=[Period(day="sun", start="02:30", end="02:45")], breaks=[])
    start = dt.datetime(2026, 10, 25, 0, 0, tzinfo=dt.UTC)  # 02:00 CEST, first pass
    first = next_change(schedule, start)
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    assert first is not None
    closing = next_change(schedule, first)
    assert closing == dt.datetime(2026, 10, 25, 0, 45, tzinfo=dt.UTC)
    assert closing is not None
    again = next_change(schedule, closing)  # the same wall-clock times, second pass
    assert again == dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)


def brute_force(
    schedule: OfficeHours, now: dt.datetime, horizon: dt.timedelta
) -> dt.datetime | None:
    current = schedule.state_at(now)
    now = now.astimezone(dt.UTC)
    moment = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    while moment <= now + horizon:
        if schedule.state_at(moment) is not current:
            return moment
        moment += dt.timedelta(minutes=1)
    return None


ZONES = ["Europe/Rome", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
clock = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda hm: f"{hm[0]:02}:{hm[1]:02}")


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start, end = sorted(draw(st.lists(clock, min_size=2, max_size=2, unique=True)))
    day = draw(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]))
    return Period(day=day, start=start, end=end)


schedules = st.builds(
    OfficeHours,
    time_zone=st.sampled_from(ZONES),
    periods=st.lists(periods(), max_size=4),
    breaks=st.lists(periods(), max_size=2),
)
moments = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.sampled_from([zoneinfo.ZoneInfo(zone) for zone in ZONES]),
    allow_imaginary=False,
)
# Days on which these zones change their clocks.
dst_days = st.sampled_from(["2026-03-08", "2026-03-29", "2026-10-25", "2026-11-01", "2026-04-05"])


@settings(max_examples=40, deadline=None)
@given(schedules, moments | dst_days.map(lambda day: rome(f"{day} 00:00")))
def test_next_change_agrees_with_a_minute_by_minute_search(
    schedule: OfficeHours, now: dt.datetime
) -> None:
    horizon = dt.timedelta(days=2)
    assert next_change(schedule, now, horizon) == brute_force(schedule, now, horizon)


def test_next_change_answers_in_utc() -> None:
    change = next_change(SCHEDULE, rome("2026-12-01 10:05"))
    assert change is not None
    assert change.tzinfo == dt.UTC
