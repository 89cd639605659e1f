"""The forwarding-rules tab (SPEC section 2.3): status, profiles, exceptions.

Available rings the extension first and then applies its no-answer, busy and
not-registered destinations; every other status forwards at once to its single
destination. Internal and external callers have separate destinations.
Exceptions (caller ID within a time window) come ahead of the profile.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from centralino.domain.destination import Destination, Voicemail
from centralino.domain.model import DomainModel, FieldValueError
from centralino.domain.office_hours import ScheduleName, Weekday
from centralino.domain.text import Matches
from centralino.domain.values import TimeOfDay

__all__ = [
    "DEFAULT_STATUS_NAMES",
    "AlwaysWindow",
    "AvailableProfile",
    "AvailableRoutes",
    "CallerIdPattern",
    "ForwardProfile",
    "ForwardingException",
    "ForwardingSettings",
    "InOfficeHoursWindow",
    "OutsideOfficeHoursWindow",
    "Profiles",
    "SpecificHoursWindow",
    "Status",
    "TimeWindow",
]


class Status(enum.StrEnum):
    """Presence status of an extension."""

    AVAILABLE = "available"
    AWAY = "away"
    DND = "dnd"
    LUNCH = "lunch"
    BUSINESS_TRIP = "business_trip"


DEFAULT_STATUS_NAMES: dict[Status, str] = {
    Status.AVAILABLE: "Available",
    Status.AWAY: "Away",
    Status.DND: "Do Not Disturb",
    Status.LUNCH: "Lunch",
    Status.BUSINESS_TRIP: "Business Trip",
}
"""Display names of the statuses until an administrator renames them."""

CallerIdPattern = Annotated[
    str,
    Matches(r"[0-9+*?#]{1,32}", "a caller ID or pattern of digits, +, # and the wildcards * and ?"),
]
"""A caller ID, exact, or a pattern where ``*`` is any digits and ``?`` one digit."""


class AvailableRoutes(DomainModel):
    """Where calls go when an available extension does not take them."""

    no_answer: Destination = Field(default_factory=Voicemail)
    busy: Destination = Field(default_factory=Voicemail)
    not_registered: Destination = Field(default_factory=Voicemail)


class _ProfileBase(DomainModel):
    ring_mobile: bool = False
    accept_multiple_calls: bool = True
    logout_from_queues: bool = False
    accept_ring_group_calls: bool = True


class AvailableProfile(_ProfileBase):
    """The Available profile: ring for ``no_answer_seconds``, then forward."""

    no_answer_seconds: int = Field(default=20, ge=5, le=600)
    internal: AvailableRoutes = Field(default_factory=AvailableRoutes)
    external: AvailableRoutes = Field(default_factory=AvailableRoutes)


class ForwardProfile(_ProfileBase):
    """A non-available profile: calls go straight to one destination."""

    internal: Destination = Field(default_factory=Voicemail)
    external: Destination = Field(default_factory=Voicemail)


def _away_profile() -> ForwardProfile:
    return ForwardProfile(accept_ring_group_calls=False)


def _dnd_profile() -> ForwardProfile:
    return ForwardProfile(
        accept_multiple_calls=False, accept_ring_group_calls=False, logout_from_queues=True
    )


class Profiles(DomainModel):
    """One profile per status."""

    available: AvailableProfile = Field(default_factory=AvailableProfile)
    away: ForwardProfile = Field(default_factory=_away_profile)
    dnd: ForwardProfile = Field(default_factory=_dnd_profile)
    lunch: ForwardProfile = Field(default_factory=_away_profile)
    business_trip: ForwardProfile = Field(default_factory=_away_profile)


class AlwaysWindow(DomainModel):
    """At any time."""

    type: Literal["always"] = "always"


class InOfficeHoursWindow(DomainModel):
    """While the extension's office hours are open."""

    type: Literal["office_hours"] = "office_hours"


class OutsideOfficeHoursWindow(DomainModel):
    """While the extension's office hours are closed (or on a break)."""

    type: Literal["outside_office_hours"] = "outside_office_hours"


class SpecificHoursWindow(DomainModel):
    """On the given weekdays between two wall-clock times."""

    type: Literal["specific"] = "specific"
    days: list[Weekday] = Field(min_length=1)
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise FieldValueError("end", "must be after start")
        return self


TimeWindow = Annotated[
    AlwaysWindow | InOfficeHoursWindow | OutsideOfficeHoursWindow | SpecificHoursWindow,
    Field(discriminator="type"),
]


class ForwardingException(DomainModel):
    """Send calls from a caller ID, within a time window, to a destination."""

    caller_id: CallerIdPattern
    window: TimeWindow = Field(default_factory=AlwaysWindow)
    destination: Destination


class ForwardingSettings(DomainModel):
    """The whole forwarding tab."""

    status: Status = Status.AVAILABLE
    auto_switch_by_office_hours: bool = False
    office_hours: ScheduleName | None = None
    profiles: Profiles = Field(default_factory=Profiles)
    exceptions: list[ForwardingException] = Field(default_factory=list, max_length=100)
