"""SIP over TCP: framed by Content-Length (RFC 3261 §18.3).

Each connection runs the pure ``StreamFramer``; complete messages go to the
receiver tagged with the connection's peer, and messages for that peer are
written back on the same connection (phones behind NAT keep it open).
CRLF keep-alive pings get their pong (RFC 5626 §4.4.1).

Every connection is bounded (:mod:`.tcp_limits`). One over the caps is
closed as soon as it is accepted. Each has one timer, re-armed lazily: bytes
received move the deadline later and the timer, when it fires, looks again;
only a deadline brought forward (a first message in, a message begun)
re-arms it at once. A stream whose framing is lost is logged in one line,
answered when the request it broke in can be (413, 513: the ``on_reject``
callback), and closed.

Requests to a phone go on its own connection (the one it registered over).
When that is gone, a new connection is opened (RFC 3261 §18.1.1): to the
address :attr:`TcpTransport.reconnect_target` names for the phone (the
host and port of its registered Contact, where it listens), else to the
peer address itself; an open connection to that address is reused first.
Messages wait while it connects; if it fails (refused, unreachable,
``connect_timeout``) each waiting message's ``on_failure`` is called, which
the SIP server turns into a transport error of its transaction (RFC 3261
§17.1.4: the call sees 503).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import structlog

from centralino.net.tcp_limits import (
    Admission,
    ConnectionDeadline,
    RefusalLog,
    TcpLimits,
)
from centralino.net.transport import Peer, Receiver, SendFailure, TransportKind
from centralino.sip.errors import PeerError, SipParseError
from centralino.sip.framing import (
    KEEPALIVE_PONG,
    KeepAlivePing,
    MessageReceived,
    MessageRejected,
    StreamClosed,
    StreamFramer,
)
from centralino.sip.message import Request

__all__ = ["ReconnectTarget", "RejectHandler", "TcpLimits", "TcpTransport", "open_tcp"]

log = structlog.get_logger("centralino.net")

ReconnectTarget = Callable[[Peer], tuple[str, int] | None]
"""Where to connect to reach a peer whose connection is gone (None: the peer itself)."""

RejectHandler = Callable[[PeerError, Peer], None]
"""Called to answer the request a broken stream stopped in, before it closes."""

_UNREAD_FACTOR = 4
"""A peer that leaves this many largest messages unread is closed."""


class _Connection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport) -> None:
        self._owner = owner
        limits = owner.limits
        self._framer = StreamFramer(
            max_head_size=limits.max_head_size, max_body_size=limits.max_body_size
        )
        self._transport: asyncio.Transport | None = None
        self._deadline: ConnectionDeadline | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = 0.0
        self._failed = False
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        stream = cast(asyncio.Transport, transport)  # a stream's (selector or uvloop)
        self._transport = stream
        host, port = transport.get_extra_info("peername")[:2]
        peer = Peer(TransportKind.TCP, str(host), int(port))
        if not self._owner.admit(peer):
            stream.abort()
            return
        self.peer = peer
        self._owner.connections[peer] = self
        now = asyncio.get_running_loop().time()
        self._deadline = ConnectionDeadline(self._owner.limits, now)
        self._arm(self._deadline.deadline())

    def data_received(self, data: bytes) -> None:
        if self._failed or self._deadline is None:
            return
        try:
            self._framer.receive_data(data)
            messages = self._drain()
        except SipParseError as exc:
            self._fail(exc)
            return
        now = asyncio.get_running_loop().time()
        self._deadline.received(now, messages=messages, pending=self._framer.message_pending)
        deadline = self._deadline.deadline()
        if self._timer is None or deadline < self._armed_for:
            self._arm(deadline)  # sooner than armed (a message begun, a first message in)

    def eof_received(self) -> bool | None:
        if self._failed:
            return None
        try:
            self._framer.receive_data(b"")
            self._drain()
        except SipParseError as exc:
            self._fail(exc)
        return None

    def _drain(self) -> int:
        """Hand over what the framer cut out; returns the messages handed over."""
        messages = 0
        while (event := self._framer.next_event()) is not None:
            match event:
                case MessageReceived() | MessageRejected() if self.peer is not None:
                    raw = bytes(event.message) if isinstance(event, MessageReceived) else event.data
                    messages += 1
                    self._owner.receiver(raw, self.peer)
                case KeepAlivePing():
                    self.write(KEEPALIVE_PONG)
                case StreamClosed():
                    self.close()
                case _:
                    pass
        return messages

    def _fail(self, error: SipParseError) -> None:
        """The framing is lost: one log line, an answer when possible, close."""
        self._failed = True
        peer = self.peer
        if peer is None:
            return
        log.warning(
            "tcp stream malformed",
            peer=_text(peer),
            error=error.reason,
            status=error.status,
        )
        broken = error.message
        if isinstance(broken, Request) and self._owner.on_reject is not None:
            self._owner.on_reject(error, peer)
        self.close()

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_for = deadline
        self._timer = asyncio.get_running_loop().call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        if self._deadline is None or self._transport is None or self._transport.is_closing():
            return
        deadline = self._deadline.deadline()
        if asyncio.get_running_loop().time() < deadline:
            self._arm(deadline)  # bytes came since it was armed
            return
        log.debug(
            "tcp connection timed out",
            peer=_text(self.peer),
            established=self._deadline.established,
        )
        self.close()

    def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        if transport.get_write_buffer_size() > self._owner.max_unread:
            log.info("tcp peer reads nothing: closed", peer=_text(self.peer))
            transport.abort()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.peer is not None:
            self._owner.release(self.peer)
            if self._owner.connections.get(self.peer) is self:
                del self._owner.connections[self.peer]
                self._owner.forget_aliases(self.peer)


def _text(peer: Peer | None) -> str | None:
    return None if peer is None else f"{peer.host}:{peer.port}"


class TcpTransport:
    """A listening TCP socket and its accepted connections."""

    kind = TransportKind.TCP

    def __init__(
        self,
        receiver: Receiver,
        limits: TcpLimits | None = None,
        on_reject: RejectHandler | None = None,
    ) -> None:
        self.receiver = receiver
        self.limits = limits if limits is not None else TcpLimits()
        self.on_reject = on_reject
        self.connections: dict[Peer, _Connection] = {}
        self.reconnect_target: ReconnectTarget | None = None
        """Where a peer without a connection listens (its registered Contact)."""
        self._aliases: dict[Peer, Peer] = {}  # peer named -> connection opened for it
        self._connecting: dict[tuple[str, int], list[tuple[bytes, SendFailure | None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._admission = Admission(self.limits)
        self._refusals = RefusalLog(self.limits.refusal_log_interval)
        self._server: asyncio.Server | None = None

    @property
    def max_unread(self) -> int:
        """Bytes written to a peer and left unread before it is closed."""
        return _UNREAD_FACTOR * (self.limits.max_head_size + self.limits.max_body_size)

    def protocol(self) -> _Connection:
        return _Connection(self)

    def admit(self, peer: Peer) -> bool:
        """Count a new connection from ``peer``; False: over a cap, close it."""
        refusal = self._admission.admit(peer.host)
        if refusal is None:
            return True
        now = asyncio.get_running_loop().time()
        refused = self._refusals.refused(peer.host, now)
        if refused is not None:
            log.warning(
                "tcp connection refused",
                address=peer.host,
                reason=refusal.value,
                refused=refused,
                open=self._admission.total,
            )
        return False

    def release(self, peer: Peer) -> None:
        """An admitted connection from ``peer`` closed."""
        self._admission.release(peer.host)

    @property
    def local_address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return (str(host), int(port))

    def send(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        connection = self.connections.get(peer)
        if connection is None and peer in self._aliases:
            connection = self.connections.get(self._aliases[peer])
        if connection is not None:
            connection.write(data)
            return True
        if self._server is None:
            return False
        target = (self.reconnect_target(peer) if self.reconnect_target else None) or peer.address
        existing = self.connections.get(Peer(TransportKind.TCP, *target))
        if existing is not None and existing.peer is not None:
            self._alias(peer, existing.peer)  # reuse before connecting
            existing.write(data)
            return True
        waiting = self._connecting.get(target)
        if waiting is None:
            waiting = self._connecting[target] = []
            task = asyncio.get_running_loop().create_task(self._connect(target, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        waiting.append((data, on_failure))
        return True

    async def _connect(self, target: tuple[str, int], peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                _, connection = await loop.create_connection(self.protocol, *target)
        except (OSError, TimeoutError) as exc:
            log.info("tcp connect failed", peer=f"{target[0]}:{target[1]}", error=str(exc))
        waiting = self._connecting.pop(target, [])
        if connection is None or connection.peer is None:
            for _, on_failure in waiting:
                if on_failure is not None:
                    on_failure()
            return
        self._alias(peer, connection.peer)
        for data, _ in waiting:
            connection.write(data)

    def _alias(self, peer: Peer, connected: Peer) -> None:
        if peer != connected:
            self._aliases[peer] = connected

    def forget_aliases(self, connected: Peer) -> None:
        """The connection to ``connected`` closed: peers it stood for have none."""
        for peer in [p for p, c in self._aliases.items() if c == connected]:
            del self._aliases[peer]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        for connection in list(self.connections.values()):
            connection.close()


async def open_tcp(
    host: str,
    port: int,
    receiver: Receiver,
    *,
    limits: TcpLimits | None = None,
    on_reject: RejectHandler | None = None,
) -> TcpTransport:
    """Listen for SIP over TCP on ``host:port``.

    Args:
        host: the address to bind.
        port: the port (0: one the system picks).
        receiver: called with each framed message and its peer.
        limits: the connection caps, timeouts and sizes (defaults: :class:`TcpLimits`).
        on_reject: answers the request a broken stream stopped in (413, 513).

    Returns:
        The listening transport.
    """
    transport = TcpTransport(receiver, limits, on_reject)
    loop = asyncio.get_running_loop()
    transport._server = await loop.create_server(transport.protocol, host, port)
    return transport
