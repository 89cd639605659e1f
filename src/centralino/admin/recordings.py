"""Recorded calls: the call engine files them, the API lists, plays and deletes them.

:class:`RecordingService` is the call engine's ``CallRecordings`` port. A
recording's WAV is archived under its call id (``AudioKind.RECORDING``); its
record (who called whom, when, how long) is in the unit of work.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from centralino.admin.audit import record
from centralino.admin.context import SYSTEM_ACTOR, Actor
from centralino.domain.audit import AuditAction
from centralino.domain.errors import NotFound
from centralino.domain.events import CallRecorded
from centralino.domain.ports import AudioArchive, AudioKind, Clock, UnitOfWorkFactory
from centralino.domain.recordings import CallRecording
from centralino.media.pcm import duration_of
from centralino.media.wav import encode_wav

__all__ = ["RESOURCE", "RecordingService", "recording_document"]

RESOURCE = "recording"
"""The audit trail's resource name for recorded calls."""


def recording_document(recording: CallRecording) -> dict[str, object]:
    """A recording as plain JSON values (audit trail, CLI output)."""
    return {
        "id": recording.id,
        "call_id": recording.call_id,
        "caller": recording.caller,
        "callee": recording.callee,
        "started_at": recording.started_at.isoformat(),
        "duration": recording.duration,
    }


class RecordingService:
    """Recorded calls.

    Args:
        units: the unit-of-work factory.
        clock: the time of audit entries.
        audio: where the WAV files live.
    """

    def __init__(self, units: UnitOfWorkFactory, clock: Clock, audio: AudioArchive) -> None:
        self._units = units
        self._clock = clock
        self._audio = audio

    async def store_recording(
        self,
        *,
        call_id: str,
        caller: str,
        callee: str,
        started_at: dt.datetime,
        pcm: bytes,
    ) -> CallRecording:
        """Store both parties' mixed audio (8 kHz 16-bit mono PCM); publishes CallRecorded."""
        recording = CallRecording(
            id=uuid.uuid4().hex,
            call_id=call_id,
            caller=caller[:64],
            callee=callee[:64],
            started_at=started_at,
            duration=duration_of(pcm),
        )
        await self._audio.write(AudioKind.RECORDING, call_id, recording.id, encode_wav(pcm))
        try:
            async with self._units() as uow:
                await uow.recordings.add(recording)
                recorded = CallRecorded(
                    recording_id=recording.id, call_id=call_id, caller=caller, callee=callee
                )
                await uow.changes.append([recorded], actor=SYSTEM_ACTOR.username)
                await uow.commit()
        except BaseException:
            await self._audio.delete(AudioKind.RECORDING, call_id, recording.id)
            raise
        return recording

    async def list(self, number: str | None = None) -> Sequence[CallRecording]:
        """Recordings, newest first; with ``number``, those where it is caller or callee."""
        async with self._units() as uow:
            return await uow.recordings.list(number)

    async def get(self, recording_id: str) -> CallRecording:
        """One recording.

        Raises:
            NotFound: there is no such recording.
        """
        async with self._units() as uow:
            recording = await uow.recordings.get(recording_id)
        if recording is None:
            raise NotFound("recording", recording_id)
        return recording

    async def audio(self, recording_id: str) -> bytes:
        """A recording's WAV file (8 kHz 16-bit mono).

        Raises:
            NotFound: no such recording, or its audio is gone.
        """
        recording = await self.get(recording_id)
        wav = await self._audio.read(AudioKind.RECORDING, recording.call_id, recording.id)
        if wav is None:
            raise NotFound("recording audio", recording_id)
        return wav

    async def delete(self, actor: Actor, recording_id: str) -> None:
        """Delete a recording and its audio (audited).

        Raises:
            NotFound: there is no such recording.
        """
        async with self._units() as uow:
            recording = await uow.recordings.get(recording_id)
            if recording is None:
                raise NotFound("recording", recording_id)
            await uow.recordings.delete(recording_id)
            before = recording_document(recording)
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.DELETE,
                RESOURCE,
                recording_id,
                before,
                None,
            )
            await uow.commit()
        await self._audio.delete(AudioKind.RECORDING, recording.call_id, recording.id)
