"""The office-hours status switch, run in the server (SPEC §2.3).

Theory of operation. Extensions with ``auto_switch_by_office_hours`` follow
their schedule (their own office hours, else the global ones): closed -> Do
Not Disturb, on a break -> Away, open -> Available. The decisions are the
pure :func:`centralino.routing.automatic_status` and
:func:`centralino.routing.next_change`; this module only applies them.

The switch acts at *changes*: it remembers, per extension, the office state
it last acted on, and sets the status only when that state differs (at
start-up every switching extension is new, so it is set then). A status set
by hand in between therefore stands until the next change of the office
state, as users expect. Turning the switch on for an extension, or editing
its schedule, counts as new: the next pass applies it. A status that is
already the wanted one is not written again: with several nodes on one
database every node runs the switch, the first one's change reaches the
others on the change feed, and they find nothing left to do.

:meth:`OfficeHoursSwitch.run_once` does one pass at ``clock.now()`` and
returns when to look again: the earliest next change of any schedule in use,
but at most ``max_sleep`` seconds ahead (so new extensions and edited
schedules are noticed). :meth:`OfficeHoursSwitch.wake` runs a pass early
(the engine calls it when an extension or a schedule changes). Tests use a
fake clock and call ``run_once`` directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable

import structlog

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours, OfficeState
from centralino.domain.ports import Clock, StatusChanger
from centralino.routing import automatic_status, next_change
from centralino.tasks import cancel_and_wait
from centralino.telephony.directory import Directory

__all__ = ["SWITCH_ACTOR", "OfficeHoursSwitch"]

log = structlog.get_logger("centralino.telephony")

SWITCH_ACTOR = "office-hours"
"""Who the audit trail says changed the status."""


class OfficeHoursSwitch:
    """Applies the automatic status of every switching extension at each change."""

    def __init__(
        self,
        directory: Directory,
        changer: StatusChanger,
        clock: Clock,
        *,
        max_sleep: float = 60.0,
    ) -> None:
        self._directory = directory
        self._changer = changer
        self._clock = clock
        self._max_sleep = max_sleep
        self._acted: dict[str, tuple[str, OfficeState]] = {}
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run passes in the background until :meth:`stop`."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop the background passes."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def extension_changed(
        self, number: str, before: Extension | None, after: Extension | None
    ) -> None:
        """Run a pass soon if the extension switches, or did (a directory listener).

        Other changes need none: a burst of 50,000 new extensions that do not
        switch costs no pass over every extension.
        """
        if _switches(before) or _switches(after):
            self.wake()

    def wake(self) -> None:
        """Run a pass now (something changed)."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def run_once(self) -> dt.datetime:
        """Apply the switch at ``clock.now()``; return when to look again."""
        now = self._clock.now()
        used: dict[str, OfficeHours] = {}
        for extension in list(self._directory.extensions()):
            if not extension.forwarding.auto_switch_by_office_hours:
                self._acted.pop(extension.number, None)
                continue
            schedule = self._directory.schedule_for(extension)
            used[schedule.name] = schedule
            await self._apply(extension, schedule, now)
        return self._next_pass(used.values(), now)

    async def _apply(self, extension: Extension, schedule: OfficeHours, now: dt.datetime) -> None:
        seen = (schedule.model_dump_json(), schedule.state_at(now))
        if self._acted.get(extension.number) == seen:
            return
        self._acted[extension.number] = seen
        wanted = automatic_status(extension, schedule, now)
        if wanted is None:  # not switching, or already at it (another node did it)
            return
        try:
            await self._changer.set_status(extension.number, wanted, by=SWITCH_ACTOR)
        except Exception:
            log.exception("office-hours switch failed", number=extension.number)
            self._acted.pop(extension.number, None)
            return
        log.info("office-hours switch", number=extension.number, status=wanted.value)

    def _next_pass(self, schedules: Iterable[OfficeHours], now: dt.datetime) -> dt.datetime:
        latest = now + dt.timedelta(seconds=self._max_sleep)
        changes = [next_change(schedule, now) for schedule in schedules]
        return min([latest, *(change for change in changes if change is not None)])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake = loop.create_future()
            try:
                wake_at = await self.run_once()
            except Exception:
                log.exception("office-hours pass failed")
                wake_at = self._clock.now() + dt.timedelta(seconds=self._max_sleep)
            delay = max((wake_at - self._clock.now()).total_seconds(), 0.0) + 0.001
            timer = loop.call_later(delay, self.wake)
            try:
                await self._wake
            finally:
                timer.cancel()


def _switches(extension: Extension | None) -> bool:
    return extension is not None and extension.forwarding.auto_switch_by_office_hours
