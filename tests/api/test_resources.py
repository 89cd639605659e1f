"""Groups, office hours and system settings over REST, and their errors."""

from __future__ import annotations

import httpx
import pytest

from centralino.admin.services import ManagementServices
from tests.api.test_extensions import URL, create

GROUPS = "/api/v1/groups"
HOURS = "/api/v1/office-hours"
SETTINGS = "/api/v1/settings"


async def test_group_lifecycle(api: httpx.AsyncClient) -> None:
    created = await api.post(GROUPS, json={"name": "Sales", "description": "Sells"})
    assert created.status_code == 201
    assert created.json() == {"name": "Sales", "description": "Sells"}
    assert (await api.get(GROUPS)).json() == [created.json()]
    assert (await api.get(f"{GROUPS}/Sales")).json() == created.json()
    patched = await api.patch(f"{GROUPS}/Sales", json={"description": "Sells more"})
    assert patched.json()["description"] == "Sells more"
    assert (await api.get(f"{GROUPS}/Sales/members")).json() == []
    assert (await api.delete(f"{GROUPS}/Sales")).status_code == 204
    assert (await api.get(f"{GROUPS}/Sales")).status_code == 404


async def test_group_names_with_spaces_work_in_urls(api: httpx.AsyncClient) -> None:
    assert (await api.post(GROUPS, json={"name": "Front Desk"})).status_code == 201
    assert (await api.get(f"{GROUPS}/Front Desk")).json()["name"] == "Front Desk"


async def test_group_members_and_deleting_a_group_with_members(api: httpx.AsyncClient) -> None:
    await api.post(GROUPS, json={"name": "Sales"})
    await create(api, "101", rights=[{"group": "Sales", "role": "manager"}])
    await create(api, "102", rights=[{"group": "Sales"}])
    members = (await api.get(f"{GROUPS}/Sales/members")).json()
    assert members == [{"number": "101", "role": "manager"}, {"number": "102", "role": "user"}]
    response = await api.delete(f"{GROUPS}/Sales")
    assert response.status_code == 409
    [item] = response.json()["detail"]
    assert item["path"] == "name"
    assert "101" in item["reason"]
    assert (await api.get(f"{GROUPS}/Sales")).status_code == 200


async def test_group_errors(api: httpx.AsyncClient) -> None:
    await api.post(GROUPS, json={"name": "Sales"})
    duplicate = await api.post(GROUPS, json={"name": "Sales"})
    assert duplicate.status_code == 409
    bad = await api.post(GROUPS, json={"name": "!!", "description": "x" * 300})
    assert bad.status_code == 422
    assert sorted(item["path"] for item in bad.json()["detail"]) == ["description", "name"]
    rename = await api.patch(f"{GROUPS}/Sales", json={"name": "Marketing"})
    assert (rename.status_code, rename.json()["detail"][0]["path"]) == (422, "name")
    for method, path in (("GET", "Nobody"), ("DELETE", "Nobody"), ("GET", "Nobody/members")):
        assert (await api.request(method, f"{GROUPS}/{path}")).status_code == 404
    assert (await api.patch(f"{GROUPS}/Nobody", json={})).status_code == 404
    assert (await api.post(GROUPS, json=["Sales"])).status_code == 422


async def test_office_hours_lifecycle(api: httpx.AsyncClient) -> None:
    listed = (await api.get(HOURS)).json()
    assert [schedule["name"] for schedule in listed] == ["global"]
    body = {
        "time_zone": "Europe/London",
        "periods": [{"day": "mon", "start": "08:00", "end": "12:00"}],
        "breaks": [],
        "holidays": [{"date": "2024-12-25", "name": "Christmas"}],
    }
    put = await api.put(f"{HOURS}/support", json=body)
    assert put.status_code == 200, put.text
    assert put.json() == {"name": "support", **body}
    assert (await api.get(f"{HOURS}/support")).json() == put.json()
    assert {s["name"] for s in (await api.get(HOURS)).json()} == {"global", "support"}
    assert (await api.delete(f"{HOURS}/support")).status_code == 204
    assert (await api.get(f"{HOURS}/support")).status_code == 404


async def test_office_hours_errors(api: httpx.AsyncClient) -> None:
    bad = await api.put(f"{HOURS}/support", json={"time_zone": "Mars/Olympus"})
    assert (bad.status_code, bad.json()["detail"][0]["path"]) == (422, "time_zone")
    bad = await api.put(
        f"{HOURS}/support", json={"periods": [{"day": "mon", "start": "12:00", "end": "08:00"}]}
    )
    assert (bad.status_code, bad.json()["detail"][0]["path"]) == (422, "periods.0")
    bad = await api.put(f"{HOURS}/Not Valid", json={})
    assert (bad.status_code, bad.json()["detail"][0]["path"]) == (422, "name")
    mismatch = await api.put(f"{HOURS}/support", json={"name": "other"})
    assert (mismatch.status_code, mismatch.json()["detail"][0]["path"]) == (422, "name")
    assert (await api.delete(f"{HOURS}/global")).status_code == 409
    assert (await api.delete(f"{HOURS}/nothing")).status_code == 404
    assert (await api.get(f"{HOURS}/Not Valid")).status_code == 404


async def test_office_hours_in_use_cannot_be_deleted(api: httpx.AsyncClient) -> None:
    assert (await api.put(f"{HOURS}/support", json={})).status_code == 200
    await create(
        api, "101", forwarding={"office_hours": "support", "auto_switch_by_office_hours": True}
    )
    response = await api.delete(f"{HOURS}/support")
    assert response.status_code == 409
    assert "101" in response.json()["detail"][0]["reason"]


async def test_settings_mask_the_smtp_password(
    api: httpx.AsyncClient, services: ManagementServices
) -> None:
    settings = (await api.get(SETTINGS)).json()
    sections = {"smtp", "network", "numbering", "presence", "dial_codes", "sip", "security"}
    assert set(settings) == sections
    patch = {"smtp": {"host": "mail.example.com", "password": "hunter2-hunter2"}}
    response = await api.patch(SETTINGS, json=patch)
    assert response.status_code == 200, response.text
    assert response.json()["smtp"]["password"] == "********"
    assert (await api.get(SETTINGS)).json()["smtp"]["password"] == "********"
    round_trip = (await api.get(SETTINGS)).json()
    round_trip["smtp"]["port"] = 465
    assert (await api.patch(SETTINGS, json=round_trip)).status_code == 200
    stored = await services.settings.get()
    assert (stored.smtp.password, stored.smtp.port) == ("hunter2-hunter2", 465)
    audit = (await api.get("/api/v1/audit", params={"resource": "settings"})).json()
    assert "hunter2" not in str(audit)


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"smtp": {"port": 70000}}, "smtp.port"),
        ({"network": {"local_networks": ["10.0.0.0/33"]}}, "network.local_networks"),
        ({"numbering": {"extension_length": 9}}, "numbering.extension_length"),
        ({"telephony": {}}, "telephony"),
    ],
)
async def test_bad_settings_are_422(
    api: httpx.AsyncClient, patch: dict[str, object], path: str
) -> None:
    before = (await api.get(SETTINGS)).json()
    response = await api.patch(SETTINGS, json=patch)
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == path
    assert (await api.get(SETTINGS)).json() == before


async def test_numbering_cannot_strand_existing_extensions(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.patch(SETTINGS, json={"numbering": {"extension_length": 4}})
    assert response.status_code == 422
    assert "101" in response.json()["detail"][0]["reason"]
    assert (await api.get(URL, params={"search": "101"})).json()["total"] == 1
