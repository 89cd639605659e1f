"""The registrar over real loopback UDP, with the in-memory domain fakes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from centralino.domain.bus import LocalEventBus
from centralino.domain.events import (
    ChangesMissed,
    CredentialsChanged,
    ExtensionChanged,
    ExtensionDeleted,
)
from centralino.domain.extension import Extension
from centralino.sip.message import Request
from centralino.telephony.engine import Telephony
from tests.fakes import FakeClock, InMemoryStore
from tests.telephony.registrar_support import InMemoryLocationStore, Phone, start_telephony

PASSWORD = "Secret-password-101"


def _extension(number: str = "101", **options: object) -> Extension:
    return Extension.model_validate(
        {
            "number": number,
            "auth_id": f"user{number}",
            "auth_password": PASSWORD,
            "voicemail": {"pin": "135790"},
            "options": {"sip_id": f"alias{number}", **options},
        }
    )


@pytest.fixture
def store() -> InMemoryStore:
    store = InMemoryStore()
    store.seed(extensions=[_extension("101"), _extension("102")])
    return store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus() -> LocalEventBus:
    return LocalEventBus()


@pytest.fixture
def location() -> InMemoryLocationStore:
    return InMemoryLocationStore()


@pytest.fixture
async def telephony(
    store: InMemoryStore, clock: FakeClock, bus: LocalEventBus, location: InMemoryLocationStore
) -> AsyncIterator[Telephony]:
    engine = await start_telephony(store, clock, location=location, bus=bus)
    yield engine
    await engine.stop()


@pytest.fixture
def phone(telephony: Telephony) -> AsyncIterator[Phone]:
    phone = Phone(server_port=telephony.port())
    yield phone
    phone.close()


async def test_register_is_challenged_then_accepted(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("user101", PASSWORD)
    assert result.challenge is not None
    assert result.challenge.status == 401
    assert result.final.status == 200
    contacts = result.final.headers.contacts()
    assert isinstance(contacts, list)
    assert [c.uri.port for c in contacts] == [phone.port]
    assert contacts[0].parameters.get("expires") == "3600"
    [binding] = telephony.registrar.contacts("101")
    assert (binding.host, binding.port, binding.transport) == ("127.0.0.1", phone.port, "udp")
    assert binding.auth_user == "user101"
    assert binding.user_agent == "test-phone"


async def test_sip_id_is_accepted_as_user_name(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("ALIAS101", PASSWORD)
    assert result.final.status == 200


async def test_wrong_password_is_403(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("user101", "wrong-password-123")
    assert (result.final.status, result.final.reason) == (403, "Forbidden")
    assert telephony.registrar.contacts("101") == []


async def test_unknown_user_gets_the_same_403(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("nobody", PASSWORD)
    assert result.challenge is not None
    assert (result.final.status, result.final.reason) == (403, "Forbidden")


async def test_registering_another_extensions_address_is_403(
    telephony: Telephony, phone: Phone
) -> None:
    phone.user = "102"
    result = await phone.register("user101", PASSWORD)
    assert result.final.status == 403
    assert telephony.registrar.contacts("102") == []


async def test_expires_below_minimum_is_423_with_min_expires(
    telephony: Telephony, phone: Phone
) -> None:
    result = await phone.register("user101", PASSWORD, expires=30)
    assert result.final.status == 423
    assert result.final.headers.get("min-expires") == "60"


async def test_expires_above_maximum_is_cut(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("user101", PASSWORD, expires=99999)
    contacts = result.final.headers.contacts()
    assert isinstance(contacts, list)
    assert contacts[0].parameters.get("expires") == "3600"


async def test_two_contacts_then_query_then_unregister_one(
    telephony: Telephony, phone: Phone
) -> None:
    await phone.register("user101", PASSWORD, contact="<sip:101@10.0.0.1:5060>")
    await phone.register("user101", PASSWORD, contact="<sip:101@10.0.0.2:5060>;expires=120")
    query = await phone.register("user101", PASSWORD, contact=None, expires=None)
    assert query.final.status == 200
    listed = query.final.headers.contacts()
    assert isinstance(listed, list)
    assert {c.uri.host for c in listed} == {"10.0.0.1", "10.0.0.2"}
    gone = await phone.register("user101", PASSWORD, contact="<sip:101@10.0.0.1:5060>", expires=0)
    assert gone.final.status == 200
    assert [b.contact for b in telephony.registrar.contacts("101")] == ["sip:101@10.0.0.2:5060"]


async def test_star_removes_all(telephony: Telephony, phone: Phone) -> None:
    await phone.register("user101", PASSWORD)
    result = await phone.register("user101", PASSWORD, contact="*", expires=0)
    assert result.final.status == 200
    assert telephony.registrar.contacts("101") == []


async def test_star_without_expires_zero_is_400(telephony: Telephony, phone: Phone) -> None:
    result = await phone.register("user101", PASSWORD, contact="*", expires=60)
    assert result.final.status == 400


async def test_bindings_expire_with_time(
    telephony: Telephony, phone: Phone, clock: FakeClock
) -> None:
    await phone.register("user101", PASSWORD, expires=60)
    assert len(telephony.registrar.contacts("101")) == 1
    clock.advance(seconds=61)
    assert telephony.registrar.contacts("101") == []


async def test_bindings_are_written_through(
    telephony: Telephony, phone: Phone, location: InMemoryLocationStore
) -> None:
    await phone.register("user101", PASSWORD)
    await telephony.registrar.flush()
    assert [b.number for b in location.rows["101"]] == ["101"]


async def test_restart_keeps_bindings(
    store: InMemoryStore, clock: FakeClock, location: InMemoryLocationStore
) -> None:
    first = await start_telephony(store, clock, location=location)
    phone = Phone(server_port=first.port())
    try:
        assert (await phone.register("user101", PASSWORD)).final.status == 200
    finally:
        phone.close()
        await first.stop()
    second = await start_telephony(store, clock, location=location)
    try:
        assert len(second.registrar.contacts("101")) == 1
    finally:
        await second.stop()


async def test_disabled_extension_is_refused_with_reason(
    store: InMemoryStore, clock: FakeClock
) -> None:
    store.seed(extensions=[_extension("103", disabled=True)])
    engine = await start_telephony(store, clock)
    phone = Phone(server_port=engine.port(), user="103")
    try:
        result = await phone.register("user103", PASSWORD)
        assert (result.final.status, result.final.reason) == (403, "Extension disabled")
    finally:
        phone.close()
        await engine.stop()


async def test_options_is_answered_200(telephony: Telephony, phone: Phone) -> None:
    text = phone.register_text(contact=None, expires=None).replace("REGISTER", "OPTIONS")
    response = await phone.send(text)
    assert response.status == 200
    assert "REGISTER" in (response.headers.get("allow") or "")


async def test_credentials_changed_ends_bindings_and_sends_check_sync(
    telephony: Telephony, phone: Phone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    await phone.register("user101", PASSWORD)
    changed = _extension("101").model_copy(update={"auth_password": "Another-password-1"})
    store.seed(extensions=[changed])
    bus.publish(ExtensionChanged(number="101", tabs=("general",), extension=changed))
    bus.publish(CredentialsChanged(number="101", old_auth_id="user101"))
    assert telephony.registrar.contacts("101") == []
    notify = await phone.receive()
    assert isinstance(notify, Request)
    assert notify.method == "NOTIFY"
    assert (notify.headers.get("event") or "").startswith("check-sync")
    old = await phone.register("user101", PASSWORD)
    assert old.final.status == 403


async def test_deleted_extension_loses_bindings(
    telephony: Telephony, phone: Phone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    await phone.register("user101", PASSWORD)
    del store.state.extensions["101"]
    bus.publish(ExtensionDeleted(number="101"))
    assert telephony.registrar.contacts("101") == []


async def _reloaded(telephony: Telephony) -> None:
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not telephony.directory.settling:
            return
    raise AssertionError("the directory did not finish reloading")


async def test_missed_changes_reload_and_end_what_no_longer_holds(
    telephony: Telephony, phone: Phone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    """The feed was pruned past this node's cursor: the stored state is the truth."""
    await phone.register("user101", PASSWORD)
    store.seed(extensions=[_extension("101", disabled=True)])  # the change itself was missed
    assert telephony.registrar.contacts("101") != []
    bus.publish(ChangesMissed(reason="test"))
    await _reloaded(telephony)
    assert telephony.directory.by_number("101") == _extension("101", disabled=True)
    assert telephony.registrar.contacts("101") == []


async def test_missed_credential_changes_end_the_old_registrations(
    telephony: Telephony, phone: Phone, bus: LocalEventBus, store: InMemoryStore
) -> None:
    await phone.register("user101", PASSWORD)
    renamed = _extension("101").model_copy(update={"auth_id": "renamed101"})
    store.seed(extensions=[renamed])
    bus.publish(ChangesMissed(reason="test"))
    await _reloaded(telephony)
    assert telephony.registrar.contacts("101") == []
    notify = await phone.receive()  # the phone is told to fetch its new configuration
    assert isinstance(notify, Request)
    assert (notify.headers.get("event") or "").startswith("check-sync")


async def test_refreshes_are_written_with_the_next_flush_not_at_once(
    telephony: Telephony, phone: Phone, location: InMemoryLocationStore, clock: FakeClock
) -> None:
    await phone.register("user101", PASSWORD)
    await telephony.registrar.flush()
    written = location.rows["101"][0].expires_at
    clock.advance(seconds=60)
    await phone.register("user101", PASSWORD)  # a refresh: only the expiry moves
    await asyncio.sleep(0.4)  # past the flush delay of changes (0.2 s)
    assert location.rows["101"][0].expires_at == written
    await telephony.registrar.flush()
    assert location.rows["101"][0].expires_at == written + dt.timedelta(seconds=60)
