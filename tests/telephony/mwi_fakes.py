"""An in-memory ``Mailboxes`` for message-waiting tests: counts set by the test.

Only the counts matter to the lamps; the other methods of the port refuse.
:meth:`FakeMailboxes.set` changes a mailbox and publishes ``MailboxChanged``
on the bus, as the management side does after a commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import MailboxChanged
from centralino.domain.voicemail import Greeting, MailboxCounts, VoicemailMessage

__all__ = ["FakeMailboxes"]


class FakeMailboxes:
    """Mailbox counts in a dict; counts every read."""

    def __init__(self, bus: LocalEventBus | None = None) -> None:
        self.bus = bus
        self.boxes: dict[str, MailboxCounts] = {}
        self.reads = 0
        self.gate: asyncio.Event | None = None
        """When set by a test, every read waits for it (a slow database)."""

    def set(self, mailbox: str, new: int, saved: int = 0, *, publish: bool = True) -> None:
        """Change ``mailbox``'s counts; publish ``MailboxChanged`` when asked."""
        self.boxes[mailbox] = MailboxCounts(new=new, saved=saved)
        if publish and self.bus is not None:
            self.bus.publish(MailboxChanged(mailbox=mailbox, new=new, saved=saved))

    async def counts(self, mailbox: str) -> MailboxCounts:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.boxes.get(mailbox, MailboxCounts(new=0, saved=0))

    async def leave_message(
        self, mailbox: str, *, caller: str, caller_name: str | None, pcm: bytes
    ) -> VoicemailMessage:
        raise NotImplementedError

    async def messages(self, mailbox: str) -> Sequence[VoicemailMessage]:
        return []

    async def message_audio(self, mailbox: str, message_id: str) -> bytes:
        raise NotImplementedError

    async def save_message(self, mailbox: str, message_id: str) -> None:
        raise NotImplementedError

    async def delete_message(self, mailbox: str, message_id: str) -> None:
        raise NotImplementedError

    async def active_greeting(self, mailbox: str) -> bytes | None:
        return None

    async def record_greeting(self, mailbox: str, pcm: bytes) -> Greeting:
        raise NotImplementedError
