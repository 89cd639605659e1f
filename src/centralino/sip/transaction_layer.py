"""The transaction layer: matches messages to transactions (RFC 3261 §17).

Theory of operation
-------------------
:class:`TransactionLayer` owns every live :class:`Transaction` and follows
the DESIGN §4 calling convention: feed it parsed messages with
:meth:`~TransactionLayer.receive_message`, give it commands
(:meth:`~TransactionLayer.send_request`, :meth:`~TransactionLayer.respond`),
call :meth:`~TransactionLayer.handle_timer` at :meth:`~TransactionLayer.get_timer`,
and drain :meth:`~TransactionLayer.next_event` and
:meth:`~TransactionLayer.messages_to_send` after each call.

Matching:

* a response goes to the client transaction with the same top-Via branch
  and CSeq method (§17.1.3); with no match it is reported as a stray
  :class:`ResponseReceived` with ``transaction=None``;
* a request goes to the server transaction with the same branch, sent-by
  and method, where ACK counts as INVITE (§17.2.3), so the ACK of a non-2xx
  reaches its INVITE transaction and retransmissions are absorbed there;
  CANCEL has its own transaction (its method differs) and
  :meth:`~TransactionLayer.find_invite` finds the INVITE it cancels (§9.2);
* a branch without the ``z9hG4bK`` cookie comes from an RFC 2543 element;
  it is matched on Call-ID, From tag, CSeq number and top Via instead (a
  simplification of §17.2.3's RFC 2543 rules that ignores the To tag);
* an ACK that matches nothing is the ACK of a 2xx: it belongs to the
  dialog and is reported with ``transaction=None`` (§13.3.1.4, §17.1.1.3).

Timers: a busy registrar keeps ~100,000 transactions alive (Timer J holds
each UDP non-INVITE server transaction 32 s), so deadlines live in a heap of
``(deadline, sequence, key)``. After every step of a transaction its next
deadline is compared with the one scheduled; a change pushes a new entry and
the old one is skipped when it reaches the top (lazy invalidation). Both
:meth:`~TransactionLayer.get_timer` and :meth:`~TransactionLayer.handle_timer`
are O(log n) per due or stale entry; the heap is rebuilt when stale entries
outnumber live ones.
"""

from __future__ import annotations

import heapq
import itertools

from .codes import Method, StatusCode
from .errors import LocalProtocolError, SipParseError
from .events import (
    Address,
    OutgoingMessage,
    RequestReceived,
    ResponseReceived,
    TransactionEvent,
    TransactionKey,
)
from .message import Request, Response, make_response
from .transaction import TimerSettings, Transaction
from .transaction_tables import TransactionKind

__all__ = ["TransactionLayer", "client_key", "server_key"]


def client_key(message: Request | Response) -> TransactionKey:
    """Return the client-transaction key of a request we send or its response.

    Raises:
        SipParseError: no Via or no CSeq.
    """
    branch = message.headers.top_via().branch
    if not branch:
        raise SipParseError("client transactions need a Via branch")
    return TransactionKey(branch=branch, method=message.headers.cseq().method)


def server_key(request: Request) -> TransactionKey:
    """Return the server-transaction key of a received request (§17.2.3).

    Raises:
        SipParseError: the request has no Via.
    """
    headers = request.headers
    top = headers.top_via()
    method = Method.INVITE if request.method == Method.ACK else request.method
    if top.is_rfc3261_branch and top.branch != "z9hG4bK":
        return TransactionKey(
            branch=top.branch or "", method=method, sent_by=top.sent_by, server=True
        )
    # RFC 2543 peer: no unique branch, so build one from the dialog fields.
    legacy = "|".join(
        (headers.call_id(), headers.from_address().tag or "", str(headers.cseq().number), str(top))
    )
    return TransactionKey(branch=legacy, method=method, sent_by=top.sent_by, server=True)


class TransactionLayer:
    """All transactions of one SIP element, with matching and dispatch."""

    def __init__(self, settings: TimerSettings | None = None, *, send_trying: bool = True) -> None:
        """Create an empty layer.

        Args:
            settings: timer values (T1, T2, T4, D); RFC defaults when None.
            send_trying: answer each new INVITE with 100 Trying at once
                (RFC 3261 §17.2.1 lets the transaction do it for the TU).
        """
        self._settings = settings or TimerSettings()
        self._send_trying = send_trying
        self._transactions: dict[TransactionKey, Transaction] = {}
        self._events: list[TransactionEvent] = []
        self._outgoing: list[OutgoingMessage] = []
        self._heap: list[tuple[float, int, TransactionKey]] = []
        self._scheduled: dict[TransactionKey, float] = {}
        self._sequence = itertools.count()

    # Inputs ---------------------------------------------------------------

    def receive_message(
        self,
        message: Request | Response,
        now: float,
        *,
        source: Address | None = None,
        reliable: bool = False,
        key: TransactionKey | None = None,
    ) -> None:
        """Feed a parsed message from the transport.

        Args:
            message: the validated message.
            now: the current time, seconds.
            source: the peer address (responses to a new request go there).
            reliable: whether it came over a reliable transport.
            key: a request's :func:`server_key`, when the caller already has
                it (the pre-scan found it in the raw bytes); worked out here
                when None.
        """
        if isinstance(message, Response):
            self._receive_response(message, now)
        else:
            self._receive_request(message, now, source, reliable, key)

    def send_request(
        self,
        request: Request,
        now: float,
        *,
        destination: Address | None = None,
        reliable: bool = False,
    ) -> TransactionKey:
        """Start a client transaction and send ``request``.

        Args:
            request: the request, whose top Via carries a fresh branch.
            now: the current time, seconds.
            destination: the next hop.
            reliable: whether that hop is over a reliable transport.

        Returns:
            The key that events about this transaction will carry.

        Raises:
            LocalProtocolError: an ACK (never a transaction) or a reused branch.
        """
        if request.method == Method.ACK:
            raise LocalProtocolError("ACK is not sent in a transaction; use send_stateless")
        key = client_key(request)
        if key in self._transactions:
            raise LocalProtocolError(f"branch {key.branch} already used")
        kind = (
            TransactionKind.INVITE_CLIENT
            if request.method == Method.INVITE
            else TransactionKind.NON_INVITE_CLIENT
        )
        self._start(kind, key, request, now, reliable, destination)
        return key

    def send_stateless(self, message: Request | Response, *, destination: Address | None) -> None:
        """Queue a message outside any transaction (ACK for 2xx, stateless replies)."""
        self._outgoing.append(OutgoingMessage(message=message, destination=destination))

    def respond(self, key: TransactionKey, response: Response, now: float) -> None:
        """Send ``response`` through the server transaction ``key``.

        Raises:
            LocalProtocolError: unknown transaction, or its state forbids it.
        """
        transaction = self._transactions.get(key)
        if transaction is None:
            raise LocalProtocolError(f"no transaction {key}")
        transaction.respond(response, now)
        self._collect(transaction)

    def absorb_retransmission(self, key: TransactionKey, now: float) -> bool:
        """Let server transaction ``key`` take a retransmitted request unparsed.

        Used with :func:`~centralino.sip.prescan.prescan`, which finds the
        key in the raw bytes: a retransmission costs a dictionary look-up
        and, when the transaction has answered, a resend of its last
        response (§17.2.1, §17.2.2). ACKs are not absorbed (they change the
        state of an INVITE transaction and may go to the user).

        Returns:
            True when absorbed; False when no live transaction has the key
            (a new request) or it needs the parsed request: parse in full.
        """
        transaction = self._transactions.get(key)
        if transaction is None or not transaction.absorb_retransmission(now):
            return False
        self._collect(transaction)
        return True

    def transport_error(self, key: TransactionKey, now: float) -> None:
        """Tell transaction ``key`` that the transport failed to send."""
        transaction = self._transactions.get(key)
        if transaction is not None:
            transaction.transport_failed(now)
            self._collect(transaction)

    def handle_timer(self, now: float) -> None:
        """Fire every due timer of every transaction."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, key = heapq.heappop(heap)
            if self._scheduled.get(key) != deadline:
                continue  # superseded by a later schedule, or finished
            del self._scheduled[key]
            transaction = self._transactions.get(key)
            if transaction is not None:
                transaction.handle_timer(now)
                self._collect(transaction)

    # Outputs --------------------------------------------------------------

    def get_timer(self) -> float | None:
        """Return the earliest deadline of all transactions, or None."""
        heap = self._heap
        while heap and self._scheduled.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def next_event(self) -> TransactionEvent | None:
        """Return the next event for the transaction user, or None."""
        return self._events.pop(0) if self._events else None

    def messages_to_send(self) -> list[OutgoingMessage]:
        """Return (and forget) the messages to hand to the transport."""
        out, self._outgoing = self._outgoing, []
        return out

    def get(self, key: TransactionKey) -> Transaction | None:
        """Return the live transaction ``key``, if any."""
        return self._transactions.get(key)

    def find_invite(self, cancel: Request) -> TransactionKey | None:
        """Return the INVITE server transaction a CANCEL targets (§9.2), if live."""
        key = server_key(cancel)
        invite = TransactionKey(
            branch=key.branch, method=Method.INVITE, sent_by=key.sent_by, server=True
        )
        return invite if invite in self._transactions else None

    def __len__(self) -> int:
        return len(self._transactions)

    # Internals ------------------------------------------------------------

    def _receive_response(self, response: Response, now: float) -> None:
        transaction = self._transactions.get(client_key(response))
        if transaction is None:
            self._events.append(ResponseReceived(transaction=None, response=response))
            return
        transaction.receive_response(response, now)
        self._collect(transaction)

    def _receive_request(
        self,
        request: Request,
        now: float,
        source: Address | None,
        reliable: bool,
        key: TransactionKey | None,
    ) -> None:
        if key is None:
            key = server_key(request)
        transaction = self._transactions.get(key)
        if transaction is not None:
            transaction.receive_request(request, now)
            self._collect(transaction)
        elif request.method == Method.ACK:
            self._events.append(RequestReceived(transaction=None, request=request, source=source))
        else:
            self._open_server(key, request, now, source, reliable)

    def _open_server(
        self,
        key: TransactionKey,
        request: Request,
        now: float,
        source: Address | None,
        reliable: bool,
    ) -> None:
        is_invite = request.method == Method.INVITE
        kind = TransactionKind.INVITE_SERVER if is_invite else TransactionKind.NON_INVITE_SERVER
        transaction = self._start(kind, key, request, now, reliable, source)
        self._events.append(RequestReceived(transaction=key, request=request, source=source))
        if is_invite and self._send_trying:
            transaction.respond(make_response(request, StatusCode.TRYING), now)
            self._collect(transaction)

    def _start(
        self,
        kind: TransactionKind,
        key: TransactionKey,
        request: Request,
        now: float,
        reliable: bool,
        destination: Address | None,
    ) -> Transaction:
        transaction = Transaction(
            kind=kind,
            key=key,
            request=request,
            now=now,
            reliable=reliable,
            settings=self._settings,
            destination=destination,
        )
        self._transactions[key] = transaction
        self._collect(transaction)
        return transaction

    def _collect(self, transaction: Transaction) -> None:
        self._outgoing += transaction.messages_to_send()
        while (event := transaction.next_event()) is not None:
            self._events.append(event)
        key = transaction.key
        if transaction.terminated:
            self._transactions.pop(key, None)
            self._scheduled.pop(key, None)
            return
        self._schedule(key, transaction.get_timer())

    def _schedule(self, key: TransactionKey, deadline: float | None) -> None:
        if deadline is None:
            self._scheduled.pop(key, None)
            return
        if self._scheduled.get(key) == deadline:
            return
        self._scheduled[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._sequence), key))
        if len(self._heap) > 2 * len(self._scheduled) + 64:
            self._heap = [(d, next(self._sequence), k) for k, d in self._scheduled.items()]
            heapq.heapify(self._heap)
