"""The audit trail over REST: who, what, when, before and after, secrets masked."""

from __future__ import annotations

import httpx

from tests.api.test_extensions import URL, create
from tests.fakes import EPOCH, FakeClock

AUDIT = "/api/v1/audit"
MASK = "********"


async def test_create_update_delete_are_recorded_newest_first(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    created = await create(api, "101", first_name="Ada")
    clock.advance(minutes=1)
    assert (await api.patch(f"{URL}/101", json={"first_name": "Grace"})).status_code == 200
    clock.advance(minutes=1)
    assert (await api.delete(f"{URL}/101")).status_code == 204
    page = (await api.get(AUDIT, params={"resource": "extension", "resource_id": "101"})).json()
    assert page["total"] == 3
    delete, update, create_entry = page["items"]
    assert [e["action"] for e in page["items"]] == ["delete", "update", "create"]
    assert {e["actor"] for e in page["items"]} == {"admin"}
    assert create_entry["at"].startswith(EPOCH.date().isoformat())
    assert create_entry["before"] is None
    assert create_entry["after"]["first_name"] == "Ada"
    assert (update["before"]["first_name"], update["after"]["first_name"]) == ("Ada", "Grace")
    assert delete["after"] is None
    assert delete["before"]["first_name"] == "Grace"
    for entry in page["items"]:
        for document in (entry["before"], entry["after"]):
            if document is not None:
                assert document["auth_password"] == MASK
                assert document["voicemail"]["pin"] == MASK
                assert created["auth_password"] not in str(document)


async def test_regeneration_is_recorded_without_secrets(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    await api.post(f"{URL}/101/credentials/regenerate")
    newest = (await api.get(AUDIT)).json()["items"][0]
    assert newest["action"] == "regenerate_credentials"
    assert newest["after"]["auth_password"] == MASK


async def test_audit_pages_and_filters(api: httpx.AsyncClient) -> None:
    for number in ("101", "102", "103"):
        await create(api, number)
    await api.post("/api/v1/groups", json={"name": "Sales"})
    everything = (await api.get(AUDIT)).json()
    assert everything["total"] == 4
    page = (await api.get(AUDIT, params={"offset": 1, "limit": 2})).json()
    assert page["items"] == everything["items"][1:3]
    assert (page["offset"], page["limit"]) == (1, 2)
    groups = (await api.get(AUDIT, params={"resource": "group"})).json()
    assert [(e["resource"], e["resource_id"]) for e in groups["items"]] == [("group", "Sales")]


async def test_bad_audit_parameters_are_422(api: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"offset": -5}, {"limit": "many"}, {"resource": "a\x00b"}):
        response = await api.get(AUDIT, params=params)
        assert response.status_code == 422, params
