"""The media seam: what happens to SDP as it crosses the B2BUA.

Theory of operation. Every SDP body that goes from one leg of a call to the
other passes through an :class:`SdpPolicy`, told which way it travels.
By default the engine plugs in
:class:`centralino.telephony.media.AnchorSdp` (media anchoring): it opens
two RTP/RTCP port pairs per call, rewrites ``c=``/``m=`` so both phones send
to the PBX, negotiates codecs per leg and relays the packets; it learns the
end of a call through :meth:`SdpPolicy.release`. :class:`RelaySdp` passes
SDP through unchanged, so RTP flows directly between the phones
(``TelephonySettings.media_anchoring = False``)."""

from __future__ import annotations

import enum
from typing import Protocol

__all__ = ["Direction", "RelaySdp", "SdpPolicy"]


class Direction(enum.Enum):
    """Which way an SDP body crosses the B2BUA."""

    TO_CALLEE = enum.auto()
    """From the caller's leg to a callee's leg."""
    TO_CALLER = enum.auto()
    """From a callee's leg to the caller's leg."""


class SdpPolicy(Protocol):
    """Decides the SDP each leg sees."""

    def relay(self, call_id: str, direction: Direction, body: bytes) -> bytes:
        """The body to send on the other leg (``b""`` stays empty)."""
        ...

    def release(self, call_id: str) -> None:
        """The call ended: free whatever was held for it."""
        ...


class RelaySdp:
    """Pass SDP through unchanged: media flows phone to phone."""

    def relay(self, call_id: str, direction: Direction, body: bytes) -> bytes:
        """Return ``body`` as is."""
        return body

    def release(self, call_id: str) -> None:
        """Nothing held."""
        return
