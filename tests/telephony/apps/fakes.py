"""A scripted Channel, in-memory Mailboxes and labelled prompts for the app tests.

The script is what the person on the phone does, in order:

* ``Keys("1234#")``: keys read by the next ``get_digit`` calls (all queued at once);
* ``Timeout()``: the next ``get_digit`` waits in vain (returns None);
* ``During("7", on="message-menu")``: keys pressed while a play containing
  that label (any play when ``on`` is None) runs: it interrupts that play;
* ``Speak(pcm, end=..., key=...)``: what the next ``record`` collects
  (``end=RecordEnd.HUNG_UP``: the phone hangs up at the end of it);
* ``HangUp()``: the next ``get_digit`` or ``record`` finds the phone gone;
  ``HangUp(on="label")``: the phone hangs up during the play containing it.

When the script runs out, the next ``get_digit`` or ``record`` hangs up, so
an application always ends. Every play is kept, as labels:
:func:`labelled_prompts` gives each prompt a distinct PCM marker, so
``channel.said()`` reads ``["person-at-extension", "1", "0", "1", ...]``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from centralino.domain.errors import NotFound
from centralino.domain.voicemail import Greeting, MailboxCounts, MessageFolder, VoicemailMessage
from centralino.media.tones import beep
from centralino.telephony.apps.channel import HungUp, RecordEnd, Recording
from centralino.telephony.apps.prompts import Prompts

__all__ = [
    "BEEP",
    "During",
    "HangUp",
    "InMemoryMailboxes",
    "Keys",
    "ScriptedChannel",
    "Speak",
    "Timeout",
    "labelled_prompts",
    "seconds_of_audio",
]

BEEP = beep()


@dataclass(frozen=True)
class Keys:
    keys: str


@dataclass(frozen=True)
class Timeout:
    pass


@dataclass(frozen=True)
class During:
    keys: str
    on: str | None = None


@dataclass(frozen=True)
class Speak:
    pcm: bytes
    end: RecordEnd = RecordEnd.KEY
    key: str | None = "#"


@dataclass(frozen=True)
class HangUp:
    on: str | None = None
    """Hang up while a play containing this label runs (None: at the next key or record)."""


Step = Keys | Timeout | During | Speak | HangUp


def seconds_of_audio(seconds: float, fill: int = 1) -> bytes:
    """``seconds`` of 8 kHz 16-bit PCM made of one repeated (non-zero) byte."""
    return bytes([fill]) * (2 * round(seconds * 8000))


def labelled_prompts() -> Prompts:
    """The shipped prompt names, each with its name as PCM (so plays read back as names)."""
    names = Prompts.load().names
    return Prompts({name: f"<{name}>".encode().ljust(64, b"\0") for name in names})


@dataclass(frozen=True)
class Play:
    labels: list[str]
    interrupt: bool
    interrupted_by: str | None


class ScriptedChannel:
    """A Channel driven by a script (module docstring)."""

    def __init__(
        self,
        prompts: Prompts,
        script: Sequence[Step] = (),
        *,
        caller: str = "+390612345678",
        caller_name: str | None = "Mario Rossi",
        labels: dict[bytes, str] | None = None,
    ) -> None:
        self._caller, self._caller_name = caller, caller_name
        self._script = deque(script)
        self._queue: deque[str] = deque()
        self._labels = {pcm: name for name in prompts.names if (pcm := prompts.clip(name))}
        self._labels[BEEP] = "BEEP"
        self._labels.update(labels or {})
        self.plays: list[Play] = []
        self.records: list[dict[str, object]] = []
        self.hung_up = False
        self.hung_up_by_pbx = False

    @property
    def caller(self) -> str:
        return self._caller

    @property
    def caller_name(self) -> str | None:
        return self._caller_name

    def label(self, name: str, pcm: bytes) -> None:
        """Name some audio (a message, a greeting) in :meth:`said`."""
        self._labels[pcm] = name

    def said(self) -> list[str]:
        """Every label played, in order."""
        return [label for play in self.plays for label in play.labels]

    def left(self) -> list[Step]:
        """The steps not used."""
        return list(self._script)

    def _check(self) -> None:
        if self.hung_up:
            raise HungUp

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        self._check()
        buffers = [pcm] if isinstance(pcm, bytes) else list(pcm)
        labels = [self._labels.get(buffer, f"?{len(buffer)}") for buffer in buffers]
        step = self._script[0] if self._script else None
        if isinstance(step, HangUp) and step.on is not None and step.on in labels:
            self._script.popleft()
            self.plays.append(Play(labels=labels, interrupt=interrupt, interrupted_by=None))
            self.hung_up = True
            raise HungUp
        if isinstance(step, During) and (step.on is None or step.on in labels):
            self._script.popleft()
            self._queue.extend(step.keys)
        key = self._queue[0] if interrupt and self._queue else None
        if key is not None and isinstance(step, During):
            # Played up to the label the keys came during.
            cut = labels.index(step.on) + 1 if step.on is not None else 1
            labels = labels[:cut]
        self.plays.append(Play(labels=labels, interrupt=interrupt, interrupted_by=key))
        return key

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        self._check()
        assert timeout > 0
        if self._queue:
            return self._queue.popleft()
        step = self._next()
        if isinstance(step, Keys):
            self._queue.extend(step.keys)
            return self._queue.popleft()
        if isinstance(step, Timeout):
            return None
        assert isinstance(step, HangUp), f"get_digit met {step}"
        self.hung_up = True
        raise HungUp

    def _next(self) -> Step:
        if not self._script:
            return HangUp()
        return self._script.popleft()

    def flush_digits(self) -> None:
        self._queue.clear()

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        self._check()
        self.records.append(
            {"max_seconds": max_seconds, "stop_keys": stop_keys, "silence": silence_seconds}
        )
        step = self._next()
        if isinstance(step, HangUp):
            self.hung_up = True
            return Recording(pcm=b"", end=RecordEnd.HUNG_UP)
        assert isinstance(step, Speak), f"record met {step}"
        if step.end is RecordEnd.HUNG_UP:
            self.hung_up = True
        key = step.key if step.end is RecordEnd.KEY else None
        return Recording(pcm=step.pcm, end=step.end, key=key)

    async def hang_up(self) -> None:
        self._check()
        self.hung_up = self.hung_up_by_pbx = True


@dataclass
class _Box:
    messages: dict[str, tuple[VoicemailMessage, bytes]] = field(default_factory=dict)
    greetings: list[tuple[Greeting, bytes]] = field(default_factory=list)
    active: bytes | None = None


class InMemoryMailboxes:
    """The Mailboxes port in memory; ``calls`` lists the changes made."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self._boxes: dict[str, _Box] = {}
        self._ids = itertools.count(1)
        self._now = now or dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
        self.calls: list[tuple[str, str]] = []

    def _box(self, mailbox: str) -> _Box:
        return self._boxes.setdefault(mailbox, _Box())

    def add(
        self,
        mailbox: str,
        pcm: bytes,
        *,
        caller: str = "+390612345678",
        received_at: dt.datetime | None = None,
        folder: MessageFolder = MessageFolder.NEW,
    ) -> VoicemailMessage:
        """Put a message in a mailbox (test set-up, not recorded in ``calls``)."""
        message = VoicemailMessage(
            id=f"m{next(self._ids)}",
            mailbox=mailbox,
            caller=caller,
            caller_name=None,
            received_at=received_at or self._now,
            duration=len(pcm) / 16000,
            folder=folder,
        )
        self._box(mailbox).messages[message.id] = (message, pcm)
        return message

    def set_greeting(self, mailbox: str, pcm: bytes | None) -> None:
        self._box(mailbox).active = pcm

    def folder_of(self, mailbox: str, message_id: str) -> MessageFolder | None:
        found = self._box(mailbox).messages.get(message_id)
        return found[0].folder if found else None

    async def leave_message(
        self, mailbox: str, *, caller: str, caller_name: str | None, pcm: bytes
    ) -> VoicemailMessage:
        message = dataclasses.replace(
            self.add(mailbox, pcm, caller=caller), caller_name=caller_name
        )
        self._box(mailbox).messages[message.id] = (message, pcm)
        self.calls.append(("leave_message", mailbox))
        return message

    async def messages(self, mailbox: str) -> Sequence[VoicemailMessage]:
        listed = [message for message, _ in self._box(mailbox).messages.values()]
        return sorted(listed, key=lambda message: message.received_at, reverse=True)

    async def message_audio(self, mailbox: str, message_id: str) -> bytes:
        try:
            return self._box(mailbox).messages[message_id][1]
        except KeyError:
            raise NotFound("message", message_id) from None

    async def save_message(self, mailbox: str, message_id: str) -> None:
        box = self._box(mailbox)
        if message_id not in box.messages:
            raise NotFound("message", message_id)
        message, pcm = box.messages[message_id]
        box.messages[message_id] = (dataclasses.replace(message, folder=MessageFolder.SAVED), pcm)
        self.calls.append(("save_message", message_id))

    async def delete_message(self, mailbox: str, message_id: str) -> None:
        if self._box(mailbox).messages.pop(message_id, None) is None:
            raise NotFound("message", message_id)
        self.calls.append(("delete_message", message_id))

    async def counts(self, mailbox: str) -> MailboxCounts:
        folders = [message.folder for message, _ in self._box(mailbox).messages.values()]
        return MailboxCounts(
            new=folders.count(MessageFolder.NEW), saved=folders.count(MessageFolder.SAVED)
        )

    async def active_greeting(self, mailbox: str) -> bytes | None:
        return self._box(mailbox).active

    async def record_greeting(self, mailbox: str, pcm: bytes) -> Greeting:
        box = self._box(mailbox)
        greeting = Greeting(id=f"phone-{len(box.greetings) + 1}", name="Recorded on the phone")
        box.greetings.append((greeting, pcm))
        box.active = pcm
        self.calls.append(("record_greeting", mailbox))
        return greeting

    def greetings(self, mailbox: str) -> list[tuple[Greeting, bytes]]:
        return list(self._box(mailbox).greetings)
