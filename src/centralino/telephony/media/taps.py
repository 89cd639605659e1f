"""The seam for features that listen to an anchored call's audio.

Recording, in-band DTMF detection and call screening need the audio of
each direction as PCM. A :class:`MediaTap` attached to a call
(:meth:`~centralino.telephony.media.anchor.AnchorSdp.add_tap`) receives
every relayed RTP packet's payload decoded to 16-bit 8 kHz mono PCM
(:mod:`centralino.media.pcm`), whatever codec each leg uses, with its
direction and arrival time. Packets in a codec the PBX cannot decode
(and ``telephone-event``) are not passed to taps. Taps run inside the relay
path: they must be quick and must not raise (an exception is logged and
the tap detached).
"""

from __future__ import annotations

import enum
from typing import Protocol

__all__ = ["MediaTap", "TapDirection"]


class TapDirection(enum.Enum):
    """Which way the audio travels."""

    FROM_CALLER = enum.auto()
    """What the caller says (leg A to leg B)."""
    FROM_CALLEE = enum.auto()
    """What the callee says (leg B to leg A)."""


class MediaTap(Protocol):
    """Receives the decoded audio of an anchored call."""

    def frame(self, direction: TapDirection, pcm: bytes, arrival: float) -> None:
        """One packet's audio.

        Args:
            direction: who spoke it.
            pcm: 16-bit little-endian mono PCM at 8 kHz (usually 20 ms).
            arrival: when the packet arrived, in seconds (monotonic).
        """
        ...

    def closed(self) -> None:
        """The call's media ended (the tap is detached)."""
        ...
