"""What every SIP transport offers the SIP server: receive bytes, send bytes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Peer", "Receiver", "Transport", "TransportKind"]


class TransportKind(enum.StrEnum):
    UDP = "udp"
    TCP = "tcp"

    @property
    def reliable(self) -> bool:
        """Reliable transports need no SIP retransmissions (RFC 3261 §17)."""
        return self is not TransportKind.UDP

    @property
    def via_name(self) -> str:
        """The transport's name in a Via header."""
        return self.value.upper()


@dataclass(frozen=True, slots=True)
class Peer:
    """The far end of a message: transport kind, host and port."""

    kind: TransportKind
    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


Receiver = Callable[[bytes, Peer], None]
"""Called with each datagram (UDP) or each framed message (TCP)."""


class Transport(Protocol):
    kind: TransportKind

    @property
    def local_address(self) -> tuple[str, int]: ...

    def send(self, data: bytes, peer: Peer) -> bool:
        """Send; False when it cannot (no connection to that peer)."""
        ...

    def close(self) -> None: ...
