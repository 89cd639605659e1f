"""GET /api/v1/nodes, and registrations and calls of every node, on a shared database.

The API runs as node A (its engine's view is a fake); node B is only rows in
the database, written by the same storage code a running node B uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.domain.nodes import NODE_TIMEOUT
from centralino.storage import Database, SqlLocationStore, SqlNodes, SqlUnitOfWorkFactory
from tests.api.conftest import SECRET, FakeEngine, node_client
from tests.fakes import EPOCH, FakeClock
from tests.nodes_support import binding, live_call, node


@pytest.fixture
async def api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    nodes, clock = SqlNodes(database), FakeClock()
    for name in ("A", "B"):
        await nodes.join(node(name))
    await SqlLocationStore(database, node="B").replace_many({"102": [binding("102")]})
    await nodes.beat("B", EPOCH, changed=[live_call("b1", "102", "104")])
    services = ManagementServices.build(
        SqlUnitOfWorkFactory(database), clock, secret=SECRET, cluster=nodes
    )
    engine = FakeEngine(bindings=[binding("101")], calls=[live_call("a1", "101", "103")])
    async with node_client(services, engine) as client:  # node A: 101 registered, a1 up
        client.clock = clock  # type: ignore[attr-defined]
        yield client


async def test_registrations_of_every_node_name_their_node(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/registrations")
    assert response.status_code == 200
    assert [(r["number"], r["node"]) for r in response.json()] == [("101", "A"), ("102", "B")]
    only = await api.get("/api/v1/registrations", params={"number": "102"})
    assert [(r["number"], r["node"]) for r in only.json()] == [("102", "B")]


async def test_calls_of_every_node_name_their_node(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/calls")
    assert response.status_code == 200
    assert [(c["id"], c["node"]) for c in response.json()] == [("a1", "A"), ("b1", "B")]
    only = await api.get("/api/v1/calls", params={"number": "104"})
    assert [c["id"] for c in only.json()] == ["b1"]


async def test_nodes_are_listed_and_a_silent_node_is_left_out(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/api/v1/nodes")).json()
    assert [(n["name"], n["alive"]) for n in listed] == [("A", True), ("B", True)]
    assert listed[1]["sip_address"] == "b:5060"
    assert listed[1]["http_address"] == "http://b:8080"
    assert listed[1]["stopped_at"] is None

    api.clock.advance(NODE_TIMEOUT + dt.timedelta(seconds=1))  # type: ignore[attr-defined]

    listed = (await api.get("/api/v1/nodes")).json()
    assert [(n["name"], n["alive"]) for n in listed] == [("A", False), ("B", False)]
    calls = (await api.get("/api/v1/calls")).json()
    assert [(c["id"], c["node"]) for c in calls] == [("a1", "A")]  # this node: from its engine
    registrations = (await api.get("/api/v1/registrations")).json()
    assert [r["node"] for r in registrations] == ["A"]


async def test_nodes_need_a_login(database: Database) -> None:
    services = ManagementServices.build(SqlUnitOfWorkFactory(database), FakeClock(), secret=SECRET)
    transport = httpx.ASGITransport(app=create_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        assert (await client.get("/api/v1/nodes")).status_code == 401
