"""The two kinds of leg of a B2BUA call: the caller's and each callee fork.

Theory of operation. A leg is one SIP dialog between the PBX and one phone.
The :class:`CallerLeg` is the UAS side: it holds the caller's INVITE (and
the way to answer it) and our To tag, shared by every response we relay, so
the caller sees one dialog whatever fork answers. A :class:`CalleeLeg` is
the UAC side towards one registered contact: its own Call-ID, tags and
INVITE, the dialog once the phone answers, and the ACK we sent (resent when
the phone retransmits its 2xx). Both keep an *awaited ACK*: after we send a
2xx to an INVITE on a leg, the ACK that confirms it arrives on that leg and
triggers what the call wanted done then (usually: ACK the other leg).

Legs send through the :class:`~centralino.telephony.calls.ports.Signaling`
port and decide nothing about the call: :mod:`.call` does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from centralino.net.transport import Peer
from centralino.sip.address import NameAddress
from centralino.sip.codes import Method
from centralino.sip.dialog import Dialog
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response
from centralino.telephony.calls.messages import cancel_for, local_answer, relayed_response
from centralino.telephony.calls.ports import Signaling
from centralino.telephony.calls.retransmit import Retransmitter
from centralino.telephony.sip_server import IncomingRequest, ResponseCallback

__all__ = ["AwaitedAck", "CalleeLeg", "CallerLeg", "Leg", "LegState"]


class LegState(enum.Enum):
    """Where one leg's INVITE stands."""

    CALLING = enum.auto()
    EARLY = enum.auto()
    ANSWERED = enum.auto()
    TERMINATED = enum.auto()


@dataclass(slots=True, kw_only=True)
class AwaitedAck:
    """We sent a 2xx to INVITE ``cseq`` on this leg; its ACK triggers ``then``."""

    cseq: int
    then: Callable[[Request], None]
    retransmitter: Retransmitter


class Leg:
    """What both kinds of leg share: peer, our Contact, dialog, awaited ACK."""

    def __init__(self, *, peer: Peer, contact: NameAddress) -> None:
        self.peer = peer
        self.contact = contact
        self.dialog: Dialog | None = None
        self.state = LegState.CALLING
        self.ack: Request | None = None
        self.awaited_ack: AwaitedAck | None = None

    def send_in_dialog(
        self,
        signaling: Signaling,
        method: str,
        *,
        on_outcome: ResponseCallback | None = None,
        extra: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Request | None:
        """Send a new request in this leg's dialog (None when there is none)."""
        if self.dialog is None or self.state is LegState.TERMINATED:
            return None
        via = Via.parse(signaling.via(self.peer.kind, to=self.peer.host))
        contact = self.contact if method == Method.INVITE else None
        request = self.dialog.create_request(
            method, via=via, contact=contact, extra_headers=extra or [], body=body
        )
        signaling.send_request(request, self.peer, on_outcome)
        return request

    def acknowledge(self, signaling: Signaling, invite: Request, body: bytes = b"") -> None:
        """ACK the 2xx of ``invite`` (the first or a re-INVITE), stateless (§13.2.2.4)."""
        if self.dialog is None:
            return
        via = Via.parse(signaling.via(self.peer.kind, to=self.peer.host))
        extra = [("Content-Type", "application/sdp")] if body else []
        self.ack = self.dialog.create_ack(invite, via=via, extra_headers=extra, body=body)
        signaling.send_stateless(self.ack, self.peer)

    def resend_ack(self, signaling: Signaling) -> None:
        """The phone retransmitted its 2xx: our ACK was lost, send it again."""
        if self.ack is not None:
            signaling.send_stateless(self.ack, self.peer)

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
        """Stop waiting for an ACK (and retransmitting our 2xx)."""
        if self.awaited_ack is not None:
            self.awaited_ack.retransmitter.stop()
            self.awaited_ack = None


class CallerLeg(Leg):
    """The caller's side: we are its UAS."""

    def __init__(self, *, incoming: IncomingRequest, tag: str, contact: NameAddress) -> None:
        super().__init__(peer=incoming.peer, contact=contact)
        self.incoming = incoming
        self.tag = tag

    @property
    def invite(self) -> Request:
        """The caller's INVITE."""
        return self.incoming.request

    def relay(self, source: Response, body: bytes) -> Response:
        """Answer the caller's INVITE with the status and session of ``source``."""
        response = relayed_response(
            self.invite, source, to_tag=self.tag, contact=self.contact, body=body
        )
        self.incoming.send_response(response)
        if source.is_success:
            self.dialog = Dialog.from_uas(self.invite, self.tag)
            self.state = LegState.ANSWERED
        return response

    def answer(self, body: bytes) -> Response:
        """Answer the caller's INVITE ourselves: 200 OK with our SDP ``body``."""
        response = local_answer(self.invite, to_tag=self.tag, contact=self.contact, body=body)
        self.incoming.send_response(response)
        self.dialog = Dialog.from_uas(self.invite, self.tag)
        self.state = LegState.ANSWERED
        return response

    def reject(self, status: int, reason: str | None = None) -> None:
        """Answer the caller's INVITE with a final error (once)."""
        if not self.incoming.answered:
            self.incoming.respond(status, reason, to_tag=self.tag)
        self.state = LegState.TERMINATED


class CalleeLeg(Leg):
    """One fork towards a registered contact: we are its UAC."""

    def __init__(self, *, invite: Request, peer: Peer, contact: NameAddress) -> None:
        super().__init__(peer=peer, contact=contact)
        self.invite = invite
        self.cancel_wanted: str | None = None

    @property
    def call_id(self) -> str:
        """This leg's own Call-ID."""
        return self.invite.headers.call_id()

    @property
    def tag(self) -> str:
        """Our From tag on this leg."""
        return self.invite.headers.from_address().tag or ""

    def start(self, signaling: Signaling, on_outcome: ResponseCallback) -> None:
        """Send the INVITE."""
        signaling.send_request(self.invite, self.peer, on_outcome)

    def provisional(self, signaling: Signaling, response: Response) -> None:
        """A 1xx arrived: the leg is early; a CANCEL waiting for it goes now."""
        if self.state is LegState.CALLING and response.status > 100:
            self.state = LegState.EARLY
        if self.cancel_wanted is not None:
            self._send_cancel(signaling, self.cancel_wanted)

    def cancel(self, signaling: Signaling, reason: str | None = None) -> None:
        """Stop ringing: CANCEL now if the phone answered 1xx, else once it does."""
        if self.state is LegState.EARLY:
            self._send_cancel(signaling, reason)
        elif self.state is LegState.CALLING:
            self.cancel_wanted = reason or ""

    def _send_cancel(self, signaling: Signaling, reason: str | None) -> None:
        self.cancel_wanted = None
        self.state = LegState.TERMINATED
        signaling.send_request(cancel_for(self.invite, reason or None), self.peer)

    def answered(self, response: Response) -> None:
        """A 2xx arrived: the dialog is confirmed from our side."""
        self.dialog = Dialog.from_uac(self.invite, response)
        self.state = LegState.ANSWERED

    def failed(self) -> None:
        """A final error (or a timeout) ended this fork."""
        self.state = LegState.TERMINATED
        self.cancel_wanted = None
