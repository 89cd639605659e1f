"""The SIP server: transports in, the pure transaction layer, handlers out.

Theory of operation. Transports hand over raw bytes with the peer they came
from and how long they waited in the transport's queue. Before parsing, a
cheap scan (:func:`~centralino.sip.prescan.prescan`) finds a request's
transaction key: a retransmission of a request a live transaction has is
absorbed there (its last response resent) without a parse; a new request
that starts work (INVITE, REGISTER... outside a dialog) while the queue
delay is past the overload bound is refused at once with a stateless 503
and ``Retry-After`` (:mod:`centralino.sip.overload`). Everything else is
parsed (a malformed request is answered 400 statelessly when a Via routes
it back, otherwise dropped; nothing else is disturbed), its top Via stamped
with ``received``/``rport`` (RFC 3581, so answers find phones behind NAT),
and fed to the transaction layer. Then the server *drains*: events go to
the request handler registered for the method (or to the callback of the
client transaction a response belongs to), outgoing messages go to the
right transport, and one asyncio timer is re-armed for the layer's next
deadline. There is one drain at a time: a handler that responds or sends
during the drain only feeds the layer, and the running drain sends it (it
loops until the layer has neither events nor messages).

One clock (``clock``, ``time.monotonic`` by default) times the transaction
layer; queue delays arrive as durations measured by the transport.

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

from centralino.net.tcp import TcpTransport
from centralino.net.transport import Peer, SendFailure, Transport, TransportKind
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
from centralino.sip.message import (
    Request,
    Response,
    make_error_response,
    make_response,
    parse_message,
)
from centralino.sip.overload import Admission, OverloadSettings, SipCounters
from centralino.sip.prescan import Scan, prescan, stateless_response
from centralino.sip.transaction_layer import TransactionLayer

__all__ = [
    "ClientOutcome",
    "IncomingRequest",
    "RequestHandler",
    "ResponseCallback",
    "SipServer",
    "StatelessHandler",
    "new_branch",
    "new_tag",
]

log = structlog.get_logger("centralino.sip")

RequestHandler = Callable[["IncomingRequest"], Awaitable[None] | None]
StatelessHandler = Callable[[Scan, bytes, Peer], bytes | None]
"""Answers a request from its raw bytes, without a transaction; None: not this one."""

_TAG_FIELDS = ("via", "from", "call-id", "cseq")
"""What identifies a request and its retransmissions (RFC 3261 §17.2.3)."""
_MAX_CONTACTS = 100_000
"""Registered TCP contacts remembered at most (addresses come from the network)."""


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
        overload: OverloadSettings | None = None,
    ) -> None:
        self._layer = layer if layer is not None else TransactionLayer()
        self._overload = overload if overload is not None else OverloadSettings()
        self._admission = Admission(self._overload)
        self._refusal_headers = (("Retry-After", str(self._overload.retry_after)),)
        self.counters = SipCounters()
        """Messages received, absorbed, refused; queue delays."""
        self._draining = False
        self._contacts: dict[Peer, tuple[str, int]] = {}
        self._clock = clock
        self.advertised_host = advertised_host
        """The host the PBX names itself by on the LAN (and when the peer is unknown)."""
        self._public_host = public_host
        self._transports: dict[TransportKind, Transport] = {}
        self._handlers: dict[str, RequestHandler] = {}
        self._stateless: dict[str, StatelessHandler] = {}
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
        if isinstance(transport, TcpTransport):
            transport.reconnect_target = self._contacts.get

    def remember_contact(self, peer: Peer, address: tuple[str, int]) -> None:
        """Where the phone at ``peer`` listens (its registered Contact's host and port).

        Requests to a phone registered over TCP whose connection is gone go
        to a new connection to this address.
        """
        contacts = self._contacts
        if contacts.get(peer) == address:
            return
        if len(contacts) >= _MAX_CONTACTS:
            contacts.clear()
        contacts[peer] = address

    def stats(self) -> dict[str, int | float]:
        """The counters (:class:`~centralino.sip.overload.SipCounters`) and live transactions."""
        snapshot = self.counters.snapshot()
        dropped = getattr(self._transports.get(TransportKind.UDP), "dropped", 0)
        snapshot["dropped"] = int(snapshot["dropped"]) + int(dropped)
        snapshot["transactions"] = len(self._layer)
        return snapshot

    def route(self, method: str, handler: RequestHandler) -> None:
        """Send requests of ``method`` to ``handler``."""
        self._handlers[method.upper()] = handler

    def route_stateless(self, method: str, handler: StatelessHandler | None) -> None:
        """Let ``handler`` answer requests of ``method`` statelessly, before any parse.

        It gets the pre-scan, the raw bytes and the peer of each new request
        (not of retransmissions a transaction absorbs, nor of requests
        refused for overload) and returns the response bytes to send, or
        None to let the request take the full path (parse, transaction,
        :meth:`route` handler). Kamailio's ``sl`` does this for challenges: a
        401 needs no transaction (the nonce vouches for itself), and
        skipping one halves the work of an authenticated registration.
        None takes the method's handler away.
        """
        if handler is None:
            self._stateless.pop(method.upper(), None)
        else:
            self._stateless[method.upper()] = handler

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

    def receive(self, data: bytes, peer: Peer, queued: float = 0.0) -> None:
        """Feed one datagram or framed message from ``peer``.

        Args:
            data: the message as received.
            peer: where it came from.
            queued: seconds it waited in the transport's queue.
        """
        counters = self.counters
        counters.received += 1
        counters.observe_delay(queued)
        now = self._clock()
        self._admission.observe(queued, now)
        if len(data) < 8 and not data.strip():
            return  # keep-alive CRLFs on UDP (RFC 5626 §4.4.1)
        scan = prescan(data)
        if scan is not None and self._answered_early(scan, data, peer, queued, now):
            return
        self._parse_and_feed(data, peer, queued, now, scan=scan)

    def _answered_early(
        self, scan: Scan, data: bytes, peer: Peer, queued: float, now: float
    ) -> bool:
        """Absorb a retransmission, refuse for overload, or answer statelessly: True if done."""
        if scan.method == Method.ACK:
            if scan.stateless_dialog:  # the ACK of a stateless 503 (or 4xx): nothing to do
                self.counters.retransmissions_absorbed += 1
                return True
        elif self._layer.absorb_retransmission(scan.key, now):
            self.counters.retransmissions_absorbed += 1
            self._drain(peer)
            return True
        if not self._admission.admits(
            scan.method,
            queued,
            in_dialog=scan.in_dialog,
            credentials=scan.credentials,
            identity=scan.key.branch,
        ):
            self._refuse(data, peer, scan)
            return True
        stateless = self._stateless.get(scan.method)
        if stateless is not None and (answer := stateless(scan, data, peer)) is not None:
            self._send_bytes(answer, peer)
            return True
        return False

    def _parse_and_feed(
        self, data: bytes, peer: Peer, queued: float, now: float, *, scan: Scan | None
    ) -> None:
        """The full path: parse (400 when broken), stamp the Via, feed the layer, drain."""
        try:
            message = parse_message(data)
        except PeerError as exc:
            self.reject(exc, peer)
            return
        except SipError:
            return
        key = None
        if isinstance(message, Request):
            if scan is None and not self._admits_parsed(message, queued):
                self._refuse(data, peer)
                return
            message = _stamp_via(message, peer)
            key = None if scan is None else scan.key  # the pre-scan's equals server_key's
        self._layer.receive_message(
            message, now, source=peer.address, reliable=peer.kind.reliable, key=key
        )
        self._drain(peer)

    def _admits_parsed(self, request: Request, queued: float) -> bool:
        """Overload admission of a request the pre-scan left to the parser."""
        if queued <= self._overload.bound:
            return True
        headers = request.headers
        return self._admission.admits(
            request.method,
            queued,
            in_dialog=headers.to_address().tag is not None,
            credentials="authorization" in headers or "proxy-authorization" in headers,
            identity=headers.top_via().branch or "",
        )

    def _refuse(self, data: bytes, peer: Peer, scan: Scan | None = None) -> None:
        """Answer a new request 503 at once, statelessly: the server is overloaded."""
        response = stateless_response(
            data,
            StatusCode.SERVICE_UNAVAILABLE,
            "Service Unavailable",
            headers=self._refusal_headers,
            scan=scan,
        )
        self.counters.rejected_overload += 1
        if response is not None:
            self._send_bytes(response, peer)

    def reject(self, error: PeerError, peer: Peer) -> None:
        """Answer the broken request ``error`` carries, statelessly, when it can be.

        RFC 3261 §8.1.1 / §18.3: a request missing a mandatory field, or a
        datagram shorter than its Content-Length, is answered (400) whenever
        a Via routes the response back; only then is it silently dropped.
        """
        broken = error.message
        if isinstance(broken, Request) and broken.method != Method.ACK:
            try:
                tag = self.tag_for(broken)
                response = make_error_response(
                    broken, error.status, error.response_reason, to_tag=tag
                )
            except SipError:
                response = None
            if response is not None:
                self.counters.bad_requests += 1
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
        if self._draining:
            return  # a handler answered during the drain: the running one sends it
        self._draining = True
        finished: list[TransactionKey] = []
        try:
            while self._drain_once(peer, finished):
                pass
        finally:
            self._draining = False
        for key in finished:
            self._callbacks.pop(key, None)
            self._peers.pop(key, None)
        self._arm_timer()

    def _drain_once(self, peer: Peer | None, finished: list[TransactionKey]) -> bool:
        """Handle the layer's events, then send its messages; False: nothing was left."""
        layer = self._layer
        worked = False
        while (event := layer.next_event()) is not None:
            worked = True
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
        for outgoing in layer.messages_to_send():
            worked = True
            key = outgoing.transaction
            target = self._peers.get(key) if key is not None else None
            if target is None and outgoing.destination is not None:
                kind = peer.kind if peer is not None else TransportKind.UDP
                target = Peer(kind, outgoing.destination[0], outgoing.destination[1])
            on_failure = None
            if key is not None and target is not None and target.kind.reliable:
                on_failure = self._failure_of(key)  # a connection may have to be opened
            sent = target is not None and self._send_bytes(
                bytes(outgoing.message), target, on_failure
            )
            if not sent and key is not None:
                layer.transport_error(key, self._clock())
        return worked

    def _failure_of(self, key: TransactionKey) -> SendFailure:
        """What to do when a message of ``key`` accepted by a transport is lost after all."""

        def failed() -> None:
            self._layer.transport_error(key, self._clock())
            self._drain()

        return failed

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

    def _send_bytes(self, data: bytes, peer: Peer, on_failure: SendFailure | None = None) -> bool:
        transport = self._transports.get(peer.kind)
        if transport is None:
            return False
        if on_failure is None:
            return transport.send(data, peer)
        return transport.send(data, peer, on_failure)

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
    if "via" not in request.headers:
        return request
    top = request.headers.top_via()
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
