"""The shared table of blocks after failed authentications (``security_blocks``)."""

from __future__ import annotations

import datetime as dt

from centralino.domain.audit import AuditAction
from centralino.domain.location import BlockedAddress
from centralino.domain.ports import AuditQuery
from centralino.storage import Database, SqlBlockRecords, SqlUnitOfWorkFactory
from tests.fakes import EPOCH

UNTIL = EPOCH + dt.timedelta(minutes=5)


def _block(address: str, user: str | None = None, until: dt.datetime = UNTIL) -> BlockedAddress:
    return BlockedAddress(address=address, user=user, failures=10, blocked_until=until)


async def test_each_node_publishes_its_blocks_and_each_is_audited(database: Database) -> None:
    records = SqlBlockRecords(database)
    await records.publish("A", EPOCH, changed=[_block("198.51.100.9"), _block("192.0.2.1", "101")])
    await records.publish("B", EPOCH, changed=[_block("198.51.100.9")])
    found = await records.blocked({"A", "B"}, EPOCH)
    assert [(b.address, b.user, b.node) for b in found] == [
        ("192.0.2.1", "101", "A"),
        ("198.51.100.9", None, "A"),
        ("198.51.100.9", None, "B"),
    ]
    assert [b.node for b in await records.blocked({"B"}, EPOCH)] == ["B"]
    assert await records.blocked(set(), EPOCH) == []
    async with SqlUnitOfWorkFactory(database)() as uow:
        page = await uow.audit.search(AuditQuery(resource="security_block"))
    assert {(e.actor, e.action, e.resource_id) for e in page.items} == {
        ("node:A", AuditAction.BLOCK, "198.51.100.9"),
        ("node:A", AuditAction.BLOCK, "192.0.2.1"),
        ("node:B", AuditAction.BLOCK, "198.51.100.9"),
    }
    assert page.items[0].after is not None
    assert "blocked_until" in page.items[0].after


async def test_ended_blocks_go_and_expired_ones_are_not_listed(database: Database) -> None:
    records = SqlBlockRecords(database)
    await records.publish("A", EPOCH, changed=[_block("a"), _block("b", until=EPOCH)])
    await records.publish("A", EPOCH, ended=[("a", None)])
    assert await records.blocked({"A"}, EPOCH) == []  # "b" ended at EPOCH


async def test_a_changed_block_replaces_the_stored_one(database: Database) -> None:
    records = SqlBlockRecords(database)
    await records.publish("A", EPOCH, changed=[_block("a", "101")])
    later = UNTIL + dt.timedelta(minutes=10)
    await records.publish("A", EPOCH, changed=[_block("a", "101", until=later)])
    assert [b.blocked_until for b in await records.blocked({"A"}, EPOCH)] == [later]


async def test_forget_drops_every_nodes_rows_of_an_address_and_clear_one_nodes(
    database: Database,
) -> None:
    records = SqlBlockRecords(database)
    for node in ("A", "B"):
        await records.publish(node, EPOCH, changed=[_block("a"), _block("b", "7")])
    await records.forget("a")
    assert [(b.address, b.node) for b in await records.blocked({"A", "B"}, EPOCH)] == [
        ("b", "A"),
        ("b", "B"),
    ]
    await records.clear("A")
    assert [b.node for b in await records.blocked({"A", "B"}, EPOCH)] == ["B"]
