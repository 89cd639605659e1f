"""The automatic status switch by office hours, and when to look again.

An extension with ``auto_switch_by_office_hours`` follows its schedule:
closed -> Do Not Disturb, on a break -> Away, open -> Available (SPEC §2.3).
The switch happens at the moments the office state changes; in between, a
status the user sets by hand stands until the next change. A scheduler
therefore applies :func:`automatic_status` at start-up and at each
:func:`next_change`, and sleeps in between.

:func:`next_change` does not step minute by minute: the office state can
only change where the local wall clock crosses a period or break boundary,
a midnight (holidays, weekdays) or jumps (a daylight-saving transition).
Those instants are listed for each local day, in UTC (local times compare
by wall clock, fold ignored, so they would merge the two passes of a
repeated hour); on each interval between two of them the state is constant,
so the first listed instant whose state differs from the current one is the
answer.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator

from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.office_hours import OfficeHours, OfficeState

__all__ = ["HORIZON", "STATUS_BY_OFFICE_STATE", "automatic_status", "next_change"]

STATUS_BY_OFFICE_STATE = {
    OfficeState.OPEN: Status.AVAILABLE,
    OfficeState.BREAK: Status.AWAY,
    OfficeState.CLOSED: Status.DND,
}
"""The status an auto-switching extension takes in each office state."""

HORIZON = dt.timedelta(days=8)
"""How far ahead :func:`next_change` looks."""


def automatic_status(
    extension: Extension, schedule: OfficeHours, now: dt.datetime
) -> Status | None:
    """Return the status the office-hours switch gives an extension now.

    Args:
        extension: the extension (its ``forwarding`` tab is read).
        schedule: the office hours that apply to it (its own or the global).
        now: the current moment (aware).

    Returns:
        The status to set, or None when the extension does not switch
        automatically or already has that status.
    """
    if not extension.forwarding.auto_switch_by_office_hours:
        return None
    wanted = STATUS_BY_OFFICE_STATE[schedule.state_at(now)]
    return None if wanted is extension.forwarding.status else wanted


def next_change(
    schedule: OfficeHours, now: dt.datetime, horizon: dt.timedelta = HORIZON
) -> dt.datetime | None:
    """Return the next moment the schedule's office state changes.

    Args:
        schedule: the office hours.
        now: the current moment (aware).
        horizon: how far ahead to look.

    Returns:
        The first moment after ``now`` whose state differs from the state at
        ``now``, in UTC (unambiguous: a local time in a repeated hour never
        compares equal across zones), or None when the state stays the same
        for the whole horizon (look again then).
    """
    now = now.astimezone(dt.UTC)
    current = schedule.state_at(now)
    for moment in sorted(set(_boundaries(schedule, now, horizon))):
        if now < moment <= now + horizon and schedule.state_at(moment) is not current:
            return moment
    return None


def _boundaries(
    schedule: OfficeHours, now: dt.datetime, horizon: dt.timedelta
) -> Iterator[dt.datetime]:
    zone = zoneinfo.ZoneInfo(schedule.time_zone)
    first = now.astimezone(zone).date()
    clocks = {
        _clock(text)
        for span in (*schedule.periods, *schedule.breaks)
        for text in (span.start, span.end)
    }
    for offset in range(horizon.days + 2):
        day = first + dt.timedelta(days=offset)
        for clock in clocks | {dt.time(0, 0)}:
            for fold in (0, 1):
                local = dt.datetime.combine(day, clock, tzinfo=zone).replace(fold=fold)
                yield local.astimezone(dt.UTC)
        yield from _transitions(day, zone)


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def _transitions(day: dt.date, zone: zoneinfo.ZoneInfo) -> Iterator[dt.datetime]:
    """The UTC-offset change inside one local day, to the minute, if any."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)
    low, high = start, start + dt.timedelta(days=1)
    if low.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
        return
    while high - low > dt.timedelta(minutes=1):
        middle = low + (high - low) // 2
        middle = middle.replace(second=0, microsecond=0)
        if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    yield high
