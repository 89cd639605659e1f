"""Drive the pure call core by hand: phones as message builders, time as a number.

No socket, no sleep: a test feeds events (INVITE from 101, 180 from a fork,
ACK...) into :class:`~centralino.calls.CallCore`, moves time with
:meth:`Core.advance`, and reads back the commands it emitted.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from centralino.calls import CallCore, CoreSettings, LocalAnswer, Sdp, SdpRole
from centralino.calls.io import (
    Command,
    InDialog,
    LegFailure,
    LegResponse,
    NewCall,
    Publish,
    Respond,
    SendAck,
    SendRequest,
)
from centralino.calls.ports import Direction
from centralino.domain.call_records import CallRecord
from centralino.domain.calls import CallState
from centralino.domain.events import CallRecordCreated, CallStateChanged
from centralino.domain.extension import Extension
from centralino.domain.forwarding import Status
from centralino.domain.location import Binding
from centralino.domain.office_hours import OfficeHours
from centralino.routing import STATUS_NAMES
from centralino.sip.address import NameAddress
from centralino.sip.events import TransactionKey
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response, make_request, make_response
from centralino.sip.peer import Peer, TransportKind
from centralino.sip.uri import Uri
from tests.telephony.calls_support import extension

__all__ = ["Core", "FakeMedia", "Inbound", "binding", "extension", "offer"]

T = TypeVar("T")

EPOCH = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)  # a Monday, office hours


def offer(port: int = 4000) -> bytes:
    """A small audio SDP."""
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    ).encode()


@dataclass(frozen=True, slots=True)
class Inbound:
    """A request as the glue hands it to the core."""

    request: Request
    peer: Peer
    transaction: TransactionKey | None


def binding(number: str, host: str, port: int = 5062) -> Binding:
    """A registered contact of ``number`` at ``host``."""
    return Binding(
        number=number,
        contact=f"sip:{number}@{host}:{port}",
        transport="udp",
        host=host,
        port=port,
        expires_at=EPOCH + dt.timedelta(hours=1),
        registered_at=EPOCH,
        call_id=f"reg-{number}-{host}",
        cseq=1,
    )


class FakeLookup:
    def __init__(self) -> None:
        self.extensions: dict[str, Extension] = {}
        self.bindings: dict[str, list[Binding]] = {}

    def by_number(self, number: str) -> Extension | None:
        return self.extensions.get(number)

    def contacts(self, number: str) -> Sequence[Binding]:
        return self.bindings.get(number, [])

    def schedule_for(self, extension: Extension) -> OfficeHours:
        return OfficeHours()

    def status_names(self) -> Mapping[Status, str]:
        return STATUS_NAMES


class FakeAddressing:
    def __init__(self) -> None:
        self._branches = itertools.count(1)

    def advertised_host_for(self, address: str | None) -> str:
        return "192.0.2.1"

    def local_port(self, kind: TransportKind = TransportKind.UDP) -> int:
        return 5060

    def via(self, kind: TransportKind, branch: str | None = None, *, to: str | None = None) -> str:
        branch = branch or f"z9hG4bKcore{next(self._branches)}"
        return f"SIP/2.0/{kind.via_name} 192.0.2.1:5060;branch={branch};rport"

    def tag_for(self, request: Request) -> str:
        return "pbxtag"


@dataclass
class FakeMedia:
    """Passes SDP through; answers locally with a marker; records what it was told."""

    can_answer: bool = True
    released: list[str] = field(default_factory=list)
    bridged: list[str] = field(default_factory=list)
    pressed: list[tuple[object, str]] = field(default_factory=list)
    closed: list[object] = field(default_factory=list)
    relayed: list[tuple[Direction, SdpRole]] = field(default_factory=list)

    def relay(self, call_id: str, direction: Direction, sdp: Sdp, *, to: str) -> Sdp:
        self.relayed.append((direction, sdp.role))
        return sdp

    def release(self, call_id: str) -> None:
        self.released.append(call_id)

    def answer_locally(self, call_id: str, offer: Sdp | None, *, to: str) -> LocalAnswer | None:
        if not self.can_answer:
            return None
        role = SdpRole.OFFER if offer is None else SdpRole.ANSWER
        return LocalAnswer(Sdp.of(_pbx_sdp(8000), role) or _never(), f"media-caller-{call_id}")

    def answer_in_ack(self, call_id: str, answer: Sdp | None) -> bool:
        return answer is not None

    def offer_locally(self, call_id: str, *, to: str) -> Sdp | None:
        return Sdp.of(_pbx_sdp(8002), SdpRole.OFFER)

    def callee_answered(self, call_id: str, answer: Sdp | None) -> object | None:
        return f"media-callee-{call_id}" if answer is not None else None

    def bridge(self, call_id: str) -> None:
        self.bridged.append(call_id)

    def press(self, media: object, key: str) -> None:
        self.pressed.append((media, key))

    def close(self, media: object) -> None:
        self.closed.append(media)


def _pbx_sdp(port: int) -> bytes:
    return offer(port).replace(b"o=- 1 1", b"o=centralino 9 1").replace(b"127.0.0.1", b"192.0.2.1")


def _never() -> Sdp:
    raise AssertionError("the PBX's SDP is not empty")


class Core:
    """A call core with fakes around it, and a clock in a float."""

    def __init__(self, *, applications: bool = True, ring_timeout: float = 180.0) -> None:
        self.lookup = FakeLookup()
        self.media = FakeMedia()
        self.now = 100.0
        self.core = CallCore(
            CoreSettings(
                ring_timeout=ring_timeout,
                applications=applications,
                epoch=EPOCH,
                epoch_monotonic=self.now,
            ),
            lookup=self.lookup,
            addressing=FakeAddressing(),
            media=self.media,
        )
        self.sent: list[Command] = []
        self._branches = itertools.count(1)

    def add(self, extension: Extension, *hosts: str) -> Extension:
        self.lookup.extensions[extension.number] = extension
        self.lookup.bindings[extension.number] = [binding(extension.number, h) for h in hosts]
        return extension

    # Time and commands ----------------------------------------------------------

    def feed(self, event: object) -> list[Command]:
        self.core.handle_event(event, self.now)  # type: ignore[arg-type]
        return self.drain()

    def drain(self) -> list[Command]:
        out = []
        while (command := self.core.next_command()) is not None:
            out.append(command)
        self.sent += out
        return out

    def advance(self, seconds: float) -> list[Command]:
        """Move time forward, firing every timer due on the way."""
        target = self.now + seconds
        out: list[Command] = []
        while (deadline := self.core.get_timer()) is not None and deadline <= target:
            self.now = max(self.now, deadline)
            self.core.handle_timer(self.now)
            out += self.drain()
        self.now = target
        return out

    # Phones -----------------------------------------------------------------------

    def invite(self, caller: str, callee: str, body: bytes | None = None) -> Inbound:
        """An INVITE from ``caller``'s phone (at 10.0.0.1) to ``callee``."""
        branch = f"z9hG4bKphone{next(self._branches)}"
        request = make_request(
            "INVITE",
            Uri.parse(f"sip:{callee}@192.0.2.1"),
            via=Via.parse(f"SIP/2.0/UDP 10.0.0.1:5062;branch={branch}"),
            from_address=NameAddress(uri=Uri.parse(f"sip:{caller}@192.0.2.1")).with_tag("a1"),
            to_address=NameAddress(uri=Uri.parse(f"sip:{callee}@192.0.2.1")),
            call_id=f"call-{branch}",
            cseq=1,
            extra_headers=[("Contact", f"<sip:{caller}@10.0.0.1:5062>")]
            + ([("Content-Type", "application/sdp")] if body is None or body else []),
            body=offer() if body is None else body,
        )
        peer = Peer(TransportKind.UDP, "10.0.0.1", 5062)
        key = TransactionKey(branch=branch, method="INVITE", sent_by="10.0.0.1:5062", server=True)
        return Inbound(request, peer, key)

    def call(
        self, caller: str, callee: str, body: bytes | None = None
    ) -> tuple[Inbound, list[Command]]:
        inbound = self.invite(caller, callee, body)
        event = NewCall(
            inbound=inbound,
            caller=self.lookup.extensions[caller],
            callee=self.lookup.extensions[callee],
        )
        return inbound, self.feed(event)

    def answer(
        self, sent: SendRequest, status: int, *, body: bytes = b"", tag: str = "b1"
    ) -> list[Command]:
        """The phone ``sent`` went to answers with ``status``."""
        response = respond_to(sent.request, status, tag=tag, body=body)
        return self.feed(LegResponse(handle=sent.handle, response=response))

    def fail(self, sent: SendRequest) -> list[Command]:
        return self.feed(LegFailure(handle=sent.handle, timed_out=True))

    def in_dialog(self, request: Request, peer: Peer) -> list[Command]:
        key = None
        if request.method != "ACK":
            branch = request.headers.vias()[0].branch or ""
            key = TransactionKey(branch=branch, method=request.method, server=True)
        return self.feed(InDialog(inbound=Inbound(request, peer, key)))


def respond_to(request: Request, status: int, *, tag: str = "b1", body: bytes = b"") -> Response:
    """A phone's response to ``request`` (Contact of the phone, SDP when given)."""
    host = request.uri.host
    extra = [("Contact", f"<sip:phone@{host}:5062>")]
    if body:
        extra.append(("Content-Type", "application/sdp"))
    return make_response(request, status, to_tag=tag, extra_headers=extra, body=body)


def of(commands: Sequence[Command], kind: type[T]) -> list[T]:
    """The commands of one kind, in order."""
    return [command for command in commands if isinstance(command, kind)]


def statuses(commands: Sequence[Command]) -> list[int]:
    """The statuses of the responses among ``commands``."""
    return [command.response.status for command in of(commands, Respond)]


def states(commands: Sequence[Command]) -> list[CallState]:
    return [
        command.event.state
        for command in of(commands, Publish)
        if isinstance(command.event, CallStateChanged)
    ]


def changes(commands: Sequence[Command]) -> list[CallStateChanged]:
    """The call state changes among ``commands``."""
    return [
        command.event
        for command in of(commands, Publish)
        if isinstance(command.event, CallStateChanged)
    ]


def records(commands: Sequence[Command]) -> list[CallRecord]:
    """The call records among ``commands``."""
    return [
        command.event.record
        for command in of(commands, Publish)
        if isinstance(command.event, CallRecordCreated)
    ]


def acks(commands: Sequence[Command]) -> list[SendAck]:
    return of(commands, SendAck)
