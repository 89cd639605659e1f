"""``centralino nodes`` and ``serve --node-name``: the nodes sharing the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from centralino.domain.nodes import Node
from centralino.storage import Database, SqlNodes
from tests.cli.conftest import Cli


def _seed(data_dir: Path) -> None:
    """Node A running (seen just now), node B stopped."""

    async def seed() -> None:
        database = Database.in_directory(data_dir)
        try:
            await database.migrate()
            nodes, now = SqlNodes(database), dt.datetime.now(dt.UTC)
            for name in ("A", "B"):
                await nodes.join(
                    Node(
                        name=name,
                        sip_address=f"10.0.0.{ord(name) - 64}:5060",
                        http_address=f"http://10.0.0.{ord(name) - 64}:8080",
                        started_at=now,
                        seen_at=now,
                    )
                )
            await nodes.leave("B", now)
        finally:
            await database.dispose()

    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(seed())


def test_nodes_are_listed_with_whether_they_are_alive(cli: Cli, data_dir: Path) -> None:
    _seed(data_dir)

    table = cli("nodes")
    as_json = cli("nodes", "--json")

    assert table.code == 0, table.stderr
    assert "10.0.0.1:5060" in table.stdout
    assert "1 of 2 alive" in table.stdout
    listed = json.loads(as_json.stdout)
    assert [(n["name"], n["alive"]) for n in listed] == [("A", True), ("B", False)]
    assert listed[1]["stopped_at"] is not None
    assert listed[0]["http_address"] == "http://10.0.0.1:8080"


def test_no_node_ever_ran(cli: Cli) -> None:
    outcome = cli("nodes", "--json")
    assert (outcome.code, json.loads(outcome.stdout)) == (0, [])


def test_serve_refuses_a_bad_node_name(cli: Cli) -> None:
    outcome = cli("serve", "--node-name", "not a name!", "--http-port", "1", "--sip-port", "1")
    assert outcome.code == 2
    assert "node_name: must be 1 to 64 letters, digits" in outcome.stderr
