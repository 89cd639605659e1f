"""Voicemail messages and call recordings on SQLite and PostgreSQL; the file archive."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest

from centralino.domain.errors import NotFound
from centralino.domain.ports import AudioKind
from centralino.domain.recordings import CallRecording
from centralino.domain.voicemail import MessageFolder, VoicemailMessage
from centralino.storage import FileAudioArchive, SqlUnitOfWorkFactory

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def message(number: int, mailbox: str = "101", minutes: int = 0) -> VoicemailMessage:
    return VoicemailMessage(
        id=f"m{number}",
        mailbox=mailbox,
        caller="0612345678",
        caller_name="Zoë Ünal" if number % 2 else None,
        received_at=T0 + dt.timedelta(minutes=minutes),
        duration=12.5,
    )


def recording(number: int, caller: str, callee: str, minutes: int) -> CallRecording:
    return CallRecording(
        id=f"r{number}",
        call_id=f"call{number}",
        caller=caller,
        callee=callee,
        started_at=T0 + dt.timedelta(minutes=minutes),
        duration=61.25,
    )


async def test_messages_round_trip_newest_first(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.voicemail.add(message(1, minutes=0))
        await uow.voicemail.add(message(2, minutes=10))
        await uow.voicemail.add(message(3, mailbox="102", minutes=5))
        await uow.commit()
    async with unit_of_work() as uow:
        listed = await uow.voicemail.list("101")
        assert [m.id for m in listed] == ["m2", "m1"]
        assert listed[1] == message(1)
        assert listed[1].received_at.tzinfo is not None
        assert await uow.voicemail.get("101", "m3") is None
        assert await uow.voicemail.get("102", "m3") == message(3, mailbox="102", minutes=5)


async def test_folders_counts_and_deletes(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        for number in range(3):
            await uow.voicemail.add(message(number, minutes=number))
        await uow.voicemail.add(message(9, mailbox="102"))
        await uow.voicemail.set_folder("101", "m0", MessageFolder.SAVED)
        await uow.commit()
    async with unit_of_work() as uow:
        counts = await uow.voicemail.counts("101")
        assert (counts.new, counts.saved) == (2, 1)
        assert await uow.voicemail.get("101", "m0") == replace(
            message(0), folder=MessageFolder.SAVED
        )
        await uow.voicemail.delete("101", "m1")
        with pytest.raises(NotFound):
            await uow.voicemail.delete("101", "m1")
        with pytest.raises(NotFound):
            await uow.voicemail.set_folder("101", "m9", MessageFolder.SAVED)
        await uow.commit()
    async with unit_of_work() as uow:
        assert [m.id for m in await uow.voicemail.list("101")] == ["m2", "m0"]
        await uow.voicemail.delete_mailbox("101")
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.voicemail.list("101") == []
        assert (await uow.voicemail.counts("101")).waiting is False
        assert [m.id for m in await uow.voicemail.list("102")] == ["m9"]


async def test_uncommitted_messages_are_rolled_back(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.voicemail.add(message(1))
    async with unit_of_work() as uow:
        assert await uow.voicemail.list("101") == []


async def test_recordings_round_trip(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.recordings.add(recording(1, "101", "102", 0))
        await uow.recordings.add(recording(2, "103", "101", 30))
        await uow.recordings.add(recording(3, "104", "105", 60))
        await uow.commit()
    async with unit_of_work() as uow:
        assert [r.id for r in await uow.recordings.list()] == ["r3", "r2", "r1"]
        assert [r.id for r in await uow.recordings.list("101")] == ["r2", "r1"]
        assert await uow.recordings.get("r1") == recording(1, "101", "102", 0)
        assert await uow.recordings.get("nope") is None
        await uow.recordings.delete("r1")
        with pytest.raises(NotFound):
            await uow.recordings.delete("r1")
        await uow.commit()
    async with unit_of_work() as uow:
        assert [r.id for r in await uow.recordings.list("102")] == []


async def test_file_archive_writes_reads_and_deletes(tmp_path: Path) -> None:
    archive = FileAudioArchive(tmp_path / "audio")
    assert await archive.read(AudioKind.GREETING, "101", "g1") is None
    await archive.write(AudioKind.GREETING, "101", "g1", b"RIFF one")
    await archive.write(AudioKind.GREETING, "101", "g1", b"RIFF two")
    assert await archive.read(AudioKind.GREETING, "101", "g1") == b"RIFF two"
    path = tmp_path / "audio" / "greeting" / "101" / "g1.wav"
    assert path.read_bytes() == b"RIFF two"
    assert [p.name for p in path.parent.iterdir()] == ["g1.wav"]  # no temporary left
    assert await archive.read(AudioKind.MESSAGE, "101", "g1") is None
    await archive.delete(AudioKind.GREETING, "101", "g1")
    await archive.delete(AudioKind.GREETING, "101", "g1")
    assert not path.exists()


@pytest.mark.parametrize(
    ("owner", "item"),
    [("..", "x"), ("101", "../../etc/passwd"), ("a/b", "x"), ("101", ""), ("101", "x\x00")],
)
async def test_file_archive_refuses_path_traversal(tmp_path: Path, owner: str, item: str) -> None:
    archive = FileAudioArchive(tmp_path)
    with pytest.raises(ValueError, match="unsafe audio"):
        await archive.write(AudioKind.MESSAGE, owner, item, b"x")
    with pytest.raises(ValueError, match="unsafe audio"):
        await archive.read(AudioKind.MESSAGE, owner, item)
    assert os.listdir(tmp_path) == []
