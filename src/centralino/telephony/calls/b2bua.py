"""The B2BUA's request handlers: new calls, CANCEL, and in-dialog requests.

Theory of operation. :class:`B2bua` is what the SIP server routes INVITE,
ACK, BYE, CANCEL, INFO and UPDATE to. A new INVITE (no To tag) is checked in
this order, and the first failure answers it:

1. Max-Forwards exhausted -> 483;
2. the caller is authenticated with a 407 digest challenge, exactly like a
   REGISTER: no unauthenticated INVITE ever reaches a callee (the
   authenticator answers 407/403 itself);
3. the caller's extension is disabled -> 403;
4. the Request-URI user is a status dial code (:mod:`.dial_codes`): the
   caller's status is set and the INVITE answered at once; the voicemail
   codes are answered by the PBX (the caller's own voicemail menu, or
   recording a new greeting);
5. the Request-URI user is an extension number or SIP ID, else 404; then
   the routing engine decides: a :class:`~.plan_runner.PlanRunner` walks
   the callee's plan (ring, forward, refuse...), creating the
   :class:`~.call.Call` when a phone is to ring.

Requests with a To tag belong to a call and go to :mod:`.in_dialog`; a
CANCEL finds the ringing call by the INVITE transaction it names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from centralino.domain.calls import CallEndReason
from centralino.domain.extension import Extension
from centralino.domain.ports import StatusChanger
from centralino.sip.codes import Method, StatusCode
from centralino.sip.message import Request
from centralino.telephony.calls.admission import NOT_ACCEPTABLE, VOICEMAIL_NOT_AVAILABLE, Refusal
from centralino.telephony.calls.call import Call, CallServices
from centralino.telephony.calls.dial_codes import StatusCodes
from centralino.telephony.calls.in_dialog import handle_ack, handle_bye, relay_request
from centralino.telephony.calls.plan_runner import LiveRouting, PlanRunner
from centralino.telephony.calls.ports import (
    Application,
    Authenticator,
    Cancellable,
    ExtensionDirectory,
    Locations,
)
from centralino.telephony.calls.registry import InviteKey
from centralino.telephony.sip_server import IncomingRequest, RequestHandler

__all__ = ["RELAYED_METHODS", "B2bua", "loop_scheduler"]

log = structlog.get_logger("centralino.calls")

RELAYED_METHODS = (Method.INFO, Method.UPDATE)
"""In-dialog methods relayed as they are, besides re-INVITE."""


def loop_scheduler(delay: float, callback: Callable[[], None]) -> Cancellable:
    """Run ``callback`` after ``delay`` seconds on the running event loop."""
    return asyncio.get_running_loop().call_later(delay, _guarded, callback)


def _guarded(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("call timer failed")


class B2bua:
    """Calls between extensions: the handlers and what they need."""

    def __init__(
        self,
        services: CallServices,
        *,
        authenticator: Authenticator,
        directory: ExtensionDirectory,
        locations: Locations,
        status_changer: StatusChanger | None = None,
    ) -> None:
        self.services = services
        self.registry = services.registry
        self._authenticator = authenticator
        self._directory = directory
        self.routing = LiveRouting(directory, locations, services.registry, services.clock)
        self._status_codes = StatusCodes(
            status_changer, lambda: directory.settings.presence.names()
        )

    def handlers(self) -> dict[str, RequestHandler]:
        """Method -> handler, for ``SipServer.route``."""
        table: dict[str, RequestHandler] = {
            Method.INVITE: self.on_invite,
            Method.ACK: self.on_ack,
            Method.BYE: self.on_bye,
            Method.CANCEL: self.on_cancel,
        }
        for method in RELAYED_METHODS:
            table[method] = self.on_in_dialog
        return table

    def on_invite(self, incoming: IncomingRequest) -> None:
        """A new call, or a re-INVITE inside one."""
        request = incoming.request
        if request.headers.to_address().tag is not None:
            relay_request(self.registry, incoming)
            return
        hops = request.headers.max_forwards()
        if hops is not None and hops <= 0:
            incoming.respond(StatusCode.TOO_MANY_HOPS)
            return
        caller = self._authenticator.challenge_or_identify(incoming, proxy=True)
        if caller is None:
            return
        self._place(incoming, caller)

    def _place(self, incoming: IncomingRequest, caller: Extension) -> None:
        if caller.options.disabled:
            self._refuse(incoming, caller, Refusal.CALLER_DISABLED)
            return
        user = incoming.request.uri.user or ""
        codes = self._directory.settings.dial_codes
        status = codes.status_for(user)
        if status is not None:
            self._status_codes.handle(incoming, caller, status)
            return
        applications = self.services.applications
        if user in (codes.voicemail, codes.record_greeting, codes.voicemail_login):
            if applications is None:
                answer = VOICEMAIL_NOT_AVAILABLE
                incoming.respond(answer.status, answer.reason)
                return
            if user == codes.voicemail:
                application = applications.voicemail_menu(caller)
            elif user == codes.record_greeting:
                application = applications.record_greeting(caller)
            else:
                application = applications.mailbox_login(caller)
            self._answer_locally(incoming, caller, application)
            return
        callee = self._callee(incoming.request)
        if callee is None:
            self._refuse(incoming, caller, Refusal.UNKNOWN_NUMBER)
            return
        runner = PlanRunner(self.services, self.routing, caller=caller, incoming=incoming)
        runner.run(callee)

    def _answer_locally(
        self, incoming: IncomingRequest, caller: Extension, application: Application
    ) -> None:
        call = Call(self.services, caller=caller, callee=caller, incoming=incoming)
        call.start()
        log.info("call: the PBX answers", call=call.id, caller=caller.number)
        if not call.answer_locally(application, reason=CallEndReason.CALLER_HUNG_UP):
            call.refuse(NOT_ACCEPTABLE.status, NOT_ACCEPTABLE.reason, NOT_ACCEPTABLE.why)

    def _refuse(self, incoming: IncomingRequest, caller: Extension, refusal: Refusal) -> None:
        log.info("call refused", caller=caller.number, status=refusal.status)
        incoming.respond(refusal.status, refusal.reason)

    def _callee(self, request: Request) -> Extension | None:
        user = request.uri.user
        if not user:
            return None
        return self._directory.by_number(user) or self._directory.by_sip_user(user)

    def on_ack(self, incoming: IncomingRequest) -> None:
        """The ACK of a 2xx we relayed (never answered)."""
        handle_ack(self.registry, incoming.request)

    def on_bye(self, incoming: IncomingRequest) -> None:
        """Either party hangs up."""
        handle_bye(self.registry, incoming)

    def on_in_dialog(self, incoming: IncomingRequest) -> None:
        """INFO, UPDATE...: relayed to the other party."""
        relay_request(self.registry, incoming)

    def on_cancel(self, incoming: IncomingRequest) -> None:
        """The caller gives up: 200 to the CANCEL, 487 to its INVITE (§9.2)."""
        key = incoming.transaction
        call = self.registry.by_invite(InviteKey(key.branch, key.sent_by)) if key else None
        if call is None:
            incoming.respond(StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
            return
        incoming.respond(StatusCode.OK, to_tag=call.caller_leg.tag)  # §9.2: the INVITE's tag
        call.cancel()
