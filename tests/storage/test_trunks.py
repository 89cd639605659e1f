"""Trunks and outbound rules on SQLite and PostgreSQL: repositories, order, secrets at rest."""

from __future__ import annotations

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import JSON, Connection, String, cast, inspect, select

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import AccountRole
from centralino.domain.errors import NotFound
from centralino.domain.events import TrunkChanged
from centralino.domain.trunks import OutboundRule, Trunk, TrunkRegistration
from centralino.storage import Database, SqlUnitOfWorkFactory
from centralino.storage.database import alembic_config
from centralino.storage.secrets import SEALED_PREFIX, SecretBox
from centralino.storage.tables import metadata
from tests.fakes import FakeClock

PASSWORD = "trunk-hunter2-secret"
ACTOR = Actor(username="alice", role=AccountRole.OWNER)


def _trunk(name: str = "voip", **fields: object) -> Trunk:
    registration = TrunkRegistration(enabled=True, username="0212345", password=PASSWORD)
    document = {"name": name, "host": "sip.example.net", "registration": registration} | fields
    return Trunk.model_validate(document)


def _rule(name: str, priority: int, trunks: list[str]) -> OutboundRule:
    return OutboundRule(name=name, priority=priority, trunks=trunks)


async def test_trunks_round_trip_listed_by_name_and_deleted(
    unit_of_work: SqlUnitOfWorkFactory,
) -> None:
    voip = _trunk("voip", dids=["+390212345678"], default_destination={"type": "end_call"})
    backup = _trunk("backup", port=5080, transport="tcp")
    async with unit_of_work() as uow:
        await uow.trunks.put(voip)
        await uow.trunks.put(backup)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.trunks.get("voip") == voip
        assert [t.name for t in await uow.trunks.all()] == ["backup", "voip"]
        assert await uow.trunks.get("nothing") is None
        changed = voip.model_copy(update={"port": 5070})
        await uow.trunks.put(changed)
        await uow.trunks.delete("backup")
        await uow.commit()
    async with unit_of_work() as uow:
        assert await uow.trunks.all() == [changed]
        with pytest.raises(NotFound) as caught:
            await uow.trunks.delete("backup")
        assert caught.value.key == "backup"


async def test_outbound_rules_come_out_by_priority_then_name(
    unit_of_work: SqlUnitOfWorkFactory,
) -> None:
    async with unit_of_work() as uow:
        for rule in (_rule("b", 10, ["voip"]), _rule("z", 5, ["voip"]), _rule("a", 10, ["x"])):
            await uow.outbound_rules.put(rule)
        await uow.commit()
    async with unit_of_work() as uow:
        assert [r.name for r in await uow.outbound_rules.all()] == ["z", "a", "b"]
        await uow.outbound_rules.put(_rule("z", 50, ["voip"]))  # the priority column follows
        await uow.commit()
    async with unit_of_work() as uow:
        assert [r.name for r in await uow.outbound_rules.all()] == ["a", "b", "z"]
        assert await uow.outbound_rules.get("a") == _rule("a", 10, ["x"])
        await uow.outbound_rules.delete("a")
        await uow.commit()
    async with unit_of_work() as uow:
        assert [r.name for r in await uow.outbound_rules.all()] == ["b", "z"]


async def test_uncommitted_trunks_are_rolled_back(unit_of_work: SqlUnitOfWorkFactory) -> None:
    async with unit_of_work() as uow:
        await uow.trunks.put(_trunk())
    async with unit_of_work() as uow:
        assert await uow.trunks.all() == []


async def _raw_documents(database: Database) -> str:
    found: list[str] = []
    async with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, JSON):
                    rows = await connection.execute(select(cast(column, String)))
                    found += [text for (text,) in rows if text]
    return "\n".join(found)


async def test_the_trunk_password_is_sealed_in_every_table(database_url: str) -> None:
    """The trunk, its audit entries and its change-feed events hold a Fernet token only."""
    database = Database(database_url, secrets=SecretBox([Fernet.generate_key()]))
    await database.migrate()
    try:
        units = SqlUnitOfWorkFactory(database)
        services = ManagementServices.build(units, FakeClock(), secret=b"0" * 32)
        registration = {"enabled": True, "username": "0212345", "password": PASSWORD}
        await services.trunks.create(
            ACTOR, {"name": "voip", "host": "sip.example.net", "registration": registration}
        )
        await services.trunks.update(ACTOR, "voip", {"port": 5070})
        raw = await _raw_documents(database)
        assert PASSWORD not in raw
        assert SEALED_PREFIX in raw
        async with units() as uow:
            trunk = await uow.trunks.get("voip")
            events = [change.event for change in (await uow.changes.after(0, 10)).changes]
        assert trunk is not None
        assert trunk.registration.password == PASSWORD  # the engine reads it in clear
        trunk_events = [event for event in events if isinstance(event, TrunkChanged)]
        assert [event.trunk.port for event in trunk_events if event.trunk] == [5060, 5070]
        assert all(
            event.trunk and event.trunk.registration.password == PASSWORD for event in trunk_events
        )
    finally:
        await database.dispose()


def _down_to_0007_and_up(connection: Connection) -> tuple[set[str], set[str], int]:
    """From head down to 0007 (no trunks) and up again, a group kept meanwhile."""
    connection.exec_driver_sql("INSERT INTO groups (name, data) VALUES ('sales', '{}')")
    command.downgrade(alembic_config(connection), "0007")
    below = set(inspect(connection).get_table_names())
    command.upgrade(alembic_config(connection), "head")
    above = set(inspect(connection).get_table_names())
    groups = connection.exec_driver_sql("SELECT count(*) FROM groups").scalar_one()
    return below, above, groups


async def test_migration_0008_adds_the_tables_and_keeps_the_rest(database: Database) -> None:
    async with database.engine.begin() as connection:
        below, above, groups = await connection.run_sync(_down_to_0007_and_up)
    assert {"trunks", "outbound_rules"} & below == set()
    assert {"trunks", "outbound_rules", "call_records"} <= above
    assert groups == 1
    units = SqlUnitOfWorkFactory(database)
    async with units() as uow:
        await uow.trunks.put(_trunk())
        await uow.outbound_rules.put(_rule("all", 1, ["voip"]))
        await uow.commit()
    async with units() as uow:
        assert [t.name for t in await uow.trunks.all()] == ["voip"]
        assert [r.name for r in await uow.outbound_rules.all()] == ["all"]
