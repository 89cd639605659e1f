"""The asyncio glue of the call core: requests in, commands out, one timer.

Theory of operation. :class:`B2bua` is what the SIP server routes INVITE,
ACK, BYE, CANCEL, INFO and UPDATE to, in the shape of aioquic's asyncio
protocol: feed the pure :class:`~centralino.calls.CallCore`, drain its
commands once, carry them out, re-arm one timer. A new INVITE (no To tag)
is checked here first, because it needs the engine's services:

1. the caller is authenticated with a 407 digest challenge, exactly like a
   REGISTER (the authenticator answers 407/403 itself);
2. the caller's extension is disabled -> 403;
3. the Request-URI user is a status dial code (:mod:`.dial_codes`): the
   caller's status is set and the INVITE answered; the voicemail codes are
   answered by the PBX (:class:`~centralino.calls.io.PbxAnswers`);
4. the Request-URI user is an extension number or SIP ID (else 404): the
   core routes the call (:class:`~centralino.calls.io.NewCall`).

An INVITE from a trunk skips the challenge and goes to its DID's owner or
the trunk's default destination; the few a trunk's call is refused here
(no destination 404, the trunk full 503, an end-call destination 603)
publish its record themselves, since the core never sees the call.

Everything else (Max-Forwards, routing, ringing, in-dialog requests,
CANCEL) is the core's. Events are queued and handled one at a time, so a
command whose execution feeds the core again (a transport failure reported
at once) never re-enters it. Every time is read from one monotonic clock.

The PBX's applications run as tasks owned by this object (voicemail,
screening); what they ask of their call comes back to the core as events,
and the core's answers (:class:`~centralino.calls.io.DialDone`,
:class:`~centralino.calls.io.ContinueWith`) wake them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import structlog

from centralino.calls import CallCore
from centralino.calls.admission import VOICEMAIL_NOT_AVAILABLE, Refusal
from centralino.calls.io import (
    Announce,
    ApplicationDone,
    ApplicationSpec,
    CallEvent,
    Cancel,
    Command,
    Connect,
    ContinueWith,
    Dial,
    DialDone,
    Explain,
    Fallback,
    HangUpCallee,
    InDialog,
    LeaveMessage,
    LegFailure,
    LegResponse,
    MailboxLogin,
    NewCall,
    OutsideCall,
    PbxAnswers,
    Publish,
    RecordGreeting,
    Respond,
    ScreenCall,
    SendAck,
    SendRequest,
    StartApplication,
    UnlockOutbound,
    VoicemailMenu,
)
from centralino.calls.records import refused_record
from centralino.domain.call_records import CallDirection
from centralino.domain.calls import CallState
from centralino.domain.destination import (
    EndCall,
    ExtensionDestination,
    ExtensionVoicemail,
    ExternalNumber,
)
from centralino.domain.events import CallRecordCreated
from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.location import Binding
from centralino.domain.office_hours import OfficeHours
from centralino.domain.ports import EventBus, StatusChanger
from centralino.sip.codes import Method, StatusCode
from centralino.sip.message import Request
from centralino.telephony.apps.channel import Channel, HungUp
from centralino.telephony.calls.channel import CallChannel
from centralino.telephony.calls.dial_codes import StatusCodes
from centralino.telephony.calls.media import PbxMedia
from centralino.telephony.calls.outside import EngineOutside, InboundCall
from centralino.telephony.calls.ports import (
    Application,
    Applications,
    Authenticator,
    ExtensionDirectory,
    Locations,
)
from centralino.telephony.sip_server import (
    ClientOutcome,
    IncomingRequest,
    RequestHandler,
    SipServer,
)

__all__ = ["RELAYED_METHODS", "B2bua", "EngineLookup"]

log = structlog.get_logger("centralino.calls")

T = TypeVar("T")

_DIALLED = re.compile(r"\+?[0-9]{2,32}")
"""A number an extension may dial out (anything else unknown is 404)."""

RELAYED_METHODS = (Method.INFO, Method.UPDATE)
"""In-dialog methods relayed as they are, besides re-INVITE."""


class EngineLookup:
    """The core's :class:`~centralino.calls.ports.Lookup`: the directory and the registrar."""

    def __init__(self, directory: ExtensionDirectory, locations: Locations) -> None:
        self._directory = directory
        self._locations = locations

    def by_number(self, number: str) -> Extension | None:
        """The extension with this number, if any."""
        return self._directory.by_number(number)

    def contacts(self, number: str) -> Sequence[Binding]:
        """The live bindings of ``number``."""
        return self._locations.contacts(number)

    def schedule_for(self, extension: Extension) -> OfficeHours:
        """The office hours that apply to ``extension``."""
        return self._directory.schedule_for(extension)

    def status_names(self) -> Mapping[Status, str]:
        """The configured status names."""
        return self._directory.settings.presence.names()


class B2bua:
    """The call core, fed from the SIP server (see the module docstring)."""

    def __init__(
        self,
        core: CallCore,
        *,
        sip: SipServer,
        authenticator: Authenticator,
        directory: ExtensionDirectory,
        events: EventBus,
        applications: Applications | None = None,
        status_changer: StatusChanger | None = None,
        clock: Callable[[], float] = time.monotonic,
        outside: EngineOutside | None = None,
    ) -> None:
        self.core = core
        self._outside = outside
        self._sip = sip
        self._authenticator = authenticator
        self._directory = directory
        self._events = events
        self._applications = applications
        self._clock = clock
        self._status_codes = StatusCodes(
            status_changer, lambda: directory.settings.presence.names()
        )
        self._queue: deque[CallEvent] = deque()
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._dials: dict[str, asyncio.Future[DialDone | None]] = {}
        self._continuations: dict[str, asyncio.Future[ContinueWith | None]] = {}

    def handlers(self) -> dict[str, RequestHandler]:
        """Method -> handler, for ``SipServer.route``."""
        table: dict[str, RequestHandler] = {
            Method.INVITE: self.on_invite,
            Method.ACK: self.on_in_dialog,
            Method.BYE: self.on_in_dialog,
            Method.CANCEL: self.on_cancel,
        }
        for method in RELAYED_METHODS:
            table[method] = self.on_in_dialog
        return table

    # Requests in -----------------------------------------------------------------

    def on_invite(self, incoming: IncomingRequest) -> None:
        """A new call, or a re-INVITE inside one."""
        request = incoming.request
        if request.headers.to_address().tag is not None:
            self.feed(InDialog(inbound=incoming))
            return
        hops = request.headers.max_forwards()
        if hops is not None and hops <= 0:
            incoming.respond(StatusCode.TOO_MANY_HOPS)
            return
        if self._outside is not None:
            peer = incoming.peer
            call = self._outside.inbound(request, peer.host, peer.port, peer.kind)
            if call is not None:
                self._from_trunk(incoming, call)
                return
        caller = self._authenticator.challenge_or_identify(incoming, proxy=True)
        if caller is not None:
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
        if user in (codes.voicemail, codes.record_greeting, codes.voicemail_login):
            if self._applications is None:
                answer = VOICEMAIL_NOT_AVAILABLE
                incoming.respond(answer.status, answer.reason)
                return
            application: ApplicationSpec
            if user == codes.voicemail:
                application = VoicemailMenu(owner=caller)
            elif user == codes.record_greeting:
                application = RecordGreeting(owner=caller)
            else:
                application = MailboxLogin(caller=caller)
            self.feed(PbxAnswers(inbound=incoming, caller=caller, application=application))
            return
        if user == self._directory.settings.numbering.outbound_unlock_code and (
            self._applications is not None and self._outside is not None
        ):
            unlock = UnlockOutbound(caller=caller)
            self.feed(PbxAnswers(inbound=incoming, caller=caller, application=unlock))
            return
        callee = self._callee(incoming.request)
        if callee is None and self._outside is not None and self._goes_outside(user):
            self.feed(OutsideCall(inbound=incoming, caller=caller, number=user))
            return
        if callee is None:
            self._refuse(incoming, caller, Refusal.UNKNOWN_NUMBER)
            return
        self.feed(NewCall(inbound=incoming, caller=caller, callee=callee))

    def _goes_outside(self, user: str) -> bool:
        """A number no extension has goes out, unless it is shaped like an extension's.

        An emergency number always goes out (112 is also three digits).
        """
        numbering = self._directory.settings.numbering
        if user in numbering.emergency_numbers:
            return True
        return _DIALLED.fullmatch(user) is not None and len(user) != numbering.extension_length

    def _from_trunk(self, incoming: IncomingRequest, call: InboundCall) -> None:
        """A call from a provider: to the extension owning its DID, else the trunk's default."""
        trunk, destination = call.trunk, call.route.destination
        log.info("inbound call", trunk=trunk.name, did=call.did, caller=call.caller.number)
        assert self._outside is not None
        if not self._outside.has_capacity(trunk):
            self._refuse_inbound(
                incoming, call, StatusCode.SERVICE_UNAVAILABLE, "Trunk at its call limit"
            )
            return
        callee: Extension | None = None
        match destination:
            case ExtensionDestination():
                callee = self._directory.by_number(destination.number)
            case ExtensionVoicemail() if self._applications is not None:
                box = self._directory.by_number(destination.number)
                if box is not None:
                    leave = LeaveMessage(box=box, caller=call.caller)
                    self.feed(
                        PbxAnswers(
                            inbound=incoming,
                            caller=call.caller,
                            application=leave,
                            trunk=trunk.name,
                            did=call.did,
                        )
                    )
                    return
            case ExternalNumber():
                self.feed(
                    OutsideCall(
                        inbound=incoming,
                        caller=call.caller,
                        number=destination.number,
                        trunk=trunk.name,
                        did=call.did,
                    )
                )
                return
            case EndCall():
                self._refuse_inbound(incoming, call, StatusCode.DECLINE, "Declined")
                return
            case _:
                pass
        if callee is None:
            log.info("inbound call refused", trunk=trunk.name, did=call.did, why=call.route.text)
            self._refuse_inbound(incoming, call, StatusCode.NOT_FOUND, "Unknown number")
            return
        self.feed(
            NewCall(
                inbound=incoming,
                caller=call.caller,
                callee=callee,
                trunk=trunk.name,
                did=call.did,
            )
        )

    def _refuse_inbound(
        self, incoming: IncomingRequest, call: InboundCall, status: StatusCode, reason: str
    ) -> None:
        """Refuse a trunk's call before the core, keeping its record (every call has one)."""
        incoming.respond(status, reason)
        self._record_refusal(
            call.caller,
            call.did,
            status,
            reason,
            direction=CallDirection.INBOUND,
            trunk=call.trunk.name,
            did=call.did,
            summary=call.route.text,
        )

    def _refuse(self, incoming: IncomingRequest, caller: Extension, refusal: Refusal) -> None:
        log.info("call refused", caller=caller.number, status=refusal.status)
        incoming.respond(refusal.status, refusal.reason)
        dialled = incoming.request.uri.user or ""
        self._record_refusal(caller, dialled, refusal.status, refusal.reason)

    def _record_refusal(
        self,
        caller: Extension,
        dialled: str,
        status: int,
        reason: str,
        *,
        direction: CallDirection = CallDirection.INTERNAL,
        trunk: str | None = None,
        did: str | None = None,
        summary: str = "",
    ) -> None:
        """The record of a call refused before the core saw it."""
        settings = self.core.context.settings
        now = settings.epoch + dt.timedelta(seconds=self._clock() - settings.epoch_monotonic)
        record = refused_record(
            id=uuid.uuid4().hex,
            at=now,
            direction=direction,
            caller=caller,
            dialled=dialled,
            did=did,
            trunk=trunk,
            status=status,
            reason=reason,
            summary=summary,
        )
        self._published(Publish(event=CallRecordCreated(record=record)))

    def _callee(self, request: Request) -> Extension | None:
        user = request.uri.user
        if not user:
            return None
        directory = self._directory
        return directory.by_number(user) or directory.by_sip_user(user) or directory.by_did(user)

    def on_in_dialog(self, incoming: IncomingRequest) -> None:
        """ACK, BYE, INFO, UPDATE: the core finds their call."""
        self.feed(InDialog(inbound=incoming))

    def on_cancel(self, incoming: IncomingRequest) -> None:
        """The caller gives up."""
        self.feed(Cancel(inbound=incoming))

    # Feed, drain, re-arm -------------------------------------------------------------

    def feed(self, event: CallEvent) -> None:
        """Give ``event`` to the core (queued while the core is busy)."""
        self._queue.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue:
                self._step(self._queue.popleft())
        finally:
            self._busy = False
        self._arm()

    def _step(self, event: CallEvent) -> None:
        try:
            self.core.handle_event(event, self._clock())
        except Exception:
            log.exception("call core failed on an event", event=type(event).__name__)
        self._drain()

    def _drain(self) -> None:
        core = self.core
        while (command := core.next_command()) is not None:
            try:
                self._execute(command)
            except Exception:
                log.exception("call command failed", command=type(command).__name__)

    def _arm(self) -> None:
        deadline = self.core.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(deadline - self._clock(), 0.0)
            self._timer = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        self._busy = True
        try:
            try:
                self.core.handle_timer(self._clock())
            except Exception:
                log.exception("call core failed on a timer")
            self._drain()
            while self._queue:
                self._step(self._queue.popleft())
        finally:
            self._busy = False
        self._arm()

    # Commands out ------------------------------------------------------------------

    def _execute(self, command: Command) -> None:
        match command:
            case Respond():
                inbound = command.inbound
                assert isinstance(inbound, IncomingRequest)
                inbound.send_response(command.response)
            case SendRequest():
                handle = command.handle
                self._sip.send_request(
                    command.request, command.peer, lambda outcome: self._outcome(handle, outcome)
                )
            case SendAck():
                self._sip.send_stateless(command.request, command.peer)
            case Publish():
                self._published(command)
            case StartApplication():
                self._start_application(command)
            case DialDone():
                _settle(self._dials, command.call_id, command)
            case ContinueWith():
                _settle(self._continuations, command.call_id, command)
            case Explain():
                log.info(
                    "routing: the call ends without a phone",
                    caller=command.caller,
                    called=command.called,
                    status=command.status,
                    reason=command.reason,
                    trace=list(command.trace),
                )

    def _outcome(self, handle: int, outcome: ClientOutcome) -> None:
        if outcome.response is not None:
            self.feed(LegResponse(handle=handle, response=outcome.response))
        else:
            self.feed(LegFailure(handle=handle, timed_out=outcome.timed_out))

    def _published(self, command: Publish) -> None:
        event = command.event
        if isinstance(event, CallRecordCreated):
            record = event.record
            log.info(
                "call ended",
                call=record.id,
                direction=record.direction.value,
                caller=record.caller,
                callee=record.callee,
                trunk=record.trunk,
                result=record.result.value,
                reason=record.reason,
            )
        elif event.state is CallState.ENDED:
            _settle(self._dials, event.call_id, None)
            _settle(self._continuations, event.call_id, None)
        self._events.publish(event)

    # Applications ------------------------------------------------------------------

    def _start_application(self, command: StartApplication) -> None:
        media = command.media
        assert isinstance(media, PbxMedia)
        call_id = command.call_id
        channel = CallChannel(
            media, lambda: self.feed(ApplicationDone(call_id=call_id)), party=command.party
        )
        application = self.application_for(command.application, call_id)
        if application is None:
            self.feed(ApplicationDone(call_id=call_id))
            return
        self._run(application, channel, call_id)

    def application_for(self, spec: ApplicationSpec, call_id: str) -> Application | None:
        applications = self._applications
        if applications is None:
            return None
        match spec:
            case LeaveMessage():
                return applications.leave_message(spec.box, spec.caller)
            case VoicemailMenu():
                return applications.voicemail_menu(spec.owner)
            case RecordGreeting():
                return applications.record_greeting(spec.owner)
            case MailboxLogin():
                return applications.mailbox_login(spec.caller)
            case ScreenCall():
                return applications.screen_call(_Screening(self, call_id))
            case Announce():
                return applications.announce(spec.prompt)
            case UnlockOutbound() if self._outside is not None:
                return applications.unlock_outbound(spec.caller, self._outside.unlock)
            case _:
                return None

    def _run(self, application: Application, channel: Channel, call_id: str) -> None:
        async def run() -> None:
            try:
                await application(channel)
            except HungUp:
                pass
            except Exception:
                log.exception("call application failed", call=call_id)
            finally:
                self.feed(ApplicationDone(call_id=call_id))

        task = asyncio.get_running_loop().create_task(run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain_applications(self, within: float = 5.0) -> None:
        """Wait for running applications (the engine is stopping; their calls ended)."""
        if self._running:
            await asyncio.wait(list(self._running), timeout=within)

    def close(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None

    # What screening asks --------------------------------------------------------------

    async def dial(self, call_id: str) -> DialDone | None:
        """Ring the screened extension; its answer (None: the call ended)."""
        future = self._expect(self._dials, call_id)
        self.feed(Dial(call_id=call_id))
        return await future

    async def fall_back(self, call_id: str) -> ContinueWith | None:
        """Go on with the plan; what to run on the caller (None: the call ended)."""
        future = self._expect(self._continuations, call_id)
        self.feed(Fallback(call_id=call_id))
        return await future

    @staticmethod
    def _expect(
        pending: dict[str, asyncio.Future[T | None]], call_id: str
    ) -> asyncio.Future[T | None]:
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        pending[call_id] = future
        return future


def _settle(pending: dict[str, asyncio.Future[T | None]], call_id: str, value: T | None) -> None:
    future = pending.pop(call_id, None)
    if future is not None and not future.done():
        future.set_result(value)


class _Screening:
    """The screening application's hold on its call (events to the core)."""

    def __init__(self, b2bua: B2bua, call_id: str) -> None:
        self._b2bua = b2bua
        self._call_id = call_id

    async def ring(self) -> Channel | None:
        """Ring the screened extension; its channel once it answers."""
        done = await self._b2bua.dial(self._call_id)
        if done is None or done.media is None:
            return None
        media = done.media
        assert isinstance(media, PbxMedia)
        call_id = self._call_id
        return CallChannel(
            media, lambda: self._b2bua.feed(HangUpCallee(call_id=call_id)), party=done.party
        )

    def connect(self) -> None:
        """Bridge the caller and the extension that accepted."""
        self._b2bua.feed(Connect(call_id=self._call_id))

    async def fallback(self, channel: Channel) -> None:
        """The extension refused or missed: its no-answer rule, on this channel."""
        continuation = await self._b2bua.fall_back(self._call_id)
        if continuation is None or continuation.bridged:
            return
        application = (
            self._b2bua.application_for(continuation.application, self._call_id)
            if continuation.application is not None
            else None
        )
        if application is None:
            await channel.hang_up()
            return
        await application(channel)
