"""Hypothesis strategies: forwarding tabs, live states, calls and directories.

Extension numbers come from a small pool so that rules often point at each
other (forwarding graphs with cycles); ``199`` is never in a directory.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours
from centralino.routing import Call, Callee, CallOrigin, LiveState

from .helpers import SCHEDULE, extension

__all__ = [
    "POOL",
    "Scenario",
    "forwardings",
    "forwards",
    "scenarios",
]

POOL = ["101", "102", "103", "104", "105"]
UNKNOWN = "199"
STATUSES = ["available", "away", "dnd", "lunch", "business_trip"]
CALLERS = ["101", "102", "106", "+390612345678", "+390699999", "+441234567"]
PATTERNS = ["101", "10?", "1*", "+3906*", "*", "+390612345678", "+44*", "555", "+39??"]

_numbers = st.sampled_from([*POOL, UNKNOWN])


def destinations() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({"type": "voicemail"}),
        _numbers.map(lambda n: {"type": "extension_voicemail", "number": n}),
        st.just({"type": "mobile"}),
        _numbers.map(lambda n: {"type": "extension", "number": n}),
        st.sampled_from(["+3902555", "+3906777"]).map(lambda n: {"type": "number", "number": n}),
        st.just({"type": "end_call"}),
    )


def forwards() -> st.SearchStrategy[dict[str, Any]]:
    """Mostly forwards to pool extensions: dense forwarding graphs with cycles."""
    to_pool = st.sampled_from(POOL).map(lambda n: {"type": "extension", "number": n})
    return st.one_of(to_pool, to_pool, to_pool, destinations())


_flags = {
    "ring_mobile": st.booleans(),
    "accept_multiple_calls": st.booleans(),
    "accept_ring_group_calls": st.booleans(),
}


def _profiles(target: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    routes = st.fixed_dictionaries({"no_answer": target, "busy": target, "not_registered": target})
    available = st.fixed_dictionaries(
        {**_flags, "no_answer_seconds": st.integers(5, 600), "internal": routes, "external": routes}
    )
    other = st.fixed_dictionaries({**_flags, "internal": target, "external": target})
    return st.fixed_dictionaries({"available": available, **dict.fromkeys(STATUSES[1:], other)})


_clock = st.tuples(st.integers(0, 22), st.integers(0, 59)).map(lambda t: f"{t[0]:02}:{t[1]:02}")
_windows = st.one_of(
    st.just({"type": "always"}),
    st.just({"type": "office_hours"}),
    st.just({"type": "outside_office_hours"}),
    st.builds(
        lambda days, start: {"type": "specific", "days": days, "start": start, "end": "23:30"},
        st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1),
        _clock,
    ),
)
exceptions = st.fixed_dictionaries(
    {"caller_id": st.sampled_from(PATTERNS), "window": _windows, "destination": destinations()}
)


def forwardings(
    max_exceptions: int = 2, target: st.SearchStrategy[dict[str, Any]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """A forwarding tab as a document (statuses, profiles, exceptions)."""
    return st.fixed_dictionaries(
        {
            "status": st.sampled_from(STATUSES),
            "profiles": _profiles(destinations() if target is None else target),
            "exceptions": st.lists(exceptions, max_size=max_exceptions),
        }
    )


states = st.builds(
    LiveState, registered_contacts=st.integers(0, 2), calls_in_progress=st.integers(0, 2)
)
schedules = st.sampled_from(
    [SCHEDULE, OfficeHours(name="ny", time_zone="America/New_York", breaks=[])]
)
moments = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2027, 12, 31),
    timezones=st.sampled_from([zoneinfo.ZoneInfo("Europe/Rome"), dt.UTC]),
    allow_imaginary=False,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A call, its callee and a directory; ``documents`` are the forwarding tabs."""

    call: Call
    callee: Callee
    directory: dict[str, Callee]
    documents: dict[str, dict[str, Any]]
    extras: dict[str, dict[str, Any]]

    def rebuilt(self, documents: dict[str, dict[str, Any]]) -> Scenario:
        """The same scenario with other forwarding tabs."""
        directory = {
            number: Callee(
                extension=build(number, documents[number], self.extras[number]),
                state=old.state,
                office_hours=old.office_hours,
            )
            for number, old in self.directory.items()
        }
        callee = directory[self.callee.number]
        return Scenario(
            call=self.call,
            callee=callee,
            directory=directory,
            documents=documents,
            extras=self.extras,
        )


def build(number: str, forwarding: dict[str, Any], extra: dict[str, Any]) -> Extension:
    return extension(number, forwarding=forwarding, **extra)


_extras = st.fixed_dictionaries(
    {
        "mobile": st.sampled_from([None, "+393331234567"]),
        "voicemail": st.sampled_from([{"pin": "1234"}, {"pin": "1234", "enabled": False}]),
        "options": st.sampled_from([{}, {}, {}, {"disabled": True}]),
    }
)


@st.composite
def scenarios(
    draw: st.DrawFn,
    forwarding: st.SearchStrategy[dict[str, Any]] | None = None,
    origin: CallOrigin | None = None,
    from_ring_group: bool | None = None,
) -> Scenario:
    """A directory of 1 to 5 extensions from the pool, and a call to one of them."""
    numbers = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=5, unique=True))
    tabs = forwardings() if forwarding is None else forwarding
    documents = {n: draw(tabs) for n in numbers}
    extras = {n: draw(_extras) for n in numbers}
    schedule = draw(schedules)
    directory = {
        n: Callee(
            extension=build(n, documents[n], extras[n]), state=draw(states), office_hours=schedule
        )
        for n in numbers
    }
    called = draw(st.sampled_from(numbers))
    caller = draw(st.sampled_from(CALLERS))
    if origin is None:
        origin = CallOrigin.EXTERNAL if caller.startswith("+") else CallOrigin.INTERNAL
    ring_group = draw(st.booleans()) if from_ring_group is None else from_ring_group
    the_call = Call(
        caller=caller, called=called, origin=origin, at=draw(moments), from_ring_group=ring_group
    )
    return Scenario(
        call=the_call,
        callee=directory[called],
        directory=directory,
        documents=documents,
        extras=extras,
    )
