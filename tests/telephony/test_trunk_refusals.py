"""A trunk's call the B2BUA refuses itself (before the call core) still leaves its record.

A scripted UDP socket plays the provider of an IP-authenticated trunk (its
address and port are the trunk's), so its INVITEs pass without a challenge;
the engine is the real one on loopback. A DID nobody owns (no default
destination) is refused 404, a trunk whose default destination ends the
call answers 603: each publishes a ``CallRecordCreated`` (inbound, rejected,
the trunk and DID, the reason) like every call the core ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from centralino.domain.bus import LocalEventBus
from centralino.domain.call_records import CallDirection, CallRecord, CallResult
from centralino.domain.events import CallRecordCreated, DomainEvent
from centralino.domain.trunks import Trunk
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.calls_support import SipPhone, extension, start_calls

DID, UNOWNED = "+390212345678", "+390212345699"


@asynccontextmanager
async def provider_calls(**trunk: object) -> AsyncIterator[tuple[SipPhone, list[CallRecord]]]:
    provider = SipPhone(server_port=0, number="+441234567890")
    store = InMemoryStore()
    store.seed(extensions=[extension("101", dids=[DID])])
    fields: dict[str, object] = {"name": "carrier", "host": "127.0.0.1", "port": provider.port}
    store.state.trunks["carrier"] = Trunk.model_validate(fields | {"dids": [DID, UNOWNED]} | trunk)
    bus = LocalEventBus()
    records: list[CallRecord] = []

    def keep(event: DomainEvent) -> None:
        if isinstance(event, CallRecordCreated):
            records.append(event.record)

    bus.subscribe(keep)
    telephony, _ = await start_calls(store, FakeClock(), bus)
    provider.server_port = telephony.port()
    try:
        yield provider, records
    finally:
        provider.close()
        await telephony.stop()


async def test_an_unknown_did_is_refused_404_with_a_record() -> None:
    async with provider_calls() as (provider, records):
        await provider.dial(UNOWNED, auth=False)
        final = await provider.final()
        assert (final.status, final.reason) == (404, "Unknown number")
        [record] = records
    assert record.direction is CallDirection.INBOUND
    assert record.result is CallResult.REJECTED
    assert (record.caller, record.callee, record.did, record.trunk) == (
        "+441234567890", UNOWNED, UNOWNED, "carrier",
    )  # fmt: skip
    assert record.reason == "404 Unknown number"
    assert "no default destination" in record.routing_summary
    assert record.answered_at is None
    assert record.duration == 0


async def test_a_default_destination_ending_the_call_is_declined_with_a_record() -> None:
    async with provider_calls(default_destination={"type": "end_call"}) as (provider, records):
        await provider.dial(UNOWNED, auth=False)
        final = await provider.final()
        assert final.status == 603
        [record] = records
    assert (record.direction, record.result) == (CallDirection.INBOUND, CallResult.REJECTED)
    assert (record.did, record.trunk, record.reason) == (UNOWNED, "carrier", "603 Declined")


async def test_an_extension_dialling_an_unknown_extension_leaves_a_record() -> None:
    store = InMemoryStore()
    store.seed(extensions=[extension("101")])
    bus = LocalEventBus()
    records: list[CallRecord] = []
    bus.subscribe(
        lambda event: records.append(event.record) if isinstance(event, CallRecordCreated) else None
    )
    telephony, _ = await start_calls(store, FakeClock(), bus)
    phone = SipPhone(server_port=telephony.port(), number="101")
    try:
        await phone.dial("199")
        final = await phone.final()
        assert final.status == 404
    finally:
        phone.close()
        await telephony.stop()
    [record] = records
    assert (record.direction, record.result) == (CallDirection.INTERNAL, CallResult.REJECTED)
    assert (record.caller, record.callee, record.reason) == ("101", "199", "404 Not Found")
