"""Several nodes on one database: bindings per node, node rows, published calls."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import Connection, insert

from centralino.domain.calls import CallState
from centralino.storage import Database, SqlLocationStore, SqlNodes
from centralino.storage.database import alembic_config
from centralino.storage.tables import sip_bindings
from tests.fakes import EPOCH
from tests.nodes_support import LATER, binding, live_call, node


async def test_each_node_loads_and_replaces_only_its_own_bindings(database: Database) -> None:
    a, b = SqlLocationStore(database, node="A"), SqlLocationStore(database, node="B")
    await a.replace_many({"101": [binding("101")], "102": [binding("102")]})
    await b.replace_many({"101": [binding("101")]})  # the same contact, on the other node

    await a.remove_all("101")

    assert [(x.node, x.number) for x in await a.all()] == [("A", "102")]
    assert [(x.node, x.number) for x in await b.all()] == [("B", "101")]


async def test_every_node_lists_each_nodes_bindings_with_its_name(database: Database) -> None:
    a, b = SqlLocationStore(database, node="A"), SqlLocationStore(database, node="B")
    await a.replace_many({"101": [binding("101")]})
    await b.replace_many({"101": [binding("101", host="10.0.0.6")], "102": [binding("102")]})

    every = await a.every_node()
    only_b = await a.every_node(["B"], number="101")

    assert [(x.number, x.node) for x in every] == [("101", "A"), ("101", "B"), ("102", "B")]
    assert [(x.number, x.node, x.host) for x in only_b] == [("101", "B", "10.0.0.6")]
    assert await a.every_node([]) == []


async def test_bindings_of_no_node_are_taken_over_by_the_first_node(database: Database) -> None:
    async with database.engine.begin() as connection:
        row = {
            "node": "",
            "number": "101",
            "contact": "sip:101@10.0.0.5:5060",
            "transport": "udp",
            "host": "10.0.0.5",
            "port": 5060,
            "expires_at": EPOCH + dt.timedelta(hours=1),
            "registered_at": EPOCH,
            "call_id": "old",
            "cseq": 1,
        }
        await connection.execute(insert(sip_bindings), [row])

    [loaded] = await SqlLocationStore(database, node="A").all()

    assert (loaded.node, loaded.number, loaded.call_id) == ("A", "101", "old")
    assert await SqlLocationStore(database, node="B").all() == []


async def test_a_joined_node_beats_and_publishes_its_calls(database: Database) -> None:
    nodes = SqlNodes(database)
    await nodes.join(node("A"))
    await nodes.join(node("B"))

    await nodes.beat("A", LATER, changed=[live_call("c1"), live_call("c2")])
    await nodes.beat("A", LATER, changed=[live_call("c1", state=CallState.ANSWERED)], ended=["c2"])
    await nodes.beat("B", LATER, changed=[live_call("c3")])

    listed = {(c.node, c.id): c for c in await nodes.calls(["A", "B"])}
    assert sorted(listed) == [("A", "c1"), ("B", "c3")]
    assert listed["A", "c1"].state is CallState.ANSWERED
    assert listed["A", "c1"].answered_at == LATER
    assert [c.id for c in await nodes.calls(["B"])] == ["c3"]
    assert await nodes.calls([]) == []
    a = next(node for node in await nodes.nodes() if node.name == "A")
    assert (a.started_at, a.seen_at, a.stopped_at) == (EPOCH, LATER, None)


async def test_leaving_forgets_the_calls_and_marks_the_node_stopped(database: Database) -> None:
    nodes = SqlNodes(database)
    await nodes.join(node("A"))
    await nodes.beat("A", LATER, changed=[live_call("c1")])

    await nodes.leave("A", LATER)

    [a] = await nodes.nodes()
    assert a.stopped_at == LATER
    assert not a.alive(LATER)
    assert await nodes.calls(["A"]) == []


async def test_joining_again_drops_a_crashed_runs_calls(database: Database) -> None:
    nodes = SqlNodes(database)
    await nodes.join(node("A"))
    await nodes.beat("A", LATER, changed=[live_call("c1")])

    await nodes.join(node("A", LATER))  # a restart after a crash: no leave()

    [a] = await nodes.nodes()
    assert (a.started_at, a.stopped_at) == (LATER, None)
    assert await nodes.calls(["A"]) == []


async def test_registrations_of_the_cluster_view_name_their_node(database: Database) -> None:
    await SqlLocationStore(database, node="B").replace_many({"102": [binding("102")]})

    [stored] = await SqlNodes(database).registrations(["B"], "102")

    assert stored.node == "B"


def _upgrade_with_a_binding(connection: Connection) -> list[tuple[str, str]]:
    """From revision 0004 (before nodes) to head, with one binding stored."""
    command.downgrade(alembic_config(connection), "0004")
    connection.exec_driver_sql(
        "INSERT INTO sip_bindings (number, contact, transport, host, port, expires_at,"
        " registered_at, call_id, cseq) VALUES ('101', 'sip:101@10.0.0.5', 'udp',"
        " '10.0.0.5', 5060, '2030-01-01 00:00:00', '2024-01-01 00:00:00', 'x', 1)"
    )
    command.upgrade(alembic_config(connection), "head")
    rows = connection.exec_driver_sql("SELECT node, number FROM sip_bindings").all()
    return [(row[0], row[1]) for row in rows]


async def test_the_migration_keeps_stored_bindings_with_no_node(database: Database) -> None:
    async with database.engine.begin() as connection:
        rows = await connection.run_sync(_upgrade_with_a_binding)
    assert rows == [("", "101")]
