"""The media seam: what happens to SDP as it crosses the B2BUA.

Theory of operation. Every SDP body that goes from one leg of a call to the
other passes through an :class:`SdpPolicy`, told which way it travels.
By default the engine plugs in
:class:`centralino.telephony.media.AnchorSdp` (media anchoring): it opens
two RTP/RTCP port pairs per call, rewrites ``c=``/``m=`` so both phones send
to the PBX, negotiates codecs per leg and relays the packets; it learns the
end of a call through :meth:`SdpPolicy.release`. :class:`RelaySdp` passes
SDP through unchanged, so RTP flows directly between the phones
(``TelephonySettings.media_anchoring = False``).

When the PBX answers a call itself (voicemail, call screening), the policy
also writes the PBX's answer to the caller's offer and gives the call a
:class:`PbxMedia`: the media half of an application's
:class:`~centralino.telephony.apps.channel.Channel`. Only an anchoring
policy can: :class:`RelaySdp` has no media of its own and answers None."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from centralino.telephony.apps.channel import Recording

__all__ = ["Direction", "LocalAnswer", "PbxMedia", "RelaySdp", "SdpPolicy"]


class Direction(enum.Enum):
    """Which way an SDP body crosses the B2BUA."""

    TO_CALLEE = enum.auto()
    """From the caller's leg to a callee's leg."""
    TO_CALLER = enum.auto()
    """From a callee's leg to the caller's leg."""


class PbxMedia(Protocol):
    """The PBX's own voice and ears on one leg (see the Channel protocol)."""

    async def play(self, pcm: bytes | Sequence[bytes], *, interrupt: bool = True) -> str | None:
        """Play PCM; the interrupting key, or None."""
        ...

    async def get_digit(self, timeout: float) -> str | None:  # noqa: ASYNC109
        """The next key, or None after ``timeout``."""
        ...

    def flush_digits(self) -> None:
        """Forget queued keys."""
        ...

    def press(self, key: str) -> None:
        """A key the phone sent by signalling (SIP INFO), queued like the others."""
        ...

    async def record(
        self, *, max_seconds: float, stop_keys: str = "#", silence_seconds: float | None = None
    ) -> Recording:
        """Record until a stop key, the length limit or the end."""
        ...

    def close(self) -> None:
        """The call ended: wake every waiter with HungUp."""
        ...


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """The PBX's SDP answer to a caller's offer, and the media behind it."""

    body: bytes
    media: PbxMedia


class SdpPolicy(Protocol):
    """Decides the SDP each leg sees."""

    def relay(
        self, call_id: str, direction: Direction, body: bytes, *, to: str | None = None
    ) -> bytes:
        """The body to send on the other leg, to the phone at ``to`` (``b""`` stays empty)."""
        ...

    def release(self, call_id: str) -> None:
        """The call ended: free whatever was held for it."""
        ...

    def answer_locally(
        self, call_id: str, offer: bytes, *, to: str | None = None
    ) -> LocalAnswer | None:
        """The PBX answers the caller's ``offer`` (the caller at ``to``) itself; None: cannot.

        An empty ``offer`` (delayed offer) gets the PBX's own offer as the
        body; the caller's answer then comes in its ACK (:meth:`answer_in_ack`).
        """
        ...

    def answer_in_ack(self, call_id: str, answer: bytes) -> bool:
        """The caller's answer in its ACK, when :meth:`answer_locally` had to offer."""
        ...

    def offer_locally(self, call_id: str, *, to: str | None = None) -> bytes | None:
        """The PBX's own offer to a callee at ``to`` (after :meth:`answer_locally`).

        None when it cannot.
        """
        ...

    def callee_answered(self, call_id: str, answer: bytes) -> PbxMedia | None:
        """The callee answered our offer: its leg, held by the PBX (None: unusable)."""
        ...

    def bridge(self, call_id: str) -> None:
        """Stop holding both legs: relay the caller and the callee to each other."""
        ...


class RelaySdp:
    """Pass SDP through unchanged: media flows phone to phone."""

    def relay(
        self, call_id: str, direction: Direction, body: bytes, *, to: str | None = None
    ) -> bytes:
        """Return ``body`` as is."""
        return body

    def release(self, call_id: str) -> None:
        """Nothing held."""
        return

    def answer_locally(
        self, call_id: str, offer: bytes, *, to: str | None = None
    ) -> LocalAnswer | None:
        """No media of our own without anchoring."""
        return None

    def answer_in_ack(self, call_id: str, answer: bytes) -> bool:
        """No media of our own without anchoring."""
        return False

    def offer_locally(self, call_id: str, *, to: str | None = None) -> bytes | None:
        """No media of our own without anchoring."""
        return None

    def callee_answered(self, call_id: str, answer: bytes) -> PbxMedia | None:
        """No media of our own without anchoring."""
        return None

    def bridge(self, call_id: str) -> None:
        """Nothing held."""
        return
