"""SIP over TCP: framed by Content-Length (RFC 3261 §18.3).

Each connection runs the pure ``StreamFramer``; complete messages go to the
receiver tagged with the connection's peer, and messages for that peer are
written back on the same connection (phones behind NAT keep it open).
CRLF keep-alive pings get their pong (RFC 5626 §4.4.1).
"""

from __future__ import annotations

import asyncio
import contextlib

from centralino.net.transport import Peer, Receiver, TransportKind
from centralino.sip.errors import SipParseError
from centralino.sip.framing import (
    KEEPALIVE_PONG,
    KeepAlivePing,
    MessageReceived,
    MessageRejected,
    StreamClosed,
    StreamFramer,
)

__all__ = ["TcpTransport", "open_tcp"]


class _Connection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self._transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # selector transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer(TransportKind.TCP, str(host), int(port))
        self._owner.connections[self.peer] = self

    def data_received(self, data: bytes) -> None:
        try:
            self._framer.receive_data(data)
        except SipParseError:
            self.close()
            return
        self._drain()

    def eof_received(self) -> bool | None:
        with contextlib.suppress(SipParseError):
            self._framer.receive_data(b"")
        self._drain()
        return None

    def _drain(self) -> None:
        while (event := self._framer.next_event()) is not None:
            match event:
                case MessageReceived() | MessageRejected() if self.peer is not None:
                    raw = bytes(event.message) if isinstance(event, MessageReceived) else event.data
                    self._owner.receiver(raw, self.peer)
                case KeepAlivePing():
                    self.write(KEEPALIVE_PONG)
                case StreamClosed():
                    self.close()
                case _:
                    pass

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self._owner.connections.pop(self.peer, None)


class TcpTransport:
    """A listening TCP socket and its accepted connections."""

    kind = TransportKind.TCP

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self.connections: dict[Peer, _Connection] = {}
        self._server: asyncio.Server | None = None

    def protocol(self) -> _Connection:
        return _Connection(self)

    @property
    def local_address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return (str(host), int(port))

    def send(self, data: bytes, peer: Peer) -> bool:
        connection = self.connections.get(peer)
        if connection is None:
            return False
        connection.write(data)
        return True

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            connection.close()


async def open_tcp(host: str, port: int, receiver: Receiver) -> TcpTransport:
    """Listen for SIP over TCP on ``host:port``."""
    transport = TcpTransport(receiver)
    loop = asyncio.get_running_loop()
    transport._server = await loop.create_server(transport.protocol, host, port)
    return transport
