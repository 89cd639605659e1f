"""Requests inside a call: ACK, BYE, and everything relayed (re-INVITE, INFO...).

Theory of operation. An in-dialog request names its dialog by Call-ID and
the To tag we chose; the registry turns that into a call and the side the
request came from. Then:

* ACK is never answered: it confirms the 2xx we sent on that leg and runs
  what waited for it (ACK the other leg) — :meth:`Leg.receive_ack`;
* BYE is answered 200 at once and the call hangs up the other side;
* any other request (re-INVITE for hold/resume, INFO, UPDATE...) is written
  anew on the other leg's dialog, with its SDP passed through the media
  policy, and the final answer comes back the same way. A re-INVITE's 2xx is
  retransmitted to its sender until the ACK, which is then relayed. Only one
  re-INVITE crosses a call at a time; a second one gets 491 (RFC 3261 §14.1).

A request for no known dialog gets 481; a CSeq lower than the dialog's gets
500 (§12.2.2). Nothing here touches any other call.

A call the PBX answered itself (voicemail, a screening not yet bridged) has
nobody to relay to: a re-INVITE or UPDATE from the caller (or from the
screened callee) is answered 200 with the PBX's unchanged SDP, and an INFO
carrying a key
(``application/dtmf-relay`` ``Signal=5``, or ``application/dtmf``) goes to
the application like an RFC 4733 key.
"""

from __future__ import annotations

from centralino.sip.codes import Method, StatusCode
from centralino.sip.errors import PeerError
from centralino.sip.message import Request, Response
from centralino.telephony.calls.call import Call, CallPhase
from centralino.telephony.calls.legs import Leg
from centralino.telephony.calls.media import Direction
from centralino.telephony.calls.messages import body_headers, relayed_response
from centralino.telephony.calls.registry import CallRegistry, DialogKey, Side
from centralino.telephony.sip_server import ClientOutcome, IncomingRequest

__all__ = ["dialog_key", "handle_ack", "handle_bye", "relay_request"]


def dialog_key(request: Request) -> DialogKey:
    """Our half of the dialog an incoming request names (Call-ID, To tag)."""
    return DialogKey(request.headers.call_id(), request.headers.to_address().tag or "")


def handle_ack(registry: CallRegistry, request: Request) -> None:
    """Pass an ACK of a 2xx to the leg it confirms (unknown ACKs are dropped)."""
    found = registry.by_dialog(dialog_key(request))
    if found is None:
        return
    call, side = found
    leg = call.leg(side)
    if leg is not None:
        leg.receive_ack(request)


def _find(registry: CallRegistry, incoming: IncomingRequest) -> tuple[Call, Side, Leg] | None:
    found = registry.by_dialog(dialog_key(incoming.request))
    leg = found[0].leg(found[1]) if found is not None else None
    if found is None or leg is None:
        incoming.respond(StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
        return None
    if leg.dialog is not None:
        try:
            leg.dialog.receive_request(incoming.request)
        except PeerError as error:
            incoming.respond(error.status, error.response_reason)
            return None
    return found[0], found[1], leg


def handle_bye(registry: CallRegistry, incoming: IncomingRequest) -> None:
    """Answer a BYE and hang up the other side of its call."""
    found = _find(registry, incoming)
    if found is None:
        return
    call, side, _leg = found
    incoming.respond(StatusCode.OK)
    call.hang_up(side)


def relay_request(registry: CallRegistry, incoming: IncomingRequest) -> None:
    """Relay an in-dialog request to the other party of its call."""
    found = _find(registry, incoming)
    if found is None:
        return
    call, side, source = found
    if call.local is not None and call.winner is None:
        _answer_locally(call, side, incoming)
        return
    target = call.other(side)
    if target is None or call.phase is not CallPhase.CONNECTED:
        incoming.respond(StatusCode.REQUEST_PENDING if target else 481)
        return
    request = incoming.request
    is_invite = request.method == Method.INVITE
    if is_invite and call.reinvite_pending:
        incoming.respond(StatusCode.REQUEST_PENDING)
        return
    _Relay(call, side, source, target, incoming).send(is_invite)


class _Relay:
    """One in-dialog request crossing the call, and its answer coming back."""

    def __init__(
        self, call: Call, side: Side, source: Leg, target: Leg, incoming: IncomingRequest
    ) -> None:
        self.call = call
        self.source = source
        self.target = target
        self.incoming = incoming
        self.outward = Direction.TO_CALLEE if side is Side.CALLER else Direction.TO_CALLER
        self.sent: Request | None = None
        self.answered = False

    def send(self, is_invite: bool) -> None:
        request = self.incoming.request
        to = self.target.peer.host
        body = self.call.services.sdp.relay(self.call.id, self.outward, request.body, to=to)
        self.call.reinvite_pending = is_invite
        self.sent = self.target.send_in_dialog(
            self.call.services.signaling,
            request.method,
            on_outcome=self._on_outcome,
            extra=body_headers(request, body),
            body=body,
        )
        if self.sent is None:
            self.call.reinvite_pending = False
            self.incoming.respond(StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)

    def _on_outcome(self, outcome: ClientOutcome) -> None:
        response = outcome.response
        if response is None:
            self._finish()
            if not self.incoming.answered:
                self.incoming.respond(StatusCode.REQUEST_TIMEOUT)
        elif response.is_success and self.answered:
            self.target.resend_ack(self.call.services.signaling)  # a 2xx resent
        elif not response.is_provisional:
            self._answer(response)

    def _answer(self, response: Response) -> None:
        self._finish()
        self.answered = True
        back = Direction.TO_CALLER if self.outward is Direction.TO_CALLEE else Direction.TO_CALLEE
        to = self.source.peer.host
        body = self.call.services.sdp.relay(self.call.id, back, response.body, to=to)
        is_invite_2xx = response.is_success and self.incoming.request.method == Method.INVITE
        contact = self.source.contact if is_invite_2xx else None
        reply = relayed_response(
            self.incoming.request, response, to_tag=None, contact=contact, body=body
        )
        if self.target.dialog is not None:
            self.target.dialog.receive_response(response)
        self.incoming.send_response(reply)
        if is_invite_2xx:
            self.call.expect_ack(self.source, self.incoming, reply, self._acked)

    def _acked(self, ack: Request) -> None:
        if self.sent is None or self.call.phase is CallPhase.ENDED:
            return
        to = self.target.peer.host
        body = self.call.services.sdp.relay(self.call.id, self.outward, ack.body, to=to)
        self.target.acknowledge(self.call.services.signaling, self.sent, body)

    def _finish(self) -> None:
        if self.incoming.request.method == Method.INVITE:
            self.call.reinvite_pending = False


_DTMF_BODIES = ("application/dtmf-relay", "application/dtmf")


def _answer_locally(call: Call, side: Side, incoming: IncomingRequest) -> None:
    """A request from a phone whose other party is the PBX itself (not bridged yet)."""
    local, dialer = call.local, call.dialer
    assert local is not None
    leg: Leg
    if side is Side.CALLER:
        media, body, leg = local.media, local.body, call.caller_leg
    elif dialer is not None and dialer.media is not None and dialer.answered is not None:
        media, body, leg = dialer.media, dialer.offer, dialer.answered
    else:
        incoming.respond(StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
        return
    request = incoming.request
    if request.method in (Method.INVITE, Method.UPDATE):
        extra = [("Contact", str(leg.contact)), ("Content-Type", "application/sdp")]
        incoming.respond(StatusCode.OK, headers=extra, body=body)
        return
    if request.method == Method.INFO:
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        key = _info_key(request.body.decode("utf-8", "replace")) if kind in _DTMF_BODIES else None
        if key is not None:
            media.press(key)
        incoming.respond(StatusCode.OK)
        return
    incoming.respond(StatusCode.NOT_IMPLEMENTED)


def _info_key(text: str) -> str | None:
    """The key of a SIP INFO DTMF body: ``Signal=5`` (dtmf-relay) or ``5`` (dtmf)."""
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if value and name.strip().lower() == "signal":
            text = value
            break
    key = text.strip().upper()
    if len(key) == 1 and key in "0123456789*#ABCD":
        return key
    if key in ("10", "11"):
        return "*" if key == "10" else "#"
    return None
