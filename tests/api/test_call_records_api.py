"""Call records over the REST API (SQLite and PostgreSQL): search, pages, CSV, errors."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest

from centralino.admin.call_records import CSV_COLUMNS
from centralino.admin.services import ManagementServices
from centralino.domain.call_records import CallDirection, CallResult
from centralino.storage import Database, SqlUnitOfWorkFactory
from tests.call_record_builders import T0, call_record

URL = "/api/v1/call-records"


@pytest.fixture
async def stored(database: Database, services: ManagementServices) -> None:
    records = [call_record(n) for n in range(12)]
    records.append(
        call_record(
            12,
            direction=CallDirection.INBOUND,
            caller="+390612345678",
            caller_name="=HYPERLINK(evil)",
            callee="+390611111111",
            did="+390611111111",
            trunk="alpha",
            answered_by="103",
        )
    )
    records.append(call_record(13, answered_at=None, result=CallResult.BUSY, callee="104"))
    async with SqlUnitOfWorkFactory(database)() as uow:
        await uow.call_records.add_many(records)
        await uow.commit()


@pytest.mark.usefixtures("stored")
async def test_pages_follow_the_cursor_newest_first(api: httpx.AsyncClient) -> None:
    seen: list[str] = []
    params: dict[str, str] = {"limit": "5"}
    for _ in range(5):
        response = await api.get(URL, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == [f"cr{n:05d}" for n in reversed(range(14))]


@pytest.mark.usefixtures("stored")
async def test_filters(api: httpx.AsyncClient) -> None:
    async def ids(**params: str) -> list[str]:
        response = await api.get(URL, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(extension="103") == ["cr00012"]  # answered by 103
    assert await ids(direction="inbound", trunk="alpha") == ["cr00012"]
    assert await ids(result="busy") == ["cr00013"]
    window = {
        "started_from": (T0 + dt.timedelta(minutes=2)).isoformat(),
        "started_before": "2026-12-01T09:04:00Z",
    }
    assert await ids(**window, order="asc") == ["cr00002", "cr00003"]
    longest = await ids(sort="duration", limit="2")  # ended 65 + n seconds after the start
    assert longest == ["cr00013", "cr00012"]


@pytest.mark.usefixtures("stored")
async def test_one_record_and_its_json_form(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{URL}/cr00012")
    assert response.status_code == 200
    body = response.json()
    assert body["direction"] == "inbound"
    assert body["trunk"] == "alpha"
    assert body["did"] == "+390611111111"
    assert (body["duration"], body["billable"]) == (77, 72)
    assert body["started_at"].startswith("2026-12-01T09:12:00")
    assert (await api.get(f"{URL}/missing")).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"started_from": "yesterday"}, "started_from"),
        ({"started_from": "2026-12-01T09:00:00"}, "started_from"),  # no zone
        (
            {"started_from": "2026-12-02T00:00:00Z", "started_before": "2026-12-01T00:00:00Z"},
            "started_before",
        ),
        ({"direction": "sideways"}, "direction"),
        ({"result": "maybe"}, "result"),
        ({"sort": "caller"}, "sort"),
        ({"order": "up"}, "order"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"extension": "10 1"}, "extension"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_a_bad_filter_is_422_naming_it(
    api: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    for url in (URL, f"{URL}.csv"):
        if url.endswith(".csv") and field == "limit":
            continue
        response = await api.get(url, params=params)
        assert response.status_code == 422, response.text
        paths = [error["path"] for error in response.json()["detail"]]
        assert field in " ".join(paths)


@pytest.mark.usefixtures("stored")
async def test_a_cursor_of_another_sort_is_refused(api: httpx.AsyncClient) -> None:
    first = await api.get(URL, params={"limit": "1"})  # sorted by start time
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    response = await api.get(URL, params={"sort": "duration", "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "cursor"


@pytest.mark.usefixtures("stored")
async def test_csv_export_streams_every_match_with_formulas_neutralised(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get(f"{URL}.csv", params={"order": "asc"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == [f"cr{n:05d}" for n in range(14)]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[12]["caller_name"] == "'=HYPERLINK(evil)"
    assert rows[12]["caller"] == "'+390612345678"
    assert rows[13]["answered_at"] == ""
    assert rows[13]["result"] == "busy"
    only = await api.get(f"{URL}.csv", params={"trunk": "alpha"})
    assert [row["id"] for row in csv.DictReader(io.StringIO(only.text))] == ["cr00012"]


async def test_call_records_need_a_login(client: httpx.AsyncClient) -> None:
    for url in (URL, f"{URL}.csv", f"{URL}/cr00001"):
        assert (await client.get(url)).status_code == 401
