"""RTP and RTCP sockets, and the port range they come from.

Theory of operation. Media anchoring needs two UDP sockets per call leg: an
even port for RTP and the next odd one for RTCP (RFC 3550 §11). A
:class:`PortAllocator` hands out the even ports of the configured range
round-robin, so a port just released is the last to be reused (late packets
of the previous call do not land in the next one); it raises
:class:`PortsExhausted` when every pair is taken.

:func:`bind_rtp_pair` binds both sockets *synchronously* (the SDP naming the
port is written at once, inside a SIP handler), skipping pairs another
process holds. The sockets are then attached to the event loop as asyncio
datagram endpoints (uvloop's C transport when uvloop runs the loop) a moment
later; datagrams that arrive before that wait in the kernel buffer, which is
MB-sized because a busy relay reads in bursts. An :class:`RtpSocketPair`
hands every datagram to one receiver, tagged RTP or RTCP, with its source
address, and sends raw bytes to an address.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import socket
from collections.abc import Callable

from centralino.net.udp import RECEIVE_BUFFER

__all__ = [
    "Address",
    "MediaReceiver",
    "PortAllocator",
    "PortsExhausted",
    "RtpSocketPair",
    "SocketKind",
    "bind_rtp_pair",
]

Address = tuple[str, int]


class SocketKind(enum.Enum):
    """Which socket of a pair a datagram came in on."""

    RTP = enum.auto()
    RTCP = enum.auto()


MediaReceiver = Callable[[SocketKind, bytes, Address], None]
"""Called with each datagram: the socket it came in on, the bytes, the source."""


class PortsExhausted(Exception):
    """Every RTP/RTCP port pair of the range is in use."""


class PortAllocator:
    """Even RTP ports (each with the odd RTCP port above it) from a range.

    Args:
        minimum: the lowest port of the range (rounded up to even).
        maximum: the highest port of the range (an RTCP port at most).

    Raises:
        ValueError: the range holds no pair.
    """

    def __init__(self, minimum: int, maximum: int) -> None:
        first = minimum + (minimum & 1)
        self.minimum, self.maximum = minimum, maximum
        self._ports = list(range(first, maximum, 2))
        if not self._ports or not 0 < first <= 65534:
            raise ValueError(f"no RTP/RTCP port pair in {minimum}-{maximum}")
        self._used: set[int] = set()
        self._cursor = 0

    @property
    def capacity(self) -> int:
        """How many pairs the range holds."""
        return len(self._ports)

    @property
    def in_use(self) -> int:
        """How many pairs are handed out."""
        return len(self._used)

    def allocate(self) -> int:
        """Take the next free pair.

        Returns:
            The even RTP port (RTCP is the port above).

        Raises:
            PortsExhausted: every pair is in use.
        """
        count = len(self._ports)
        for step in range(count):
            port = self._ports[(self._cursor + step) % count]
            if port not in self._used:
                self._cursor = (self._cursor + step + 1) % count
                self._used.add(port)
                return port
        raise PortsExhausted(
            f"all {count} RTP port pairs of {self.minimum}-{self.maximum} are in use"
        )

    def release(self, port: int) -> None:
        """Give a pair back (releasing a free pair does nothing)."""
        self._used.discard(port)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_rtp_pair(host: str, allocator: PortAllocator, receiver: MediaReceiver) -> RtpSocketPair:
    """Bind an RTP socket and its RTCP socket on the next free pair of ports.

    Pairs another process holds are skipped (and stay marked used until this
    call returns, so the search ends).

    Args:
        host: the local address to bind.
        allocator: where the ports come from.
        receiver: called with every datagram once the pair is attached.

    Returns:
        The bound pair; call :meth:`RtpSocketPair.attach` in the event loop.

    Raises:
        PortsExhausted: no free pair could be bound.
        OSError: binding failed for another reason than a busy port.
    """
    busy: list[int] = []
    try:
        while True:
            port = allocator.allocate()
            try:
                rtp = _bind(host, port)
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    allocator.release(port)
                    raise
                busy.append(port)
                continue
            try:
                rtcp = _bind(host, port + 1)
            except OSError as error:
                rtp.close()
                if error.errno != errno.EADDRINUSE:
                    allocator.release(port)
                    raise
                busy.append(port)
                continue
            return RtpSocketPair(port, rtp, rtcp, allocator, receiver)
    finally:
        for port in busy:
            allocator.release(port)


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, kind: SocketKind, receiver: MediaReceiver) -> None:
        self.kind = kind
        self.receiver = receiver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.receiver(self.kind, data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while a phone is not listening yet: RTP is
        # best effort, the next packet tries again.
        return


class RtpSocketPair:
    """A bound RTP socket and RTCP socket, attached to the loop by :meth:`attach`."""

    def __init__(
        self,
        port: int,
        rtp: socket.socket,
        rtcp: socket.socket,
        allocator: PortAllocator,
        receiver: MediaReceiver,
    ) -> None:
        self.port = port
        self._sockets = (rtp, rtcp)
        self._allocator = allocator
        self._rtp = _Endpoint(SocketKind.RTP, receiver)
        self._rtcp = _Endpoint(SocketKind.RTCP, receiver)
        self._attaching: asyncio.Task[None] | None = None
        self.closed = False

    @property
    def rtcp_port(self) -> int:
        """The RTCP port (the RTP port plus one)."""
        return self.port + 1

    def attach(self) -> asyncio.Task[None]:
        """Start reading both sockets on the running loop (returns the task)."""
        if self._attaching is None:
            self._attaching = asyncio.get_running_loop().create_task(self._attach())
        return self._attaching

    async def _attach(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for sock, endpoint in self._endpoints():
                if self.closed:
                    break
                await loop.create_datagram_endpoint(lambda e=endpoint: e, sock=sock)  # type: ignore[misc]
                if self.closed and endpoint.transport is not None:
                    endpoint.transport.close()
        finally:
            if self.closed:
                self._close_unattached()

    def _endpoints(self) -> zip[tuple[socket.socket, _Endpoint]]:
        return zip(self._sockets, (self._rtp, self._rtcp), strict=True)

    def _close_unattached(self) -> None:
        # An attached socket belongs to its transport (uvloop closes the fd
        # itself, later): closing it here could close a reused descriptor.
        for sock, endpoint in self._endpoints():
            if endpoint.transport is None:
                sock.close()

    def send_rtp(self, data: bytes, address: Address) -> None:
        """Send one datagram from the RTP socket (dropped before attachment)."""
        transport = self._rtp.transport
        if transport is not None:
            transport.sendto(data, address)

    def send_rtcp(self, data: bytes, address: Address) -> None:
        """Send one datagram from the RTCP socket (dropped before attachment)."""
        transport = self._rtcp.transport
        if transport is not None:
            transport.sendto(data, address)

    def close(self) -> None:
        """Close both sockets and give the ports back (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for _sock, endpoint in self._endpoints():
            if endpoint.transport is not None:
                endpoint.transport.close()
        if self._attaching is None or self._attaching.done():
            self._close_unattached()
        self._allocator.release(self.port)
