"""What goes into the call core and what comes out of it.

Theory of operation. The glue (``centralino.telephony.calls``) turns what
happens on the network and in the PBX's applications into the *events*
below and hands each to :meth:`~.core.CallCore.handle_event` with the
current time; the core answers with *commands*, drained with
:meth:`~.core.CallCore.next_command` and carried out by the glue.

Requests reach the core as an :class:`Inbound`: the request, its peer, its
server transaction, held by the glue. The core never calls it: it names it
in a :class:`Respond` command. Requests the core sends get a number of its
choosing (:class:`SendRequest` ``.handle``); their responses and failures
come back as :class:`LegResponse` and :class:`LegFailure` with that number.

The PBX's applications (voicemail, call screening) are named by a typed
:data:`ApplicationSpec`; the core decides *when* one runs
(:class:`StartApplication`), the glue runs it. What an application asks of
its call (hang up, ring the screened extension, bridge, go on with the
plan) comes back as events too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from centralino.calls.forking import RingOutcome
from centralino.domain.events import CallRecordCreated, CallStateChanged
from centralino.domain.extension import Extension
from centralino.sip.events import TransactionKey
from centralino.sip.message import Request, Response
from centralino.sip.peer import Peer

__all__ = [
    "Announce",
    "ApplicationDone",
    "ApplicationSpec",
    "CallEvent",
    "Cancel",
    "Command",
    "Connect",
    "ContinueWith",
    "Dial",
    "DialDone",
    "Explain",
    "Fallback",
    "HangUpCallee",
    "InDialog",
    "Inbound",
    "LeaveMessage",
    "LegFailure",
    "LegResponse",
    "MailboxLogin",
    "NewCall",
    "OutsideCall",
    "PbxAnswers",
    "Publish",
    "RecordGreeting",
    "Respond",
    "ScreenCall",
    "SendAck",
    "SendRequest",
    "StartApplication",
    "UnlockOutbound",
    "VoicemailMenu",
]


class Inbound(Protocol):
    """A request waiting in its server transaction (held by the glue)."""

    @property
    def request(self) -> Request:
        """The request."""
        ...

    @property
    def peer(self) -> Peer:
        """Where it came from."""
        ...

    @property
    def transaction(self) -> TransactionKey | None:
        """Its server transaction (None: an ACK, which has none)."""
        ...


# Applications -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveMessage:
    """The caller leaves a message in ``box``'s mailbox."""

    box: Extension
    caller: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class VoicemailMenu:
    """``owner`` listens to their messages from their own phone."""

    owner: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordGreeting:
    """``owner`` records a new greeting from their own phone."""

    owner: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxLogin:
    """Any mailbox from ``caller``'s phone: the number, then its PIN."""

    caller: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreenCall:
    """The caller says their name; ``callee`` accepts or refuses (SPEC §2.6)."""

    callee: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class Announce:
    """Speak ``prompt`` as early media; the call is then refused (an outbound restriction)."""

    prompt: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockOutbound:
    """``caller`` keys in their voicemail PIN and ``#`` to make outside calls for a while."""

    caller: Extension


ApplicationSpec = (
    LeaveMessage
    | VoicemailMenu
    | RecordGreeting
    | MailboxLogin
    | ScreenCall
    | Announce
    | UnlockOutbound
)


# Events in ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewCall:
    """An INVITE from ``caller`` for ``callee``: route it.

    A call from a trunk (``trunk`` set) is external: its caller is an outside
    party (:func:`~.outside.outside_party`), ``did`` the number it dialled.
    """

    inbound: Inbound
    caller: Extension
    callee: Extension
    trunk: str | None = None
    did: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutsideCall:
    """An INVITE from ``caller`` for ``number``, no extension: dial out.

    From a trunk (``trunk`` set: a DID's default destination is a number) the
    caller is an outside party and ``did`` the number it dialled.
    """

    inbound: Inbound
    caller: Extension
    number: str
    trunk: str | None = None
    did: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PbxAnswers:
    """An INVITE the PBX answers itself with ``application``.

    From a trunk (``trunk`` set: a DID's default destination is a mailbox)
    the caller is an outside party and ``did`` the number it dialled.
    """

    inbound: Inbound
    caller: Extension
    application: ApplicationSpec
    trunk: str | None = None
    did: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InDialog:
    """A request inside a call: ACK, BYE, re-INVITE, INFO, UPDATE."""

    inbound: Inbound


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    """A CANCEL (RFC 3261 §9.2)."""

    inbound: Inbound


@dataclass(frozen=True, slots=True, kw_only=True)
class LegResponse:
    """A response to the request the core sent as ``handle``."""

    handle: int
    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class LegFailure:
    """The request sent as ``handle`` got no response (timeout, transport error)."""

    handle: int
    timed_out: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationDone:
    """The application on ``call_id`` returned (or hung up the caller)."""

    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    """Screening: ring the screened extension with the PBX's own offer."""

    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HangUpCallee:
    """Screening: the application hangs up on the callee it rang (refused)."""

    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    """Screening: bridge the caller and the callee that accepted."""

    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Fallback:
    """Screening: the extension refused or missed: go on with its plan."""

    call_id: str


CallEvent = (
    NewCall
    | OutsideCall
    | PbxAnswers
    | InDialog
    | Cancel
    | LegResponse
    | LegFailure
    | ApplicationDone
    | Dial
    | HangUpCallee
    | Connect
    | Fallback
)


# Commands out -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Respond:
    """Send ``response`` through ``inbound``'s server transaction (2xx resends too)."""

    inbound: Inbound
    response: Response


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRequest:
    """Start a client transaction; its outcome comes back with ``handle``."""

    handle: int
    request: Request
    peer: Peer


@dataclass(frozen=True, slots=True, kw_only=True)
class SendAck:
    """Send the ACK of a 2xx, outside any transaction (RFC 3261 §13.2.2.4)."""

    request: Request
    peer: Peer


@dataclass(frozen=True, slots=True, kw_only=True)
class Publish:
    """Publish a domain event (on this node's bus only)."""

    event: CallStateChanged | CallRecordCreated


@dataclass(frozen=True, slots=True, kw_only=True)
class StartApplication:
    """Run ``application`` over ``media`` (the PBX's end of the caller's leg)."""

    call_id: str
    application: ApplicationSpec
    media: object
    party: Extension


@dataclass(frozen=True, slots=True, kw_only=True)
class DialDone:
    """Screening: the ring ended; ``media`` holds the answered callee (None: why not)."""

    call_id: str
    media: object | None
    party: Extension
    outcome: RingOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueWith:
    """Screening's fallback: run ``application`` on the caller (None: hang up, or bridged)."""

    call_id: str
    application: ApplicationSpec | None
    bridged: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Explain:
    """Routing ended a call without a phone: why, for the log (the plan's trace)."""

    caller: str
    called: str
    status: int
    reason: str
    trace: tuple[str, ...]


Command = (
    Respond | SendRequest | SendAck | Publish | StartApplication | DialDone | ContinueWith | Explain
)
