"""The call core: every call of the PBX, driven by events and time.

Theory of operation. :class:`CallCore` is the B2BUA without I/O, in the
calling convention of the other protocol layers (DESIGN.md §4):

* :meth:`CallCore.handle_event` takes one :data:`~.io.CallEvent` and the
  time: a new call to route, a request inside a call, a CANCEL, a response
  or failure of a request the core sent, or what an application asks;
* :meth:`CallCore.handle_timer` fires every deadline due (setup and
  no-answer timers, 2xx resends and their give-up);
* :meth:`CallCore.next_command` drains what to do (respond, send, ACK,
  publish, start an application...) and :meth:`CallCore.get_timer` says
  when to call :meth:`CallCore.handle_timer` next.

Events are dispatched by type through a table. Nothing here blocks, reads
a clock or touches a socket, so a whole call — fork, first answer wins,
CANCEL races, re-INVITE, hang-up, no-answer — is tested by feeding events
and moving time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from centralino.calls.admission import NOT_ACCEPTABLE
from centralino.calls.call import Call
from centralino.calls.context import Context, CoreSettings
from centralino.calls.in_dialog import handle_ack, handle_bye, relay_request
from centralino.calls.io import (
    ApplicationDone,
    CallEvent,
    Cancel,
    Command,
    Connect,
    Dial,
    Fallback,
    HangUpCallee,
    InDialog,
    LeaveMessage,
    LegFailure,
    LegResponse,
    NewCall,
    OutsideCall,
    PbxAnswers,
)
from centralino.calls.outside import Outside
from centralino.calls.ports import Addressing, Lookup, MediaPolicy
from centralino.calls.registry import CallRegistry, InviteKey
from centralino.calls.walker import Walker
from centralino.domain.call_records import CallDirection
from centralino.domain.calls import CallEndReason, LiveCall
from centralino.sip.codes import Method, StatusCode
from centralino.sip.message import make_response

__all__ = ["CallCore"]


class CallCore:
    """Every call in progress (see the module docstring)."""

    def __init__(
        self,
        settings: CoreSettings,
        *,
        lookup: Lookup,
        addressing: Addressing,
        media: MediaPolicy,
        outside: Outside | None = None,
    ) -> None:
        self.context = Context(
            settings, lookup=lookup, addressing=addressing, media=media, outside=outside
        )
        self.registry: CallRegistry[Call] = CallRegistry()
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            NewCall: self._new_call,
            OutsideCall: self._outside_call,
            PbxAnswers: self._pbx_answers,
            InDialog: self._in_dialog,
            Cancel: self._cancel,
            LegResponse: self.context.deliver,
            LegFailure: self.context.deliver,
            ApplicationDone: self._application_done,
            Dial: self._dial,
            HangUpCallee: self._hang_up_callee,
            Connect: self._connect,
            Fallback: self._fallback,
        }

    # The calling convention -------------------------------------------------------

    def handle_event(self, event: CallEvent, now: float) -> None:
        """Take one event at time ``now``."""
        self.context.now = now
        self._handlers[type(event)](event)

    def handle_timer(self, now: float) -> None:
        """Fire every deadline due at ``now``."""
        self.context.now = now
        self.context.timers.expire(now)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` is next due (None: nothing pending)."""
        return self.context.timers.next_deadline()

    def next_command(self) -> Command | None:
        """The next thing to do, or None."""
        commands = self.context.commands
        return commands.popleft() if commands else None

    # The LiveCalls port -----------------------------------------------------------

    def calls(self) -> Sequence[LiveCall]:
        """Every call not yet ended, oldest first."""
        return self.registry.calls()

    def calls_in_progress(self, number: str) -> int:
        """How many live calls extension ``number`` takes part in."""
        return self.registry.calls_in_progress(number)

    def __len__(self) -> int:
        return len(self.registry)

    def call(self, call_id: str) -> Call | None:
        """A call in progress by id."""
        return self.registry.get(call_id)

    # Events -----------------------------------------------------------------------

    def _walker(self, event: NewCall | OutsideCall) -> Walker:
        return Walker(
            self.context,
            self.registry,
            caller=event.caller,
            inbound=event.inbound,
            trunk=event.trunk,
            did=event.did,
        )

    def _new_call(self, event: NewCall) -> None:
        self._walker(event).run(event.callee)

    def _outside_call(self, event: OutsideCall) -> None:
        self._walker(event).dial_outside(event.number)

    def _pbx_answers(self, event: PbxAnswers) -> None:
        application = event.application
        callee = application.box if isinstance(application, LeaveMessage) else event.caller
        call = Call(
            self.context,
            self.registry,
            caller=event.caller,
            callee=callee,
            inbound=event.inbound,
        )
        if event.trunk is not None:
            call.direction = CallDirection.INBOUND
            call.inbound_trunk, call.did = event.trunk, event.did
            call.dialled = event.did or callee.number
        call.start()
        reason = (
            CallEndReason.VOICEMAIL
            if isinstance(application, LeaveMessage)
            else CallEndReason.CALLER_HUNG_UP
        )
        if not call.answer_locally(application, reason=reason):
            call.refuse(NOT_ACCEPTABLE.status, NOT_ACCEPTABLE.reason, NOT_ACCEPTABLE.why)

    def _in_dialog(self, event: InDialog) -> None:
        inbound = event.inbound
        match inbound.request.method:
            case Method.ACK:
                handle_ack(self.registry, inbound.request)
            case Method.BYE:
                handle_bye(self.context, self.registry, inbound)
            case _:
                relay_request(self.context, self.registry, inbound)

    def _cancel(self, event: Cancel) -> None:
        """The caller gives up: 200 to the CANCEL, 487 to its INVITE (§9.2)."""
        inbound = event.inbound
        key = inbound.transaction
        call = self.registry.by_invite(InviteKey(key.branch, key.sent_by)) if key else None
        if call is None:
            self.context.reply(inbound, StatusCode.CALL_TRANSACTION_DOES_NOT_EXIST)
            return
        tag = call.caller_leg.tag  # §9.2: the tag of the INVITE's answers
        self.context.respond(inbound, make_response(inbound.request, StatusCode.OK, to_tag=tag))
        call.cancel()

    def _application_done(self, event: ApplicationDone) -> None:
        call = self.call(event.call_id)
        if call is not None:
            call.application_done()

    def _dial(self, event: Dial) -> None:
        call = self.call(event.call_id)
        if call is not None and call.routing is not None:
            call.routing.screening_dial()

    def _hang_up_callee(self, event: HangUpCallee) -> None:
        call = self.call(event.call_id)
        if call is not None and call.dialer is not None:
            call.dialer.hang_up_callee()

    def _connect(self, event: Connect) -> None:
        call = self.call(event.call_id)
        if call is not None:
            call.connect()

    def _fallback(self, event: Fallback) -> None:
        call = self.call(event.call_id)
        if call is not None and call.routing is not None:
            call.routing.fallback()
