"""Events and outgoing messages produced by the SIP transaction layer.

The transaction layer (RFC 3261 §17) is drained like every protocol layer
here (DESIGN §4): ``next_event()`` returns these events until None, and
``messages_to_send()`` returns :class:`OutgoingMessage` items for the
transport glue. Every event names its transaction by
:class:`TransactionKey`, the same key the caller got from ``send_request``
or from a :class:`RequestReceived`, so a transaction user keeps no
references to transaction objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from .message import Request, Response

__all__ = [
    "Address",
    "OutgoingMessage",
    "RequestReceived",
    "ResponseReceived",
    "TimerName",
    "TransactionEvent",
    "TransactionKey",
    "TransactionTerminated",
    "TransactionTimedOut",
    "TransportError",
]

Address = tuple[str, int]


class TimerName(StrEnum):
    """The transaction timers of RFC 3261 §17 (table 4) and RFC 6026 §8."""

    A = "A"
    B = "B"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the RFC's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"


class TransactionKey(NamedTuple):
    """Identifies a transaction (RFC 3261 §17.1.3 and §17.2.3).

    ``method`` is the CSeq method, with ACK folded into INVITE for server
    transactions; ``sent_by`` is empty for client transactions.

    An immutable value like the events, but a named tuple: it is the key of
    every table of the transaction layer and of the server, looked up a
    dozen times per message, and a tuple hashes and compares in C (a frozen
    dataclass runs Python code for each). Build it with keywords.
    """

    branch: str
    method: str
    sent_by: str = ""
    server: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived:
    """A new request for the transaction user.

    ``transaction`` is None for an ACK that matched no server transaction:
    the ACK of a 2xx, which belongs to the dialog (RFC 3261 §13.3.1.4).
    """

    transaction: TransactionKey | None
    request: Request
    source: Address | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseReceived:
    """A response for the user; ``transaction`` None marks a stray response."""

    transaction: TransactionKey | None
    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTimedOut:
    """Timer B, F (no final response) or H (no ACK) fired (RFC 3261 §17)."""

    transaction: TransactionKey
    timer: TimerName


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportError:
    """The transport could not send a message of this transaction (§17.1.4)."""

    transaction: TransactionKey


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTerminated:
    """The transaction reached Terminated and was forgotten."""

    transaction: TransactionKey


TransactionEvent = (
    RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransportError
    | TransactionTerminated
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingMessage:
    """A message the glue must send.

    ``destination`` is the address given to ``send_request`` for client
    messages and the request's source for responses; the glue still applies
    RFC 3261 §18.2.2 / RFC 3581 (received, rport) to responses.
    """

    message: Request | Response
    destination: Address | None
    transaction: TransactionKey | None = None
