"""SIP over UDP: one datagram is one message (RFC 3261 §18)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from centralino.net.transport import Peer, Receiver, TransportKind

__all__ = ["RECEIVE_BUFFER", "UdpTransport", "open_udp"]

RECEIVE_BUFFER = 8 * 1024 * 1024
"""Ask for MB-sized socket buffers: the 64 KB default drops bursts."""


class UdpTransport(asyncio.DatagramProtocol):
    """A bound UDP socket feeding a receiver."""

    kind = TransportKind.UDP

    def __init__(self, receiver: Receiver) -> None:
        self._receiver = receiver
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # selector transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._receiver(data, Peer(TransportKind.UDP, str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable) surface here; a lost datagram is
        # recovered by transaction timers, so nothing else to do.
        return

    @property
    def local_address(self) -> tuple[str, int]:
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return (str(host), int(port))

    def send(self, data: bytes, peer: Peer) -> bool:
        if self._transport is None or self._transport.is_closing():
            return False
        self._transport.sendto(data, peer.address)
        return True

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def open_udp(host: str, port: int, receiver: Receiver) -> UdpTransport:
    """Bind a UDP socket on ``host:port`` (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    _transport, protocol = await loop.create_datagram_endpoint(
        lambda: UdpTransport(receiver), local_addr=(host, port)
    )
    return protocol
