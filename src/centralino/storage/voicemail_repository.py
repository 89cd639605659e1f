"""Voicemail messages and call recordings on SQL (their audio is in files).

Each repository works on the unit of work's connection and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import RowMapping, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.errors import NotFound
from centralino.domain.recordings import CallRecording
from centralino.domain.voicemail import MailboxCounts, MessageFolder, VoicemailMessage
from centralino.storage.tables import call_recordings, voicemail_messages

__all__ = ["SqlCallRecordingRepository", "SqlVoicemailRepository"]

_messages = voicemail_messages.c
_recordings = call_recordings.c


def _message(row: RowMapping) -> VoicemailMessage:
    return VoicemailMessage(
        id=row["id"],
        mailbox=row["mailbox"],
        caller=row["caller"],
        caller_name=row["caller_name"],
        received_at=row["received_at"],
        duration=row["duration"],
        folder=MessageFolder(row["folder"]),
    )


class SqlVoicemailRepository:
    """``VoicemailRepository``: messages by mailbox, newest first.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, message: VoicemailMessage) -> None:
        """Record a new message."""
        row = {
            "id": message.id,
            "mailbox": message.mailbox,
            "caller": message.caller,
            "caller_name": message.caller_name,
            "received_at": message.received_at,
            "duration": message.duration,
            "folder": message.folder.value,
        }
        await self._connection.execute(insert(voicemail_messages).values(row))

    async def list(self, mailbox: str) -> Sequence[VoicemailMessage]:
        """The mailbox's messages, newest first."""
        statement = (
            select(voicemail_messages)
            .where(_messages.mailbox == mailbox)
            .order_by(_messages.received_at.desc(), _messages.id.desc())
        )
        rows = (await self._connection.execute(statement)).mappings()
        return [_message(row) for row in rows]

    async def get(self, mailbox: str, message_id: str) -> VoicemailMessage | None:
        """One message of the mailbox, or None."""
        statement = select(voicemail_messages).where(
            _messages.mailbox == mailbox, _messages.id == message_id
        )
        row = (await self._connection.execute(statement)).mappings().one_or_none()
        return None if row is None else _message(row)

    async def set_folder(self, mailbox: str, message_id: str, folder: MessageFolder) -> None:
        """Move a message to ``folder``.

        Raises:
            NotFound: the mailbox has no such message.
        """
        statement = (
            update(voicemail_messages)
            .where(_messages.mailbox == mailbox, _messages.id == message_id)
            .values(folder=folder.value)
        )
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("message", message_id)

    async def delete(self, mailbox: str, message_id: str) -> None:
        """Forget a message.

        Raises:
            NotFound: the mailbox has no such message.
        """
        statement = delete(voicemail_messages).where(
            _messages.mailbox == mailbox, _messages.id == message_id
        )
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("message", message_id)

    async def counts(self, mailbox: str) -> MailboxCounts:
        """How many new and saved messages the mailbox holds."""
        statement = (
            select(_messages.folder, func.count())
            .where(_messages.mailbox == mailbox)
            .group_by(_messages.folder)
        )
        result = await self._connection.execute(statement)
        found: dict[str, int] = dict(result.all())
        return MailboxCounts(
            new=found.get(MessageFolder.NEW.value, 0),
            saved=found.get(MessageFolder.SAVED.value, 0),
        )

    async def delete_mailbox(self, mailbox: str) -> None:
        """Forget every message of ``mailbox``."""
        statement = delete(voicemail_messages).where(_messages.mailbox == mailbox)
        await self._connection.execute(statement)


def _recording(row: RowMapping) -> CallRecording:
    return CallRecording(
        id=row["id"],
        call_id=row["call_id"],
        caller=row["caller"],
        callee=row["callee"],
        started_at=row["started_at"],
        duration=row["duration"],
    )


class SqlCallRecordingRepository:
    """``CallRecordingRepository``: recorded calls, newest first.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, recording: CallRecording) -> None:
        """Record a new recording."""
        row = {
            "id": recording.id,
            "call_id": recording.call_id,
            "caller": recording.caller,
            "callee": recording.callee,
            "started_at": recording.started_at,
            "duration": recording.duration,
        }
        await self._connection.execute(insert(call_recordings).values(row))

    async def list(self, number: str | None = None) -> Sequence[CallRecording]:
        """Recordings, newest first; with ``number``, those where it is caller or callee."""
        statement = select(call_recordings).order_by(
            _recordings.started_at.desc(), _recordings.id.desc()
        )
        if number is not None:
            statement = statement.where(
                or_(_recordings.caller == number, _recordings.callee == number)
            )
        rows = (await self._connection.execute(statement)).mappings()
        return [_recording(row) for row in rows]

    async def get(self, recording_id: str) -> CallRecording | None:
        """One recording, or None."""
        statement = select(call_recordings).where(_recordings.id == recording_id)
        row = (await self._connection.execute(statement)).mappings().one_or_none()
        return None if row is None else _recording(row)

    async def delete(self, recording_id: str) -> None:
        """Forget a recording.

        Raises:
            NotFound: there is no such recording.
        """
        statement = delete(call_recordings).where(_recordings.id == recording_id)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("recording", recording_id)
