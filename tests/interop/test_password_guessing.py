"""Password guessing over real UDP: the office's phone keeps working, the guesser is blocked.

The engine runs in-process on a free loopback port; the management services
(over the in-memory fakes, whose feed reaches the engine's bus as in
production) create the extensions, set ``security.trusted_networks`` to none
(loopback is a local network, trusted by default) and serve the REST API.
The office's phone is SIPp (an independent SIP implementation) registering
from 127.0.0.1 again and again; the attackers are scripted UDP senders. Every
SIPp run is bounded (``-m 1``, ``-timeout``) and stopped by its PID; floods
are a few hundred datagrams.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.app import build_engine
from centralino.domain.account import AccountRole
from centralino.domain.bus import LocalEventBus
from centralino.domain.credentials import CredentialGenerator
from centralino.sip.digest import DigestChallenge, DigestClient, choose_challenge
from centralino.sip.message import Response, parse_message
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.api.conftest import PASSWORD, log_in
from tests.fakes import FakeClock, InMemoryStore
from tests.interop.calls_support import free_port, run_once
from tests.telephony.registrar_support import InMemoryLocationStore, Phone

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]

SCENARIOS = Path(__file__).parent / "scenarios"
ACTOR = Actor(username="admin", role=AccountRole.OWNER)
OFFICE = "127.0.0.1"
ELSEWHERE = "127.0.0.2"  # the forger's own address (loopback answers all of 127/8)


class _RealClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class Pbx:
    services: ManagementServices
    telephony: Telephony
    api: httpx.AsyncClient
    workdir: Path

    @property
    def port(self) -> int:
        return self.telephony.port()

    async def sipp_register(self, number: str) -> tuple[int, str]:
        """The office's phone (SIPp) registers ``number`` once from 127.0.0.1."""
        extension = await self.services.extensions.get(number)
        command = [
            "sipp", f"{OFFICE}:{self.port}", "-sf", str(SCENARIOS / "reg_auth.xml"),
            "-i", OFFICE, "-p", str(free_port()), "-s", number,
            "-au", extension.auth_id, "-ap", extension.auth_password,
            "-set", "expires", "3600", "-m", "1", "-timeout", "20s", "-timeout_error",
            "-nostdin",
        ]  # fmt: skip
        return await run_once(command, self.workdir)

    async def blocked(self) -> list[tuple[str, str | None]]:
        response = await self.api.get("/api/v1/security/blocked")
        assert response.status_code == 200, response.text
        return [(item["address"], item["user"]) for item in response.json()]


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[Pbx]:
    bus = LocalEventBus()
    store = InMemoryStore(feed=bus)
    services = ManagementServices.build(
        store, FakeClock(), b"interop-secret-0123456789", CredentialGenerator(random.Random(11))
    )
    for number in ("101", "102"):
        await services.extensions.create(ACTOR, {"number": number})
    await services.settings.patch(ACTOR, {"security": {"trusted_networks": []}})
    await services.accounts.ensure_owner(PASSWORD)
    telephony = build_engine(
        TelephonySettings(bind=OFFICE, port=free_port()),
        units=store,
        store=InMemoryLocationStore(),
        events=bus,
        clock=_RealClock(),
    )
    await telephony.start()
    app = create_api(services.with_engine(telephony.live_view(), telephony.live_calls(), node="A"))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as api:
            await log_in(api)
            yield Pbx(services=services, telephony=telephony, api=api, workdir=tmp_path)
    finally:
        await telephony.stop()


def _register(server_port: int, user: str, source_port: int, authorization: str = "") -> bytes:
    lines = [
        f"REGISTER sip:{OFFICE}:{server_port} SIP/2.0",
        f"Via: SIP/2.0/UDP {OFFICE}:{source_port};branch=z9hG4bK{uuid.uuid4().hex}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{OFFICE}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{user}@{OFFICE}>",
        f"Call-ID: {uuid.uuid4().hex}",
        "CSeq: 1 REGISTER",
        f"Contact: <sip:{user}@{OFFICE}:{source_port}>",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return "\r\n".join([*lines, "Content-Length: 0", "", ""]).encode()


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


async def _challenge(sock: socket.socket, server_port: int, user: str) -> DigestChallenge:
    """A challenge the PBX sent to ``sock``'s own address."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(
        sock, _register(server_port, user, sock.getsockname()[1]), (OFFICE, server_port)
    )
    while True:
        message = parse_message(await asyncio.wait_for(loop.sock_recv(sock, 65535), 2))
        if isinstance(message, Response) and message.status == 401:
            challenge = choose_challenge(message.headers.get_all("www-authenticate"))
            assert challenge is not None
            return challenge


async def _guess(
    sock: socket.socket, server_port: int, user: str, challenge: DigestChallenge
) -> None:
    client = DigestClient(username=user, password=f"guess-{uuid.uuid4().hex[:6]}")
    credentials = client.authorize(challenge, method="REGISTER", uri=f"sip:{OFFICE}:{server_port}")
    data = _register(server_port, user, sock.getsockname()[1], str(credentials))
    await asyncio.get_running_loop().sock_sendto(sock, data, (OFFICE, server_port))


async def _forged_flood(pbx: Pbx, user: str, datagrams: int) -> None:
    """Wrong passwords for ``user`` "from" the office, answering nonces sent elsewhere."""
    own = _socket(ELSEWHERE)  # the forger's real address: it gets challenges there
    forged = _socket(OFFICE)  # stands for spoofed datagrams: never reads an answer
    try:
        challenges = [await _challenge(own, pbx.port, user) for _ in range(5)]
        for index in range(datagrams):
            await _guess(forged, pbx.port, user, challenges[index % len(challenges)])
            if index % 20 == 0:
                await asyncio.sleep(0.01)  # a few hundred per second, bounded
    finally:
        own.close()
        forged.close()


async def test_a_forged_flood_leaves_the_offices_phone_working(pbx: Pbx) -> None:
    code, output = await pbx.sipp_register("101")
    assert code == 0, output
    auth_id = (await pbx.services.extensions.get("101")).auth_id
    flood = asyncio.create_task(_forged_flood(pbx, auth_id, 400))
    for _ in range(4):  # the phone re-registers while the flood runs
        code, output = await pbx.sipp_register("101")
        assert code == 0, output
    await flood
    code, output = await pbx.sipp_register("101")
    assert code == 0, output
    assert await pbx.blocked() == []  # not one forged failure counted
    code, output = await pbx.sipp_register("102")  # nor is any other phone there refused
    assert code == 0, output


async def test_a_guesser_of_many_names_is_blocked_the_proven_phone_is_not(pbx: Pbx) -> None:
    code, output = await pbx.sipp_register("101")  # the office's phone: proven from there
    assert code == 0, output
    guesser = _socket(OFFICE)  # a host really on the office's address (it reads answers)
    try:
        for name in ("admin", "1000", "test", "100", "200", "operator"):
            await _guess(guesser, pbx.port, name, await _challenge(guesser, pbx.port, name))
        await asyncio.sleep(0.2)
    finally:
        guesser.close()
    assert (OFFICE, None) in await pbx.blocked()  # the whole address, for names not proven

    code, output = await pbx.sipp_register("101")
    assert code == 0, output  # the proven phone keeps working
    extension = await pbx.services.extensions.get("102")
    newcomer = Phone(pbx.port, user="102")
    try:
        refused = await newcomer.register(extension.auth_id, extension.auth_password)
        assert refused.final.status == 403  # not proven there: refused with the rest

        response = await pbx.api.delete(f"/api/v1/security/blocked/{OFFICE}")
        assert response.status_code == 204
        assert await pbx.blocked() == []
        audit = await pbx.api.get(
            "/api/v1/audit", params={"resource": "security_block", "resource_id": OFFICE}
        )
        assert [(e["actor"], e["action"]) for e in audit.json()["items"]] == [("admin", "unblock")]

        accepted = await newcomer.register(extension.auth_id, extension.auth_password)
        assert accepted.final.status == 200  # the engine followed the unblock on the feed
    finally:
        newcomer.close()
