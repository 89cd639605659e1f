"""The SIP server: transports in, the pure transaction layer, handlers out.

Theory of operation. Transports hand over raw bytes with the peer they came
from. The server parses them (a malformed request is answered 400 statelessly
when it can be, otherwise dropped; nothing else is disturbed), stamps
``received``/``rport`` on the top Via of requests (RFC 3581, so answers find
phones behind NAT), and feeds the transaction layer. Then it *drains*: events
go to the request handler registered for the method (or to the callback of the
client transaction a response belongs to), outgoing messages go to the right
transport, and one asyncio timer is re-armed for the layer's next deadline.

Handlers are plain callables taking an ``IncomingRequest``; a handler that
returns a coroutine is run as a task. They answer with
``IncomingRequest.respond`` and send requests with ``SipServer.send_request``,
passing a callback that receives each response (or a timeout).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog

from centralino.net.transport import Peer, Transport, TransportKind
from centralino.sip.codes import Method, StatusCode
from centralino.sip.errors import LocalProtocolError, PeerError, SipError
from centralino.sip.events import (
    RequestReceived,
    ResponseReceived,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TransportError,
)
from centralino.sip.message import Request, Response, make_response, parse_message
from centralino.sip.transaction_layer import TransactionLayer

__all__ = [
    "ClientOutcome",
    "IncomingRequest",
    "RequestHandler",
    "ResponseCallback",
    "SipServer",
    "new_branch",
    "new_tag",
]

log = structlog.get_logger("centralino.sip")

RequestHandler = Callable[["IncomingRequest"], Awaitable[None] | None]

_TAG_FIELDS = ("via", "from", "call-id", "cseq")
"""What identifies a request and its retransmissions (RFC 3261 §17.2.3)."""


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie + random)."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    """A fresh From/To tag."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientOutcome:
    """What became of a client transaction: a response, or a failure."""

    response: Response | None = None
    timed_out: bool = False
    transport_failed: bool = False


ResponseCallback = Callable[[ClientOutcome], None]


@dataclass(slots=True, kw_only=True)
class IncomingRequest:
    """A request waiting for its answer, with the way to send it."""

    request: Request
    peer: Peer
    transaction: TransactionKey | None
    server: SipServer
    answered: bool = field(default=False)

    def respond(
        self,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Response:
        """Answer the request through its server transaction.

        Out of a dialog (no To-tag in the request), every response but 100
        carries a To-tag (RFC 3261 §8.2.6.2): ``to_tag``, else one derived
        from the request, the same for each of its retransmissions.

        Returns:
            The response sent.
        """
        if to_tag is None and status > StatusCode.TRYING:
            to_tag = self.server.tag_for(self.request)
        response = make_response(
            self.request, status, reason, to_tag=to_tag, extra_headers=tuple(headers), body=body
        )
        self.send_response(response)
        return response

    def send_response(self, response: Response) -> None:
        """Send a ready-made response through the server transaction."""
        if self.transaction is None:
            raise LocalProtocolError("an ACK is never answered")
        if response.status >= StatusCode.OK:
            self.answered = True
        self.server.respond(self.transaction, response)


class SipServer:
    """Owns the transaction layer, the transports and the handler table."""

    def __init__(
        self,
        *,
        layer: TransactionLayer | None = None,
        clock: Callable[[], float] = time.monotonic,
        advertised_host: str = "127.0.0.1",
        public_host: Callable[[str], str | None] | None = None,
    ) -> None:
        self._layer = layer if layer is not None else TransactionLayer()
        self._clock = clock
        self.advertised_host = advertised_host
        """The host the PBX names itself by on the LAN (and when the peer is unknown)."""
        self._public_host = public_host
        self._transports: dict[TransportKind, Transport] = {}
        self._handlers: dict[str, RequestHandler] = {}
        self._callbacks: dict[TransactionKey, ResponseCallback] = {}
        self._peers: dict[TransactionKey, Peer] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tag_key = secrets.token_bytes(16)
        self.fallback: RequestHandler = _not_implemented

    # Wiring ---------------------------------------------------------------

    def add_transport(self, transport: Transport) -> None:
        """Use ``transport`` for its kind of peer."""
        self._transports[transport.kind] = transport

    def route(self, method: str, handler: RequestHandler) -> None:
        """Send requests of ``method`` to ``handler``."""
        self._handlers[method.upper()] = handler

    def local_port(self, kind: TransportKind = TransportKind.UDP) -> int:
        """The port a transport listens on."""
        return self._transports[kind].local_address[1]

    def advertised_host_for(self, address: str | None) -> str:
        """The host the PBX names itself by (Via, Contact, SDP) to the peer at ``address``.

        Args:
            address: the peer's IP address; None when no peer is known yet.

        Returns:
            The public host for a peer outside the local networks when the
            system setting ``network.public_host`` is set (the ``public_host``
            callable says so), else :attr:`advertised_host`.
        """
        public = None
        if address is not None and self._public_host is not None:
            public = self._public_host(address)
        return public or self.advertised_host

    def tag_for(self, request: Request) -> str:
        """The To-tag this server answers ``request`` with out of a dialog.

        Derived from the request's identity (top Via, From, Call-ID, CSeq)
        with a key of this process, so a retransmission of the request gets
        the same tag, even answered statelessly (RFC 3261 §8.2.7).
        """
        fields = (request.headers.get(name) or "" for name in _TAG_FIELDS)
        identity = "\n".join(fields).encode("utf-8", "surrogateescape")
        return hashlib.blake2s(identity, key=self._tag_key, digest_size=6).hexdigest()

    def via(self, kind: TransportKind, branch: str | None = None, *, to: str | None = None) -> str:
        """A Via value for a request this server originates (to the peer at ``to``)."""
        port = self.local_port(kind)
        sent_by = f"{self.advertised_host_for(to)}:{port}"
        return f"SIP/2.0/{kind.via_name} {sent_by};branch={branch or new_branch()};rport"

    def close(self) -> None:
        """Stop timers, tasks and transports."""
        if self._timer is not None:
            self._timer.cancel()
        for task in self._tasks:
            task.cancel()
        for transport in self._transports.values():
            transport.close()

    # Transport input --------------------------------------------------------

    def receive(self, data: bytes, peer: Peer) -> None:
        """Feed one datagram or framed message from ``peer``."""
        if not data.strip():
            return  # keep-alive CRLFs on UDP (RFC 5626 §4.4.1)
        try:
            message = parse_message(data)
        except PeerError as exc:
            self.reject(exc, peer)
            return
        except SipError:
            return
        if isinstance(message, Request):
            message = _stamp_via(message, peer)
        now = self._clock()
        self._layer.receive_message(message, now, source=peer.address, reliable=peer.kind.reliable)
        self._drain(peer)

    def reject(self, error: PeerError, peer: Peer) -> None:
        """Answer the broken request ``error`` carries, statelessly, when it can be."""
        broken = error.message
        if isinstance(broken, Request) and broken.method != Method.ACK:
            try:
                tag = self.tag_for(broken)
                response = make_response(broken, error.status, error.response_reason, to_tag=tag)
            except SipError:
                return
            self._send_bytes(bytes(response), peer)
        log.debug("malformed SIP message", peer=peer.address, reason=error.reason)

    # Commands from handlers --------------------------------------------------

    def respond(self, key: TransactionKey, response: Response) -> None:
        """Send ``response`` on server transaction ``key`` (gone: ignored)."""
        try:
            self._layer.respond(key, response, self._clock())
        except LocalProtocolError:
            log.debug("response for a finished transaction dropped", key=key)
            return
        self._drain()

    def send_request(
        self, request: Request, peer: Peer, on_outcome: ResponseCallback | None = None
    ) -> TransactionKey:
        """Start a client transaction towards ``peer``.

        Args:
            request: the request; its top Via must carry a fresh branch.
            peer: where to send it.
            on_outcome: called with every response, and once on timeout.

        Returns:
            The transaction key.
        """
        key = self._layer.send_request(
            request, self._clock(), destination=peer.address, reliable=peer.kind.reliable
        )
        self._peers[key] = peer
        if on_outcome is not None:
            self._callbacks[key] = on_outcome
        self._drain()
        return key

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        """Send outside any transaction (the ACK of a 2xx, a 2xx retransmission)."""
        self._send_bytes(bytes(message), peer)

    # The drain loop ------------------------------------------------------------

    def _drain(self, peer: Peer | None = None) -> None:
        finished: list[TransactionKey] = []
        while (event := self._layer.next_event()) is not None:
            match event:
                case RequestReceived():
                    self._dispatch(event, peer)
                case ResponseReceived(transaction=key) if key is not None:
                    self._notify(key, ClientOutcome(response=event.response))
                case TransactionTimedOut(transaction=key):
                    self._notify(key, ClientOutcome(timed_out=True), final=True)
                case TransportError(transaction=key):
                    self._notify(key, ClientOutcome(transport_failed=True), final=True)
                case TransactionTerminated(transaction=key):
                    finished.append(key)  # its last messages still need its peer
                case _:
                    pass
        for outgoing in self._layer.messages_to_send():
            target = self._peers.get(outgoing.transaction) if outgoing.transaction else None
            if target is None and outgoing.destination is not None:
                kind = peer.kind if peer is not None else TransportKind.UDP
                target = Peer(kind, outgoing.destination[0], outgoing.destination[1])
            sent = target is not None and self._send_bytes(bytes(outgoing.message), target)
            if not sent and outgoing.transaction is not None:
                self._layer.transport_error(outgoing.transaction, self._clock())
        for key in finished:
            self._callbacks.pop(key, None)
            self._peers.pop(key, None)
        self._arm_timer()

    def _dispatch(self, event: RequestReceived, peer: Peer | None) -> None:
        source = peer or Peer(TransportKind.UDP, *(event.source or ("0.0.0.0", 0)))
        if event.transaction is not None:
            self._peers[event.transaction] = source
        incoming = IncomingRequest(
            request=event.request, peer=source, transaction=event.transaction, server=self
        )
        handler = self._handlers.get(event.request.method.upper(), self.fallback)
        try:
            result = handler(incoming)
        except Exception:
            log.exception("request handler failed", method=event.request.method)
            self._fail(incoming)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(self._guard(result, incoming))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _guard(self, result: Awaitable[None], incoming: IncomingRequest) -> None:
        try:
            await result
        except Exception:
            log.exception("request handler failed", method=incoming.request.method)
            self._fail(incoming)

    def _fail(self, incoming: IncomingRequest) -> None:
        if incoming.transaction is not None and not incoming.answered:
            incoming.respond(StatusCode.SERVER_INTERNAL_ERROR)

    def _notify(self, key: TransactionKey, outcome: ClientOutcome, *, final: bool = False) -> None:
        callback = self._callbacks.get(key)
        if outcome.response is not None and outcome.response.status >= StatusCode.OK:
            final = final or key.method != Method.INVITE
        if final:
            self._callbacks.pop(key, None)
        if callback is not None:
            try:
                callback(outcome)
            except Exception:
                log.exception("response callback failed", key=key)

    def _send_bytes(self, data: bytes, peer: Peer) -> bool:
        transport = self._transports.get(peer.kind)
        return transport is not None and transport.send(data, peer)

    def _arm_timer(self) -> None:
        deadline = self._layer.get_timer()
        if deadline == self._timer_deadline:
            return  # already armed for it (uvloop's handles have no when())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = deadline
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(self._loop_time(deadline), self._on_timer)

    def _loop_time(self, deadline: float) -> float:
        loop = asyncio.get_running_loop()
        return loop.time() + max(0.0, deadline - self._clock())

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_deadline = None
        self._layer.handle_timer(self._clock())
        self._drain()


def _stamp_via(request: Request, peer: Peer) -> Request:
    """Record where the request really came from (RFC 3261 §18.2.1, RFC 3581)."""
    vias = request.headers.vias()
    if not vias:
        return request
    top = vias[0]
    stamps = [("received", peer.host)]
    if top.wants_rport:
        stamps.append(("rport", str(peer.port)))
    return Request(
        method=request.method,
        uri=request.uri,
        headers=request.headers.with_top_via(top.with_parameters(stamps)),
        body=request.body,
        version=request.version,
    )


def _not_implemented(incoming: IncomingRequest) -> None:
    if incoming.transaction is not None:
        incoming.respond(StatusCode.NOT_IMPLEMENTED)
