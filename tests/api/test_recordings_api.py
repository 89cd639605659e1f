"""Recorded calls over the REST API (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import io
import wave
from pathlib import Path

import httpx
import pytest

from centralino.admin.services import ManagementServices
from centralino.storage import Database, FileAudioArchive, SqlUnitOfWorkFactory
from tests.api.conftest import PASSWORD, SECRET
from tests.fakes import FakeClock

START = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def services(database: Database, clock: FakeClock, tmp_path: Path) -> ManagementServices:
    units = SqlUnitOfWorkFactory(database)
    audio = FileAudioArchive(tmp_path / "audio")
    built = ManagementServices.build(units, clock, secret=SECRET, audio=audio)
    await built.accounts.ensure_owner(PASSWORD)
    return built


async def test_list_read_download_delete(
    api: httpx.AsyncClient, services: ManagementServices, tmp_path: Path
) -> None:
    first = await services.recordings.store_recording(
        call_id="c0ffee01", caller="101", callee="102", started_at=START, pcm=bytes(16000)
    )
    second = await services.recordings.store_recording(
        call_id="c0ffee02",
        caller="0612345678",
        callee="101",
        started_at=START + dt.timedelta(minutes=10),
        pcm=bytes(8000),
    )

    listed = (await api.get("/api/v1/recordings")).json()
    assert [r["id"] for r in listed] == [second.id, first.id]
    assert listed[1] == {
        "id": first.id,
        "call_id": "c0ffee01",
        "caller": "101",
        "callee": "102",
        "started_at": "2026-11-28T09:00:00Z",
        "duration": 1.0,
    }
    by_number = (await api.get("/api/v1/recordings", params={"number": "102"})).json()
    assert [r["id"] for r in by_number] == [first.id]
    assert (await api.get("/api/v1/recordings", params={"number": "555"})).json() == []

    one = await api.get(f"/api/v1/recordings/{second.id}")
    assert one.status_code == 200
    assert one.json()["callee"] == "101"

    audio = await api.get(f"/api/v1/recordings/{first.id}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content), "rb") as reader:
        assert (reader.getnchannels(), reader.getframerate(), reader.getnframes()) == (
            1,
            8000,
            8000,
        )

    assert (await api.delete(f"/api/v1/recordings/{first.id}")).status_code == 204
    assert not (tmp_path / "audio" / "recording" / "c0ffee01").exists()
    for path in (f"/api/v1/recordings/{first.id}", f"/api/v1/recordings/{first.id}/audio"):
        response = await api.get(path)
        assert response.status_code == 404
        assert response.json()["detail"][0]["path"] == "recording"
    assert (await api.delete(f"/api/v1/recordings/{first.id}")).status_code == 404
    assert (await api.get("/api/v1/recordings/bad%00id")).status_code == 404
    assert [r["id"] for r in (await api.get("/api/v1/recordings")).json()] == [second.id]

    audit = (await api.get("/api/v1/audit", params={"resource": "recording"})).json()
    assert [e["action"] for e in audit["items"]] == ["delete"]


async def test_requires_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/recordings")).status_code == 401
