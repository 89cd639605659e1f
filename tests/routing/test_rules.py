"""Caller-ID patterns and time windows."""

from __future__ import annotations

import pytest

from centralino.domain.forwarding import (
    AlwaysWindow,
    InOfficeHoursWindow,
    OutsideOfficeHoursWindow,
    SpecificHoursWindow,
)
from centralino.domain.office_hours import Holiday, OfficeHours
from centralino.routing import caller_matches, judge_window

from .helpers import SCHEDULE, rome


@pytest.mark.parametrize(
    ("pattern", "caller", "matches"),
    [
        ("+390612345678", "+390612345678", True),
        ("+390612345678", "+3906123456789", False),
        ("+3906*", "+390612345678", True),
        ("+3906*", "+3906", True),
        ("+3906*", "003906123", False),
        ("10?", "101", True),
        ("10?", "10", False),
        ("10?", "1011", False),
        ("1?1", "1+1", False),
        ("*", "+390612345678", True),
        ("*", "anonymous", True),
        ("*5", "12345", True),
        ("+39??", "+3912", True),
        ("#12", "#12", True),
        ("1.3", "123", False),
    ],
)
def test_caller_matches(pattern: str, caller: str, matches: bool) -> None:
    assert caller_matches(pattern, caller) is matches


def test_always_window() -> None:
    verdict = judge_window(AlwaysWindow(), SCHEDULE, rome("2026-12-01 03:00"))
    assert verdict.holds
    assert verdict.text == "window 'always' is in effect"


@pytest.mark.parametrize(
    ("at", "inside", "state"),
    [
        ("2026-12-01 09:00", True, "open"),
        ("2026-12-01 13:00", False, "on a break"),
        ("2026-12-01 18:00", False, "closed"),
        ("2026-12-06 10:00", False, "closed"),
    ],
)
def test_office_hours_windows(at: str, inside: bool, state: str) -> None:
    moment = rome(at)
    in_hours = judge_window(InOfficeHoursWindow(), SCHEDULE, moment)
    outside = judge_window(OutsideOfficeHoursWindow(), SCHEDULE, moment)
    assert in_hours.holds is inside
    assert outside.holds is not inside
    assert f"schedule 'global' is {state}" in in_hours.text


def test_holidays_close_the_office_for_the_windows() -> None:
    schedule = OfficeHours(holidays=[Holiday(date="2026-12-08", name="Immacolata")])
    moment = rome("2026-12-08 10:00")
    assert judge_window(OutsideOfficeHoursWindow(), schedule, moment).holds
    assert not judge_window(InOfficeHoursWindow(), schedule, moment).holds


def test_specific_window_in_another_zone() -> None:
    schedule = OfficeHours(name="ny", time_zone="America/New_York")
    window = SpecificHoursWindow(days=["tue"], start="08:00", end="09:00")
    # 14:30 in Rome is 08:30 in New York.
    verdict = judge_window(window, schedule, rome("2026-12-01 14:30"))
    assert verdict.holds
    assert verdict.text == "window 'Tue 08:00-09:00' is in effect (America/New_York 08:30 Tue)"


def test_specific_window_lists_its_days() -> None:
    window = SpecificHoursWindow(days=["mon", "wed"], start="08:00", end="09:00")
    verdict = judge_window(window, SCHEDULE, rome("2026-12-01 08:30"))
    assert not verdict.holds
    assert verdict.text == "window 'Mon, Wed 08:00-09:00' is not in effect (Europe/Rome 08:30 Tue)"
