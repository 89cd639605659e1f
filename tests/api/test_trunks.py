"""Trunks and outbound rules over REST: CRUD, errors naming the field, the status report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from centralino.admin.services import ManagementServices
from centralino.domain.audit import AuditAction
from centralino.domain.ports import AuditQuery
from centralino.domain.trunks import RegistrationState, TrunkStatus
from tests.api.conftest import FakeEngine, node_client
from tests.api.test_extensions import create

TRUNKS = "/api/v1/trunks"
RULES = "/api/v1/outbound-rules"
PASSWORD = "provider-s3cret-password"
REGISTRATION = {"enabled": True, "username": "0212345", "password": PASSWORD}


def _trunk(name: str = "voip", **fields: Any) -> dict[str, Any]:
    return {"name": name, "host": "sip.example.net", "registration": REGISTRATION} | fields


async def _create_trunk(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post(TRUNKS, json=_trunk(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_trunk_lifecycle_never_returns_the_password(api: httpx.AsyncClient) -> None:
    created = await _create_trunk(api, dids=["+390212345678"])
    assert created["registration"] == {
        "enabled": True,
        "username": "0212345",
        "auth_user": None,
        "expires": 3600,
        "password_set": True,
    }
    assert created["dids"] == ["+390212345678"]
    listed = await api.get(TRUNKS)
    assert listed.json() == [created]
    shown = await api.get(f"{TRUNKS}/voip")
    assert shown.json() == created
    patched = await api.patch(f"{TRUNKS}/voip", json={"port": 5070, "transport": "tcp"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["port"], patched.json()["transport"]) == (5070, "tcp")
    assert patched.json()["registration"]["password_set"] is True  # kept: not in the patch
    for response in (created, listed.json(), shown.json(), patched.json()):
        assert PASSWORD not in str(response)
    assert (await api.delete(f"{TRUNKS}/voip")).status_code == 204
    assert (await api.get(f"{TRUNKS}/voip")).status_code == 404


async def test_the_stored_password_is_kept_and_can_be_replaced(
    api: httpx.AsyncClient, services: ManagementServices
) -> None:
    shown = await _create_trunk(api)
    # A client may send back what it read: password_set is ignored on input.
    again = await api.patch(f"{TRUNKS}/voip", json={"registration": shown["registration"]})
    assert again.status_code == 200, again.text
    actor = await services.accounts.actor_for_token(api.headers["Authorization"].split()[1])
    assert (await services.trunks.get(actor, "voip")).registration.password == PASSWORD
    await api.patch(f"{TRUNKS}/voip", json={"registration": {"password": "another-one-123"}})
    assert (await services.trunks.get(actor, "voip")).registration.password == "another-one-123"
    page = await services.audit.search(AuditQuery(resource="trunk"))
    assert [entry.action for entry in page.items] == [AuditAction.UPDATE] * 2 + [AuditAction.CREATE]
    assert PASSWORD not in str([entry.model_dump() for entry in page.items])


async def test_trunk_errors_name_the_field(api: httpx.AsyncClient) -> None:
    bad = await api.post(TRUNKS, json=_trunk(dids=["0212345678"], port=0))
    assert bad.status_code == 422
    paths = {item["path"] for item in bad.json()["detail"]}
    assert paths == {"dids.0", "port"}
    missing = await api.post(
        TRUNKS, json={"name": "x", "host": "h", "registration": {"enabled": True}}
    )
    assert missing.status_code == 422
    assert {item["path"] for item in missing.json()["detail"]} == {"registration.username"}
    national = await api.post(TRUNKS, json=_trunk(number_format="national"))
    assert [item["path"] for item in national.json()["detail"]] == ["country_code"]
    await _create_trunk(api, dids=["+390212345678"])
    duplicate = await api.post(TRUNKS, json=_trunk())
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"][0]["path"] == "name"
    taken = await api.post(TRUNKS, json=_trunk("other", dids=["+3906111", "+390212345678"]))
    assert taken.status_code == 409
    [item] = taken.json()["detail"]
    assert item["path"] == "dids.1"
    assert "voip" in item["reason"]
    rename = await api.patch(f"{TRUNKS}/voip", json={"name": "renamed"})
    assert (rename.status_code, rename.json()["detail"][0]["path"]) == (422, "name")
    nowhere = await api.patch(
        f"{TRUNKS}/voip", json={"default_destination": {"type": "extension", "number": "199"}}
    )
    assert nowhere.status_code == 422
    assert nowhere.json()["detail"][0]["path"] == "default_destination.number"
    assert (await api.get(f"{TRUNKS}/BAD NAME")).status_code == 404
    assert (await api.get(f"{TRUNKS}/absent/status")).status_code == 404


async def test_status_without_an_engine_reports_what_is_stored(api: httpx.AsyncClient) -> None:
    await _create_trunk(api)
    await _create_trunk(api, name="ip-auth", registration={"enabled": False})
    registering = (await api.get(f"{TRUNKS}/voip/status")).json()
    assert registering == {
        "name": "voip",
        "enabled": True,
        "known": False,
        "registration": "unknown",
        "up": None,
        "last_response": None,
        "last_error": None,
        "next_refresh": None,
        "options_ok": None,
        "options_checked_at": None,
        "calls_in_progress": None,
    }
    ip_auth = (await api.get(f"{TRUNKS}/ip-auth/status")).json()
    assert (ip_auth["registration"], ip_auth["known"]) == ("disabled", False)


class FakeTrunkStatuses:
    """The engine's trunk health: ``voip`` registered, nothing else known."""

    def status(self, name: str) -> TrunkStatus | None:
        if name != "voip":
            return None
        return TrunkStatus(
            name="voip",
            enabled=True,
            registration=RegistrationState.REGISTERED,
            up=True,
            last_response=200,
            next_refresh=dt.datetime(2026, 12, 8, 4, 0, tzinfo=dt.UTC),
            options_ok=True,
            calls_in_progress=2,
        )


async def test_status_from_the_engine(services: ManagementServices, api: httpx.AsyncClient) -> None:
    await _create_trunk(api)
    engine = FakeEngine()
    node = services.with_engine(engine, engine, node="A", trunks=FakeTrunkStatuses())
    async with node_client(node, engine) as client:
        status = (await client.get(f"{TRUNKS}/voip/status")).json()
    assert status["known"] is True
    assert (status["registration"], status["up"], status["last_response"]) == (
        "registered",
        True,
        200,
    )
    assert status["calls_in_progress"] == 2
    assert status["next_refresh"] == "2026-12-08T04:00:00Z"


async def test_trunks_need_a_login(client: httpx.AsyncClient) -> None:
    assert (await client.get(TRUNKS)).status_code == 401
    assert (await client.post(RULES, json={})).status_code == 401


async def test_outbound_rules_lifecycle_in_priority_order(api: httpx.AsyncClient) -> None:
    await _create_trunk(api)
    await _create_trunk(api, name="backup")
    await create(api, "101")
    await api.post("/api/v1/groups", json={"name": "Sales"})
    mobile = {"name": "mobile", "priority": 20, "prefix": "3", "trunks": ["voip", "backup"]}
    created = await api.post(RULES, json=mobile | {"callers": ["101"], "groups": ["Sales"]})
    assert created.status_code == 201, created.text
    assert created.json()["strip"] == 0
    national = await api.post(RULES, json={"name": "national", "priority": 10, "trunks": ["voip"]})
    assert national.status_code == 201
    assert [rule["name"] for rule in (await api.get(RULES)).json()] == ["national", "mobile"]
    patched = await api.patch(f"{RULES}/national", json={"priority": 30, "prepend": "0039"})
    assert patched.json()["prepend"] == "0039"
    assert [rule["name"] for rule in (await api.get(RULES)).json()] == ["mobile", "national"]
    in_use = await api.delete(f"{TRUNKS}/backup")
    assert in_use.status_code == 409
    assert "mobile" in in_use.json()["detail"][0]["reason"]
    assert (await api.delete(f"{RULES}/mobile")).status_code == 204
    assert (await api.delete(f"{TRUNKS}/backup")).status_code == 204
    assert (await api.get(f"{RULES}/mobile")).status_code == 404


async def test_outbound_rule_errors_name_the_field(api: httpx.AsyncClient) -> None:
    await _create_trunk(api)
    unknown = await api.post(
        RULES,
        json={"name": "r", "trunks": ["voip", "nowhere"], "callers": ["555"], "groups": ["None"]},
    )
    assert unknown.status_code == 422
    assert {item["path"] for item in unknown.json()["detail"]} == {
        "trunks.1",
        "callers.0",
        "groups.0",
    }
    no_trunks = await api.post(RULES, json={"name": "r", "trunks": []})
    assert [item["path"] for item in no_trunks.json()["detail"]] == ["trunks"]
    lengths = await api.post(
        RULES, json={"name": "r", "trunks": ["voip"], "min_length": 9, "max_length": 3}
    )
    assert [item["path"] for item in lengths.json()["detail"]] == ["max_length"]
    assert (await api.get(RULES)).json() == []
