"""Status dial codes: a phone sets its own presence status (SPEC §2.3).

Theory of operation. The codes live in the system settings
(``dial_codes``: ``*30`` Available, ``*31`` Away, ``*32`` Do Not Disturb,
``*33`` Lunch, ``*34`` Business Trip by default). An authenticated INVITE
to one of them sets the *caller's* status through the domain
``StatusChanger`` port (the management side validates, audits it as
``phone:<number>`` and publishes ``StatusChanged``), then the INVITE gets a
final answer without any media: ``603 Status set to Do Not Disturb`` (6xx:
no phone or forward is tried; the phone shows the reason phrase and hangs
up). A failure answers ``500 Status not changed``; no changer wired (an
engine without a management side) answers ``503 Status changes unavailable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.ports import StatusChanger
from centralino.routing import STATUS_NAMES
from centralino.sip.codes import StatusCode
from centralino.telephony.sip_server import IncomingRequest

__all__ = ["StatusCodes", "status_set_reason"]

log = structlog.get_logger("centralino.calls")


def status_set_reason(status: Status, names: Mapping[Status, str] = STATUS_NAMES) -> str:
    """The reason phrase of the answer to a status dial code (configured name)."""
    return f"Status set to {names[status]}"


class StatusCodes:
    """Handles INVITEs to the status dial codes."""

    def __init__(
        self, changer: StatusChanger | None, names: Callable[[], Mapping[Status, str]]
    ) -> None:
        self._changer = changer
        self._names = names
        self._tasks: set[asyncio.Task[None]] = set()

    def handle(self, incoming: IncomingRequest, caller: Extension, status: Status) -> None:
        """Set ``caller``'s status to ``status`` and answer the INVITE."""
        if self._changer is None:
            incoming.respond(StatusCode.SERVICE_UNAVAILABLE, "Status changes unavailable")
            return
        task = asyncio.ensure_future(self._apply(self._changer, incoming, caller, status))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(
        self,
        changer: StatusChanger,
        incoming: IncomingRequest,
        caller: Extension,
        status: Status,
    ) -> None:
        try:
            await changer.set_status(caller.number, status, by=f"phone:{caller.number}")
        except Exception:
            log.exception("status dial code failed", number=caller.number, status=status.value)
            incoming.respond(StatusCode.SERVER_INTERNAL_ERROR, "Status not changed")
            return
        log.info("status set by dial code", number=caller.number, status=status.value)
        incoming.respond(StatusCode.DECLINE, status_set_reason(status, self._names()))
