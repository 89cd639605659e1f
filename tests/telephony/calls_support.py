"""Helpers for B2BUA tests: scripted UDP phones and a started engine with calls.

A :class:`SipPhone` is one UDP socket on loopback that registers with digest,
places calls (answering the 407 challenge), and answers calls, all scripted
by the test. Received messages are kept in a backlog so a test can wait for
"the 180" even when the 200 arrived first.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from centralino.calls import Call
from centralino.calls.registry import CallRegistry
from centralino.domain.bus import LocalEventBus
from centralino.domain.extension import Extension
from centralino.sip.address import NameAddress
from centralino.sip.digest import DigestClient, choose_challenge
from centralino.sip.headers import Via
from centralino.sip.message import Request, Response, make_request, make_response, parse_message
from centralino.sip.uri import Uri
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.registrar_support import start_telephony

__all__ = [
    "PASSWORD",
    "Dialed",
    "SipPhone",
    "contact_uri",
    "extension",
    "sdp",
    "start_calls",
]

PASSWORD = "Secret-password-101"


def extension(number: str, **fields: object) -> Extension:
    """A valid extension with a known password (``user<number>`` / PASSWORD)."""
    document: dict[str, object] = {
        "number": number,
        "auth_id": f"user{number}",
        "auth_password": PASSWORD,
        "voicemail": {"pin": "135790"},
    }
    return Extension.model_validate(document | fields)


def sdp(port: int, direction: str = "sendrecv") -> bytes:
    """A small audio offer/answer on 127.0.0.1:``port``."""
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=%s\r\n" % direction
    ).encode()


@dataclass
class Dialed:
    """A call this phone placed: its INVITE and what the PBX answered."""

    invite: Request
    final: Response | None = None


@dataclass
class SipPhone:
    """A scripted UDP phone for extension ``number``."""

    server_port: int
    number: str
    sock: socket.socket = field(init=False)
    backlog: list[Request | Response] = field(default_factory=list)
    cseq: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.digest = DigestClient(username=f"user{self.number}", password=PASSWORD)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def contact(self) -> str:
        return f"<sip:{self.number}@127.0.0.1:{self.port}>"

    def close(self) -> None:
        self.sock.close()

    # Wire --------------------------------------------------------------------

    def send(self, message: Request | Response) -> None:
        self.sock.sendto(bytes(message), ("127.0.0.1", self.server_port))

    async def _read(self, wait: float) -> Request | Response:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), wait)
        return parse_message(data)

    async def expect(
        self, match: Callable[[Request | Response], bool], wait: float = 3.0
    ) -> Request | Response:
        """The first message (backlog first) that ``match`` accepts."""
        for message in self.backlog:
            if match(message):
                self.backlog.remove(message)
                return message
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await self._read(max(left, 0.001))
            if match(message):
                return message
            self.backlog.append(message)

    async def response(self, status: int, method: str = "INVITE", wait: float = 3.0) -> Response:
        """Wait for a response with ``status`` to a ``method`` request."""

        def match(m: Request | Response) -> bool:
            return (
                isinstance(m, Response) and m.status == status and m.headers.cseq().method == method
            )

        found = await self.expect(match, wait)
        assert isinstance(found, Response)
        return found

    async def final(self, method: str = "INVITE", wait: float = 3.0) -> Response:
        """Wait for any final response to a ``method`` request."""

        def match(m: Request | Response) -> bool:
            return isinstance(m, Response) and m.status >= 200 and m.headers.cseq().method == method

        found = await self.expect(match, wait)
        assert isinstance(found, Response)
        return found

    async def request(self, method: str, wait: float = 3.0) -> Request:
        """Wait for a request of ``method``."""
        found = await self.expect(lambda m: isinstance(m, Request) and m.method == method, wait)
        assert isinstance(found, Request)
        return found

    async def silent(self, method: str, wait: float = 0.3) -> bool:
        """True when no ``method`` request arrives within ``wait`` seconds."""
        try:
            await self.request(method, wait)
        except TimeoutError:
            return True
        return False

    # Building ------------------------------------------------------------------

    def via(self) -> Via:
        return Via.parse(f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex}")

    def new_request(
        self,
        method: str,
        uri: str,
        *,
        to: str,
        call_id: str,
        tag: str,
        extra: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Request:
        self.cseq += 1
        fields = [("Contact", self.contact), *extra]
        if body:
            fields.append(("Content-Type", "application/sdp"))
        return make_request(
            method,
            Uri.parse(uri),
            via=self.via(),
            from_address=NameAddress.parse(f"<sip:{self.number}@127.0.0.1>;tag={tag}"),
            to_address=NameAddress.parse(to),
            call_id=call_id,
            cseq=self.cseq,
            extra_headers=fields,
            body=body,
        )

    # Scripts ---------------------------------------------------------------------

    async def register(self) -> Response:
        """REGISTER this phone's contact, answering the 401."""
        call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        uri = f"sip:127.0.0.1:{self.server_port}"
        to = f"<sip:{self.number}@127.0.0.1>"
        extra = [("Expires", "3600")]
        first = self.new_request("REGISTER", uri, to=to, call_id=call_id, tag=tag, extra=extra)
        self.send(first)
        challenge_response = await self.final("REGISTER")
        if challenge_response.status != 401:
            return challenge_response
        challenge = choose_challenge(challenge_response.headers.get_all("www-authenticate"))
        assert challenge is not None
        credentials = self.digest.authorize(challenge, method="REGISTER", uri=uri)
        extra.append(("Authorization", str(credentials)))
        self.send(self.new_request("REGISTER", uri, to=to, call_id=call_id, tag=tag, extra=extra))
        return await self.final("REGISTER")

    async def dial(self, target: str, body: bytes | None = None, *, auth: bool = True) -> Dialed:
        """INVITE ``target`` (a user part); answer the 407 when ``auth``."""
        call_id, tag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
        uri = f"sip:{target}@127.0.0.1:{self.server_port}"
        to = f"<sip:{target}@127.0.0.1>"
        offer = sdp(self.port + 1000) if body is None else body
        invite = self.new_request("INVITE", uri, to=to, call_id=call_id, tag=tag, body=offer)
        self.send(invite)
        if not auth:
            return Dialed(invite=invite)
        first = await self.final()
        self.send(self.ack_for(invite, first))
        if first.status != 407:
            return Dialed(invite=invite, final=first)
        challenge = choose_challenge(first.headers.get_all("proxy-authenticate"))
        assert challenge is not None
        credentials = self.digest.authorize(challenge, method="INVITE", uri=uri)
        extra = [("Proxy-Authorization", str(credentials))]
        invite = self.new_request(
            "INVITE", uri, to=to, call_id=call_id, tag=tag, extra=extra, body=offer
        )
        self.send(invite)
        return Dialed(invite=invite)

    def ack_for(self, invite: Request, response: Response, body: bytes = b"") -> Request:
        """The ACK of ``response`` to ``invite`` (non-2xx: same branch; 2xx: new)."""
        via = invite.headers.vias()[0] if response.status >= 300 else self.via()
        extra = [("Content-Type", "application/sdp")] if body else []
        return make_request(
            "ACK",
            contact_uri(response) if response.is_success else invite.uri,
            via=via,
            from_address=invite.headers.from_address(),
            to_address=response.headers.to_address(),
            call_id=invite.headers.call_id(),
            cseq=invite.headers.cseq().number,
            extra_headers=extra,
            body=body,
        )

    def cancel(self, invite: Request) -> None:
        """CANCEL ``invite`` (same branch, RFC 3261 §9.1)."""
        self.send(
            make_request(
                "CANCEL",
                invite.uri,
                via=invite.headers.vias()[0],
                from_address=invite.headers.from_address(),
                to_address=invite.headers.to_address(),
                call_id=invite.headers.call_id(),
                cseq=invite.headers.cseq().number,
            )
        )

    def answer(
        self, request: Request, status: int, *, tag: str = "callee", body: bytes = b""
    ) -> Response:
        """Answer a request this phone received."""
        extra = [("Contact", self.contact)]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        response = make_response(request, status, to_tag=tag, extra_headers=extra, body=body)
        self.send(response)
        return response

    def in_dialog(
        self, method: str, *, local: NameAddress, remote: NameAddress, call_id: str,
        target: Uri, body: bytes = b"",
    ) -> Request:  # fmt: skip
        """Send a request inside a dialog (BYE, re-INVITE) to the PBX."""
        self.cseq += 1
        extra = [("Contact", self.contact)]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        request = make_request(
            method,
            target,
            via=self.via(),
            from_address=local,
            to_address=remote,
            call_id=call_id,
            cseq=self.cseq + 100,
            extra_headers=extra,
            body=body,
        )
        self.send(request)
        return request


def contact_uri(message: Request | Response) -> Uri:
    """The first Contact URI of ``message``."""
    contacts = message.headers.contacts()
    assert isinstance(contacts, list)
    return contacts[0].uri


async def start_calls(
    store: InMemoryStore,
    clock: FakeClock,
    bus: LocalEventBus,
    *,
    ring_timeout: float = 60.0,
    media_anchoring: bool = False,
    **engine: Any,
) -> tuple[Telephony, CallRegistry[Call]]:
    """A started engine on loopback (its B2BUA included) and its call registry.

    ``media_anchoring`` is off by default here, so signalling tests see the
    SDP as the phones wrote it (tests/telephony/test_media*.py cover it on).
    ``engine`` goes to the Telephony constructor (mailboxes, applications...).
    """
    settings = TelephonySettings(
        bind="127.0.0.1", port=0, ring_timeout=ring_timeout, media_anchoring=media_anchoring
    )
    telephony = await start_telephony(store, clock, bus=bus, settings=settings, **engine)
    return telephony, telephony.calls.registry
