"""Logging in, bearer tokens, the open routes and the OpenAPI document."""

from __future__ import annotations

import httpx
import pytest

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
