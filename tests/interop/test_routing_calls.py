"""The routing engine drives real calls: scripted UDP phones against the engine.

Each test runs the real ``Telephony`` (registrar, digest, B2BUA, routing) on
loopback with the management services on the same in-memory store and event
bus, so status changes go through the real use-case (audited, published,
picked up by the engine's directory). Phones are the scripted ones of
``tests/telephony`` (REGISTER with digest, INVITE with the 407 answered).
Every wait is bounded; the longest is the 5 s no-answer timer (the minimum).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from centralino.admin.services import ManagementServices
from centralino.app import build_engine
from centralino.domain.bus import LocalEventBus
from centralino.domain.events import DomainEvent, StatusChanged
from centralino.domain.forwarding import Status
from centralino.domain.office_hours import OfficeHours
from centralino.domain.ports import AuditQuery
from centralino.telephony.engine import Telephony, TelephonySettings
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, extension
from tests.telephony.registrar_support import InMemoryLocationStore

pytestmark = pytest.mark.interop

TO_103 = {"type": "extension", "number": "103"}
ROME = dt.timezone(dt.timedelta(hours=1))
MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=ROME)
"""Monday: the global office hours (09-18, break 13-14) are open."""


def _extensions() -> list[object]:
    return [
        extension("101"),
        extension("103"),
        extension("102", forwarding={"status": "dnd", "profiles": {"dnd": {"internal": TO_103}}}),
        extension(
            "104",
            forwarding={
                "profiles": {
                    "available": {"no_answer_seconds": 5, "internal": {"no_answer": TO_103}}
                }
            },
        ),
        extension(
            "105",
            forwarding={
                "profiles": {
                    "available": {"accept_multiple_calls": False, "internal": {"busy": TO_103}}
                }
            },
        ),
        extension(
            "106",
            forwarding={"profiles": {"available": {"internal": {"not_registered": TO_103}}}},
        ),
        extension(
            "107",
            forwarding={"exceptions": [{"caller_id": "10?", "destination": TO_103}]},
        ),
        extension("108", forwarding={"auto_switch_by_office_hours": True}),
    ]


@dataclass
class Pbx:
    """The running engine, the management services and the events they published."""

    telephony: Telephony
    services: ManagementServices
    clock: FakeClock
    store: InMemoryStore
    events: list[DomainEvent] = field(default_factory=list)
    phones: list[SipPhone] = field(default_factory=list)

    async def phone(self, number: str) -> SipPhone:
        phone = SipPhone(self.telephony.port(), number)
        self.phones.append(phone)
        assert (await phone.register()).status == 200
        return phone

    def status_changes(self) -> list[StatusChanged]:
        return [event for event in self.events if isinstance(event, StatusChanged)]

    async def settled(self) -> None:
        """Let the directory reload what the management side changed."""
        for _ in range(50):
            await asyncio.sleep(0.01)
            if not self.telephony.directory.settling:
                return


@pytest.fixture
async def pbx() -> AsyncIterator[Pbx]:
    bus = LocalEventBus()
    clock = FakeClock(MONDAY_10)
    store = InMemoryStore(feed=bus, clock=clock)
    store.seed(extensions=_extensions(), office_hours=[OfficeHours()])  # type: ignore[arg-type]
    services = ManagementServices.build(store, clock, secret=b"s" * 32)
    telephony = build_engine(
        TelephonySettings(bind="127.0.0.1", port=0, ring_timeout=30),
        units=store,
        store=InMemoryLocationStore(),
        events=bus,
        clock=clock,
        status_changer=services.status,
    )
    running = Pbx(telephony=telephony, services=services, clock=clock, store=store)
    bus.subscribe(running.events.append)
    await telephony.start()
    try:
        yield running
    finally:
        for phone in running.phones:
            phone.close()
        await telephony.stop()


async def _answers_forwarded_call(pbx: Pbx, caller: SipPhone, target: SipPhone) -> None:
    invite = await target.request("INVITE", wait=8)
    assert invite.headers.from_address().uri.user == caller.number
    target.answer(invite, 180)
    await caller.response(180, wait=8)
    target.answer(invite, 486)  # end the test call quickly: 103 is busy after all
    final = await caller.final(wait=3)
    assert (final.status, final.reason) == (480, "Voicemail not available")


async def test_do_not_disturb_forwards_to_another_extension(pbx: Pbx) -> None:
    caller, dnd, target = [await pbx.phone(n) for n in ("101", "102", "103")]
    await caller.dial("102")
    await _answers_forwarded_call(pbx, caller, target)
    assert await dnd.silent("INVITE", wait=0.2)


async def test_available_without_answer_in_n_seconds_forwards(pbx: Pbx) -> None:
    caller, callee, target = [await pbx.phone(n) for n in ("101", "104", "103")]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await caller.dial("104")
    first = await callee.request("INVITE")
    callee.answer(first, 180)
    invite = await target.request("INVITE", wait=8)
    assert 4.5 <= loop.time() - started <= 7.0  # the 5 s no-answer timer
    cancel = await callee.request("CANCEL")
    callee.answer(cancel, 200)
    callee.answer(first, 487)
    target.answer(invite, 200, body=b"")
    answer = await caller.response(200)
    assert answer.headers.to_address().tag  # the caller's one dialog, answered by 103
    [live] = pbx.telephony.calls.calls()
    assert (live.caller, live.callee) == ("101", "103")


async def test_busy_without_call_waiting_goes_to_the_busy_destination(pbx: Pbx) -> None:
    caller, busy, target, other = [await pbx.phone(n) for n in ("101", "105", "103", "106")]
    await other.dial("105")
    await busy.request("INVITE")  # ringing: 105 has a call in progress
    await caller.dial("105")
    await _answers_forwarded_call(pbx, caller, target)
    assert await busy.silent("INVITE", wait=0.2)


async def test_a_phone_answering_busy_follows_the_busy_rule(pbx: Pbx) -> None:
    caller, busy, target = [await pbx.phone(n) for n in ("101", "105", "103")]
    await caller.dial("105")
    invite = await busy.request("INVITE")
    busy.answer(invite, 486)
    await _answers_forwarded_call(pbx, caller, target)


async def test_not_registered_goes_to_its_destination(pbx: Pbx) -> None:
    caller, target = await pbx.phone("101"), await pbx.phone("103")
    await caller.dial("106")
    await _answers_forwarded_call(pbx, caller, target)


async def test_a_caller_id_exception_wins(pbx: Pbx) -> None:
    caller, callee, target = [await pbx.phone(n) for n in ("101", "107", "103")]
    await caller.dial("107")
    await _answers_forwarded_call(pbx, caller, target)
    assert await callee.silent("INVITE", wait=0.2)


async def test_the_office_hours_switch_changes_the_status(pbx: Pbx) -> None:
    switch = pbx.telephony.office_switch
    assert switch is not None
    await pbx.settled()
    assert (await pbx.services.status.get("108")).status is Status.AVAILABLE  # open at start
    pbx.clock.set(dt.datetime(2026, 11, 30, 13, 0, tzinfo=ROME))  # the lunch break
    await switch.run_once()
    assert (await pbx.services.status.get("108")).status is Status.AWAY
    pbx.clock.set(dt.datetime(2026, 11, 30, 18, 0, tzinfo=ROME))  # closed
    next_pass = await switch.run_once()
    assert (await pbx.services.status.get("108")).status is Status.DND
    assert next_pass <= pbx.clock.now() + dt.timedelta(seconds=60)
    assert [(e.number, e.new) for e in pbx.status_changes()] == [
        ("108", Status.AWAY),
        ("108", Status.DND),
    ]


async def test_a_status_already_switched_is_not_written_again(pbx: Pbx) -> None:
    """Another node switched it first (its change came on the feed): nothing to write."""
    switch = pbx.telephony.office_switch
    assert switch is not None
    await switch.stop()  # passes run here only, not woken in the background
    await switch.run_once()
    pbx.clock.set(dt.datetime(2026, 11, 30, 18, 0, tzinfo=ROME))  # closed
    await pbx.services.status.set_status("108", Status.DND, by="node-b switch")
    writes = pbx.store.commits
    await switch.run_once()
    assert pbx.store.commits == writes
    assert (await pbx.services.status.get("108")).status is Status.DND


async def test_a_status_set_by_hand_stands_until_the_next_change(pbx: Pbx) -> None:
    switch = pbx.telephony.office_switch
    assert switch is not None
    await switch.run_once()
    await pbx.services.status.set_status("108", Status.LUNCH, by="test")
    await pbx.settled()
    pbx.clock.set(dt.datetime(2026, 11, 30, 11, 0, tzinfo=ROME))  # still open
    await switch.run_once()
    assert (await pbx.services.status.get("108")).status is Status.LUNCH


async def test_a_status_dial_code_sets_the_callers_status(pbx: Pbx) -> None:
    phone = await pbx.phone("101")
    await phone.dial("*32")
    final = await phone.final()
    assert (final.status, final.reason) == (603, "Status set to Do Not Disturb")
    assert (await pbx.services.status.get("101")).status is Status.DND
    [changed] = pbx.status_changes()
    assert (changed.number, changed.old, changed.new) == ("101", Status.AVAILABLE, Status.DND)
    page = await pbx.services.audit.search(AuditQuery(resource="extension", resource_id="101"))
    assert "phone:101" in [entry.actor for entry in page.items]
