"""Fixtures for the REST API tests: the app over a real database, and clients.

``services`` is ``ManagementServices`` on the parametrized ``database``
(SQLite and PostgreSQL) with the owner account created; ``client`` talks to
``create_api(services)`` in-process; ``api`` is that client logged in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from centralino.admin.services import ManagementServices
from centralino.api import create_api
from centralino.domain.calls import LiveCall
from centralino.domain.location import Binding, BlockedAddress
from centralino.storage import Database, SqlUnitOfWorkFactory
from tests.fakes import FakeClock

OWNER = "admin"
PASSWORD = "a-strong-test-password"
SECRET = b"api-test-secret-0123456789abcdef"


def build_services(database: Database, clock: FakeClock) -> ManagementServices:
    """The management services on ``database``, as the composition root builds them."""
    units = SqlUnitOfWorkFactory(database)
    return ManagementServices.build(units, clock, secret=SECRET)


async def log_in(client: httpx.AsyncClient) -> None:
    """Log the owner in and make ``client`` send the bearer token."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": OWNER, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


class FakeEngine:
    """This node's call engine as the API sees it: fixed registrations, blocks and calls."""

    def __init__(
        self,
        *,
        bindings: Sequence[Binding] = (),
        blocks: Sequence[BlockedAddress] = (),
        calls: Sequence[LiveCall] = (),
    ) -> None:
        self._bindings, self._blocks, self._calls = bindings, blocks, calls

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        return [b for b in self._bindings if number in (None, b.number)]

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        return self._blocks

    def calls(self) -> Sequence[LiveCall]:
        return self._calls

    def calls_in_progress(self, number: str) -> int:
        return 0


@asynccontextmanager
async def node_client(
    services: ManagementServices, engine: FakeEngine, node: str = "A"
) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in client of the API of ``node``, whose engine is ``engine``."""
    await services.accounts.ensure_owner(PASSWORD)
    app = create_api(services.with_engine(engine, engine, node=node))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        await log_in(client)
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def services(database: Database, clock: FakeClock) -> ManagementServices:
    built = build_services(database, clock)
    await built.accounts.ensure_owner(PASSWORD)
    return built


@pytest.fixture
def app(services: ManagementServices) -> FastAPI:
    return create_api(services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as opened:
        yield opened


@pytest.fixture
async def api(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client logged in as the owner."""
    await log_in(client)
    return client
