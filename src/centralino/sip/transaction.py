"""The four RFC 3261 §17 transaction state machines, as transition tables.

Theory of operation
-------------------
A transaction is one request and every response to it. Each kind (INVITE
client, non-INVITE client, INVITE server, non-INVITE server) is a table
``state -> input -> (next state, actions)``; one engine, :class:`Transaction`,
runs all four. Inputs are messages from the peer (a 1xx, 2xx or other final
response; a retransmitted request; an ACK), commands from the transaction
user (send a 1xx, 2xx or other final response) and timer expiries. The
tables follow the figures of RFC 3261 §17 (5, 6, 7 and 8) as corrected by
RFC 6026: a 2xx moves INVITE transactions to *Accepted* (timers L and M),
so 2xx retransmissions and stray ACKs reach the user instead of being
mistaken for new requests.

Timers are not set by transitions but by states: entering a state starts
the timers listed for it and stops the others (:data:`STATE_TIMERS`). The
durations depend on the transport: retransmission timers (A, E, G) run only
on unreliable transports, and the wait-for-retransmissions timers (D, I, J,
K) are zero on reliable ones, which then leave the state at once.

A peer input with no entry in the table is absorbed (a late retransmission
is normal); a command with no entry is a :class:`LocalProtocolError`.

Nothing here reads the clock: every input takes ``now`` and
:meth:`Transaction.get_timer` tells the caller when to call
:meth:`Transaction.handle_timer`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Method, StatusCode
from .errors import LocalProtocolError
from .events import (
    OutgoingMessage,
    RequestReceived,
    ResponseReceived,
    TimerName,
    TransactionEvent,
    TransactionKey,
    TransactionTerminated,
    TransactionTimedOut,
    TransportError,
)
from .headers import Headers
from .message import Request, Response
from .transaction_tables import (
    STATE_TIMERS,
    TABLES,
    Action,
    Input,
    TransactionKind,
    TransactionState,
)

__all__ = ["TimerSettings", "Transaction", "build_non_2xx_ack"]

_TIMER_INPUTS = {name: Input[f"TIMER_{name.value}"] for name in TimerName}
_RETRANSMIT_TIMERS = frozenset({TimerName.A, TimerName.E, TimerName.G})
_WAIT_TIMERS = frozenset({TimerName.D, TimerName.I, TimerName.K})
# Plain ints for the status tests run on every response (an IntEnum member
# is a class attribute look-up each time).
_OK = int(StatusCode.OK)
_MULTIPLE_CHOICES = int(StatusCode.MULTIPLE_CHOICES)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerSettings:
    """Timer values of RFC 3261 §17.1.1.1 / table 4, in seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_d: float = 32.0  # "at least 32 seconds" for unreliable transports

    def duration(self, timer: TimerName, *, reliable: bool) -> float | None:
        """Return the initial duration of ``timer``; None when it is not used.

        Args:
            timer: the timer.
            reliable: whether the transport is reliable (TCP, TLS, SCTP, WS).

        Returns:
            Seconds, 0 for "fire at once", None for "never start".
        """
        if timer in _RETRANSMIT_TIMERS:
            return None if reliable else self.t1
        if timer in _WAIT_TIMERS:
            wait = self.timer_d if timer is TimerName.D else self.t4
            return 0.0 if reliable else wait
        if timer is TimerName.J:
            return 0.0 if reliable else 64 * self.t1
        return 64 * self.t1  # B, F, H, L, M


class Transaction:
    """One transaction of any kind, driven by its table."""

    # Slots: a busy registrar holds ~100,000 of these (Timer J keeps each
    # completed UDP non-INVITE server transaction 32 s), and every object
    # and dict per transaction is scanned by the garbage collector.
    __slots__ = (
        "_ack",
        "_events",
        "_intervals",
        "_outgoing",
        "_settings",
        "_timers",
        "destination",
        "key",
        "kind",
        "last_response",
        "reliable",
        "request",
        "state",
    )

    def __init__(
        self,
        *,
        kind: TransactionKind,
        key: TransactionKey,
        request: Request,
        now: float,
        reliable: bool,
        settings: TimerSettings,
        destination: tuple[str, int] | None = None,
    ) -> None:
        """Start a transaction; a client one sends its request at once.

        Args:
            kind: which of the four machines to run.
            key: the matching key, reported in events.
            request: the request that opened the transaction.
            now: the current time, seconds.
            reliable: whether the transport is reliable.
            settings: timer values.
            destination: where messages go (next hop or request source).
        """
        self.kind = kind
        self.key = key
        # A server transaction never looks at its request again (the user got
        # it in RequestReceived; retransmissions are answered from
        # last_response), so only client transactions keep it, to resend it
        # and to build the ACK of a non-2xx. Holding the parsed request of
        # every completed server transaction for 32 s would be most of the
        # registrar's memory and garbage-collection work.
        is_client = kind in (TransactionKind.INVITE_CLIENT, TransactionKind.NON_INVITE_CLIENT)
        self.request: Request | None = request if is_client else None
        self.reliable = reliable
        self.destination = destination
        self.last_response: Response | None = None
        self._settings = settings
        self._ack: Request | None = None
        self._timers: dict[TimerName, float] = {}
        self._intervals: dict[TimerName, float] = {}
        # Created when something is queued and dropped once drained: an idle
        # transaction (most of them, waiting for Timer J) then holds no list.
        self._events: list[TransactionEvent] | None = None
        self._outgoing: list[OutgoingMessage] | None = None
        self.state = _INITIAL_STATE[kind]
        if is_client:
            self._send(request)
        self._enter(self.state, now)
        self._fire_due(now)

    # Inputs ---------------------------------------------------------------

    def receive_response(self, response: Response, now: float) -> None:
        """Feed a response matched to this client transaction."""
        self._apply(_response_input(response), now, response)

    def receive_request(self, request: Request, now: float) -> None:
        """Feed a retransmitted request or an ACK matched to this server transaction."""
        is_ack = request.method == Method.ACK
        self._apply(Input.RECEIVED_ACK if is_ack else Input.RECEIVED_REQUEST, now, request)

    def absorb_retransmission(self, now: float) -> bool:
        """Take a retransmission of the request without its parsed form.

        Returns:
            True when it was absorbed (its last response resent, or nothing to
            do); False when this state hands the request to the user, which
            then needs the parsed request (RFC 6026 states pass no
            retransmission up, so this is only for safety).
        """
        transition = TABLES[self.kind].get(self.state, {}).get(Input.RECEIVED_REQUEST)
        if transition is not None and Action.PASS_TO_USER in transition[1]:
            return False
        self._apply(Input.RECEIVED_REQUEST, now, None)
        return True

    def respond(self, response: Response, now: float) -> None:
        """Send a response through this server transaction.

        Raises:
            LocalProtocolError: not a server transaction, or the state forbids it.
        """
        self._apply(_send_input(response), now, response, command=True)

    def transport_failed(self, now: float) -> None:
        """Report that the transport failed to send this transaction's message."""
        self._apply(Input.TRANSPORT_ERROR, now, None)

    def handle_timer(self, now: float) -> None:
        """Fire every timer whose deadline is at or before ``now``."""
        self._fire_due(now)

    # Outputs --------------------------------------------------------------

    def get_timer(self) -> float | None:
        """Return the earliest timer deadline, or None."""
        return min(self._timers.values(), default=None)

    def next_event(self) -> TransactionEvent | None:
        """Return the next event for the transaction user, or None."""
        events = self._events
        if not events:
            return None
        event = events.pop(0)
        if not events:
            self._events = None
        return event

    def messages_to_send(self) -> list[OutgoingMessage]:
        """Return (and forget) the messages to hand to the transport."""
        out, self._outgoing = self._outgoing, None
        return out if out is not None else []

    @property
    def terminated(self) -> bool:
        """True once the transaction reached Terminated."""
        return self.state is TransactionState.TERMINATED

    # Engine ---------------------------------------------------------------

    def _apply(
        self, event: Input, now: float, message: Request | Response | None, *, command: bool = False
    ) -> None:
        transition = TABLES[self.kind].get(self.state, {}).get(event)
        if transition is None:
            if command:
                raise LocalProtocolError(
                    f"{event.name} not allowed in {self.kind.name} {self.state.name}"
                )
            return  # §17: late retransmissions and strays are absorbed
        target, actions = transition
        for action in actions:
            self._run(action, event, message, now)
        if target is not self.state:
            self._enter(target, now)
        self._fire_due(now)

    def _run(
        self, action: Action, event: Input, message: Request | Response | None, now: float
    ) -> None:
        timer = _timer_of(event)
        match action:
            case Action.PASS_TO_USER:
                self._pass(message)
            case Action.SEND_RESPONSE:
                assert isinstance(message, Response)
                self.last_response = message
                self._send(message)
            case Action.RESEND_RESPONSE if self.last_response is not None:
                self._send(self.last_response)
            case Action.RESEND_REQUEST if self.request is not None:
                self._send(self.request)
            case Action.SEND_ACK:
                self._send_ack(message)
            case Action.REARM_BACKOFF if timer is not None:
                self._rearm(timer, now, doubled=True)
            case Action.REARM_T2 if timer is not None:
                self._intervals[timer] = self._settings.t2
                self._rearm(timer, now, doubled=False)
            case Action.REPORT_TIMEOUT if timer is not None:
                self._emit(TransactionTimedOut(transaction=self.key, timer=timer))
            case Action.REPORT_TRANSPORT_ERROR:
                self._emit(TransportError(transaction=self.key))

    def _pass(self, message: Request | Response | None) -> None:
        if isinstance(message, Response):
            self._emit(ResponseReceived(transaction=self.key, response=message))
        elif isinstance(message, Request):
            self._emit(
                RequestReceived(transaction=self.key, request=message, source=self.destination)
            )

    def _emit(self, event: TransactionEvent) -> None:
        if self._events is None:
            self._events = []
        self._events.append(event)

    def _send(self, message: Request | Response) -> None:
        if self._outgoing is None:
            self._outgoing = []
        self._outgoing.append(
            OutgoingMessage(message=message, destination=self.destination, transaction=self.key)
        )

    def _send_ack(self, message: Request | Response | None) -> None:
        if self._ack is None:
            assert isinstance(message, Response)
            assert self.request is not None
            self._ack = build_non_2xx_ack(self.request, message)
        self._send(self._ack)

    def _enter(self, state: TransactionState, now: float) -> None:
        self.state = state
        wanted = STATE_TIMERS[self.kind].get(state, ())
        for timer in list(self._timers):
            if timer not in wanted:
                del self._timers[timer]
        for timer in wanted:
            if timer not in self._timers:
                duration = self._settings.duration(timer, reliable=self.reliable)
                if duration is not None:
                    if timer in _RETRANSMIT_TIMERS:  # only these are re-armed
                        self._intervals[timer] = duration
                    self._timers[timer] = now + duration
        if state is TransactionState.TERMINATED:
            self._timers.clear()
            self._emit(TransactionTerminated(transaction=self.key))

    def _rearm(self, timer: TimerName, now: float, *, doubled: bool) -> None:
        interval = self._intervals[timer]
        if doubled:
            interval *= 2
            if timer is not TimerName.A:  # §17.1.2.2, §17.2.1: E and G cap at T2
                interval = min(interval, self._settings.t2)
        self._intervals[timer] = interval
        self._timers[timer] = now + interval

    def _fire_due(self, now: float) -> None:
        timers = self._timers
        while timers:
            deadline = min(timers.values())  # most calls end here: nothing due
            if deadline > now:
                return
            timer = next(name for name, due in timers.items() if due == deadline)
            del timers[timer]
            self._apply(_TIMER_INPUTS[timer], now, None)


_INITIAL_STATE = {
    TransactionKind.INVITE_CLIENT: TransactionState.CALLING,
    TransactionKind.NON_INVITE_CLIENT: TransactionState.TRYING,
    TransactionKind.INVITE_SERVER: TransactionState.PROCEEDING,
    TransactionKind.NON_INVITE_SERVER: TransactionState.TRYING,
}
_TIMER_OF_INPUT = {value: key for key, value in _TIMER_INPUTS.items()}


def _timer_of(event: Input) -> TimerName | None:
    return _TIMER_OF_INPUT.get(event)


def _response_input(response: Response) -> Input:
    status = response.status
    if status < _OK:
        return Input.RECEIVED_1XX
    return Input.RECEIVED_2XX if status < _MULTIPLE_CHOICES else Input.RECEIVED_FINAL


def _send_input(response: Response) -> Input:
    status = response.status
    if status < _OK:
        return Input.SEND_1XX
    return Input.SEND_2XX if status < _MULTIPLE_CHOICES else Input.SEND_FINAL


def build_non_2xx_ack(request: Request, response: Response) -> Request:
    """Build the ACK an INVITE client transaction sends for a 3xx-6xx (§17.1.1.3).

    Args:
        request: the INVITE.
        response: the final non-2xx response (its To carries the tag).

    Returns:
        The ACK: same Request-URI, Call-ID, From, CSeq number and top Via as
        the INVITE, the response's To, and the INVITE's Route fields.
    """
    source = request.headers
    fields = [
        ("Via", source.values("via")[0]),
        ("Max-Forwards", "70"),
        ("From", source.single("from")),
        ("To", response.headers.single("to")),
        ("Call-ID", source.single("call-id")),
        ("CSeq", f"{source.cseq().number} {Method.ACK}"),
        *(("Route", value) for value in source.get_all("route")),
        ("Content-Length", "0"),
    ]
    return Request(method=Method.ACK, uri=request.uri, headers=Headers(fields))
