"""Where a message comes from or goes to: a transport kind, a host and a port.

Pure values shared by the transports (``centralino.net``), which own the
sockets, and the protocol cores, which only name peers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Peer", "TransportKind"]


class TransportKind(enum.StrEnum):
    """A SIP transport."""

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
        """``(host, port)`` as sockets take it."""
        return (self.host, self.port)
