"""The routing explainer: "simulate this call" (SPEC §2.3, issue 4).

Theory of operation. :meth:`RoutingService.simulate` runs the very engine
that decides real calls (:func:`centralino.routing.plan_call`) on the stored
extensions and office hours, for a caller and a moment the administrator
chooses, and returns the plan, its trace and a plain-text explanation.

Live state (registered phones, calls in progress) comes from the running
call engine when there is one in this process (the API of ``centralino
serve``); otherwise (the CLI) every extension is assumed registered and
idle, and the answer says so. ``registered`` overrides the called
extension's registration either way ("what if their phone is off?").

A moment without a time zone is read in the called extension's schedule
time zone, as an administrator thinks of office hours.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from centralino.admin.calls import CallsService
from centralino.admin.live import LiveService
from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput, NotFound
from centralino.domain.extension import Extension
from centralino.domain.forwarding import CallerIdPattern
from centralino.domain.model import DomainModel
from centralino.domain.office_hours import GLOBAL_SCHEDULE, OfficeHours, OfficeState
from centralino.domain.ports import Clock, UnitOfWorkFactory
from centralino.routing import (
    Call,
    Callee,
    CallOrigin,
    DialExternal,
    LiveState,
    RoutingPlan,
    plan_call,
    plan_document,
    trace_document,
)

__all__ = ["RoutingService", "Simulation", "SimulationRequest"]

_CALLER = re.compile(r"[0-9+*#]{1,32}")

LIVE_NOTE = "Live state: from the running PBX (registered phones and calls in progress now)."
ASSUMED_NOTE = (
    "Live state: not known here (no PBX running in this process): every extension"
    " is assumed registered and idle."
)

_STATE_WORDS = {
    OfficeState.OPEN: "open",
    OfficeState.BREAK: "on a break",
    OfficeState.CLOSED: "closed",
}


class SimulationRequest(DomainModel):
    """What to simulate: a caller, and optionally a moment, a DID, a registration."""

    caller: CallerIdPattern
    """An extension number (internal call) or an external caller ID."""
    at: dt.datetime | None = None
    """When; without a time zone: the extension's schedule zone; omitted: now."""
    did: CallerIdPattern | None = None
    """The DID dialled (the call is then external)."""
    registered: bool | None = None
    """Override whether the called extension has a phone registered."""


TRUNK_NOTE = (
    "Note: no trunk exists yet: a call to a mobile or an external number ends"
    " with 503 'No trunk for external numbers'."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Simulation:
    """A simulated call: what was asked, what the engine decided, and why."""

    call: Call
    plan: RoutingPlan
    description: tuple[str, ...]
    """The call in words: who, whom, when (local time), office state, status."""
    live: bool
    """True when live state came from the running engine."""

    def notes(self) -> tuple[str, ...]:
        """What the PBX cannot do yet for steps of this plan (what callers get then)."""
        steps = self.plan.steps()
        notes = []
        if any(isinstance(step, DialExternal) for step in steps):
            notes.append(TRUNK_NOTE)
        return tuple(notes)

    def text(self) -> str:
        """The description, then the rendered plan, then the notes."""
        notes = self.notes()
        return "\n".join(
            (*self.description, "", self.plan.render(), *(("", *notes) if notes else ()))
        )

    def document(self) -> dict[str, Any]:
        """The simulation as JSON (the API's answer)."""
        return {
            "call": {
                "caller": self.call.caller,
                "called": self.call.called,
                "origin": self.call.origin.value,
                "did": self.call.did,
                "at": self.call.at.isoformat(),
            },
            "live_state": "live" if self.live else "assumed",
            "description": list(self.description),
            "plan": plan_document(self.plan),
            "trace": [trace_document(entry) for entry in self.plan.trace],
            "notes": list(self.notes()),
            "text": self.text(),
        }


class RoutingService:
    """Simulates calls with the routing engine."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        live: LiveService | None = None,
        calls: CallsService | None = None,
    ) -> None:
        self._units, self._clock = units, clock
        self._live = LiveService() if live is None else live
        self._calls = CallsService() if calls is None else calls

    def with_live(self, live: LiveService, calls: CallsService) -> RoutingService:
        """The same service, reading live state from ``live`` and ``calls``."""
        return RoutingService(self._units, self._clock, live, calls)

    async def simulate_document(self, number: str, document: Mapping[str, Any]) -> Simulation:
        """:meth:`simulate` with a JSON body (:class:`SimulationRequest`).

        Raises:
            InvalidInput: a bad field.
            NotFound: no such extension.
        """
        request = parse_model(SimulationRequest, document)
        return await self.simulate(
            number, request.caller, at=request.at, did=request.did, registered=request.registered
        )

    async def simulate(
        self,
        number: str,
        caller: str,
        *,
        at: dt.datetime | None = None,
        did: str | None = None,
        registered: bool | None = None,
    ) -> Simulation:
        """Plan a call from ``caller`` to extension ``number``, as it would happen.

        Args:
            number: the called extension.
            caller: an extension number (an internal call) or an external
                caller ID.
            at: the moment; naive means the extension's schedule time zone;
                None means now.
            did: the DID dialled (makes the call external).
            registered: override the called extension's registration.

        Returns:
            The simulation.

        Raises:
            NotFound: no such extension.
            InvalidInput: a bad caller ID.
        """
        if not _CALLER.fullmatch(caller):
            raise InvalidInput.single("caller", "must be digits, '+', '*' or '#' (at most 32)")
        async with self._units() as uow:
            extensions = {e.number: e for e in await uow.extensions.all()}
            schedules = {s.name: s for s in await uow.office_hours.all()}
            names = (await uow.settings.get()).presence.names()
        if number not in extensions:
            raise NotFound("extension", number)
        world = _World(extensions, schedules, self._state, registered, number)
        schedule = world.schedule(extensions[number])
        moment = self._moment(at, schedule)
        internal = caller in extensions and did is None
        origin = CallOrigin.INTERNAL if internal else CallOrigin.EXTERNAL
        call = Call(caller=caller, called=number, origin=origin, at=moment, did=did)
        callee = world.callee(number)
        assert callee is not None
        plan = plan_call(call, callee, world.callee, status_names=names)
        description = self._describe(
            call, callee, registered, names[callee.extension.forwarding.status]
        )
        return Simulation(call=call, plan=plan, description=description, live=self._live.running)

    def _moment(self, at: dt.datetime | None, schedule: OfficeHours) -> dt.datetime:
        zone = zoneinfo.ZoneInfo(schedule.time_zone)
        if at is None:
            return self._clock.now().astimezone(zone)
        if at.tzinfo is None:
            return at.replace(tzinfo=zone)
        return at

    def _state(self, number: str) -> LiveState:
        if not self._live.running:
            return LiveState(registered_contacts=1, calls_in_progress=0)
        return LiveState(
            registered_contacts=len(self._live.registrations(number)),
            calls_in_progress=len(self._calls.calls(number)),
        )

    def _describe(
        self, call: Call, callee: Callee, registered: bool | None, status_name: str
    ) -> tuple[str, ...]:
        schedule = callee.office_hours
        local = call.at.astimezone(zoneinfo.ZoneInfo(schedule.time_zone))
        who = (
            f"extension {call.caller} (an internal call)"
            if call.origin is CallOrigin.INTERNAL
            else f"{call.caller} (an external call{f', DID {call.did}' if call.did else ''})"
        )
        forwarding = callee.extension.forwarding
        auto = ", switched by office hours" if forwarding.auto_switch_by_office_hours else ""
        state = callee.state
        lines = [
            f"Call from {who} to extension {call.called}",
            f"At {local:%a %Y-%m-%d %H:%M} {schedule.time_zone}: office hours"
            f" '{schedule.name}' are {_STATE_WORDS[schedule.state_at(call.at)]}",
            f"Status of {call.called}: {status_name}{auto}",
            f"Extension {call.called}: {state.registered_contacts} phone(s) registered,"
            f" {state.calls_in_progress} call(s) in progress"
            + (" (registration overridden)" if registered is not None else ""),
            LIVE_NOTE if self._live.running else ASSUMED_NOTE,
        ]
        return tuple(lines)


class _World:
    """The extensions as the engine sees them in a simulation."""

    def __init__(
        self,
        extensions: Mapping[str, Extension],
        schedules: Mapping[str, OfficeHours],
        state: Callable[[str], LiveState],
        registered: bool | None,
        called: str,
    ) -> None:
        self._extensions, self._schedules = extensions, schedules
        self._state, self._registered, self._called = state, registered, called

    def schedule(self, extension: Extension) -> OfficeHours:
        own = extension.forwarding.office_hours
        if own is not None and own in self._schedules:
            return self._schedules[own]
        return self._schedules.get(GLOBAL_SCHEDULE) or OfficeHours()

    def callee(self, number: str) -> Callee | None:
        extension = self._extensions.get(number)
        if extension is None:
            return None
        state = self._state(number)
        if number == self._called and self._registered is not None:
            contacts = max(state.registered_contacts, 1) if self._registered else 0
            state = LiveState(
                registered_contacts=contacts, calls_in_progress=state.calls_in_progress
            )
        return Callee(extension=extension, state=state, office_hours=self.schedule(extension))
