"""What the call core asks of the engine around it, as small Protocols.

Theory of operation. The core decides; these ports answer questions about
the present (who is extension 102, where are its phones, how do we name
ourselves to a peer) and hold the media. They are synchronous and cheap:
the engine answers from memory (the directory cache, the registrar's
bindings), so a routing decision is one step of the core.

Media is a port rather than a command because an SDP answer must be
written in the same step as the response that carries it: the port opens
the anchored session (ports come from an in-memory pool) and returns the
description to send. Bodies cross it as typed :class:`Sdp` values, parsed
once by the core, each with its offer/answer role (RFC 3264).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.location import Binding
from centralino.domain.office_hours import OfficeHours
from centralino.sip.errors import SipError
from centralino.sip.message import Request
from centralino.sip.peer import TransportKind
from centralino.sip.sdp import SessionDescription

__all__ = [
    "Addressing",
    "Direction",
    "LocalAnswer",
    "Lookup",
    "MediaPolicy",
    "RelayMedia",
    "Sdp",
    "SdpRole",
    "Side",
    "body_of",
]


class Side(enum.Enum):
    """Which party a leg faces."""

    CALLER = enum.auto()
    CALLEE = enum.auto()


class Direction(enum.Enum):
    """Which way a body crosses the B2BUA."""

    TO_CALLEE = enum.auto()
    """From the caller's leg to a callee's leg."""
    TO_CALLER = enum.auto()
    """From a callee's leg to the caller's leg."""


class SdpRole(enum.Enum):
    """A body's place in the offer/answer exchange (RFC 3264)."""

    OFFER = enum.auto()
    ANSWER = enum.auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class Sdp:
    """A message body as it crosses the seam: parsed once, with its role.

    ``description`` is None when the body is not SDP (an INFO's DTMF, say):
    it then passes through as ``raw``.
    """

    raw: bytes
    description: SessionDescription | None
    role: SdpRole

    @classmethod
    def of(cls, body: bytes, role: SdpRole) -> Sdp | None:
        """``body`` typed (None for an empty body)."""
        if not body.strip():
            return None
        try:
            description: SessionDescription | None = SessionDescription.parse(body)
        except SipError:
            description = None
        return cls(raw=body, description=description, role=role)

    @classmethod
    def from_description(cls, description: SessionDescription, role: SdpRole) -> Sdp:
        """A description the PBX wrote."""
        return cls(raw=bytes(description), description=description, role=role)


def body_of(sdp: Sdp | None) -> bytes:
    """The bytes to send (empty for no body)."""
    return b"" if sdp is None else sdp.raw


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """The PBX's answer to a caller's offer (or its own offer), and the media behind it."""

    sdp: Sdp
    media: object
    """The PBX's end of the caller's leg (opaque to the core: applications use it)."""


class MediaPolicy(Protocol):
    """Decides the SDP each leg sees and holds the media of PBX-answered legs."""

    def relay(self, call_id: str, direction: Direction, sdp: Sdp, *, to: str) -> Sdp:
        """The body for the other leg, whose phone is at ``to``."""
        ...

    def release(self, call_id: str) -> None:
        """The call ended: free whatever was held for it."""
        ...

    def answer_locally(self, call_id: str, offer: Sdp | None, *, to: str) -> LocalAnswer | None:
        """The PBX answers the caller's ``offer`` itself (None offer: the PBX offers).

        Returns None when it cannot (no common audio, no anchoring, no port).
        """
        ...

    def answer_in_ack(self, call_id: str, answer: Sdp | None) -> bool:
        """The caller's answer in its ACK, when :meth:`answer_locally` had to offer."""
        ...

    def offer_locally(self, call_id: str, *, to: str) -> Sdp | None:
        """The PBX's own offer to a callee at ``to`` (after :meth:`answer_locally`)."""
        ...

    def callee_answered(self, call_id: str, answer: Sdp | None) -> object | None:
        """The callee answered our offer: its leg's media, held by the PBX (None: unusable)."""
        ...

    def bridge(self, call_id: str) -> None:
        """Stop holding the legs: relay the caller and the callee to each other."""
        ...

    def press(self, media: object, key: str) -> None:
        """A key sent by signalling (SIP INFO) on a held leg."""
        ...

    def close(self, media: object) -> None:
        """A held leg's party is gone: wake its application."""
        ...


class RelayMedia:
    """Pass SDP through unchanged: media flows phone to phone (no applications)."""

    def relay(self, call_id: str, direction: Direction, sdp: Sdp, *, to: str) -> Sdp:
        """Return ``sdp`` as it is."""
        return sdp

    def release(self, call_id: str) -> None:
        """Nothing held."""

    def answer_locally(self, call_id: str, offer: Sdp | None, *, to: str) -> LocalAnswer | None:
        """No media of our own without anchoring."""
        return None

    def answer_in_ack(self, call_id: str, answer: Sdp | None) -> bool:
        """No media of our own without anchoring."""
        return False

    def offer_locally(self, call_id: str, *, to: str) -> Sdp | None:
        """No media of our own without anchoring."""
        return None

    def callee_answered(self, call_id: str, answer: Sdp | None) -> object | None:
        """No media of our own without anchoring."""
        return None

    def bridge(self, call_id: str) -> None:
        """Nothing held."""

    def press(self, media: object, key: str) -> None:
        """Nothing held."""

    def close(self, media: object) -> None:
        """Nothing held."""


class Lookup(Protocol):
    """The engine's live knowledge of extensions and their phones."""

    def by_number(self, number: str) -> Extension | None:
        """The extension with this number, if any."""
        ...

    def contacts(self, number: str) -> Sequence[Binding]:
        """The live bindings of extension ``number``."""
        ...

    def schedule_for(self, extension: Extension) -> OfficeHours:
        """The office hours that apply to ``extension``."""
        ...

    def status_names(self) -> Mapping[Status, str]:
        """The configured names of the presence statuses."""
        ...


class Addressing(Protocol):
    """How the PBX names itself to a peer."""

    def advertised_host_for(self, address: str | None) -> str:
        """The host the PBX names itself by to the peer at ``address``."""
        ...

    def local_port(self, kind: TransportKind = TransportKind.UDP) -> int:
        """The port a transport listens on."""
        ...

    def tag_for(self, request: Request) -> str:
        """The To-tag for an out-of-dialog answer to ``request`` (same for resends)."""
        ...
