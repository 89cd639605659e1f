"""Builders for routing tests: extensions, callees, calls and a directory."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours
from centralino.routing import Call, Callee, CallOrigin, LiveState, RoutingPlan, plan_call

__all__ = ["ROME", "SCHEDULE", "call", "callee", "extension", "plan", "rome"]

ROME = zoneinfo.ZoneInfo("Europe/Rome")
SCHEDULE = OfficeHours()
"""Mon-Fri 09:00-18:00, break 13:00-14:00, Europe/Rome."""

REGISTERED = LiveState(registered_contacts=1)


def rome(text: str) -> dt.datetime:
    """An aware moment in Rome from ``YYYY-MM-DD HH:MM``; 2026-12-01 is a Tuesday."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ROME)


def extension(number: str = "101", **fields: Any) -> Extension:
    """A valid extension; ``fields`` are top-level fields (dicts or models)."""
    document: dict[str, Any] = {
        "number": number,
        "auth_id": f"user{number}",
        "auth_password": "secret-password-123",
        "voicemail": {"pin": "1234"},
    }
    return Extension.model_validate(document | fields)


def callee(
    ext: Extension | None = None, state: LiveState = REGISTERED, schedule: OfficeHours = SCHEDULE
) -> Callee:
    """A callee (registered, idle, global schedule unless told)."""
    return Callee(extension=ext or extension(), state=state, office_hours=schedule)


def call(
    caller: str = "+390612345678",
    called: str = "101",
    at: str = "2026-12-01 10:05",
    origin: CallOrigin | None = None,
    **fields: Any,
) -> Call:
    """A call; the origin follows the caller (digits-only short numbers are internal)."""
    if origin is None:
        origin = CallOrigin.EXTERNAL if caller.startswith("+") else CallOrigin.INTERNAL
    return Call(caller=caller, called=called, origin=origin, at=rome(at), **fields)


def plan(the_call: Call, the_callee: Callee, *others: Callee) -> RoutingPlan:
    """Plan a call with a directory made of ``others`` (and the callee)."""
    directory = {c.number: c for c in (the_callee, *others)}
    return plan_call(the_call, the_callee, directory.get)
