"""Calls the PBX answers itself: the application's Channel and its run.

Theory of operation. When routing ends at a voicemail box, or a phone dials
the voicemail code, :meth:`~.call.Call.answer_locally` answers the caller
with the PBX's own SDP (the media policy's
:meth:`~.media.SdpPolicy.answer_locally`) and, once the caller's ACK
confirms the answer, :func:`run_application` starts the application as an
asyncio task over a :class:`CallChannel`: the media half is the PBX's
endpoint on the caller's leg, the signalling half is the call (hanging up
sends BYE). When the caller hangs up, the call ends, the media policy
closes the endpoint and the application's next wait raises
:class:`~centralino.telephony.apps.channel.HungUp`; when the application
returns first, the PBX hangs up. Tasks are kept referenced until done, so
an application always finishes (a voicemail message is saved even when
the caller hangs up mid-sentence).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from centralino.domain.extension import Extension
from centralino.telephony.apps.channel import HungUp, Recording
from centralino.telephony.calls.media import PbxMedia
from centralino.telephony.calls.ports import Application

if TYPE_CHECKING:
    from centralino.telephony.calls.call import Call

__all__ = ["CallChannel", "drain_applications", "run_application"]

log = structlog.get_logger("centralino.calls")

_RUNNING: set[asyncio.Task[None]] = set()


class CallChannel:
    """The :class:`~centralino.telephony.apps.channel.Channel` of a PBX-answered call."""

    def __init__(
        self,
        call: Call,
        media: PbxMedia,
        hang_up: Callable[[], None],
        *,
        party: Extension | None = None,
    ) -> None:
        self._party = party or call.caller
        self._media = media
        self._hang_up = hang_up

    @property
    def caller(self) -> str:
        """The number of the phone on this channel (the caller, or a screened callee)."""
        return self._party.number

    @property
    def caller_name(self) -> str | None:
        """Its name, when the extension has one."""
        name = f"{self._party.first_name} {self._party.last_name}".strip()
        return name or None

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play PCM to the caller."""
        return await self._media.play(pcm, interrupt=interrupt)

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The caller's next key."""
        return await self._media.get_digit(timeout)

    def flush_digits(self) -> None:
        """Forget queued keys."""
        self._media.flush_digits()

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Record the caller."""
        return await self._media.record(
            max_seconds=max_seconds, stop_keys=stop_keys, silence_seconds=silence_seconds
        )

    async def hang_up(self) -> None:
        """The PBX hangs up (BYE)."""
        self._hang_up()
        self._media.close()


def run_application(
    application: Application, channel: CallChannel, done: Callable[[], None]
) -> None:
    """Run ``application`` as a task; ``done()`` when it returns."""

    async def run() -> None:
        try:
            await application(channel)
        except HungUp:
            pass
        except Exception:
            log.exception("call application failed")
        finally:
            done()

    task = asyncio.get_running_loop().create_task(run())
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def drain_applications(within: float = 5.0) -> None:
    """Wait for running applications (the engine is stopping; their calls were ended)."""
    if _RUNNING:
        await asyncio.wait(list(_RUNNING), timeout=within)
