"""CSV export and import over REST: a lossless round trip, all or nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from centralino.api import create_api
from centralino.storage import Database
from tests.api.conftest import PASSWORD, build_services, log_in
from tests.api.test_extensions import URL, create
from tests.fakes import FakeClock

IMPORT = f"{URL}/import"
EXPORT = f"{URL}/export"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
async def empty_api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in client on a second, empty database of the same kind."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        url = server.url(server.create_database())
    database = Database(url)
    await database.migrate()
    services = build_services(database, FakeClock())
    await services.accounts.ensure_owner(PASSWORD)
    transport = httpx.ASGITransport(app=create_api(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
            await log_in(client)
            yield client
    finally:
        await database.dispose()


async def _populate(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/v1/groups", json={"name": "Sales"})).status_code == 201
    await create(api, "101", first_name="Ada", last_name="Lovelace", dids=["+390611"])
    await create(
        api,
        "102",
        first_name='Grace, "Amazing"',
        email="grace@example.com",
        rights=[{"group": "Sales", "role": "manager"}],
        blf_keys=[{"position": 1, "kind": "blf", "number": "101", "label": "Ada"}],
        devices=[{"vendor": "yealink", "model": "T46U", "mac": "80:5e:c0:12:34:56"}],
        forwarding={
            "status": "away",
            "exceptions": [
                {"caller_id": "+39*", "destination": {"type": "extension", "number": "101"}}
            ],
        },
        options={"sip_id": "grace", "record_all_calls": True},
        client={"codecs": ["PCMA"]},
    )


async def test_export_is_a_csv_attachment(api: httpx.AsyncClient) -> None:
    await _populate(api)
    response = await api.get(EXPORT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["number"] for row in rows] == ["101", "102"]
    assert rows[1]["voicemail.pin"]


async def test_export_then_import_into_an_empty_database(
    api: httpx.AsyncClient, empty_api: httpx.AsyncClient
) -> None:
    await _populate(api)
    exported = (await api.get(EXPORT)).text
    assert (await empty_api.post("/api/v1/groups", json={"name": "Sales"})).status_code == 201
    response = await empty_api.post(IMPORT, content=exported.encode(), headers=CSV)
    assert response.status_code == 201, response.text
    assert response.json() == {"created": 2, "numbers": ["101", "102"]}
    for number in ("101", "102"):
        original = (await api.get(f"{URL}/{number}")).json()
        assert (await empty_api.get(f"{URL}/{number}")).json() == original
    assert (await empty_api.get(EXPORT)).text == exported


async def test_import_as_a_multipart_upload(api: httpx.AsyncClient) -> None:
    text = "number,first_name\n101,Ada\n102,Grace\n"
    files = {"file": ("people.csv", text.encode(), "text/csv")}
    response = await api.post(IMPORT, files=files)
    assert response.status_code == 201, response.text
    assert response.json()["numbers"] == ["101", "102"]
    body = (await api.get(f"{URL}/102")).json()
    assert body["first_name"] == "Grace"
    assert len(body["auth_password"]) >= 16


async def test_multipart_without_the_file_field_is_422(api: httpx.AsyncClient) -> None:
    files = {"upload": ("people.csv", b"number\n101\n", "text/csv")}
    response = await api.post(IMPORT, files=files)
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "file"


async def test_one_bad_cell_rejects_the_whole_file(api: httpx.AsyncClient) -> None:
    text = "number,first_name,voicemail.pin\n101,Ada,1234\n102,Grace,5678\n103,Alan,12ab\n"
    response = await api.post(IMPORT, content=text.encode(), headers=CSV)
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"path": "voicemail.pin", "reason": "must be 4 to 10 digits", "row": 3}]
    }
    assert (await api.get(URL)).json()["total"] == 0
    assert (await api.get("/api/v1/audit")).json()["total"] == 0


async def test_a_rule_broken_on_one_row_rejects_the_file(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    text = "number,rights\n102,\n103,\n101,\n"
    response = await api.post(IMPORT, content=text.encode(), headers=CSV)
    assert response.status_code == 422
    [item] = response.json()["detail"]
    assert (item["row"], item["path"]) == (3, "number")
    assert (await api.get(URL)).json()["total"] == 1


async def test_a_conflict_in_the_file_rejects_it(api: httpx.AsyncClient) -> None:
    text = 'number,dids\n102,"[""0611""]"\n103,"[""0611""]"\n'
    response = await api.post(IMPORT, content=text.encode(), headers=CSV)
    assert response.status_code == 409
    [item] = response.json()["detail"]
    assert item["row"] == 2
    assert (await api.get(URL)).json()["total"] == 0


@pytest.mark.parametrize(
    ("content", "path"),
    [
        (b"", "header"),
        (b"number\n", "(file)"),
        (b"name\nx\n", "header"),
        (b"number,colour\n101,red\n", "header"),
        (b"number\n\xff\xfe\n", "(file)"),
        (b"number,first_name\n101,A\x00da\n", "(file)"),
        (b"number,first_name\n101,Ada,extra\n", "(row)"),
        (b"number,rights\n101,[not json\n", "rights"),
    ],
)
async def test_malformed_files_are_422(api: httpx.AsyncClient, content: bytes, path: str) -> None:
    response = await api.post(IMPORT, content=content, headers=CSV)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["path"] == path


async def test_import_with_a_json_content_type_is_415(api: httpx.AsyncClient) -> None:
    response = await api.post(IMPORT, json={"number": "101"})
    assert response.status_code == 415
