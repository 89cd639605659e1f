"""The two kinds of leg of a B2BUA call: the caller's and each callee fork.

Theory of operation. A leg is one SIP dialog between the PBX and one phone.
The :class:`CallerLeg` is the UAS side: it holds the caller's INVITE (the
:class:`~.io.Inbound` to answer) and our To tag, shared by every response
we relay, so the caller sees one dialog whatever fork answers. A
:class:`CalleeLeg` is the UAC side towards one registered contact: its own
Call-ID, tags and INVITE, the dialog once the phone answers, and the ACK we
sent (resent when the phone retransmits its 2xx). Both keep an *awaited
ACK*: after we send a 2xx to an INVITE on a leg, the ACK that confirms it
arrives on that leg and triggers what the call wanted done then (usually:
ACK the other leg).

A leg's own states are a table too (``_LEG_MOVES``): CALLING -> EARLY on a
1xx, either -> ANSWERED on a 2xx, anything -> TERMINATED. Legs write and
send messages through the :class:`~.context.Context` and decide nothing
about the call: :mod:`.call` does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from centralino.calls.context import Context, OutcomeHandler
from centralino.calls.io import Inbound
from centralino.calls.messages import cancel_for, local_answer, our_via, relayed_response
from centralino.calls.retransmit import Retransmitter
from centralino.calls.session_expires import min_se
from centralino.sip.address import NameAddress
from centralino.sip.codes import Method, StatusCode
from centralino.sip.dialog import Dialog
from centralino.sip.digest import DigestClient, choose_challenge
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response, make_response
from centralino.sip.peer import Peer

__all__ = ["AwaitedAck", "CalleeLeg", "CallerLeg", "Leg", "LegState"]


class LegState(enum.Enum):
    """Where one leg's INVITE stands."""

    CALLING = enum.auto()
    EARLY = enum.auto()
    ANSWERED = enum.auto()
    TERMINATED = enum.auto()


_LEG_MOVES: dict[LegState, frozenset[LegState]] = {
    LegState.CALLING: frozenset({LegState.EARLY, LegState.ANSWERED, LegState.TERMINATED}),
    LegState.EARLY: frozenset({LegState.ANSWERED, LegState.TERMINATED}),
    LegState.ANSWERED: frozenset({LegState.TERMINATED}),
    LegState.TERMINATED: frozenset(),
}


@dataclass(slots=True, kw_only=True)
class AwaitedAck:
    """We sent a 2xx to INVITE ``cseq`` on this leg; its ACK triggers ``then``."""

    cseq: int
    then: Callable[[Request], None]
    retransmitter: Retransmitter


class Leg:
    """What both kinds of leg share: peer, our Contact, dialog, awaited ACK."""

    def __init__(self, context: Context, *, peer: Peer, contact: NameAddress) -> None:
        self.context = context
        self.peer = peer
        self.contact = contact
        self.dialog: Dialog | None = None
        self.state = LegState.CALLING
        self.ack: Request | None = None
        self.awaited_ack: AwaitedAck | None = None
        self.handles: list[int] = []
        """The numbers of the requests sent on this leg."""

    def move(self, state: LegState) -> bool:
        """Move to ``state`` if the table allows it."""
        if state is self.state:
            return True
        if state not in _LEG_MOVES[self.state]:
            return False
        self.state = state
        return True

    @property
    def ringing(self) -> bool:
        """The leg's INVITE has no final answer yet."""
        return self.state in (LegState.CALLING, LegState.EARLY)

    def _via(self) -> Via:
        addressing = self.context.addressing
        host = addressing.advertised_host_for(self.peer.host)
        return our_via(host, addressing.local_port(self.peer.kind), self.peer.kind)

    def send(self, request: Request, on_outcome: OutcomeHandler) -> None:
        """Send ``request`` to this leg's phone."""
        self.handles.append(self.context.send_request(request, self.peer, on_outcome))

    def send_in_dialog(
        self,
        method: str,
        *,
        on_outcome: OutcomeHandler | None = None,
        extra: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Request | None:
        """Send a new request in this leg's dialog (None when there is none)."""
        if self.dialog is None or self.state is LegState.TERMINATED:
            return None
        contact = self.contact if method == Method.INVITE else None
        request = self.dialog.create_request(
            method, via=self._via(), contact=contact, extra_headers=extra or [], body=body
        )
        self.send(request, on_outcome or _ignore)
        return request

    def acknowledge(self, invite: Request, body: bytes = b"") -> None:
        """ACK the 2xx of ``invite`` (the first or a re-INVITE), stateless (§13.2.2.4)."""
        if self.dialog is None:
            return
        extra = [("Content-Type", "application/sdp")] if body else []
        self.ack = self.dialog.create_ack(invite, via=self._via(), extra_headers=extra, body=body)
        self.context.send_ack(self.ack, self.peer)

    def resend_ack(self) -> None:
        """The phone retransmitted its 2xx: our ACK was lost, send it again."""
        if self.ack is not None:
            self.context.send_ack(self.ack, self.peer)

    def await_ack(self, awaited: AwaitedAck) -> None:
        """Remember what to do when the ACK of our 2xx arrives."""
        self.stop()
        self.awaited_ack = awaited

    def receive_ack(self, ack: Request) -> None:
        """An ACK arrived on this leg: run what waited for it (once)."""
        awaited = self.awaited_ack
        if awaited is None or ack.headers.cseq().number != awaited.cseq:
            return
        self.stop()
        awaited.then(ack)

    def stop(self) -> None:
        """Stop waiting for an ACK (and resending our 2xx)."""
        if self.awaited_ack is not None:
            self.awaited_ack.retransmitter.stop()
            self.awaited_ack = None


def _ignore(_outcome: object) -> None:
    return


class CallerLeg(Leg):
    """The caller's side: we are its UAS."""

    def __init__(
        self, context: Context, *, inbound: Inbound, tag: str, contact: NameAddress
    ) -> None:
        super().__init__(context, peer=inbound.peer, contact=contact)
        self.inbound = inbound
        self.tag = tag
        self.answered_invite = False

    @property
    def invite(self) -> Request:
        """The caller's INVITE."""
        return self.inbound.request

    def relay(
        self, source: Response, body: bytes, extra: Sequence[tuple[str, str]] = ()
    ) -> Response:
        """Answer the caller's INVITE with the status and session of ``source``."""
        response = relayed_response(
            self.invite, source, to_tag=self.tag, contact=self.contact, body=body, extra=extra
        )
        self.context.respond(self.inbound, response)
        if source.is_success:
            self._confirmed()
        elif not source.is_provisional:
            self.answered_invite = True
        return response

    def answer(self, body: bytes) -> Response:
        """Answer the caller's INVITE ourselves: 200 OK with our SDP ``body``."""
        response = local_answer(self.invite, to_tag=self.tag, contact=self.contact, body=body)
        self.context.respond(self.inbound, response)
        self._confirmed()
        return response

    def early(self, body: bytes) -> None:
        """Send 183 Session Progress with our SDP ``body`` (early media, no dialog yet)."""
        response = local_answer(
            self.invite,
            to_tag=self.tag,
            contact=self.contact,
            body=body,
            status=StatusCode.SESSION_PROGRESS,
        )
        self.context.respond(self.inbound, response)

    def _confirmed(self) -> None:
        self.dialog = Dialog.from_uas(self.invite, self.tag)
        self.answered_invite = True
        self.move(LegState.ANSWERED)

    def reject(self, status: int, reason: str | None = None) -> None:
        """Answer the caller's INVITE with a final error (once)."""
        if not self.answered_invite:
            response = make_response(self.invite, status, reason, to_tag=self.tag)
            self.context.respond(self.inbound, response)
            self.answered_invite = True
        self.move(LegState.TERMINATED)


class CalleeLeg(Leg):
    """One fork towards a registered contact: we are its UAC."""

    def __init__(
        self, context: Context, *, invite: Request, peer: Peer, contact: NameAddress
    ) -> None:
        super().__init__(context, peer=peer, contact=contact)
        self.invite = invite
        self.cancel_wanted: str | None = None
        self.digest: DigestClient | None = None
        """The account answering a provider's challenge (trunk legs only)."""
        self.trunk: str | None = None
        """The trunk this leg goes out on (None: a phone of the PBX)."""
        self.outside_number: str | None = None
        """The outside number it calls, as the PBX shows it (trunk legs only)."""
        self._challenged = False
        self._interval_retried = False

    @property
    def call_id(self) -> str:
        """This leg's own Call-ID."""
        return self.invite.headers.call_id()

    @property
    def tag(self) -> str:
        """Our From tag on this leg."""
        return self.invite.headers.from_address().tag or ""

    def provisional(self, response: Response) -> None:
        """A 1xx arrived: the leg is early; a CANCEL waiting for it goes now."""
        if response.status > 100:
            self.move(LegState.EARLY)
        if self.cancel_wanted is not None and self.state is not LegState.TERMINATED:
            self._send_cancel(self.cancel_wanted)

    def cancel(self, reason: str | None = None) -> None:
        """Stop ringing: CANCEL now if the phone answered 1xx, else once it does."""
        if self.state is LegState.EARLY:
            self._send_cancel(reason)
        elif self.state is LegState.CALLING:
            self.cancel_wanted = reason or ""

    def _send_cancel(self, reason: str | None) -> None:
        self.cancel_wanted = None
        self.move(LegState.TERMINATED)
        self.send(cancel_for(self.invite, reason or None), _ignore)

    def authenticate(self, response: Response) -> Request | None:
        """Answer a provider's 401/407 once: the INVITE again, with credentials.

        Returns:
            The new INVITE (sent by the caller of this method), or None when
            this leg has no account, was already challenged (a second
            challenge means wrong credentials) or the challenge is unusable.
        """
        if self.digest is None or self._challenged or self.state is LegState.TERMINATED:
            return None
        proxy = response.status == StatusCode.PROXY_AUTHENTICATION_REQUIRED
        challenge = choose_challenge(
            response.headers.get_all("proxy-authenticate" if proxy else "www-authenticate")
        )
        if challenge is None:
            return None
        self._challenged = True
        credentials = self.digest.authorize(
            challenge, method=Method.INVITE, uri=str(self.invite.uri)
        )
        headers = self.invite.headers
        cseq = headers.cseq()
        headers = headers.with_replaced("CSeq", f"{cseq.number + 1} {cseq.method}")
        headers = headers.with_top_via(self._via())
        field = "Proxy-Authorization" if proxy else "Authorization"
        self.invite = replace(self.invite, headers=headers.with_appended(field, str(credentials)))
        return self.invite

    def with_interval(self, response: Response) -> Request | None:
        """Answer a 422 (Session Interval Too Small) once: the INVITE again at its Min-SE."""
        interval = min_se(response.headers)
        if interval is None or self._interval_retried or self.state is LegState.TERMINATED:
            return None
        self._interval_retried = True
        headers = self.invite.headers
        cseq = headers.cseq()
        headers = headers.with_replaced("CSeq", f"{cseq.number + 1} {cseq.method}")
        headers = headers.with_top_via(self._via()).without("session-expires").without("min-se")
        for name, value in (
            ("Session-Expires", str(interval)),
            ("Min-SE", str(interval)),
            ("Supported", "timer"),
        ):
            headers = headers.with_appended(name, value)
        self.invite = replace(self.invite, headers=headers)
        return self.invite

    def answered(self, response: Response) -> None:
        """A 2xx arrived: the dialog is confirmed from our side.

        Even on a leg we cancelled: a 2xx can cross our CANCEL, and the
        dialog it makes must be acknowledged and hung up (RFC 3261 §9.1).
        """
        self.dialog = Dialog.from_uac(self.invite, response)
        self.state = LegState.ANSWERED

    def failed(self) -> None:
        """A final error (or a timeout) ended this fork."""
        self.move(LegState.TERMINATED)
        self.cancel_wanted = None
