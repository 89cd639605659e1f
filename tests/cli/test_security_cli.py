"""``centralino security blocked`` and ``centralino security unblock``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from centralino.domain.location import BlockedAddress
from centralino.domain.nodes import Node
from centralino.storage import Database, SqlBlockRecords, SqlNodes, SqlUnitOfWorkFactory
from tests.cli.conftest import Cli

SCANNER = "203.0.113.50"


def _seed(data_dir: Path) -> None:
    """Node A running, with two blocks in the shared table."""

    async def seed() -> None:
        database = Database.in_directory(data_dir)
        try:
            await database.migrate()
            now = dt.datetime.now(dt.UTC)
            node = Node(name="A", sip_address="x", http_address="y", started_at=now, seen_at=now)
            await SqlNodes(database).join(node)
            until = now + dt.timedelta(minutes=5)
            blocks = [
                BlockedAddress(address=SCANNER, failures=5, blocked_until=until),
                BlockedAddress(
                    address="198.51.100.7", user="101", failures=10, blocked_until=until
                ),
            ]
            await SqlBlockRecords(database).publish("A", now, changed=blocks)
        finally:
            await database.dispose()

    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(seed())


def _unblocks(data_dir: Path) -> list[tuple[str, str]]:
    async def read() -> list[tuple[str, str]]:
        database = Database.in_directory(data_dir)
        try:
            async with SqlUnitOfWorkFactory(database)() as uow:
                batch = await uow.changes.after(0, 100)
            return [(type(c.event).__name__, c.actor) for c in batch.changes]
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_blocks_are_listed_then_one_address_is_unblocked(cli: Cli, data_dir: Path) -> None:
    _seed(data_dir)

    table = cli("security", "blocked")
    assert table.code == 0, table.stderr
    assert SCANNER in table.stdout
    assert "2 blocked" in table.stdout
    listed = json.loads(cli("security", "blocked", "--json").stdout)
    assert [(b["address"], b["user"], b["node"]) for b in listed] == [
        ("198.51.100.7", "101", "A"),
        (SCANNER, None, "A"),
    ]

    outcome = cli("security", "unblock", SCANNER)
    assert outcome.code == 0, outcome.stderr
    listed = json.loads(cli("security", "blocked", "--json").stdout)
    assert [b["address"] for b in listed] == ["198.51.100.7"]
    [(name, actor)] = _unblocks(data_dir)
    assert name == "AddressUnblocked"
    assert actor.startswith("cli:")


def test_unblocking_an_address_not_blocked_exits_3(cli: Cli, data_dir: Path) -> None:
    _seed(data_dir)
    outcome = cli("security", "unblock", "192.0.2.99")
    assert outcome.code == 3
    assert "not found" in outcome.stderr
    assert cli("security", "unblock", "nonsense").code == 2
