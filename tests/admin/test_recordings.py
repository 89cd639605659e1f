"""RecordingService on the in-memory fakes: store, list, play, delete."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.admin.context import Actor
from centralino.admin.recordings import RecordingService
from centralino.admin.services import ManagementServices
from centralino.domain.audit import AuditAction
from centralino.domain.errors import NotFound
from centralino.domain.events import CallRecorded
from centralino.domain.ports import AudioKind, AuditQuery, CallRecordings
from centralino.media.wav import read_wav
from tests.fakes import InMemoryAudioArchive, RecordingEventBus

START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def recordings(services: ManagementServices) -> RecordingService:
    return services.recordings


def test_the_service_is_the_call_recordings_port(recordings: RecordingService) -> None:
    port: CallRecordings = recordings
    assert port is recordings


async def test_store_list_play_and_delete(
    services: ManagementServices,
    recordings: RecordingService,
    bus: RecordingEventBus,
    archive: InMemoryAudioArchive,
    actor: Actor,
) -> None:
    pcm = bytes(range(256)) * 125  # 2 s
    first = await recordings.store_recording(
        call_id="c1", caller="101", callee="102", started_at=START, pcm=pcm
    )
    second = await recordings.store_recording(
        call_id="c2",
        caller="103",
        callee="101",
        started_at=START + dt.timedelta(hours=1),
        pcm=pcm[:1600],
    )
    assert first.duration == pytest.approx(2.0)
    assert bus.of_type(CallRecorded) == [
        CallRecorded(recording_id=first.id, call_id="c1", caller="101", callee="102"),
        CallRecorded(recording_id=second.id, call_id="c2", caller="103", callee="101"),
    ]
    assert [r.id for r in await recordings.list()] == [second.id, first.id]
    assert [r.id for r in await recordings.list("102")] == [first.id]
    assert [r.id for r in await recordings.list("101")] == [second.id, first.id]
    assert await recordings.get(first.id) == first
    assert read_wav(await recordings.audio(first.id)).pcm == pcm

    await recordings.delete(actor, first.id)
    assert (AudioKind.RECORDING, "c1", first.id) not in archive.files
    for call in (recordings.get, recordings.audio):
        with pytest.raises(NotFound):
            await call(first.id)
    with pytest.raises(NotFound):
        await recordings.delete(actor, first.id)
    page = await services.audit.search(AuditQuery(resource="recording"))
    assert [(e.action, e.resource_id) for e in page.items] == [(AuditAction.DELETE, first.id)]
