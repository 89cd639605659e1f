"""What the engine is asked: the call, the callee and a way to find others.

A routing decision needs three things and nothing else: the call (who calls,
whom, from where, when), the called extension with its live state and the
office-hours schedule that applies to it, and a lookup for any other extension
a rule may forward to. All of them are plain values, so a plan can be computed
for a real call, for a simulation, or in a test, alike.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours

__all__ = [
    "Call",
    "CallOrigin",
    "Callee",
    "ExtensionLookup",
    "LiveState",
    "lookup_in",
]


class CallOrigin(enum.StrEnum):
    """Where a call comes from; it chooses internal or external destinations."""

    INTERNAL = "internal"
    """The caller is an extension of this PBX."""
    EXTERNAL = "external"
    """The caller is outside (a trunk, a web visitor)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One call to route.

    ``caller`` is the caller's extension number for an internal call, its
    caller ID (as presented by the trunk) for an external one. ``at`` must be
    an aware datetime: the engine never reads the clock.
    """

    caller: str
    called: str
    origin: CallOrigin
    at: dt.datetime
    did: str | None = None
    from_ring_group: bool = False

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("Call.at must be an aware datetime")


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveState:
    """What the registrar and the call engine know about an extension now."""

    registered_contacts: int = 0
    calls_in_progress: int = 0

    @property
    def registered(self) -> bool:
        """True when at least one phone is registered."""
        return self.registered_contacts > 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Callee:
    """An extension as the engine sees it: settings, live state, schedule.

    ``office_hours`` is the schedule that applies to this extension: its own
    when it names one, otherwise the global schedule.
    """

    extension: Extension
    state: LiveState
    office_hours: OfficeHours

    @property
    def number(self) -> str:
        """The extension number."""
        return self.extension.number


ExtensionLookup = Callable[[str], Callee | None]
"""Find another extension by number; ``None`` when there is no such extension."""


def lookup_in(callees: Mapping[str, Callee]) -> ExtensionLookup:
    """Make an :data:`ExtensionLookup` from a mapping of number to callee.

    Args:
        callees: the known extensions, by number.

    Returns:
        A lookup function answering from that mapping.
    """
    return callees.get
