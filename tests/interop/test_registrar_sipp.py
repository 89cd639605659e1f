"""The registrar against SIPp (a real, independent SIP implementation).

The engine runs in-process on free loopback ports over the in-memory fakes;
extensions are created and changed through the management services, so the
domain events reach the engine as in production. Every SIPp run is bounded
(``-m 1``, ``-timeout``) and stopped by its PID.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.app import build_engine
from centralino.domain.account import AccountRole
from centralino.domain.bus import LocalEventBus
from centralino.domain.credentials import CredentialGenerator
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.fakes import FakeClock, InMemoryStore
from tests.interop.calls_support import free_port, run_once
from tests.telephony.registrar_support import InMemoryLocationStore

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]

SCENARIOS = Path(__file__).parent / "scenarios"
ACTOR = Actor(username="admin", role=AccountRole.OWNER)


@dataclass
class Pbx:
    services: ManagementServices
    telephony: Telephony
    workdir: Path

    async def sipp(
        self,
        scenario: str,
        user: str,
        password: str,
        *,
        service: str = "101",
        expires: int | None = 3600,
        local_port: int | None = None,
    ) -> tuple[int, str]:
        """Run one SIPp call of ``scenario``; return its exit code and output."""
        command = [
            "sipp", f"127.0.0.1:{self.telephony.port()}",
            "-sf", str(SCENARIOS / scenario),
            "-i", "127.0.0.1", "-p", str(local_port or free_port()),
            "-s", service, "-au", user, "-ap", password,
            "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
        ]  # fmt: skip
        if expires is not None:
            command += ["-set", "expires", str(expires)]
        return await run_once(command, self.workdir)

    async def credentials(self, number: str) -> tuple[str, str]:
        extension = await self.services.extensions.get(number)
        return extension.auth_id, extension.auth_password


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[Pbx]:
    bus = LocalEventBus()
    store = InMemoryStore(feed=bus)
    services = ManagementServices.build(
        store, FakeClock(), b"interop-secret-0123456789", CredentialGenerator(random.Random(7))
    )
    await services.extensions.create(ACTOR, {"number": "101"})
    await services.extensions.create(ACTOR, {"number": "102", "options": {"disabled": True}})
    await services.extensions.create(ACTOR, {"number": "103", "options": {"lan_only": True}})
    telephony = build_engine(
        TelephonySettings(bind="127.0.0.1", port=free_port()),
        units=store,
        store=InMemoryLocationStore(),
        events=bus,
        clock=_RealClock(),
    )
    await telephony.start()
    try:
        yield Pbx(services=services, telephony=telephony, workdir=tmp_path)
    finally:
        await telephony.stop()


class _RealClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


async def _eventually(check: Callable[[], bool], wait: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_register_with_digest_then_query_then_unregister(pbx: Pbx) -> None:
    user, password = await pbx.credentials("101")
    port = free_port()
    code, output = await pbx.sipp("reg_auth.xml", user, password, local_port=port)
    assert code == 0, output
    [binding] = pbx.telephony.registrar.contacts("101")
    assert (binding.user_agent, binding.port) == ("SIPp", port)
    code, output = await pbx.sipp("reg_query.xml", user, password, expires=None)
    assert code == 0, output
    code, output = await pbx.sipp("reg_unregister.xml", user, password, expires=0, local_port=port)
    assert code == 0, output
    assert pbx.telephony.registrar.contacts("101") == []


async def test_wrong_password_is_403(pbx: Pbx) -> None:
    user, _ = await pbx.credentials("101")
    code, output = await pbx.sipp("reg_forbidden.xml", user, "Wrong-password-000")
    assert code == 0, output
    assert pbx.telephony.registrar.contacts("101") == []


async def test_disabled_extension_is_403(pbx: Pbx) -> None:
    user, password = await pbx.credentials("102")
    code, output = await pbx.sipp("reg_forbidden.xml", user, password, service="102")
    assert code == 0, output


async def test_lan_only_from_outside_the_local_networks_is_403(pbx: Pbx) -> None:
    await pbx.services.settings.patch(ACTOR, {"network": {"local_networks": ["10.0.0.0/8"]}})
    directory = pbx.telephony.directory
    await _eventually(lambda: not directory.is_local("127.0.0.1"))
    user, password = await pbx.credentials("103")
    code, output = await pbx.sipp("reg_forbidden.xml", user, password, service="103")
    assert code == 0, output
    user, password = await pbx.credentials("101")
    code, output = await pbx.sipp("reg_auth.xml", user, password)
    assert code == 0, output  # not lan_only: still welcome


async def test_regenerated_credentials_end_binding_and_send_check_sync(pbx: Pbx) -> None:
    user, password = await pbx.credentials("101")
    phone = asyncio.ensure_future(pbx.sipp("reg_check_sync.xml", user, password))
    try:
        await _eventually(lambda: bool(pbx.telephony.registrar.contacts("101")), 10)
        await pbx.services.extensions.regenerate_credentials(ACTOR, "101")
        code, output = await phone
    finally:
        if not phone.done():
            phone.cancel()
    assert code == 0, output  # SIPp got the NOTIFY check-sync
    assert pbx.telephony.registrar.contacts("101") == []
    code, output = await pbx.sipp("reg_forbidden.xml", user, password)
    assert code == 0, output  # the old credentials no longer work
