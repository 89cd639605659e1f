"""The small rules of routing, each with the words that explain it.

Caller-ID patterns: a pattern is matched against the whole caller ID; ``*``
stands for any run of characters, none included (in practice digits, but
also a leading ``+``, so ``*`` alone is every caller, anonymous ones too),
``?`` for exactly one digit, every other character (digits, ``+``, ``#``)
for itself. No normalisation is done: ``+3906*`` does not match
``003906...``; write one exception per form the trunk presents.

Time windows are judged in the time zone of the callee's schedule:
``office_hours`` holds while the schedule is OPEN; ``outside_office_hours``
holds while it is CLOSED or on a BREAK (the office does not answer then,
which is also why a break switches a status to Away); ``specific`` holds on
its weekdays from ``start`` (included) to ``end`` (excluded), holidays or not.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from centralino.domain.destination import (
    Destination,
    EndCall,
    ExtensionDestination,
    ExtensionVoicemail,
    ExternalNumber,
    Mobile,
    Voicemail,
)
from centralino.domain.forwarding import (
    DEFAULT_STATUS_NAMES,
    AlwaysWindow,
    InOfficeHoursWindow,
    OutsideOfficeHoursWindow,
    SpecificHoursWindow,
    Status,
    TimeWindow,
)
from centralino.domain.office_hours import OfficeHours, OfficeState, Weekday

__all__ = [
    "STATUS_NAMES",
    "WindowVerdict",
    "caller_matches",
    "describe_destination",
    "judge_window",
    "local_moment",
]

STATUS_NAMES: Mapping[Status, str] = DEFAULT_STATUS_NAMES
"""The default display name of each presence status (settings may rename them)."""

_WILDCARDS = {"*": ".*", "?": "[0-9]"}


@lru_cache(maxsize=1024)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = (_WILDCARDS.get(char) or re.escape(char) for char in pattern)
    return re.compile("".join(parts))


def caller_matches(pattern: str, caller: str) -> bool:
    """Tell whether a caller ID matches an exception's caller ID or pattern.

    Args:
        pattern: the exception's ``caller_id`` (exact, or with ``*`` and ``?``).
        caller: the caller ID (or the calling extension's number).

    Returns:
        True when the whole caller ID matches.
    """
    return _pattern_regex(pattern).fullmatch(caller) is not None


def local_moment(schedule: OfficeHours, at: dt.datetime) -> str:
    """Show a moment in a schedule's zone, e.g. ``"Europe/Rome 10:05 Tue"``.

    Args:
        schedule: the schedule whose time zone is used.
        at: an aware datetime.

    Returns:
        The zone name, the wall-clock time and the weekday.
    """
    local = at.astimezone(zoneinfo.ZoneInfo(schedule.time_zone))
    return f"{schedule.time_zone} {local:%H:%M %a}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowVerdict:
    """Whether a time window holds at a moment, and the words saying so."""

    holds: bool
    text: str


def _office(window: TimeWindow, schedule: OfficeHours, at: dt.datetime) -> WindowVerdict:
    state = schedule.state_at(at)
    wanted = isinstance(window, InOfficeHoursWindow)
    holds = (state is OfficeState.OPEN) == wanted
    name = "office hours" if wanted else "outside office hours"
    said = {OfficeState.OPEN: "open", OfficeState.BREAK: "on a break"}.get(state, "closed")
    where = f"schedule '{schedule.name}' is {said}, {local_moment(schedule, at)}"
    return WindowVerdict(holds=holds, text=f"window '{name}' {_holds(holds)} ({where})")


def _holds(holds: bool) -> str:
    return "is in effect" if holds else "is not in effect"


def _specific(window: SpecificHoursWindow, schedule: OfficeHours, at: dt.datetime) -> WindowVerdict:
    local = at.astimezone(zoneinfo.ZoneInfo(schedule.time_zone))
    clock = f"{local:%H:%M}"
    holds = Weekday.of(local.date()) in window.days and window.start <= clock < window.end
    days = ", ".join(day.value.capitalize() for day in window.days)
    name = f"{days} {window.start}-{window.end}"
    where = local_moment(schedule, at)
    return WindowVerdict(holds=holds, text=f"window '{name}' {_holds(holds)} ({where})")


def judge_window(window: TimeWindow, schedule: OfficeHours, at: dt.datetime) -> WindowVerdict:
    """Judge an exception's time window at a moment.

    Args:
        window: the window of a forwarding exception.
        schedule: the callee's office-hours schedule (its zone and state).
        at: the moment of the call (aware).

    Returns:
        Whether the window holds, and a phrase explaining it.
    """
    match window:
        case AlwaysWindow():
            return WindowVerdict(holds=True, text="window 'always' is in effect")
        case InOfficeHoursWindow() | OutsideOfficeHoursWindow():
            return _office(window, schedule, at)
        case SpecificHoursWindow():
            return _specific(window, schedule, at)


def describe_destination(destination: Destination, owner: str, mobile: str | None) -> str:
    """Say where a destination sends a call, e.g. ``"extension 103"``.

    Args:
        destination: a typed destination.
        owner: the number of the extension whose rule this is.
        mobile: that extension's mobile number, if any.

    Returns:
        A short phrase naming the destination.
    """
    match destination:
        case Voicemail():
            return f"the voicemail of {owner}"
        case ExtensionVoicemail():
            return f"the voicemail of extension {destination.number}"
        case Mobile():
            return f"the mobile {mobile}" if mobile else "the mobile (none is set)"
        case ExtensionDestination():
            return f"extension {destination.number}"
        case ExternalNumber():
            return f"the number {destination.number}"
        case EndCall():
            return "end the call"
