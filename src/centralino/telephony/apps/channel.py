"""What the PBX's own applications (voicemail, screening) see of a call they answered.

Theory of operation. When routing sends a caller to voicemail, or a phone
dials the voicemail code, the PBX answers the call itself: its media leg
facing that phone stops relaying and is *held* by an application, which
speaks and listens through a :class:`Channel`:

* :meth:`Channel.play` sends 8 kHz PCM to the phone as RTP in the leg's
  codec (paced every 20 ms, with the PBX's own SSRC, sequence numbers and
  timestamps); a DTMF key pressed meanwhile can interrupt it;
* DTMF keys arrive as RFC 4733 telephone-events when the leg negotiated
  them, else they are detected in band; every key goes into one queue read
  by :meth:`Channel.get_digit` (keys pressed during a prompt are kept: type
  ahead);
* :meth:`Channel.record` collects what the phone sends, decoded to PCM
  (through a jitter buffer, gaps filled with silence) until a stop key, a
  maximum length, or the phone hanging up;
* when the phone hangs up, the pending and every later call raises
  :class:`HungUp`; :meth:`Channel.hang_up` ends the call from the PBX's side.

Applications are plain coroutines over this protocol, so they are tested
with a scripted channel and run unchanged on a real call.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Channel", "HungUp", "RecordEnd", "Recording"]


class HungUp(Exception):
    """The phone hung up: the application stops (what it recorded so far is kept)."""


class RecordEnd(enum.Enum):
    """Why a recording stopped."""

    KEY = "key"
    """A stop key was pressed (it is not part of the audio)."""
    MAX_LENGTH = "max_length"
    HUNG_UP = "hung_up"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """What :meth:`Channel.record` collected: PCM, why it ended, the key if any."""

    pcm: bytes
    end: RecordEnd
    key: str | None = None


class Channel(Protocol):
    """One phone's leg held by a PBX application (see the module docstring)."""

    @property
    def caller(self) -> str:
        """The number (caller ID) of the phone on this channel."""
        ...

    @property
    def caller_name(self) -> str | None:
        """Its display name, when known."""
        ...

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play ``pcm`` (one buffer or several one after another) to the phone.

        Args:
            pcm: 16-bit little-endian mono PCM at 8 kHz.
            interrupt: stop as soon as a key is pressed.

        Returns:
            The key that interrupted the prompt (it stays in the queue for
            :meth:`get_digit`), or None when it played to the end.

        Raises:
            HungUp: the phone hung up.
        """
        ...

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The next key pressed ('0'-'9', '*', '#', 'A'-'D'), or None after ``timeout`` s.

        Raises:
            HungUp: the phone hung up.
        """
        ...

    def flush_digits(self) -> None:
        """Forget keys pressed and not read yet."""
        ...

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Collect what the phone sends until a stop key, ``max_seconds`` or hang-up.

        Args:
            max_seconds: the longest recording.
            stop_keys: keys that end it (any other key is ignored).
            silence_seconds: end after this long without speech (None: never).

        Returns:
            The recording; on hang-up it is returned (``end`` HUNG_UP), not raised.
        """
        ...

    async def hang_up(self) -> None:
        """End the call from the PBX's side (BYE); later calls raise HungUp."""
        ...
