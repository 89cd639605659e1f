"""SIP over UDP: one datagram is one message (RFC 3261 §18), with an intake queue.

Theory of operation. Overload control needs to know how long a message
waited before it was processed. A datagram waiting in the kernel's socket
buffer is invisible to the process, and event loops read only a few
datagrams per turn (uvloop 32, asyncio's selector loop one), so under load
the kernel buffer would be the queue, seconds deep and unmeasured. This
transport therefore reads the socket itself (``add_reader``): each time it
is readable, every pending datagram (up to :data:`READ_BATCH`) is read and
put in an in-process queue with its arrival time. The queue is delivered to
the receiver in slices of at most :data:`SLICE` seconds of work, one slice
per event-loop turn, so timers (transaction retransmissions, call timers)
and other sockets keep their turn however deep the queue is. Each message
is delivered with ``queued``, the seconds it waited.

The queue is bounded (:data:`MAX_QUEUED` datagrams): past it, datagrams
are dropped as the kernel would drop them, counted in :attr:`dropped`. One
clock (``time.monotonic``) stamps arrivals and measures the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable

from centralino.net.transport import Peer, Receiver, SendFailure, TransportKind

__all__ = ["MAX_QUEUED", "READ_BATCH", "RECEIVE_BUFFER", "SLICE", "UdpTransport", "open_udp"]

RECEIVE_BUFFER = 8 * 1024 * 1024
"""Ask for MB-sized socket buffers: the 64 KB default drops bursts."""
READ_BATCH = 512
"""Datagrams read per readiness callback at most (then the loop turns)."""
SLICE = 0.005
"""Seconds of message processing per loop turn at most."""
MAX_QUEUED = 50_000
"""Datagrams queued at most (about 25 MB of typical requests)."""
_MAX_DATAGRAM = 65535


class UdpTransport:
    """A bound UDP socket feeding a receiver through a measured queue."""

    kind = TransportKind.UDP

    def __init__(
        self,
        receiver: Receiver,
        *,
        clock: Callable[[], float] = time.monotonic,
        slice_seconds: float = SLICE,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._receiver = receiver
        self._clock = clock
        self._slice = slice_seconds
        self._max_queued = max_queued
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[tuple[float, bytes, tuple[str, int]]] = deque()
        self._delivering = False
        self._peers: dict[tuple[str, int], Peer] = {}
        self.dropped = 0
        """Datagrams dropped because the queue was full."""

    def attach(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        """Start reading the bound, non-blocking ``sock`` on ``loop``."""
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
        self._socket = sock
        self._loop = loop
        loop.add_reader(sock.fileno(), self._read)

    @property
    def queued(self) -> int:
        """Datagrams read and not yet delivered."""
        return len(self._queue)

    def _read(self) -> None:
        sock = self._socket
        if sock is None:
            return
        now = self._clock()
        queue = self._queue
        for _ in range(READ_BATCH):
            try:
                data, addr = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # ICMP errors (port unreachable) of earlier sends
            if len(queue) >= self._max_queued:
                self.dropped += 1
                continue
            queue.append((now, data, addr))
        if queue and not self._delivering and self._loop is not None:
            self._delivering = True
            self._loop.call_soon(self._deliver)

    def _deliver(self) -> None:
        queue = self._queue
        clock = self._clock
        receiver = self._receiver
        started = clock()
        now = started
        while queue and now - started < self._slice:
            arrived, data, addr = queue.popleft()
            receiver(data, self._peer(addr), max(0.0, now - arrived))
            now = clock()
        if queue and self._loop is not None and self._socket is not None:
            self._loop.call_soon(self._deliver)  # the rest next turn: timers first
        else:
            self._delivering = False

    def _peer(self, addr: tuple[str, int]) -> Peer:
        peer = self._peers.get(addr)
        if peer is None:
            if len(self._peers) >= 65536:
                self._peers.clear()  # addresses come from the network: bounded
            peer = self._peers[addr] = Peer(TransportKind.UDP, str(addr[0]), int(addr[1]))
        return peer

    @property
    def local_address(self) -> tuple[str, int]:
        assert self._socket is not None
        host, port = self._socket.getsockname()[:2]
        return (str(host), int(port))

    def send(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        sock = self._socket
        if sock is None:
            return False
        try:
            sock.sendto(data, peer.address)
        except (BlockingIOError, InterruptedError):
            return True  # send buffer full: lost like any datagram, timers resend
        except OSError:
            return False
        return True

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(sock.fileno())
        sock.close()
        self._queue.clear()


async def open_udp(host: str, port: int, receiver: Receiver) -> UdpTransport:
    """Bind a UDP socket on ``host:port`` (port 0 picks a free one)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setblocking(False)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    transport = UdpTransport(receiver)
    transport.attach(sock, loop)
    return transport
