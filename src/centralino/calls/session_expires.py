"""The ``Session-Expires`` and ``Min-SE`` fields of RFC 4028, read.

See :mod:`.session_timer` for what the PBX does with them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from centralino.sip.headers import Headers
from centralino.sip.message import Request

__all__ = ["MIN_INTERVAL", "Refresher", "Timing", "answered", "min_se", "requested", "timer_fields"]

MIN_INTERVAL = 90
"""The smallest interval RFC 4028 allows (§4: Min-SE's floor)."""


class Refresher(enum.StrEnum):
    """Which end of a dialog sends the refreshes (RFC 4028 §4)."""

    UAC = "uac"
    UAS = "uas"


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """A session interval and who refreshes it."""

    interval: int
    refresher: Refresher | None = None

    def header(self, refresher: Refresher) -> str:
        """The ``Session-Expires`` value naming ``refresher``."""
        return f"{self.interval};refresher={refresher.value}"


def _values(headers: Headers, name: str) -> list[str]:
    return [value.strip().lower() for value in headers.values(name)]


def _timing(headers: Headers) -> Timing | None:
    value = headers.get("session-expires")
    if value is None:
        return None
    interval_text, *parameters = (part.strip() for part in value.split(";"))
    if not interval_text.isdigit():
        return None
    refresher: Refresher | None = None
    for parameter in parameters:
        name, _, given = parameter.partition("=")
        if name.strip().lower() == "refresher" and given.strip().lower() in ("uac", "uas"):
            refresher = Refresher(given.strip().lower())
    return Timing(interval=max(int(interval_text), MIN_INTERVAL), refresher=refresher)


def timer_fields(timing: Timing) -> tuple[tuple[str, str], ...]:
    """What our 2xx to a request asking for ``timing`` says (§9): the caller refreshes
    unless it asked us to."""
    refresher = timing.refresher or Refresher.UAC
    return (("Session-Expires", timing.header(refresher)), ("Require", "timer"))


def requested(request: Request) -> Timing | None:
    """The timer an INVITE asks for (None: none, or its sender does not support timers)."""
    if "timer" not in _values(request.headers, "supported"):
        return None
    return _timing(request.headers)


def answered(headers: Headers) -> Timing | None:
    """The timer a 2xx sets (None: none)."""
    return _timing(headers)


def min_se(headers: Headers) -> int | None:
    """The ``Min-SE`` of a 422 (None: missing or unreadable)."""
    value = (headers.get("min-se") or "").split(";")[0].strip()
    return max(int(value), MIN_INTERVAL) if value.isdigit() else None
