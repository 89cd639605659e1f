"""Recorded calls over REST: list (newest first, by number), read, download, delete."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from centralino.api.dependencies import CurrentActor, Services
from centralino.api.routes.voicemail import WAV_RESPONSE, audio_response, item_id
from centralino.domain.recordings import CallRecording

__all__ = ["RecordingOut", "router"]

router = APIRouter(prefix="/recordings", tags=["recordings"])


class RecordingOut(BaseModel):
    """A recorded call; ``call_id`` as in ``GET /api/v1/calls``, ``duration`` in seconds."""

    id: str
    call_id: str
    caller: str
    callee: str
    started_at: dt.datetime
    duration: float

    @classmethod
    def of(cls, recording: CallRecording) -> RecordingOut:
        """The API form of a recording."""
        return cls(
            id=recording.id,
            call_id=recording.call_id,
            caller=recording.caller,
            callee=recording.callee,
            started_at=recording.started_at,
            duration=recording.duration,
        )


@router.get("", response_model=list[RecordingOut])
async def list_recordings(
    services: Services,
    number: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[^\x00-\x1f]*$",
            description="Only calls where this number is the caller or the callee.",
        ),
    ] = None,
) -> list[RecordingOut]:
    """Recorded calls, newest first."""
    return [RecordingOut.of(r) for r in await services.recordings.list(number or None)]


@router.get("/{recording_id}", response_model=RecordingOut)
async def get_recording(recording_id: str, services: Services) -> RecordingOut:
    """One recorded call."""
    return RecordingOut.of(await services.recordings.get(item_id(recording_id, "recording")))


@router.get("/{recording_id}/audio", response_class=Response, responses=WAV_RESPONSE)
async def recording_audio(recording_id: str, services: Services) -> Response:
    """A recorded call's audio (WAV, 8 kHz mono, both parties mixed)."""
    wav = await services.recordings.audio(item_id(recording_id, "recording"))
    return audio_response(wav, f"recording-{recording_id}.wav")


@router.delete("/{recording_id}", status_code=204, response_class=Response)
async def delete_recording(recording_id: str, actor: CurrentActor, services: Services) -> Response:
    """Delete a recorded call and its audio."""
    await services.recordings.delete(actor, item_id(recording_id, "recording"))
    return Response(status_code=204)
