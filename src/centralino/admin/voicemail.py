"""Voicemail use-cases: messages and greetings (SPEC section 2.2).

:class:`VoicemailService` is both the call engine's ``Mailboxes`` port (PCM in
and out, 16-bit mono at 8 kHz) and the management side of mailboxes for the
REST API (WAV files in and out). Audio lives in the ``AudioArchive``; records
live in the unit of work (messages) or in the extension's voicemail tab
(greetings). Greeting changes are extension changes: they go through
``ExtensionService.patch_tab``, so they are validated, audited and published
(``ExtensionChanged``) like any other edit of the voicemail tab.

Order of writes: a new file is written before its record is committed (and
removed again if the commit fails); a deleted record is committed before its
file is removed. A crash can leave an orphan file, never a record without audio.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from centralino.admin.audit import record
from centralino.admin.context import SYSTEM_ACTOR, Actor
from centralino.admin.extensions import ExtensionService
from centralino.admin.validation import parse_model
from centralino.domain.account import AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.errors import FieldError, InvalidInput, NotFound
from centralino.domain.events import MailboxChanged, VoicemailLeft
from centralino.domain.extension import Extension
from centralino.domain.ports import (
    AudioArchive,
    AudioKind,
    Clock,
    UnitOfWork,
    UnitOfWorkFactory,
)
from centralino.domain.voicemail import (
    Greeting,
    MailboxCounts,
    MessageFolder,
    VoicemailMessage,
    VoicemailSettings,
)
from centralino.media.errors import AudioFormatError
from centralino.media.pcm import duration_of
from centralino.media.wav import encode_wav, read_wav

__all__ = [
    "MAX_GREETING_BYTES",
    "MAX_GREETING_SECONDS",
    "MESSAGE_RESOURCE",
    "GreetingInfo",
    "TransientAudioArchive",
    "VoicemailService",
    "message_document",
]

MAX_GREETING_BYTES = 10_000_000
"""The largest greeting file accepted (10 MB)."""
MAX_GREETING_SECONDS = 300.0
"""The longest greeting accepted (5 minutes)."""
MESSAGE_RESOURCE = "voicemail_message"
"""The audit trail's resource name for voicemail messages (id: ``<mailbox>/<id>``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GreetingInfo:
    """A greeting as the API lists it; ``duration`` in seconds (0 when its file is missing)."""

    id: str
    name: str
    duration: float
    active: bool


class TransientAudioArchive:
    """``AudioArchive`` in memory: the default when no archive is configured.

    Files are lost when the process ends; tools and tests that never keep
    audio use it. The composition root passes a ``FileAudioArchive``.
    """

    def __init__(self) -> None:
        self._files: dict[tuple[str, str, str], bytes] = {}

    async def write(self, kind: AudioKind, owner: str, item: str, wav: bytes) -> None:
        """Store a file."""
        self._files[(AudioKind(kind).value, owner, item)] = wav

    async def read(self, kind: AudioKind, owner: str, item: str) -> bytes | None:
        """A stored file, or None."""
        return self._files.get((AudioKind(kind).value, owner, item))

    async def delete(self, kind: AudioKind, owner: str, item: str) -> None:
        """Forget a file."""
        self._files.pop((AudioKind(kind).value, owner, item), None)


def _phone(mailbox: str) -> Actor:
    """Who changes a mailbox from the phone (for the audit trail)."""
    return Actor(username=f"phone {mailbox}", role=AccountRole.OWNER)


def _new_greeting_id() -> str:
    return f"g{secrets.token_hex(6)}"


def _wav_duration(wav: bytes | None) -> float:
    """The length of one of our own 8 kHz 16-bit mono WAV files (44-byte header)."""
    return 0.0 if wav is None else duration_of(wav[44:])


class VoicemailService:
    """Mailboxes: messages and greetings, for the call engine and the API.

    Args:
        units: the unit-of-work factory.
        node: this node's name (its notifier alone emails the messages left here).
        clock: the time a message is received, a greeting recorded.
        audio: where the WAV files live.
        extensions: the extension use-cases (greetings are part of the voicemail tab).
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        audio: AudioArchive,
        extensions: ExtensionService,
        *,
        node: str = "",
    ) -> None:
        self._units = units
        self._node = node
        self._clock = clock
        self._audio = audio
        self._extensions = extensions

    # -- the Mailboxes port (the call engine) ---------------------------------

    async def leave_message(
        self, mailbox: str, *, caller: str, caller_name: str | None, pcm: bytes
    ) -> VoicemailMessage:
        """Store a new message; publishes VoicemailLeft and MailboxChanged.

        Raises:
            NotFound: no extension has that number.
        """
        message = VoicemailMessage(
            id=uuid.uuid4().hex,
            mailbox=mailbox,
            caller=caller[:64],
            caller_name=caller_name[:128] if caller_name else None,
            received_at=self._clock.now(),
            duration=duration_of(pcm),
            folder=MessageFolder.NEW,
        )
        async with self._units() as uow:
            await _extension(uow, mailbox)
            await self._audio.write(AudioKind.MESSAGE, mailbox, message.id, encode_wav(pcm))
            try:
                await uow.voicemail.add(message)
                counts = await uow.voicemail.counts(mailbox)
                left = VoicemailLeft(mailbox=mailbox, message_id=message.id, node=self._node)
                await uow.changes.append(
                    [left, _counts(mailbox, counts)], actor=SYSTEM_ACTOR.username
                )
                await uow.commit()
            except BaseException:
                await self._audio.delete(AudioKind.MESSAGE, mailbox, message.id)
                raise
        return message

    async def messages(self, mailbox: str) -> Sequence[VoicemailMessage]:
        """The mailbox's messages, newest first."""
        async with self._units() as uow:
            return await uow.voicemail.list(mailbox)

    async def message_audio(self, mailbox: str, message_id: str) -> bytes:
        """A message's audio as 8 kHz 16-bit mono PCM.

        Raises:
            NotFound: no such message (or its audio is gone).
        """
        wav = await self.message_wav(mailbox, message_id)
        return (await asyncio.to_thread(read_wav, wav, max_duration=float("inf"))).pcm

    async def save_message(self, mailbox: str, message_id: str) -> None:
        """Move a message to the saved folder (publishes MailboxChanged)."""
        await self._move(_phone(mailbox), mailbox, message_id, MessageFolder.SAVED)

    async def delete_message(self, mailbox: str, message_id: str) -> None:
        """Delete a message and its audio (publishes MailboxChanged)."""
        await self.remove_message(_phone(mailbox), mailbox, message_id)

    async def counts(self, mailbox: str) -> MailboxCounts:
        """How many new and saved messages the mailbox holds."""
        async with self._units() as uow:
            return await uow.voicemail.counts(mailbox)

    async def active_greeting(self, mailbox: str) -> bytes | None:
        """The active greeting's PCM, or None (no extension, none active, or no file)."""
        async with self._units() as uow:
            extension = await uow.extensions.get(mailbox)
        if extension is None or extension.voicemail.active_greeting is None:
            return None
        wav = await self._audio.read(
            AudioKind.GREETING, mailbox, extension.voicemail.active_greeting
        )
        if wav is None:
            return None
        try:
            return (await asyncio.to_thread(read_wav, wav, max_duration=float("inf"))).pcm
        except AudioFormatError:
            return None

    async def record_greeting(self, mailbox: str, pcm: bytes) -> Greeting:
        """Add a greeting recorded on the phone and make it the active one.

        Raises:
            NotFound: no extension has that number.
            InvalidInput: no audio, or the mailbox already has its 20 greetings.
        """
        if not pcm:
            raise InvalidInput.single("pcm", "the recording holds no audio")
        name = f"Recorded {self._clock.now():%Y-%m-%d %H:%M}"
        return await self._add_greeting(_phone(mailbox), mailbox, name, pcm, activate=True)

    # -- messages, for the API ------------------------------------------------

    async def list_messages(self, number: str) -> Sequence[VoicemailMessage]:
        """The extension's messages, newest first.

        Raises:
            NotFound: no extension has that number.
        """
        async with self._units() as uow:
            await _extension(uow, number)
            return await uow.voicemail.list(number)

    async def message_wav(self, number: str, message_id: str) -> bytes:
        """A message's WAV file (8 kHz 16-bit mono).

        Raises:
            NotFound: no such extension or message, or its audio is gone.
        """
        async with self._units() as uow:
            await _message(uow, number, message_id)
        wav = await self._audio.read(AudioKind.MESSAGE, number, message_id)
        if wav is None:
            raise NotFound("message audio", message_id)
        return wav

    async def move_message(
        self, actor: Actor, number: str, message_id: str, folder: MessageFolder
    ) -> VoicemailMessage:
        """Move a message to ``folder`` (publishes MailboxChanged).

        Raises:
            NotFound: no such extension or message.
        """
        return await self._move(actor, number, message_id, folder)

    async def remove_message(self, actor: Actor, number: str, message_id: str) -> None:
        """Delete a message and its audio (publishes MailboxChanged).

        Raises:
            NotFound: no such extension or message.
        """
        async with self._units() as uow:
            message = await _message(uow, number, message_id)
            await uow.voicemail.delete(number, message_id)
            counts = await uow.voicemail.counts(number)
            await self._audit(uow, actor, AuditAction.DELETE, message, None)
            await uow.changes.append([_counts(number, counts)], actor=actor.username)
            await uow.commit()
        await self._audio.delete(AudioKind.MESSAGE, number, message_id)

    # -- greetings, for the API -----------------------------------------------

    async def greetings(self, number: str) -> list[GreetingInfo]:
        """The extension's greetings, in their order, with durations.

        Raises:
            NotFound: no extension has that number.
        """
        voicemail = (await self._extensions.get(number)).voicemail
        return [await self._info(number, voicemail, greeting) for greeting in voicemail.greetings]

    async def upload_greeting(
        self, actor: Actor, number: str, name: str | None, data: bytes
    ) -> GreetingInfo:
        """Add a greeting from an uploaded WAV file (any common WAV is converted).

        Args:
            actor: who uploads.
            number: the extension.
            name: the greeting's name (a default naming the time when None).
            data: the whole file, as uploaded.

        Raises:
            NotFound: no extension has that number.
            InvalidInput: ``file`` is not a usable WAV, too large or too long;
                or ``name`` is bad. Nothing is stored then.
        """
        if name is None or not name.strip():
            name = f"Uploaded {self._clock.now():%Y-%m-%d %H:%M}"
        _check_name(name)
        await self._extensions.get(number)  # 404 before decoding a large file
        if len(data) > MAX_GREETING_BYTES:
            reason = f"the file has {len(data)} bytes, more than the {MAX_GREETING_BYTES} allowed"
            raise InvalidInput.single("file", reason)
        try:
            converted = await asyncio.to_thread(read_wav, data, max_duration=MAX_GREETING_SECONDS)
        except AudioFormatError as exc:
            raise InvalidInput.single("file", f"{exc.problem.value}: {exc.reason}") from exc
        greeting = await self._add_greeting(actor, number, name, converted.pcm, activate=False)
        voicemail = (await self._extensions.get(number)).voicemail
        return GreetingInfo(
            id=greeting.id,
            name=greeting.name,
            duration=converted.duration,
            active=voicemail.active_greeting == greeting.id,
        )

    async def greeting_wav(self, number: str, greeting_id: str) -> bytes:
        """A greeting's WAV file (8 kHz 16-bit mono).

        Raises:
            NotFound: no such extension or greeting, or its audio is gone.
        """
        _greeting(await self._extensions.get(number), greeting_id)
        wav = await self._audio.read(AudioKind.GREETING, number, greeting_id)
        if wav is None:
            raise NotFound("greeting audio", greeting_id)
        return wav

    async def update_greeting(
        self, actor: Actor, number: str, greeting_id: str, changes: Mapping[str, Any]
    ) -> GreetingInfo:
        """Rename a greeting and/or choose it (``{"name": ..., "active": true}``).

        ``"active": false`` on the active greeting leaves none active.

        Raises:
            NotFound: no such extension or greeting.
            InvalidInput: an unknown field, or a bad name or flag.
        """
        name, active = _greeting_changes(changes)
        extension = await self._extensions.get(number)
        _greeting(extension, greeting_id)
        voicemail = extension.voicemail
        greetings = [
            g.model_copy(update={"name": name}) if name is not None and g.id == greeting_id else g
            for g in voicemail.greetings
        ]
        chosen = voicemail.active_greeting
        if active is True:
            chosen = greeting_id
        elif active is False and chosen == greeting_id:
            chosen = None
        updated = await self._put_greetings(actor, number, greetings, chosen)
        return await self._info(number, updated.voicemail, _greeting(updated, greeting_id))

    async def delete_greeting(self, actor: Actor, number: str, greeting_id: str) -> None:
        """Delete a greeting and its audio; deleting the active one leaves none active.

        Raises:
            NotFound: no such extension or greeting.
        """
        extension = await self._extensions.get(number)
        _greeting(extension, greeting_id)
        voicemail = extension.voicemail
        greetings = [g for g in voicemail.greetings if g.id != greeting_id]
        chosen = None if voicemail.active_greeting == greeting_id else voicemail.active_greeting
        await self._put_greetings(actor, number, greetings, chosen)
        await self._audio.delete(AudioKind.GREETING, number, greeting_id)

    # -- helpers ------------------------------------------------------------

    async def _add_greeting(
        self, actor: Actor, number: str, name: str, pcm: bytes, *, activate: bool
    ) -> Greeting:
        extension = await self._extensions.get(number)
        greeting = Greeting(id=_new_greeting_id(), name=name)
        voicemail = extension.voicemail
        chosen = greeting.id if activate else voicemail.active_greeting
        await self._audio.write(AudioKind.GREETING, number, greeting.id, encode_wav(pcm))
        try:
            await self._put_greetings(actor, number, [*voicemail.greetings, greeting], chosen)
        except BaseException:
            await self._audio.delete(AudioKind.GREETING, number, greeting.id)
            raise
        return greeting

    async def _put_greetings(
        self, actor: Actor, number: str, greetings: list[Greeting], active: str | None
    ) -> Extension:
        tab = {
            "greetings": [greeting.model_dump(mode="json") for greeting in greetings],
            "active_greeting": active,
        }
        return await self._extensions.patch_tab(actor, number, "voicemail", tab)

    async def _info(
        self, number: str, voicemail: VoicemailSettings, greeting: Greeting
    ) -> GreetingInfo:
        wav = await self._audio.read(AudioKind.GREETING, number, greeting.id)
        return GreetingInfo(
            id=greeting.id,
            name=greeting.name,
            duration=_wav_duration(wav),
            active=voicemail.active_greeting == greeting.id,
        )

    async def _move(
        self, actor: Actor, mailbox: str, message_id: str, folder: MessageFolder
    ) -> VoicemailMessage:
        async with self._units() as uow:
            message = await _message(uow, mailbox, message_id)
            await uow.voicemail.set_folder(mailbox, message_id, folder)
            moved = await _message(uow, mailbox, message_id)
            counts = await uow.voicemail.counts(mailbox)
            if moved != message:
                await self._audit(uow, actor, AuditAction.UPDATE, message, moved)
                await uow.changes.append([_counts(mailbox, counts)], actor=actor.username)
            await uow.commit()
        return moved

    async def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor,
        action: AuditAction,
        before: VoicemailMessage | None,
        after: VoicemailMessage | None,
    ) -> None:
        message = before or after
        assert message is not None
        await record(
            uow.audit,
            self._clock,
            actor,
            action,
            MESSAGE_RESOURCE,
            f"{message.mailbox}/{message.id}",
            _message_document(before),
            _message_document(after),
        )


def _counts(mailbox: str, counts: MailboxCounts) -> MailboxChanged:
    return MailboxChanged(mailbox=mailbox, new=counts.new, saved=counts.saved)


def _message_document(message: VoicemailMessage | None) -> dict[str, Any] | None:
    return None if message is None else message_document(message)


def message_document(message: VoicemailMessage) -> dict[str, Any]:
    """A message as plain JSON values (audit trail, CLI output)."""
    return {
        "id": message.id,
        "mailbox": message.mailbox,
        "caller": message.caller,
        "caller_name": message.caller_name,
        "received_at": message.received_at.isoformat(),
        "duration": message.duration,
        "folder": message.folder.value,
    }


async def _extension(uow: UnitOfWork, number: str) -> Extension:
    extension = await uow.extensions.get(number)
    if extension is None:
        raise NotFound("extension", number)
    return extension


async def _message(uow: UnitOfWork, number: str, message_id: str) -> VoicemailMessage:
    await _extension(uow, number)
    message = await uow.voicemail.get(number, message_id)
    if message is None:
        raise NotFound("message", message_id)
    return message


def _greeting(extension: Extension, greeting_id: str) -> Greeting:
    for greeting in extension.voicemail.greetings:
        if greeting.id == greeting_id:
            return greeting
    raise NotFound("greeting", greeting_id)


def _check_name(name: str) -> str:
    greeting = parse_model(Greeting, {"id": "g", "name": name})
    if not greeting.name:
        raise InvalidInput.single("name", "must not be empty")
    return greeting.name


def _greeting_changes(changes: Mapping[str, Any]) -> tuple[str | None, bool | None]:
    errors = [
        FieldError(path=key, reason="unknown field; use 'name' or 'active'")
        for key in changes
        if key not in ("name", "active")
    ]
    name, active = changes.get("name"), changes.get("active")
    if name is not None and not isinstance(name, str):
        errors.append(FieldError(path="name", reason="must be a string"))
    if active is not None and not isinstance(active, bool):
        errors.append(FieldError(path="active", reason="must be true or false"))
    if errors:
        raise InvalidInput(errors)
    return (_check_name(name) if name is not None else None), active
