"""GET /api/v1/registrations and /api/v1/security/blocked over a live view."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from centralino.admin.live import LiveService
from centralino.api import create_api
from centralino.domain.location import Binding, BlockedAddress
from centralino.storage import Database
from tests.api.conftest import PASSWORD, build_services, log_in
from tests.fakes import EPOCH, FakeClock


def _binding(number: str) -> Binding:
    return Binding(
        number=number,
        contact=f"sip:{number}@10.0.0.5:5060",
        transport="udp",
        host="203.0.113.7",
        port=40000,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),  # fresh for every call
        registered_at=EPOCH,
        call_id="abc@phone",
        cseq=3,
        user_agent="Phone 1.0",
        auth_user=f"user{number}",
    )


class _View:
    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        every = [_binding("102"), _binding("101")]
        return [b for b in every if number is None or b.number == number]

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        return [
            BlockedAddress(
                address="198.51.100.9",
                failures=10,
                blocked_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            )
        ]


@pytest.fixture
async def api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(database, FakeClock())
    await services.accounts.ensure_owner(PASSWORD)
    live = LiveService(_View())
    security = services.security.with_live(live, services.nodes)
    app = create_api(dataclasses.replace(services, live=live, security=security))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        await log_in(client)
        yield client


async def test_registrations_are_listed_by_number(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/registrations")
    assert response.status_code == 200
    body = response.json()
    assert [item["number"] for item in body] == ["101", "102"]
    assert body[0]["host"] == "203.0.113.7"
    assert 3500 < body[0]["expires_in"] <= 3600


async def test_registrations_of_one_extension(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/registrations", params={"number": "102"})
    assert [item["number"] for item in response.json()] == ["102"]


async def test_blocked_addresses_are_listed(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/security/blocked")
    assert response.json()[0]["address"] == "198.51.100.9"


async def test_live_routes_need_a_login(database: Database) -> None:
    app = create_api(build_services(database, FakeClock()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        assert (await client.get("/api/v1/registrations")).status_code == 401
