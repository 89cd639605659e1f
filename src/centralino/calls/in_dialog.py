"""Requests inside a call: ACK, BYE, and everything relayed (re-INVITE, INFO...).

Theory of operation. An in-dialog request names its dialog by Call-ID and
the To tag we chose; the registry turns that into a call and the side the
request came from. Then:

* ACK is never answered: it confirms the 2xx we sent on that leg and runs
  what waited for it (ACK the other leg) — :meth:`~.legs.Leg.receive_ack`;
* BYE is answered 200 at once and the call hangs up the other side;
* any other request (re-INVITE for hold/resume, INFO, UPDATE...) is written
  anew on the other leg's dialog, with its SDP passed through the media
  policy, and the final answer comes back the same way. A re-INVITE's 2xx is
  resent to its sender until the ACK, which is then relayed. Only one
  re-INVITE crosses a call at a time; a second one gets 491 (RFC 3261 §14.1).

A request for no known dialog gets 481; a CSeq lower than the dialog's gets
500 (§12.2.2). Nothing here touches any other call.

A call the PBX answered itself (voicemail, a screening not yet bridged) has
nobody to relay to: a re-INVITE or UPDATE from the caller (or from the
screened callee) is answered 200 with the PBX's unchanged SDP, and an INFO
carrying a key (``application/dtmf-relay`` ``Signal=5``, or
``application/dtmf``) goes to the application like an RFC 4733 key.
"""

from __future__ import annotations

from centralino.calls.call import Call, CallPhase
from centralino.calls.context import Context, Outcome
from centralino.calls.io import Inbound, LegFailure
from centralino.calls.legs import Leg
from centralino.calls.messages import body_headers, relayed_response
from centralino.calls.ports import Direction, Sdp, SdpRole, Side
from centralino.calls.registry import CallRegistry, DialogKey
from centralino.calls.session_expires import requested, timer_fields
from centralino.sip.codes import Method, StatusCode
from centralino.sip.errors import PeerError
from centralino.sip.message import Request, Response, make_response

__all__ = ["dialog_key", "handle_ack", "handle_bye", "relay_request"]


def dialog_key(request: Request) -> DialogKey:
    """Our half of the dialog an incoming request names (Call-ID, To tag)."""
    return DialogKey(request.headers.call_id(), request.headers.to_address().tag or "")


def handle_ack(registry: CallRegistry[Call], request: Request) -> None:
    """Pass an ACK of a 2xx to the leg it confirms (unknown ACKs are dropped)."""
    found = registry.by_dialog(dialog_key(request))
    if found is None:
        return
    call, side = found
    leg = call.leg(side)
    if leg is not None:
        leg.receive_ack(request)


def _find(
    context: Context, registry: CallRegistry[Call], inbound: Inbound
) -> tuple[Call, Side, Leg] | None:
    found = registry.by_dialog(dialog_key(inbound.request))
    leg = found[0].leg(found[1]) if found is not None else None
    if found is None or leg is None:
        context.reply(inbound, StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
        return None
    if leg.dialog is not None:
        try:
            leg.dialog.receive_request(inbound.request)
        except PeerError as error:
            context.reply(inbound, error.status, error.response_reason)
            return None
    return found[0], found[1], leg


def handle_bye(context: Context, registry: CallRegistry[Call], inbound: Inbound) -> None:
    """Answer a BYE and hang up the other side of its call."""
    found = _find(context, registry, inbound)
    if found is None:
        return
    call, side, _leg = found
    context.reply(inbound, StatusCode.OK)
    call.hang_up(side)


def relay_request(context: Context, registry: CallRegistry[Call], inbound: Inbound) -> None:
    """Relay an in-dialog request to the other party of its call."""
    found = _find(context, registry, inbound)
    if found is None:
        return
    call, side, source = found
    timer = call.session_timers.get(side)
    request = inbound.request
    if timer is not None and request.method in (Method.INVITE, Method.UPDATE):
        timer.refreshed()
        timing = requested(request)
        if request.method == Method.UPDATE and not request.body and timing is not None:
            # A bare refresh is between that peer and us: the other party never sees it.
            reply = make_response(request, StatusCode.OK, extra_headers=timer_fields(timing))
            context.respond(inbound, reply)
            return
    if call.answered_by_pbx:
        _answer_locally(context, call, side, inbound)
        return
    target = call.other(side)
    if target is None or call.phase is not CallPhase.CONNECTED:
        status = (
            StatusCode.REQUEST_PENDING if target else StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST
        )
        context.reply(inbound, status)
        return
    is_invite = inbound.request.method == Method.INVITE
    if is_invite and call.reinvite_pending:
        context.reply(inbound, StatusCode.REQUEST_PENDING)
        return
    _Relay(call, side, source, target, inbound).send(is_invite)


class _Relay:
    """One in-dialog request crossing the call, and its answer coming back."""

    def __init__(self, call: Call, side: Side, source: Leg, target: Leg, inbound: Inbound) -> None:
        self.call = call
        self.context = call.context
        self.source = source
        self.target = target
        self.inbound = inbound
        self.outward = Direction.TO_CALLEE if side is Side.CALLER else Direction.TO_CALLER
        self.sent: Request | None = None
        self.answered = False
        self.is_invite = inbound.request.method == Method.INVITE

    def _relay_body(self, body: bytes, direction: Direction, role: SdpRole, to: str) -> bytes:
        sdp = Sdp.of(body, role)
        if sdp is None:
            return body
        return self.context.media.relay(self.call.id, direction, sdp, to=to).raw

    def send(self, is_invite: bool) -> None:
        request = self.inbound.request
        to = self.target.peer.host
        role = SdpRole.OFFER if request.method in (Method.INVITE, Method.UPDATE) else SdpRole.ANSWER
        body = self._relay_body(request.body, self.outward, role, to)
        self.call.reinvite_pending = is_invite
        self.sent = self.target.send_in_dialog(
            request.method,
            on_outcome=self._on_outcome,
            extra=body_headers(request, body),
            body=body,
        )
        if self.sent is None:
            self.call.reinvite_pending = False
            self.context.reply(self.inbound, StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)

    def _on_outcome(self, outcome: Outcome) -> None:
        if isinstance(outcome, LegFailure):
            self._finish()
            if not self.answered:
                self.answered = True
                self.context.reply(self.inbound, StatusCode.REQUEST_TIMEOUT)
            return
        response = outcome.response
        if response.is_success and self.answered:
            self.target.resend_ack()  # a 2xx resent
        elif not response.is_provisional:
            self._answer(response)

    def _answer(self, response: Response) -> None:
        self._finish()
        self.answered = True
        back = Direction.TO_CALLER if self.outward is Direction.TO_CALLEE else Direction.TO_CALLEE
        request = self.inbound.request
        offered = bool(request.body.strip())
        role = SdpRole.ANSWER if offered else SdpRole.OFFER
        body = self._relay_body(response.body, back, role, self.source.peer.host)
        is_invite_2xx = response.is_success and self.is_invite
        contact = self.source.contact if is_invite_2xx else None
        timing = requested(request) if response.is_success else None
        extra = timer_fields(timing) if timing is not None else ()
        reply = relayed_response(
            request, response, to_tag=None, contact=contact, body=body, extra=extra
        )
        if self.target.dialog is not None:
            self.target.dialog.receive_response(response)
        self.context.respond(self.inbound, reply)
        if is_invite_2xx:
            self.call.expect_ack(self.source, self.inbound, reply, self._acked)

    def _acked(self, ack: Request) -> None:
        if self.sent is None or self.call.phase is CallPhase.ENDED:
            return
        body = self._relay_body(ack.body, self.outward, SdpRole.ANSWER, self.target.peer.host)
        self.target.acknowledge(self.sent, body)

    def _finish(self) -> None:
        if self.is_invite:
            self.call.reinvite_pending = False


_DTMF_BODIES = ("application/dtmf-relay", "application/dtmf")


def _answer_locally(context: Context, call: Call, side: Side, inbound: Inbound) -> None:
    """A request from a phone whose other party is the PBX itself (not bridged yet)."""
    local, dialer = call.local, call.dialer
    assert local is not None
    leg: Leg
    if side is Side.CALLER:
        media, body, leg = local.media, local.sdp.raw, call.caller_leg
    elif dialer is not None and dialer.media is not None and dialer.answered is not None:
        offer = dialer.offer.raw if dialer.offer is not None else b""
        media, body, leg = dialer.media, offer, dialer.answered
    else:
        context.reply(inbound, StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
        return
    request = inbound.request
    if request.method in (Method.INVITE, Method.UPDATE):
        extra = [("Contact", str(leg.contact)), ("Content-Type", "application/sdp")]
        context.respond(
            inbound, make_response(request, StatusCode.OK, extra_headers=extra, body=body)
        )
        return
    if request.method == Method.INFO:
        kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        key = info_key(request.body.decode("utf-8", "replace")) if kind in _DTMF_BODIES else None
        if key is not None:
            context.media.press(media, key)
        context.reply(inbound, StatusCode.OK)
        return
    context.reply(inbound, StatusCode.NOT_IMPLEMENTED)


def info_key(text: str) -> str | None:
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
