"""Every API response: no caching, no sniffing; HTML pages: a content security policy.

Lists of extensions leave the secrets out; one extension's GET keeps them.
"""

from __future__ import annotations

import httpx

from centralino.api.security_headers import DOCS_POLICY
from tests.api.test_extensions import URL, create


def _assert_protected(response: httpx.Response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_json_responses_are_not_cached(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    for response in (
        await api.get(f"{URL}/101"),
        await api.get(URL),
        await api.get("/api/v1/settings"),
        await api.get(f"{URL}/export"),
        await api.get(f"{URL}/999"),
    ):
        _assert_protected(response)
        assert "content-security-policy" not in response.headers


async def test_errors_and_the_login_are_not_cached(client: httpx.AsyncClient) -> None:
    _assert_protected(await client.get(URL))  # 401
    login = await client.post(
        "/api/v1/auth/token", data={"username": "admin", "password": "wrong-password"}
    )
    _assert_protected(login)


async def test_the_docs_page_has_a_content_security_policy(client: httpx.AsyncClient) -> None:
    docs = await client.get("/api/docs")
    assert docs.headers["content-type"].startswith("text/html")
    _assert_protected(docs)
    policy = docs.headers["content-security-policy"]
    assert policy == DOCS_POLICY
    assert "frame-ancestors 'none'" in policy
    for source in ("https://cdn.jsdelivr.net/npm/swagger-ui-dist",):
        assert source in docs.text  # what the policy lets in is what the page loads
    _assert_protected(await client.get("/api/openapi.json"))


async def test_a_list_leaves_the_secrets_out(api: httpx.AsyncClient) -> None:
    created = await create(api, "101", first_name="Ada")
    [listed] = (await api.get(URL)).json()["items"]
    assert listed["auth_password"] is None
    assert listed["voicemail"]["pin"] is None
    assert created["auth_password"] not in (await api.get(URL)).text
    assert listed["auth_id"] == created["auth_id"]
    assert listed["first_name"] == "Ada"
    one = (await api.get(f"{URL}/101")).json()
    assert one["auth_password"] == created["auth_password"]
    assert one["voicemail"]["pin"] == created["voicemail"]["pin"]
