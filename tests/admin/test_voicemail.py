"""VoicemailService on the in-memory fakes: messages, greetings, events, audit."""

from __future__ import annotations

import datetime as dt
import io
import struct
import wave

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.admin.voicemail import MAX_GREETING_BYTES, VoicemailService
from centralino.domain.audit import AuditAction
from centralino.domain.errors import InvalidInput, NotFound
from centralino.domain.events import (
    ExtensionChanged,
    ExtensionDeleted,
    MailboxChanged,
    VoicemailLeft,
)
from centralino.domain.ports import AudioKind, AuditQuery, Mailboxes
from centralino.domain.voicemail import MessageFolder
from centralino.media.wav import read_wav
from tests.fakes import FakeClock, InMemoryAudioArchive, InMemoryStore, RecordingEventBus


def tone(seconds: float, rate: int = 8000) -> bytes:
    """A 16-bit mono ramp of ``seconds`` (not silence, so conversions show)."""
    count = int(seconds * rate)
    return struct.pack(f"<{count}h", *((i * 37) % 20000 - 10000 for i in range(count)))


def wav_file(pcm: bytes, *, rate: int = 8000, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


@pytest.fixture
async def voicemail(services: ManagementServices, actor: Actor) -> VoicemailService:
    await services.extensions.create(actor, {"number": "101"})
    return services.voicemail


def test_the_service_is_the_mailboxes_port(voicemail: VoicemailService) -> None:
    port: Mailboxes = voicemail
    assert port is voicemail


async def test_leave_message_archives_the_audio_and_publishes(
    voicemail: VoicemailService, bus: RecordingEventBus, archive: InMemoryAudioArchive
) -> None:
    bus.clear()
    pcm = tone(1.5)
    message = await voicemail.leave_message("101", caller="102", caller_name="Bob", pcm=pcm)
    assert message.mailbox == "101"
    assert message.folder is MessageFolder.NEW
    assert message.duration == pytest.approx(1.5)
    stored = archive.files[(AudioKind.MESSAGE, "101", message.id)]
    assert read_wav(stored).pcm == pcm
    assert await voicemail.message_audio("101", message.id) == pcm
    assert bus.events == [
        VoicemailLeft(mailbox="101", message_id=message.id),
        MailboxChanged(mailbox="101", new=1, saved=0),
    ]


async def test_leave_message_for_an_unknown_mailbox_is_not_found(
    voicemail: VoicemailService, archive: InMemoryAudioArchive
) -> None:
    with pytest.raises(NotFound):
        await voicemail.leave_message("999", caller="102", caller_name=None, pcm=tone(0.1))
    assert archive.files == {}


async def test_messages_newest_first_save_and_delete(
    voicemail: VoicemailService,
    clock: FakeClock,
    bus: RecordingEventBus,
    archive: InMemoryAudioArchive,
) -> None:
    first = await voicemail.leave_message("101", caller="102", caller_name=None, pcm=tone(0.2))
    clock.advance(minutes=5)
    second = await voicemail.leave_message("101", caller="103", caller_name=None, pcm=tone(0.2))
    assert [m.id for m in await voicemail.messages("101")] == [second.id, first.id]

    bus.clear()
    await voicemail.save_message("101", first.id)
    assert bus.events == [MailboxChanged(mailbox="101", new=1, saved=1)]
    counts = await voicemail.counts("101")
    assert (counts.new, counts.saved, counts.waiting) == (1, 1, True)

    await voicemail.delete_message("101", second.id)
    assert bus.events[-1] == MailboxChanged(mailbox="101", new=0, saved=1)
    assert not (await voicemail.counts("101")).waiting
    assert (AudioKind.MESSAGE, "101", second.id) not in archive.files
    with pytest.raises(NotFound):
        await voicemail.message_audio("101", second.id)
    with pytest.raises(NotFound):
        await voicemail.delete_message("101", second.id)


async def test_api_message_use_cases_are_audited(
    services: ManagementServices, voicemail: VoicemailService, actor: Actor
) -> None:
    message = await voicemail.leave_message("101", caller="102", caller_name=None, pcm=tone(0.1))
    moved = await voicemail.move_message(actor, "101", message.id, MessageFolder.SAVED)
    assert moved.folder is MessageFolder.SAVED
    wav = await voicemail.message_wav("101", message.id)
    assert wav[:4] == b"RIFF"
    await voicemail.remove_message(actor, "101", message.id)
    page = await services.audit.search(AuditQuery(resource="voicemail_message"))
    assert [e.action for e in page.items] == [AuditAction.DELETE, AuditAction.UPDATE]
    assert {e.actor for e in page.items} == {"alice"}
    with pytest.raises(NotFound):
        await voicemail.list_messages("999")


async def test_record_greeting_adds_it_and_makes_it_active(
    services: ManagementServices,
    voicemail: VoicemailService,
    bus: RecordingEventBus,
    clock: FakeClock,
) -> None:
    clock.set(dt.datetime(2026, 11, 28, 14, 5, tzinfo=dt.UTC))
    assert await voicemail.active_greeting("101") is None
    bus.clear()
    pcm = tone(2.0)
    greeting = await voicemail.record_greeting("101", pcm)
    assert greeting.name == "Recorded 2026-11-28 14:05"
    extension = await services.extensions.get("101")
    assert extension.voicemail.active_greeting == greeting.id
    assert await voicemail.active_greeting("101") == pcm
    assert bus.of_type(ExtensionChanged) == [
        ExtensionChanged(number="101", tabs=("voicemail",), extension=extension)
    ]
    page = await services.audit.search(AuditQuery(resource="extension", resource_id="101"))
    assert page.items[0].actor == "phone 101"
    with pytest.raises(InvalidInput):
        await voicemail.record_greeting("101", b"")


async def test_upload_converts_and_lists_greetings(
    voicemail: VoicemailService, actor: Actor, archive: InMemoryAudioArchive
) -> None:
    stereo = tone(1.0, 16000)  # the same ramp on both channels
    frames = b"".join(stereo[i : i + 2] * 2 for i in range(0, len(stereo), 2))
    info = await voicemail.upload_greeting(
        actor, "101", "Holidays", wav_file(frames, rate=16000, channels=2)
    )
    assert (info.name, info.active) == ("Holidays", False)
    assert info.duration == pytest.approx(1.0, abs=0.01)
    wav = await voicemail.greeting_wav("101", info.id)
    converted = read_wav(wav)
    assert (converted.source.sample_rate, converted.source.channels) == (8000, 1)
    listed = await voicemail.greetings("101")
    assert [(g.id, g.name, g.active) for g in listed] == [(info.id, "Holidays", False)]
    assert listed[0].duration == pytest.approx(1.0, abs=0.01)
    assert len(archive.files) == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"hello, this is text\n", "not_wav"),
        (wav_file(tone(1.0))[:2000] + b"", None),
        (b"", "empty"),
    ],
)
async def test_bad_uploads_name_the_file_and_store_nothing(
    voicemail: VoicemailService,
    actor: Actor,
    archive: InMemoryAudioArchive,
    data: bytes,
    words: str | None,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await voicemail.upload_greeting(actor, "101", "Bad", data)
    (error,) = caught.value.errors
    assert error.path == "file"
    assert (words or "truncated") in error.reason
    assert archive.files == {}
    assert await voicemail.greetings("101") == []


async def test_too_large_and_too_long_uploads_are_refused(
    voicemail: VoicemailService, actor: Actor
) -> None:
    with pytest.raises(InvalidInput, match=r"file: the file has .* bytes"):
        await voicemail.upload_greeting(actor, "101", "Big", b"RIFF" + bytes(MAX_GREETING_BYTES))
    long = wav_file(bytes(2 * 8000 * 301))
    with pytest.raises(InvalidInput, match="file: too_long"):
        await voicemail.upload_greeting(actor, "101", "Long", long)


async def test_rename_choose_and_delete_greetings(
    services: ManagementServices,
    voicemail: VoicemailService,
    actor: Actor,
    archive: InMemoryAudioArchive,
) -> None:
    one = await voicemail.upload_greeting(actor, "101", "One", wav_file(tone(0.5)))
    two = await voicemail.upload_greeting(actor, "101", "Two", wav_file(tone(0.5)))
    renamed = await voicemail.update_greeting(actor, "101", one.id, {"name": "First"})
    assert (renamed.name, renamed.active) == ("First", False)
    chosen = await voicemail.update_greeting(actor, "101", two.id, {"active": True})
    assert chosen.active
    assert (await services.extensions.get("101")).voicemail.active_greeting == two.id
    with pytest.raises(InvalidInput) as caught:
        await voicemail.update_greeting(actor, "101", two.id, {"colour": "red", "active": 1})
    assert {e.path for e in caught.value.errors} == {"colour", "active"}
    with pytest.raises(InvalidInput) as caught:
        await voicemail.update_greeting(actor, "101", two.id, {"name": "x\x00y"})
    assert caught.value.errors[0].path == "name"
    with pytest.raises(NotFound):
        await voicemail.update_greeting(actor, "101", "nope", {"active": True})

    await voicemail.delete_greeting(actor, "101", two.id)
    voicemail_tab = (await services.extensions.get("101")).voicemail
    assert voicemail_tab.active_greeting is None
    assert [g.id for g in voicemail_tab.greetings] == [one.id]
    assert list(archive.files) == [(AudioKind.GREETING, "101", one.id)]
    with pytest.raises(NotFound):
        await voicemail.greeting_wav("101", two.id)


async def test_deleting_the_extension_deletes_its_messages_and_audio(
    services: ManagementServices,
    voicemail: VoicemailService,
    actor: Actor,
    bus: RecordingEventBus,
    archive: InMemoryAudioArchive,
    store: InMemoryStore,
) -> None:
    await voicemail.leave_message("101", caller="102", caller_name=None, pcm=tone(0.1))
    await voicemail.upload_greeting(actor, "101", "One", wav_file(tone(0.5)))
    await services.extensions.delete(actor, "101")
    assert store.state.messages == {}
    assert archive.files == {}
    assert bus.of_type(ExtensionDeleted) == [ExtensionDeleted(number="101")]
