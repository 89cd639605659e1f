"""Office hours: open, break, closed, holidays, time zones and daylight saving."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput
from centralino.domain.office_hours import GLOBAL_SCHEDULE, OfficeHours, OfficeState, Weekday

UTC = dt.UTC


def rome(schedule: dict[str, Any] | None = None) -> OfficeHours:
    """The default schedule (Mon-Fri 09-18, break 13-14) in Europe/Rome."""
    return OfficeHours.model_validate(schedule or {})


def test_default_is_the_global_schedule_in_rome() -> None:
    schedule = rome()
    assert schedule.name == GLOBAL_SCHEDULE
    assert schedule.time_zone == "Europe/Rome"
    assert [p.day for p in schedule.periods] == list(Weekday)[:5]


@pytest.mark.parametrize(
    ("utc", "state"),
    [
        # Monday 4 March 2024; Rome is UTC+1 in winter.
        (dt.datetime(2024, 3, 4, 7, 59, tzinfo=UTC), OfficeState.CLOSED),  # 08:59 local
        (dt.datetime(2024, 3, 4, 8, 0, tzinfo=UTC), OfficeState.OPEN),  # 09:00 local
        (dt.datetime(2024, 3, 4, 11, 59, tzinfo=UTC), OfficeState.OPEN),  # 12:59
        (dt.datetime(2024, 3, 4, 12, 0, tzinfo=UTC), OfficeState.BREAK),  # 13:00
        (dt.datetime(2024, 3, 4, 12, 59, tzinfo=UTC), OfficeState.BREAK),  # 13:59
        (dt.datetime(2024, 3, 4, 13, 0, tzinfo=UTC), OfficeState.OPEN),  # 14:00
        (dt.datetime(2024, 3, 4, 16, 59, tzinfo=UTC), OfficeState.OPEN),  # 17:59
        (dt.datetime(2024, 3, 4, 17, 0, tzinfo=UTC), OfficeState.CLOSED),  # 18:00, end excluded
        (dt.datetime(2024, 3, 9, 10, 0, tzinfo=UTC), OfficeState.CLOSED),  # Saturday
        (dt.datetime(2024, 3, 10, 10, 0, tzinfo=UTC), OfficeState.CLOSED),  # Sunday
    ],
)
def test_state_at_in_winter(utc: dt.datetime, state: OfficeState) -> None:
    assert rome().state_at(utc) is state


def test_state_at_converts_to_the_schedule_zone() -> None:
    # 23:30 UTC on Sunday is 00:30 Monday in Rome: closed. 08:30 UTC is 09:30 in Rome.
    assert rome().state_at(dt.datetime(2024, 3, 10, 23, 30, tzinfo=UTC)) is OfficeState.CLOSED
    new_york = dt.timezone(dt.timedelta(hours=-5))
    # 03:30 in New York (UTC-5) is 09:30 in Rome.
    assert rome().state_at(dt.datetime(2024, 3, 4, 3, 30, tzinfo=new_york)) is OfficeState.OPEN
    tokyo = rome({"time_zone": "Asia/Tokyo"})
    # 01:00 UTC Monday is 10:00 in Tokyo: open there, closed (02:00) in Rome.
    moment = dt.datetime(2024, 3, 4, 1, 0, tzinfo=UTC)
    assert tokyo.state_at(moment) is OfficeState.OPEN
    assert rome().state_at(moment) is OfficeState.CLOSED


def test_daylight_saving_keeps_wall_clock_hours() -> None:
    # Summer time in Rome starts on Sunday 31 March 2024 (UTC+2 from then on).
    monday_after = dt.date(2024, 4, 1)
    opening_summer = dt.datetime.combine(monday_after, dt.time(7, 0), tzinfo=UTC)  # 09:00 CEST
    assert rome().state_at(opening_summer) is OfficeState.OPEN
    assert rome().state_at(opening_summer - dt.timedelta(minutes=1)) is OfficeState.CLOSED
    # The same UTC hour was 08:00 (closed) the Monday before the change.
    assert rome().state_at(dt.datetime(2024, 3, 25, 7, 0, tzinfo=UTC)) is OfficeState.CLOSED
    assert rome().state_at(dt.datetime(2024, 4, 1, 11, 0, tzinfo=UTC)) is OfficeState.BREAK


def test_holiday_closes_the_whole_day() -> None:
    schedule = rome({"holidays": [{"date": "2024-03-04", "name": "Company day"}]})
    assert schedule.state_at(dt.datetime(2024, 3, 4, 9, 0, tzinfo=UTC)) is OfficeState.CLOSED
    assert schedule.state_at(dt.datetime(2024, 3, 5, 9, 0, tzinfo=UTC)) is OfficeState.OPEN


def test_holiday_is_a_local_date() -> None:
    # 23:30 UTC on 3 March is already 4 March in Rome, and 3 March in New York.
    moment = dt.datetime(2024, 3, 4, 23, 30, tzinfo=UTC)
    evening = {
        "periods": [{"day": "mon", "start": "00:00", "end": "23:59"}],
        "breaks": [],
        "holidays": [{"date": "2024-03-05"}],
    }
    assert rome(evening).state_at(moment) is OfficeState.CLOSED  # already Tuesday, holiday
    assert rome(evening | {"time_zone": "America/New_York"}).state_at(moment) is OfficeState.OPEN


def test_custom_periods_and_breaks() -> None:
    schedule = rome(
        {
            "name": "shop",
            "time_zone": "UTC",
            "periods": [{"day": "sat", "start": "10:00", "end": "13:00"}],
            "breaks": [{"day": "sat", "start": "11:00", "end": "11:15"}],
        }
    )
    saturday = dt.datetime(2024, 3, 9, tzinfo=UTC)
    assert schedule.state_at(saturday.replace(hour=10)) is OfficeState.OPEN
    assert schedule.state_at(saturday.replace(hour=11, minute=10)) is OfficeState.BREAK
    assert schedule.state_at(saturday.replace(hour=11, minute=15)) is OfficeState.OPEN
    assert schedule.state_at(saturday.replace(hour=13)) is OfficeState.CLOSED
    assert schedule.state_at(dt.datetime(2024, 3, 4, 10, tzinfo=UTC)) is OfficeState.CLOSED


def test_weekday_of_a_date() -> None:
    assert Weekday.of(dt.date(2024, 3, 4)) is Weekday.MON
    assert Weekday.of(dt.date(2024, 3, 10)) is Weekday.SUN


@pytest.mark.parametrize(
    ("document", "path", "reason"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone 'Mars/Olympus'"),
        ({"time_zone": "../etc/passwd"}, "time_zone", "unknown time zone"),
        ({"time_zone": ""}, "time_zone", "unknown time zone"),
        (
            {"periods": [{"day": "mon", "start": "18:00", "end": "09:00"}]},
            "periods.0",
            "end must be after start",
        ),
        (
            {"breaks": [{"day": "mon", "start": "13:00", "end": "13:00"}]},
            "breaks.0",
            "end must be after start",
        ),
        (
            {"periods": [{"day": "mon", "start": "9:00", "end": "18:00"}]},
            "periods.0.start",
            "HH:MM",
        ),
        (
            {"periods": [{"day": "monday", "start": "09:00", "end": "18:00"}]},
            "periods.0.day",
            "'mon'",
        ),
        ({"holidays": [{"date": "2024-02-30"}]}, "holidays.0.date", "date"),
        ({"name": "Global Hours"}, "name", "lower-case"),
        ({"opening": "never"}, "opening", "Extra inputs"),
    ],
)
def test_bad_schedule_is_rejected(document: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(OfficeHours, document)
    errors = [(e.path, e.reason) for e in caught.value.errors]
    assert [p for p, _ in errors] == [path], errors
    assert reason in errors[0][1], errors
