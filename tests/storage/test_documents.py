"""Groups, office hours, settings, accounts and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.domain.account import Account, AccountRole
from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.errors import NotFound
from centralino.domain.group import Group
from centralino.domain.office_hours import Holiday, OfficeHours
from centralino.domain.ports import AuditQuery
from centralino.domain.settings import NumberingSettings, SmtpSettings, SystemSettings
from centralino.storage import SqlUnitOfWorkFactory

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


async def test_settings_default_then_stored(unit_of_work: SqlUnitOfWorkFactory) -> None:
    changed = SystemSettings(
        smtp=SmtpSettings(host="mail.example.com", sender="pbx@example.com"),
        numbering=NumberingSettings(extension_length=4),
    )
    async with unit_of_work() as uow:
        assert await uow.settings.get() == SystemSettings()
        await uow.settings.put(changed)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.settings.get() == changed
        await uow.settings.put(SystemSettings())
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.settings.get() == SystemSettings()


async def test_groups_crud(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.groups.put(Group(name="Support"))
        await uow.groups.put(Group(name="Sales", description="Inside sales"))
        await uow.commit()
    async with unit_of_work() as uow:
        await uow.groups.put(Group(name="Support", description="Second line"))
        await uow.groups.delete("Sales")
        with pytest.raises(NotFound):
            await uow.groups.delete("Sales")
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.groups.all() == [Group(name="Support", description="Second line")]
        assert await uow.groups.get("Sales") is None


async def test_office_hours_crud(unit_of_work: SqlUnitOfWorkFactory) -> None:
    shop = OfficeHours(
        name="shop",
        time_zone="America/New_York",
        holidays=[Holiday(date=dt.date(2026, 12, 25), name="Christmas")],
    )
    async with unit_of_work() as uow:
        await uow.office_hours.put(OfficeHours())
        await uow.office_hours.put(shop)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.office_hours.get("shop") == shop
        assert [schedule.name for schedule in await uow.office_hours.all()] == ["global", "shop"]
        await uow.office_hours.delete("shop")
        with pytest.raises(NotFound):
            await uow.office_hours.delete("shop")
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.office_hours.all() == [OfficeHours()]


async def test_accounts_put_get(unit_of_work: SqlUnitOfWorkFactory) -> None:
    owner = Account(username="admin", password_hash="$argon2id$v=19$x", role=AccountRole.OWNER)
    async with unit_of_work() as uow:
        assert await uow.accounts.get("admin") is None
        await uow.accounts.put(owner)
        await uow.commit()
    changed = owner.model_copy(update={"password_hash": "$argon2id$v=19$y"})
    async with unit_of_work() as uow:
        assert await uow.accounts.get("admin") == owner
        await uow.accounts.put(changed)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.accounts.get("admin") == changed


def _entry(minutes: int, resource: str, resource_id: str, **fields: object) -> AuditEntry:
    return AuditEntry.model_validate(
        {
            "at": START + dt.timedelta(minutes=minutes),
            "actor": "admin",
            "action": AuditAction.UPDATE,
            "resource": resource,
            "resource_id": resource_id,
        }
        | fields
    )


async def test_audit_append_and_search_newest_first(unit_of_work: SqlUnitOfWorkFactory) -> None:
    rome = dt.timezone(dt.timedelta(hours=1))
    created = _entry(0, "extension", "101", action=AuditAction.CREATE, after={"number": "101"})
    async with unit_of_work() as uow:
        await uow.audit.append(created)
        await uow.audit.append_many(
            [
                _entry(1, "group", "Sales", before={"name": "Sales"}),
                _entry(2, "extension", "101", before={"a": [1, None]}, after={"a": [2]}),
                _entry(
                    2, "extension", "102", at=(START + dt.timedelta(minutes=2)).astimezone(rome)
                ),
            ]
        )
        await uow.commit()
    async with unit_of_work() as uow:
        everything = await uow.audit.search(AuditQuery())
        of_101 = await uow.audit.search(AuditQuery(resource="extension", resource_id="101"))
        second_page = await uow.audit.search(AuditQuery(offset=1, limit=2))
    assert everything.total == 4
    assert [e.resource_id for e in everything.items] == ["102", "101", "Sales", "101"]
    assert [e.at for e in everything.items] == [
        START + dt.timedelta(minutes=m) for m in (2, 2, 1, 0)
    ]
    assert all(entry.at.tzinfo == dt.UTC for entry in everything.items)
    assert len({entry.id for entry in everything.items}) == 4
    assert of_101.total == 2
    assert of_101.items[1] == created.model_copy(update={"id": of_101.items[1].id})
    assert of_101.items[0].before == {"a": [1, None]}
    assert everything.items[2].after is None
    assert (second_page.total, [e.resource_id for e in second_page.items]) == (4, ["101", "Sales"])
