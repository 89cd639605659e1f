"""Office hours: weekly periods, breaks, holidays and a time zone.

A schedule answers one question for a moment in time: is it office time, a
break, or closed? Holidays close the whole day. Times are wall-clock times in
the schedule's own time zone, so daylight-saving changes need no care here.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from centralino.domain.model import DomainModel
from centralino.domain.text import Matches
from centralino.domain.values import Name, TimeOfDay

__all__ = [
    "GLOBAL_SCHEDULE",
    "Holiday",
    "OfficeHours",
    "OfficeState",
    "Period",
    "ScheduleName",
    "Weekday",
]

GLOBAL_SCHEDULE = "global"
"""The name of the system-wide schedule, which always exists."""

ScheduleName = Annotated[
    str, Matches(r"[a-z0-9][a-z0-9_-]{0,31}", "lower-case letters, digits, '_' or '-' (at most 32)")
]


class Weekday(enum.StrEnum):
    """Days of the week, Monday first like ``datetime.weekday()``."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @classmethod
    def of(cls, day: dt.date) -> Weekday:
        """Return the weekday of a date."""
        return list(cls)[day.weekday()]


class OfficeState(enum.StrEnum):
    """What a schedule says about a moment."""

    OPEN = "open"
    BREAK = "break"
    CLOSED = "closed"


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class Period(DomainModel):
    """A span of one weekday, from ``start`` (included) to ``end`` (excluded)."""

    day: Weekday
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError("end must be after start")
        return self

    def contains(self, day: Weekday, minute_of_day: int) -> bool:
        """Tell whether a weekday and minute fall inside this period."""
        return day == self.day and _minutes(self.start) <= minute_of_day < _minutes(self.end)


class Holiday(DomainModel):
    """A whole day on which the office is closed."""

    date: dt.date
    name: Name = ""


def _default_periods() -> list[Period]:
    workdays = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    return [Period(day=day, start="09:00", end="18:00") for day in workdays]


def _default_breaks() -> list[Period]:
    workdays = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    return [Period(day=day, start="13:00", end="14:00") for day in workdays]


class OfficeHours(DomainModel):
    """A named weekly schedule (the global one, or an extension's own)."""

    name: ScheduleName = GLOBAL_SCHEDULE
    time_zone: str = "Europe/Rome"
    periods: list[Period] = Field(default_factory=_default_periods)
    breaks: list[Period] = Field(default_factory=_default_breaks)
    holidays: list[Holiday] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    def state_at(self, moment: dt.datetime) -> OfficeState:
        """Return whether the office is open, on a break or closed at ``moment``.

        Args:
            moment: an aware datetime (any zone); converted to the schedule's zone.

        Returns:
            The office state at that moment.
        """
        local = moment.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        if any(holiday.date == local.date() for holiday in self.holidays):
            return OfficeState.CLOSED
        day, minute = Weekday.of(local.date()), local.hour * 60 + local.minute
        if not any(period.contains(day, minute) for period in self.periods):
            return OfficeState.CLOSED
        if any(period.contains(day, minute) for period in self.breaks):
            return OfficeState.BREAK
        return OfficeState.OPEN
