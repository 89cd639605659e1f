"""Logging in, bearer tokens, the open routes and the OpenAPI document."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from fastapi import FastAPI

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.account import AccountRole
from tests.api.conftest import OWNER, PASSWORD
from tests.fakes import FakeClock

TOKEN_URL = "/api/v1/auth/token"


async def test_login_returns_a_bearer_token_that_opens_the_api(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, data={"username": OWNER, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/api/v1/extensions", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [(OWNER, "a-wrong-password-indeed"), ("nobody", PASSWORD), (OWNER, "")],
)
async def test_bad_login_is_401(client: httpx.AsyncClient, username: str, password: str) -> None:
    response = await client.post(TOKEN_URL, data={"username": username, "password": password})
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"][0]["path"] == "authorization"


async def test_login_without_a_form_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, json={"username": OWNER, "password": PASSWORD})
    assert response.status_code == 422
    assert {item["path"] for item in response.json()["detail"]} == {"username", "password"}


async def test_login_with_unstorable_text_is_refused(client: httpx.AsyncClient) -> None:
    data = {"username": "ad\x00min", "password": PASSWORD}
    assert (await client.post(TOKEN_URL, data=data)).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/extensions",
        "/api/v1/extensions/101",
        "/api/v1/extensions/export",
        "/api/v1/groups",
        "/api/v1/office-hours",
        "/api/v1/settings",
        "/api/v1/audit",
    ],
)
async def test_every_route_needs_a_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"][0]["path"] == "authorization"


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "YWRtaW4.99999999999.forged", "é.1.x", "YWRtaW4.1.é", "", "x" * 5000],
)
async def test_a_bad_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}".encode()}
    response = await client.get("/api/v1/extensions", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_is_401(api: httpx.AsyncClient, clock: FakeClock) -> None:
    assert (await api.get("/api/v1/extensions")).status_code == 200
    clock.advance(hours=13)
    assert (await api.get("/api/v1/extensions")).status_code == 401


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_describes_request_bodies(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/openapi.json")).json()
    create = document["paths"]["/api/v1/extensions"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ExtensionSpec"}
    components = document["components"]["schemas"]
    assert "voicemail" in components["ExtensionSpec"]["properties"]
    assert "required" not in components["ExtensionPatch"]
    assert (await client.get("/api/docs")).status_code == 200


async def test_unknown_route_answers_in_the_error_shape(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["detail"][0]["reason"]


async def test_repeated_failures_are_429_with_retry_after_even_for_the_right_password(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    for attempt in range(5):
        wrong = {"username": OWNER, "password": f"wrong-guess-{attempt}"}
        assert (await client.post(TOKEN_URL, data=wrong)).status_code == 401
    right = {"username": OWNER, "password": PASSWORD}
    response = await client.post(TOKEN_URL, data=right)
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["detail"][0]["reason"]
    clock.advance(seconds=int(response.headers["retry-after"]))
    assert (await client.post(TOKEN_URL, data=right)).status_code == 200


async def test_a_token_issued_before_a_password_change_is_401(
    api: httpx.AsyncClient, services: ManagementServices
) -> None:
    assert (await api.get("/api/v1/extensions")).status_code == 200
    owner = Actor(username=OWNER, role=AccountRole.OWNER)
    await services.accounts.set_password(owner, OWNER, "a-new-strong-password")
    response = await api.get("/api/v1/extensions")
    assert response.status_code == 401
    assert "password was changed" in response.json()["detail"][0]["reason"]
    fresh = {"username": OWNER, "password": "a-new-strong-password"}
    token = (await api.post(TOKEN_URL, data=fresh)).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.get("/api/v1/extensions", headers=headers)).status_code == 200


async def test_unknown_and_known_user_names_answer_in_the_same_time(
    app: FastAPI, services: ManagementServices
) -> None:
    """Medians of five wrong logins each within 30% (the real argon2 parameters).

    Five: the account's free failures; each pair comes from its own address.
    """
    await services.accounts.prepare()

    async def timed(username: str, index: int) -> float:
        transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{index}", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://pbx.test") as client:
            data = {"username": username, "password": "a-wrong-password"}
            started = time.perf_counter()
            response = await client.post(TOKEN_URL, data=data)
            elapsed = time.perf_counter() - started
        assert response.status_code == 401, response.text
        return elapsed

    known, unknown = [], []
    for index in range(5):
        known.append(await timed(OWNER, index))
        unknown.append(await timed("nobody", index))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.7 < ratio < 1.3, (statistics.median(known), statistics.median(unknown))
