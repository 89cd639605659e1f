"""The fakes themselves: transactions, queries, clock and bus behave as promised."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.events import ExtensionDeleted, StatusChanged
from centralino.domain.extension import Extension, UniqueKind
from centralino.domain.forwarding import Status
from centralino.domain.group import Group
from centralino.domain.ports import AuditQuery, ExtensionQuery, ExtensionSort
from tests.fakes import EPOCH, FakeClock, InMemoryStore, RecordingEventBus


def extension(number: str, **fields: object) -> Extension:
    return Extension.model_validate(
        {
            "number": number,
            "auth_id": f"auth{number}",
            "auth_password": "Secret1234567890",
            "voicemail": {"pin": "4711"},
            **fields,
        }
    )


async def test_changes_are_visible_only_after_commit() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.extensions.add(extension("100"))
        assert await uow.extensions.get("100") is not None
        async with store() as other:
            assert await other.extensions.get("100") is None
        await uow.commit()
    async with store() as uow:
        assert await uow.extensions.get("100") is not None
    assert store.commits == 1


async def test_leaving_without_commit_discards() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.groups.put(Group(name="sales"))
    assert store.state.groups == {}


async def test_an_exception_rolls_back() -> None:
    store = InMemoryStore()

    async def failing() -> None:
        async with store() as uow:
            await uow.extensions.add(extension("100"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing()
    assert store.state.extensions == {}
    assert store.rollbacks == 1


async def test_work_after_commit_needs_another_commit() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.groups.put(Group(name="a"))
        await uow.commit()
        await uow.groups.put(Group(name="b"))
    assert set(store.state.groups) == {"a"}


async def test_search_sort_and_paging() -> None:
    store = InMemoryStore()
    store.seed(
        extensions=[
            extension("103", first_name="dora", email="d@example.com"),
            extension("101", first_name="Bea", mobile="+39333"),
            extension("102", first_name="alba", last_name="Zed"),
        ]
    )
    async with store() as uow:
        page = await uow.extensions.search(ExtensionQuery(sort=ExtensionSort.FIRST_NAME))
        assert [e.number for e in page.items] == ["102", "101", "103"]
        page = await uow.extensions.search(ExtensionQuery(search="+39333"))
        assert [e.number for e in page.items] == ["101"]
        page = await uow.extensions.search(ExtensionQuery(descending=True, offset=1, limit=1))
        assert ([e.number for e in page.items], page.total) == (["102"], 3)
        assert [e.number for e in await uow.extensions.all()] == ["101", "102", "103"]


async def test_owners_and_existing_numbers_and_sip_user() -> None:
    store = InMemoryStore()
    store.seed(
        extensions=[
            extension("100", auth_id="Ada-Phone", dids=["0612"], options={"sip_id": "ada"}),
            extension("101", meeting_room="board"),
        ]
    )
    async with store() as uow:
        owners = await uow.extensions.owners(UniqueKind.SIP_USER, ["ada-phone", "ada", "x"])
        assert owners == {"ada-phone": "100", "ada": "100"}
        assert await uow.extensions.owners(UniqueKind.DID, ["0612"]) == {"0612": "100"}
        assert await uow.extensions.owners(UniqueKind.MEETING_ROOM, ["board"]) == {"board": "101"}
        assert await uow.extensions.existing_numbers(["100", "999"]) == {"100"}
        found = await uow.extensions.find_by_sip_user("ADA")
        assert found is not None
        assert found.number == "100"
        assert await uow.extensions.find_by_sip_user("nobody") is None


async def test_add_many_and_duplicates() -> None:
    store = InMemoryStore()
    async with store() as uow:
        await uow.extensions.add_many([extension("100"), extension("101")])
        with pytest.raises(KeyError):
            await uow.extensions.add(extension("100"))
        with pytest.raises(KeyError):
            await uow.extensions.replace(extension("555"))
        await uow.commit()
    assert set(store.state.extensions) == {"100", "101"}


async def test_audit_newest_first_with_ids() -> None:
    store = InMemoryStore()
    entries = [
        AuditEntry(
            at=EPOCH,
            actor="a",
            action=AuditAction.CREATE,
            resource="extension",
            resource_id=str(n),
        )
        for n in (100, 101, 102)
    ]
    async with store() as uow:
        await uow.audit.append(entries[0])
        await uow.audit.append_many(entries[1:])
        await uow.commit()
    async with store() as uow:
        page = await uow.audit.search(AuditQuery())
        assert [(e.id, e.resource_id) for e in page.items] == [(3, "102"), (2, "101"), (1, "100")]
        page = await uow.audit.search(AuditQuery(resource_id="101"))
        assert [e.id for e in page.items] == [2]


def test_fake_clock() -> None:
    clock = FakeClock()
    assert clock.now() == EPOCH
    assert clock.now().tzinfo is not None
    assert clock.advance(hours=1) == EPOCH + dt.timedelta(hours=1)
    clock.advance(dt.timedelta(minutes=1))
    assert clock.now() == EPOCH + dt.timedelta(hours=1, minutes=1)
    rome = dt.timezone(dt.timedelta(hours=1))
    clock.set(dt.datetime(2024, 1, 1, 12, tzinfo=rome))
    assert clock.now() == dt.datetime(2024, 1, 1, 11, tzinfo=dt.UTC)
    assert clock.now().utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError, match="aware"):
        clock.set(dt.datetime(2024, 1, 1))


def test_recording_bus() -> None:
    bus = RecordingEventBus()
    bus.publish(StatusChanged(number="100", old=Status.AVAILABLE, new=Status.DND))
    bus.publish(ExtensionDeleted(number="100"))
    assert bus.of_type(ExtensionDeleted) == [ExtensionDeleted(number="100")]
    bus.clear()
    assert bus.events == []
