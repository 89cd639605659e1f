"""The extension repository on both backends: round trips, uniqueness, bulk."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from centralino.domain.devices import Device, Vendor
from centralino.domain.errors import Conflict, NotFound
from centralino.domain.extension import UniqueKind
from centralino.domain.group import Group
from centralino.domain.options import Options
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.tables import extension_keys
from tests.storage.builders import make_extension, rich_extension


async def test_add_get_replace_delete_round_trip(unit_of_work: SqlUnitOfWorkFactory) -> None:
    extension = rich_extension()
    async with unit_of_work() as uow:
        await uow.extensions.add(extension)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.extensions.get("101") == extension
        changed = extension.model_copy(update={"first_name": "Luigi", "dids": ["+390299"]})
        await uow.extensions.replace(changed)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.extensions.get("101") == changed
        assert await uow.extensions.owners(UniqueKind.DID, ["+390212345601", "+390299"]) == {
            "+390299": "101"
        }
        await uow.extensions.delete("101")
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.extensions.get("101") is None
        assert await uow.extensions.owners(UniqueKind.DID, ["+390299"]) == {}
        assert await uow.extensions.all() == []


async def test_missing_extensions(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        assert await uow.extensions.get("999") is None
        with pytest.raises(NotFound):
            await uow.extensions.replace(make_extension("999"))
        with pytest.raises(NotFound):
            await uow.extensions.delete("999")


async def test_find_by_sip_user_any_case(unit_of_work: SqlUnitOfWorkFactory) -> None:
    extension = rich_extension()
    async with unit_of_work() as uow:
        await uow.extensions.add(extension)
        assert await uow.extensions.find_by_sip_user("MARIO.rossi") == extension
        assert await uow.extensions.find_by_sip_user(extension.auth_id.upper()) == extension
        assert await uow.extensions.find_by_sip_user("nobody") is None


async def test_owners_and_existing_numbers(unit_of_work: SqlUnitOfWorkFactory) -> None:
    first, second = rich_extension("101"), make_extension("102", dids=["+390212345699"])
    async with unit_of_work() as uow:
        await uow.extensions.add_many([first, second])
        extensions = uow.extensions
        assert await extensions.owners(UniqueKind.SIP_USER, ["mario.rossi", "MARIO.ROSSI"]) == {
            "mario.rossi": "101",
            "MARIO.ROSSI": "101",
        }
        dids = ["+390212345602", "+390212345699", "+390200000000"]
        assert await extensions.owners(UniqueKind.DID, dids) == {
            "+390212345602": "101",
            "+390212345699": "102",
        }
        assert await extensions.owners(UniqueKind.MAC, ["805ec0123456"]) == {"805ec0123456": "101"}
        assert await extensions.owners(UniqueKind.MEETING_ROOM, ["mario-rossi"]) == {
            "mario-rossi": "101"
        }
        assert await extensions.existing_numbers(["101", "103", "102"]) == {"101", "102"}


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"dids": ["+390212345602"]}, "dids.0"),
        ({"auth_id": "MARIO.ROSSI"}, "auth_id"),
        ({"options": Options(sip_id="mario.rossi")}, "options.sip_id"),
        (
            {"devices": [Device(vendor=Vendor.SNOM, model="D785", mac="805ec0123456")]},
            "devices.0.mac",
        ),
        ({"meeting_room": "mario-rossi"}, "meeting_room"),
    ],
)
async def test_unique_values_conflict(
    unit_of_work: SqlUnitOfWorkFactory, fields: dict[str, Any], path: str
) -> None:
    async with unit_of_work() as uow:
        await uow.extensions.add(rich_extension("101"))
        await uow.commit()
    async with unit_of_work() as uow:
        with pytest.raises(Conflict) as raised:
            await uow.extensions.add(make_extension("102", **fields))
        assert raised.value.path == path
        assert "101" in raised.value.reason
        assert await uow.extensions.get("102") is None


async def test_sip_id_may_not_be_another_extensions_auth_id(
    unit_of_work: SqlUnitOfWorkFactory,
) -> None:
    first = make_extension("101")
    async with unit_of_work() as uow:
        await uow.extensions.add(first)
        await uow.extensions.add(make_extension("102"))
        second = make_extension("102", options=Options(sip_id=first.auth_id))
        with pytest.raises(Conflict) as raised:
            await uow.extensions.replace(second)
        assert raised.value.path == "options.sip_id"


async def test_replace_keeps_its_own_values(unit_of_work: SqlUnitOfWorkFactory) -> None:
    extension = rich_extension()
    async with unit_of_work() as uow:
        await uow.extensions.add(extension)
        await uow.extensions.replace(extension.model_copy(update={"last_name": "Bianchi"}))
        assert (await uow.extensions.get("101")).last_name == "Bianchi"  # type: ignore[union-attr]


async def test_duplicate_number(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.extensions.add(make_extension("101"))
        with pytest.raises(Conflict) as raised:
            await uow.extensions.add(make_extension("101", seed=7))
        assert raised.value.path == "number"


async def test_add_many_reports_the_row(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.extensions.add(rich_extension("101"))
        batch = [make_extension("201"), make_extension("202", dids=["+390212345601"])]
        with pytest.raises(Conflict) as taken:
            await uow.extensions.add_many(batch)
        repeated = [make_extension("201", dids=["+3955"]), make_extension("202", dids=["+3955"])]
        with pytest.raises(Conflict) as twice:
            await uow.extensions.add_many(repeated)
        assert await uow.extensions.existing_numbers(["201", "202"]) == set()
    assert (taken.value.path, taken.value.row) == ("dids.0", 2)
    assert (twice.value.path, twice.value.row) == ("dids.0", 2)


async def test_database_refuses_a_held_value(database: Database) -> None:
    async with SqlUnitOfWorkFactory(database)() as uow:
        await uow.extensions.add_many([make_extension("101"), make_extension("102")])
        await uow.commit()
    row = {"kind": "did", "value": "+3901", "number": "101"}
    async with database.engine.connect() as connection:
        await connection.execute(insert(extension_keys).values(row))
        with pytest.raises(IntegrityError):
            await connection.execute(insert(extension_keys).values(row | {"number": "102"}))


@pytest.mark.parametrize(
    ("number", "dids", "path"),
    [("102", ["+390211"], "dids.0"), ("101", ["+390222"], "number")],
)
async def test_racing_writers_get_a_conflict(
    unit_of_work: SqlUnitOfWorkFactory, number: str, dids: list[str], path: str
) -> None:
    """The second of two concurrent writers is stopped by the database itself."""
    async with unit_of_work() as first, unit_of_work() as second:
        await first.extensions.add(make_extension("101", dids=["+390211"]))
        racing = asyncio.create_task(
            second.extensions.add(make_extension(number, seed=5, dids=dids))
        )
        await asyncio.sleep(0.2)  # the second writer now waits on the first
        await first.commit()
        with pytest.raises(Conflict) as raised:
            await racing
    assert raised.value.path == path
    async with unit_of_work() as uow:
        assert await uow.extensions.existing_numbers(["101", "102"]) == {"101"}
        assert await uow.extensions.owners(UniqueKind.DID, ["+390211", "+390222"]) == {
            "+390211": "101"
        }


async def test_leaving_without_commit_rolls_back(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.extensions.add(rich_extension())
        await uow.groups.put(Group(name="Sales"))

    async def fail_midway() -> None:
        async with unit_of_work() as uow:
            await uow.extensions.add(make_extension("102"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    async with unit_of_work() as uow:
        assert await uow.extensions.all() == []
        assert await uow.groups.all() == []
        assert await uow.extensions.owners(UniqueKind.MEETING_ROOM, ["mario-rossi"]) == {}
