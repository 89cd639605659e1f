"""Record all calls (SPEC 2.6): both parties mixed into one WAV per call.

Theory of operation. A :class:`CallRecorder` follows the ``CallStateChanged``
events. When a call is answered and the caller's or the callee's extension
has ``options.record_all_calls``, it attaches a media tap
(:mod:`.media.taps`) to the call's anchored media: every packet of each
direction, decoded to PCM, goes into a
:class:`~centralino.media.recorder.MixedRecorder`, which places it on one
sample clock by arrival time and mixes it in at once (so the end of a call
costs nothing but a copy). When the call's media ends (the anchor closes
its session, which tells the tap), the mixed PCM is handed to the
``CallRecordings`` port in an asyncio task; :meth:`CallRecorder.close`
waits for those tasks. The recording's start is the answer time (the
engine's clock when the ANSWERED event came).

A call whose media is not anchored (anchoring off, no RTP ports left)
cannot be recorded: that is logged. A call during which no audio arrived
is not stored. A failed store is logged; the call is not affected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Protocol

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import CallState
from centralino.domain.events import CallStateChanged, DomainEvent
from centralino.domain.extension import Extension
from centralino.domain.ports import CallRecordings, Clock
from centralino.media.recorder import DEFAULT_MAX_DURATION, MixedRecorder
from centralino.telephony.media.taps import MediaTap, TapDirection

__all__ = ["CallRecorder", "ExtensionLookup", "TapSource"]

log = structlog.get_logger("centralino.recording")


class TapSource(Protocol):
    """Where a call's audio can be tapped (the media anchor)."""

    def add_tap(self, call_id: str, tap: MediaTap) -> bool:
        """Attach ``tap`` to the call's media; False if the call is not anchored."""
        ...


class ExtensionLookup(Protocol):
    """The extensions' settings by number (the engine's directory)."""

    def by_number(self, number: str) -> Extension | None: ...


class _CallTap:
    """One recorded call's tap: feeds the mixer, hands the result over at the end."""

    def __init__(
        self,
        owner: CallRecorder,
        event: CallStateChanged,
        started_at: dt.datetime,
        max_duration: float,
    ) -> None:
        self.owner = owner
        self.call_id = event.call_id
        self.caller = event.caller
        self.callee = event.callee
        self.started_at = started_at
        self.mixer = MixedRecorder(max_duration=max_duration)

    def frame(self, direction: TapDirection, pcm: bytes, arrival: float) -> None:
        self.mixer.add(direction, pcm, arrival)

    def closed(self) -> None:
        self.owner._finished(self)


class CallRecorder:
    """Records the calls of extensions that ask for it.

    Args:
        media: the media anchor (taps are attached there).
        directory: the extensions, for their ``record_all_calls`` option.
        recordings: where finished recordings are filed.
        clock: wall-clock time, for each recording's start (the answer).
        max_duration: the longest recording kept per call, in seconds.
    """

    def __init__(
        self,
        media: TapSource,
        directory: ExtensionLookup,
        recordings: CallRecordings,
        clock: Clock,
        *,
        max_duration: float = DEFAULT_MAX_DURATION,
    ) -> None:
        self.media = media
        self.directory = directory
        self.recordings = recordings
        self.clock = clock
        self.max_duration = max_duration
        self._active: dict[str, _CallTap] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: list[Callable[[], None]] = []

    def subscribe(self, events: LocalEventBus) -> None:
        """Follow the calls published on ``events`` (until :meth:`close`)."""
        self._unsubscribe.append(events.subscribe(self.handle))

    @property
    def recording(self) -> frozenset[str]:
        """The ids of the calls being recorded now."""
        return frozenset(self._active)

    @property
    def pending(self) -> int:
        """Recordings being stored now."""
        return len(self._tasks)

    def wants(self, caller: str, callee: str) -> bool:
        """Whether a call between these numbers is recorded."""
        for number in (caller, callee):
            extension = self.directory.by_number(number)
            if extension is not None and extension.options.record_all_calls:
                return True
        return False

    def handle(self, event: DomainEvent) -> None:
        """Start recording an answered call that the option covers."""
        if not isinstance(event, CallStateChanged) or event.state is not CallState.ANSWERED:
            return
        if event.call_id in self._active or not self.wants(event.caller, event.callee):
            return
        tap = _CallTap(self, event, self.clock.now(), self.max_duration)
        if not self.media.add_tap(event.call_id, tap):
            log.warning("call not recorded: its media is not anchored", call=event.call_id)
            return
        self._active[event.call_id] = tap
        log.info("recording call", call=event.call_id, caller=event.caller, callee=event.callee)

    def _finished(self, tap: _CallTap) -> None:
        self._active.pop(tap.call_id, None)
        if tap.mixer.duration == 0:
            log.info("call not recorded: no audio arrived", call=tap.call_id)
            return
        if tap.mixer.truncated:
            log.warning("recording cut at its maximum length", call=tap.call_id)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.error("recording lost: no event loop to store it", call=tap.call_id)
            return
        task = loop.create_task(self._store(tap))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _store(self, tap: _CallTap) -> None:
        try:
            recording = await self.recordings.store_recording(
                call_id=tap.call_id,
                caller=tap.caller,
                callee=tap.callee,
                started_at=tap.started_at,
                pcm=tap.mixer.pcm(),
            )
        except Exception:
            log.exception("recording could not be stored", call=tap.call_id)
            return
        log.info("call recorded", call=tap.call_id, recording=recording.id)

    async def close(self) -> None:
        """Stop following calls and wait for the recordings being stored.

        Close the media first: its taps closing is what files the calls
        still in progress.
        """
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
