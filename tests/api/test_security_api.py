"""GET and DELETE /api/v1/security/blocked: every node's blocks, lifted by an administrator.

The API runs as node A (its engine's view is a fake holding one block); node
B's blocks are rows in the shared table, written by the storage code a
running node B uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.domain.events import AddressUnblocked
from centralino.domain.location import BlockedAddress
from centralino.domain.nodes import Node
from centralino.storage import Database, SqlBlockRecords, SqlNodes, SqlUnitOfWorkFactory
from tests.api.conftest import SECRET, FakeEngine, node_client
from tests.fakes import EPOCH, FakeClock

UNTIL = EPOCH + dt.timedelta(minutes=5)
OFFICE = "198.51.100.7"
SCANNER = "203.0.113.50"


@pytest.fixture
async def api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    nodes, clock = SqlNodes(database), FakeClock()
    for name in ("A", "B"):
        await nodes.join(
            Node(name=name, sip_address="x", http_address="y", started_at=EPOCH, seen_at=EPOCH)
        )
    records = SqlBlockRecords(database)
    scanner = BlockedAddress(address=SCANNER, failures=5, blocked_until=UNTIL)
    await records.publish("B", EPOCH, changed=[scanner])
    services = ManagementServices.build(
        SqlUnitOfWorkFactory(database), clock, secret=SECRET, cluster=nodes, blocks=records
    )
    office = BlockedAddress(address=OFFICE, user="101", failures=10, blocked_until=UNTIL)
    async with node_client(services, FakeEngine(blocks=[office])) as client:
        yield client  # node A: the office's user 101 blocked as a pair


async def test_every_nodes_blocks_are_listed_with_what_is_blocked(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/api/v1/security/blocked")
    assert response.status_code == 200
    assert response.json() == [
        {
            "address": OFFICE,
            "user": "101",
            "failures": 10,
            "blocked_until": UNTIL.isoformat().replace("+00:00", "Z"),
            "node": "A",
        },
        {
            "address": SCANNER,
            "user": None,
            "failures": 5,
            "blocked_until": UNTIL.isoformat().replace("+00:00", "Z"),
            "node": "B",
        },
    ]


async def test_an_administrator_unblocks_an_address_on_every_node(
    api: httpx.AsyncClient, database: Database
) -> None:
    response = await api.delete(f"/api/v1/security/blocked/{SCANNER}")
    assert response.status_code == 204
    listed = (await api.get("/api/v1/security/blocked")).json()
    assert [item["address"] for item in listed] == [OFFICE]  # node B's row is gone
    audit = await api.get(
        "/api/v1/audit", params={"resource": "security_block", "resource_id": SCANNER}
    )
    entries = audit.json()["items"]
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("admin", "unblock"),
        ("node:B", "block"),
    ]
    assert entries[0]["before"]["blocks"][0]["node"] == "B"
    async with SqlUnitOfWorkFactory(database)() as uow:
        batch = await uow.changes.after(0, 100)
    unblocks = [c for c in batch.changes if isinstance(c.event, AddressUnblocked)]
    assert [(c.event, c.actor) for c in unblocks] == [(AddressUnblocked(address=SCANNER), "admin")]


async def test_unblocking_an_address_not_blocked_is_404(api: httpx.AsyncClient) -> None:
    response = await api.delete("/api/v1/security/blocked/192.0.2.99")
    assert response.status_code == 404


async def test_unblocking_something_that_is_no_address_is_refused(
    api: httpx.AsyncClient,
) -> None:
    response = await api.delete("/api/v1/security/blocked/not-an-address")
    assert response.status_code == 422


async def test_blocks_need_a_login(database: Database) -> None:
    services = ManagementServices.build(SqlUnitOfWorkFactory(database), FakeClock(), secret=SECRET)
    transport = httpx.ASGITransport(app=create_api(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        assert (await client.get("/api/v1/security/blocked")).status_code == 401
        assert (await client.delete(f"/api/v1/security/blocked/{SCANNER}")).status_code == 401
