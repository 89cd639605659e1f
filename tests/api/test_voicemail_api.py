"""Voicemail messages and greetings over the REST API (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

import httpx
import pytest

from centralino.admin.context import SYSTEM_ACTOR
from centralino.admin.services import ManagementServices
from centralino.admin.voicemail import MAX_GREETING_BYTES
from centralino.storage import Database, FileAudioArchive, SqlUnitOfWorkFactory
from tests.api.conftest import PASSWORD, SECRET
from tests.fakes import FakeClock

BASE = "/api/v1/extensions/101/voicemail"


def build(database: Database, clock: FakeClock, audio: Path) -> ManagementServices:
    units = SqlUnitOfWorkFactory(database)
    return ManagementServices.build(units, clock, secret=SECRET, audio=FileAudioArchive(audio))


@pytest.fixture
async def services(database: Database, clock: FakeClock, tmp_path: Path) -> ManagementServices:
    built = build(database, clock, tmp_path / "audio")
    await built.accounts.ensure_owner(PASSWORD)
    await built.extensions.create(SYSTEM_ACTOR, {"number": "101"})
    return built


def sine(seconds: float, rate: int) -> list[float]:
    """A 440 Hz tone between -1 and 1."""
    return [math.sin(2 * math.pi * 440 * i / rate) * 0.5 for i in range(int(seconds * rate))]


def pcm_wav(seconds: float, *, rate: int = 8000, width: int = 2, channels: int = 1) -> bytes:
    """A PCM WAV written by the standard ``wave`` module."""
    full = 2 ** (8 * width - 1) - 1
    frames = bytearray()
    for value in sine(seconds, rate):
        sample = int(value * full)
        encoded = (
            bytes([sample // 256 + 128])
            if width == 1
            else sample.to_bytes(width, "little", signed=True)
        )
        frames += encoded * channels
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(bytes(frames))
    return buffer.getvalue()


def g711_wav(seconds: float, tag: int) -> bytes:
    """An A-law (6) or mu-law (7) WAV of a constant byte pattern (a quiet buzz)."""
    data = bytes([0xD5, 0x55, 0x54, 0xD4] if tag == 6 else [0xFF, 0x7F, 0xFE, 0x7E]) * int(
        seconds * 2000
    )
    fmt = struct.pack("<HHIIHHH", tag, 1, 8000, 8000, 1, 8, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"fact" + struct.pack("<II", 4, len(data)) + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def assert_internal_format(wav: bytes, seconds: float) -> None:
    with wave.open(io.BytesIO(wav), "rb") as reader:
        assert reader.getnchannels() == 1
        assert reader.getframerate() == 8000
        assert reader.getsampwidth() == 2
        assert reader.getnframes() / 8000 == pytest.approx(seconds, abs=0.02)


async def upload(
    api: httpx.AsyncClient, data: bytes, name: str = "Greeting", filename: str = "g.wav"
) -> httpx.Response:
    files = {"file": (filename, data, "audio/wav")}
    return await api.post(f"{BASE}/greetings", files=files, data={"name": name})


@pytest.mark.parametrize(
    "data",
    [
        pcm_wav(1.0),
        pcm_wav(1.0, width=1),
        pcm_wav(1.0, width=3),
        pcm_wav(1.0, width=4, rate=16000),
        pcm_wav(1.0, channels=2),
        pcm_wav(1.0, rate=44100, channels=2),
        g711_wav(1.0, 6),
        g711_wav(1.0, 7),
    ],
    ids=["16bit", "8bit", "24bit", "32bit-16k", "stereo", "44k1-stereo", "alaw", "mulaw"],
)
async def test_any_common_wav_is_converted_to_8khz_mono(
    api: httpx.AsyncClient, data: bytes
) -> None:
    response = await upload(api, data, name="Welcome")
    assert response.status_code == 201, response.text
    greeting = response.json()
    assert greeting["name"] == "Welcome"
    assert greeting["active"] is False
    assert greeting["duration"] == pytest.approx(1.0, abs=0.02)
    audio = await api.get(f"{BASE}/greetings/{greeting['id']}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert_internal_format(audio.content, 1.0)


async def test_a_raw_wav_body_with_a_name_in_the_query(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{BASE}/greetings",
        params={"name": "Raw"},
        content=pcm_wav(0.5, rate=22050),
        headers={"Content-Type": "audio/wav"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Raw"
    listed = (await api.get(f"{BASE}/greetings")).json()
    assert [g["name"] for g in listed] == ["Raw"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"Dear caller,\nplease leave a message.\n", "not_wav"),
        (pcm_wav(1.0)[:3000], "truncated"),
        (b"RIFF" + bytes(MAX_GREETING_BYTES + 10), "bytes, more than"),
        (pcm_wav(301.0, width=1), "too_long"),
        (b"", "empty"),
    ],
    ids=["text", "truncated", "oversized", "too-long", "empty"],
)
async def test_bad_files_are_refused_naming_the_problem(
    api: httpx.AsyncClient, data: bytes, problem: str, tmp_path: Path
) -> None:
    response = await upload(api, data, filename="greeting.wav")
    assert response.status_code == 422, response.text
    (item,) = response.json()["detail"]
    assert item["path"] == "file"
    assert problem in item["reason"]
    assert (await api.get(f"{BASE}/greetings")).json() == []
    assert not (tmp_path / "audio" / "greeting").exists()


async def test_upload_errors(api: httpx.AsyncClient) -> None:
    response = await api.post(f"{BASE}/greetings", files={"other": ("x", b"x")})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "file"
    response = await upload(api, pcm_wav(0.2), name="bad\x01name")
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "name"
    response = await api.post(
        "/api/v1/extensions/999/voicemail/greetings", files={"file": ("g.wav", pcm_wav(0.2))}
    )
    assert response.status_code == 404


async def test_rename_choose_and_delete(api: httpx.AsyncClient) -> None:
    one = (await upload(api, pcm_wav(0.5), name="One")).json()
    two = (await upload(api, pcm_wav(0.5), name="Two")).json()

    response = await api.patch(f"{BASE}/greetings/{one['id']}", json={"name": "Morning"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Morning"
    response = await api.patch(f"{BASE}/greetings/{two['id']}", json={"active": True})
    assert response.json()["active"] is True
    extension = (await api.get("/api/v1/extensions/101")).json()
    assert extension["voicemail"]["active_greeting"] == two["id"]
    listed = (await api.get(f"{BASE}/greetings")).json()
    assert [(g["name"], g["active"]) for g in listed] == [("Morning", False), ("Two", True)]

    response = await api.patch(f"{BASE}/greetings/{two['id']}", json={"active": "yes"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "active"
    response = await api.patch(f"{BASE}/greetings/nope", json={"active": True})
    assert response.status_code == 404

    response = await api.delete(f"{BASE}/greetings/{two['id']}")
    assert response.status_code == 204
    extension = (await api.get("/api/v1/extensions/101")).json()
    assert extension["voicemail"]["active_greeting"] is None
    assert [g["id"] for g in (await api.get(f"{BASE}/greetings")).json()] == [one["id"]]
    assert (await api.get(f"{BASE}/greetings/{two['id']}/audio")).status_code == 404
    assert (await api.delete(f"{BASE}/greetings/{two['id']}")).status_code == 404


async def test_messages_list_download_move_delete(
    api: httpx.AsyncClient, services: ManagementServices, clock: FakeClock
) -> None:
    tone = struct.pack("<8000h", *(int(v * 30000) for v in sine(1.0, 8000)))
    old = await services.voicemail.leave_message("101", caller="102", caller_name="Bob", pcm=tone)
    clock.advance(minutes=3)
    new = await services.voicemail.leave_message(
        "101", caller="0612345678", caller_name=None, pcm=tone[:8000]
    )

    listed = (await api.get(f"{BASE}/messages")).json()
    assert [m["id"] for m in listed] == [new.id, old.id]
    assert listed[1] == {
        "id": old.id,
        "caller": "102",
        "caller_name": "Bob",
        "received_at": "2024-03-04T10:00:00Z",
        "duration": 1.0,
        "folder": "new",
    }

    audio = await api.get(f"{BASE}/messages/{old.id}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"] == "audio/wav"
    assert_internal_format(audio.content, 1.0)

    response = await api.patch(f"{BASE}/messages/{old.id}", json={"folder": "saved"})
    assert response.status_code == 200
    assert response.json()["folder"] == "saved"
    response = await api.patch(f"{BASE}/messages/{old.id}", json={"folder": "trash"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "folder"
    counts = await services.voicemail.counts("101")
    assert (counts.new, counts.saved) == (1, 1)

    assert (await api.delete(f"{BASE}/messages/{new.id}")).status_code == 204
    assert [m["id"] for m in (await api.get(f"{BASE}/messages")).json()] == [old.id]
    assert (await api.get(f"{BASE}/messages/{new.id}/audio")).status_code == 404
    assert (await api.delete(f"{BASE}/messages/{new.id}")).status_code == 404
    assert (await api.get("/api/v1/extensions/999/voicemail/messages")).status_code == 404
    assert (await api.get(f"{BASE}/messages/..%2F..%2Fx/audio")).status_code == 404


async def test_greetings_and_messages_persist(
    api: httpx.AsyncClient,
    services: ManagementServices,
    database: Database,
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    greeting = (await upload(api, pcm_wav(0.5), name="Kept")).json()
    message = await services.voicemail.leave_message(
        "101", caller="102", caller_name=None, pcm=bytes(1600)
    )
    reopened = build(database, clock, tmp_path / "audio").voicemail
    assert [g.name for g in await reopened.greetings("101")] == ["Kept"]
    assert [m.id for m in await reopened.list_messages("101")] == [message.id]
    assert (await reopened.greeting_wav("101", greeting["id"]))[:4] == b"RIFF"


async def test_requires_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{BASE}/messages")).status_code == 401
    assert (await client.get(f"{BASE}/greetings")).status_code == 401
