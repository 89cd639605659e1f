"""What every SIP transport offers the SIP server: receive bytes, send bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from centralino.sip.peer import Peer, TransportKind

__all__ = ["Peer", "Receiver", "SendFailure", "Transport", "TransportKind"]


class Receiver(Protocol):
    """Called with each datagram (UDP) or each framed message (TCP).

    ``queued`` is how long, in seconds, the message waited between its
    arrival and this call (the transport's intake queue; 0 when it is
    handed over as it arrives): overload control judges by it.
    """

    def __call__(self, data: bytes, peer: Peer, queued: float = 0.0) -> None: ...


SendFailure = Callable[[], None]
"""Called when a message accepted by ``send`` could not be delivered after all."""


class Transport(Protocol):
    kind: TransportKind

    @property
    def local_address(self) -> tuple[str, int]: ...

    def send(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        """Send; False when it cannot at once.

        A transport that must first connect (TCP to a phone whose
        connection is gone) accepts the message and calls ``on_failure``
        later if the connection fails.
        """
        ...

    def close(self) -> None: ...
