"""Helpers for registrar tests: an in-memory LocationStore, a scripted UDP phone,
and a running ``Telephony`` on loopback over the in-memory fakes."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from centralino.app import build_engine
from centralino.domain.bus import LocalEventBus
from centralino.domain.location import Binding, LocationStore
from centralino.domain.ports import UnitOfWorkFactory
from centralino.sip.digest import DigestClient, choose_challenge
from centralino.sip.message import Request, Response, parse_message
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.fakes import FakeClock

__all__ = ["InMemoryLocationStore", "Phone", "RegisterResult", "start_telephony"]


class InMemoryLocationStore:
    """``LocationStore`` in a dict; counts writes."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Binding]] = {}
        self.writes = 0

    async def all(self) -> Sequence[Binding]:
        return [binding for bindings in self.rows.values() for binding in bindings]

    async def replace_for(self, number: str, bindings: Sequence[Binding]) -> None:
        await self.replace_many({number: bindings})

    async def replace_many(self, changes: Mapping[str, Sequence[Binding]]) -> None:
        self.writes += 1
        for number, bindings in changes.items():
            if bindings:
                self.rows[number] = list(bindings)
            else:
                self.rows.pop(number, None)

    async def remove_all(self, number: str) -> None:
        await self.replace_many({number: ()})


@dataclass
class RegisterResult:
    final: Response
    challenge: Response | None = None


@dataclass
class Phone:
    """A UDP SIP phone driven by the test, one socket on loopback."""

    server_port: int
    user: str = "101"
    sock: socket.socket = field(init=False)
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cseq: int = 0

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()

    def register_text(self, *, contact: str | None, expires: int | None, extra: str = "") -> str:
        self.cseq += 1
        lines = [
            f"REGISTER sip:127.0.0.1:{self.server_port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@127.0.0.1>;tag={self.call_id[:8]}",
            f"To: <sip:{self.user}@127.0.0.1>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            "User-Agent: test-phone",
        ]
        if contact is not None:
            lines.append(f"Contact: {contact}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if extra:
            lines.append(extra)
        lines += ["Content-Length: 0", "", ""]
        return "\r\n".join(lines)

    async def send(self, text: str) -> Response:
        loop = asyncio.get_running_loop()
        await loop.sock_sendto(self.sock, text.encode(), ("127.0.0.1", self.server_port))
        return await self.receive_response()

    async def receive_response(self) -> Response:
        while True:
            message = await self.receive()
            if isinstance(message, Response):
                return message

    async def receive(self, wait: float = 2.0) -> Request | Response:
        loop = asyncio.get_running_loop()
        data = await asyncio.wait_for(loop.sock_recv(self.sock, 65535), wait)
        return parse_message(data)

    async def register(
        self,
        auth_user: str,
        password: str,
        *,
        contact: str | None = "default",
        expires: int | None = 3600,
    ) -> RegisterResult:
        """REGISTER, answer the 401 with digest, return the final answer."""
        if contact == "default":
            contact = f"<sip:{self.user}@127.0.0.1:{self.port}>"
        first = await self.send(self.register_text(contact=contact, expires=expires))
        if first.status != 401:
            return RegisterResult(final=first)
        challenge = choose_challenge(first.headers.get_all("www-authenticate"))
        assert challenge is not None
        client = DigestClient(username=auth_user, password=password)
        credentials = client.authorize(
            challenge, method="REGISTER", uri=f"sip:127.0.0.1:{self.server_port}"
        )
        text = self.register_text(
            contact=contact, expires=expires, extra=f"Authorization: {credentials}"
        )
        return RegisterResult(final=await self.send(text), challenge=first)


async def start_telephony(
    store: UnitOfWorkFactory,
    clock: FakeClock,
    *,
    location: LocationStore | None = None,
    bus: LocalEventBus | None = None,
    settings: TelephonySettings | None = None,
    **engine: Any,
) -> Telephony:
    """A started engine on 127.0.0.1, a free port (``engine``: more constructor arguments)."""
    telephony = build_engine(
        settings or TelephonySettings(bind="127.0.0.1", port=0),
        units=store,
        store=location or InMemoryLocationStore(),
        events=bus or LocalEventBus(),
        clock=clock,
        **engine,
    )
    await telephony.start()
    return telephony
