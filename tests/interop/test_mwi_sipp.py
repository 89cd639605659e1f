"""Message-waiting lamps against SIPp: SUBSCRIBE/NOTIFY message-summary and unsolicited NOTIFY.

The engine runs in-process on free loopback ports over the in-memory fakes,
with an in-memory ``Mailboxes`` whose changes are published on the engine's
event bus as the voicemail service does. Every SIPp run is bounded (``-m 1``,
``-timeout``) and stopped by its PID.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from centralino.app import build_engine
from centralino.domain.bus import LocalEventBus
from centralino.telephony.engine import Telephony, TelephonySettings
from centralino.telephony.mwi import MESSAGE_SUMMARY
from tests.fakes import FakeClock, InMemoryStore
from tests.interop.calls_support import SCENARIOS, free_port, run_once
from tests.telephony.calls_support import PASSWORD, extension
from tests.telephony.mwi_fakes import FakeMailboxes
from tests.telephony.registrar_support import InMemoryLocationStore

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]


@dataclass
class Pbx:
    telephony: Telephony
    mailboxes: FakeMailboxes
    workdir: Path

    def sipp(self, scenario: str, *, user: str = "101", service: str = "101") -> asyncio.Task[str]:
        """Start one SIPp run of ``scenario`` as extension ``user``; its output when done."""
        command = [
            "sipp", f"127.0.0.1:{self.telephony.port()}",
            "-sf", str(SCENARIOS / scenario),
            "-i", "127.0.0.1", "-p", str(free_port()),
            "-s", service, "-au", f"user{user}", "-ap", PASSWORD,
            "-m", "1", "-timeout", "20s", "-timeout_error", "-nostdin",
        ]  # fmt: skip
        return asyncio.ensure_future(_run(command, self.workdir))


async def _run(command: list[str], cwd: Path) -> str:
    status, text = await run_once(command, cwd)
    assert status == 0, f"sipp exit {status}:\n{text}"
    return text


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[Pbx]:
    store, bus = InMemoryStore(), LocalEventBus()
    store.seed(extensions=[extension("101"), extension("102")])
    mailboxes = FakeMailboxes(bus)
    telephony = build_engine(
        TelephonySettings(bind="127.0.0.1", port=free_port(), media_anchoring=False),
        units=store,
        store=InMemoryLocationStore(),
        events=bus,
        clock=FakeClock(),
        mailboxes=mailboxes,
    )
    await telephony.start()
    try:
        yield Pbx(telephony=telephony, mailboxes=mailboxes, workdir=tmp_path)
    finally:
        await telephony.stop()


async def _eventually(check: Callable[[], bool], wait: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not check():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _finish(run: asyncio.Task[str]) -> str:
    try:
        return await asyncio.wait_for(asyncio.shield(run), 30)
    finally:
        if not run.done():
            run.cancel()


async def test_subscribe_lamp_lights_then_unsubscribe(pbx: Pbx) -> None:
    run = pbx.sipp("mwi_subscribe.xml")
    subscriptions = pbx.telephony.subscriptions
    try:
        # The first NOTIFY ("no, 0/0") has read the mailbox: now a message arrives.
        await _eventually(
            lambda: (
                bool(subscriptions.watching(MESSAGE_SUMMARY, "101")) and pbx.mailboxes.reads >= 1
            )
        )
        pbx.mailboxes.set("101", 1)
    finally:
        await _finish(run)
    assert subscriptions.all() == []  # SIPp unsubscribed


async def test_registered_phone_without_subscription_gets_unsolicited_notify(pbx: Pbx) -> None:
    run = pbx.sipp("mwi_unsolicited.xml")
    try:
        await _eventually(lambda: bool(pbx.telephony.registrar.contacts("101")))
        pbx.mailboxes.set("101", 1)
    finally:
        await _finish(run)


async def test_unknown_event_package_is_489(pbx: Pbx) -> None:
    await _finish(pbx.sipp("mwi_bad_event.xml"))


async def test_another_extensions_mailbox_is_403(pbx: Pbx) -> None:
    await _finish(pbx.sipp("mwi_refused.xml", user="101", service="102"))
    assert pbx.telephony.subscriptions.all() == []
