"""GET /api/v1/calls over a LiveCalls view (and the empty view without an engine)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from centralino.admin.calls import CallsService
from centralino.api import create_api
from centralino.domain.calls import CallState, LiveCall
from centralino.storage import Database
from tests.api.conftest import PASSWORD, build_services, log_in
from tests.fakes import EPOCH, FakeClock

LATER = EPOCH + dt.timedelta(seconds=5)


class _View:
    def calls(self) -> Sequence[LiveCall]:
        return [
            LiveCall(
                id="b",
                caller="103",
                callee="101",
                state=CallState.RINGING,
                started_at=LATER,
            ),
            LiveCall(
                id="a",
                caller="101",
                callee="102",
                state=CallState.ANSWERED,
                started_at=EPOCH,
                answered_at=LATER,
            ),
        ]

    def calls_in_progress(self, number: str) -> int:
        return sum(number in (call.caller, call.callee) for call in self.calls())


@pytest.fixture
async def api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    services = build_services(database, FakeClock())
    await services.accounts.ensure_owner(PASSWORD)
    app = create_api(dataclasses.replace(services, calls=CallsService(_View())))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        await log_in(client)
        yield client


async def test_calls_are_listed_oldest_first(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/calls")
    assert response.status_code == 200
    body = response.json()
    assert [call["id"] for call in body] == ["a", "b"]
    assert body[0]["state"] == "answered"
    assert body[0]["answered_at"] is not None
    assert body[1]["answered_at"] is None


async def test_calls_of_one_extension(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/calls", params={"number": "102"})
    assert [call["id"] for call in response.json()] == ["a"]


async def test_a_bad_number_filter_is_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/calls", params={"number": "abc"})
    assert response.status_code == 422


async def test_no_engine_no_calls(database: Database) -> None:
    services = build_services(database, FakeClock())
    await services.accounts.ensure_owner(PASSWORD)
    app = create_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
        assert (await client.get("/api/v1/calls")).status_code == 401
        await log_in(client)
        assert (await client.get("/api/v1/calls")).json() == []
