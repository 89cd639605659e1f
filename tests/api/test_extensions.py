"""Extensions over REST: create, read, list, replace, patch, regenerate, delete."""

from __future__ import annotations

import json
import string
from typing import Any

import httpx
import pytest

URL = "/api/v1/extensions"


async def create(api: httpx.AsyncClient, number: str, **fields: Any) -> dict[str, Any]:
    """Create an extension and return its JSON form."""
    response = await api.post(URL, json={"number": number, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_generates_strong_credentials(api: httpx.AsyncClient) -> None:
    body = await create(api, "101", first_name="Ada", last_name="Lovelace")
    password = body["auth_password"]
    assert len(password) >= 16
    assert set(password) <= set(string.ascii_letters + string.digits)
    assert body["auth_id"]
    assert body["voicemail"]["pin"].isdigit()
    assert body["forwarding"]["status"] == "available"
    assert body["forwarding"]["profiles"]["available"]["no_answer_seconds"] == 20


async def test_two_creations_get_different_secrets(api: httpx.AsyncClient) -> None:
    first, second = await create(api, "101"), await create(api, "102")
    assert first["auth_password"] != second["auth_password"]
    assert first["auth_id"] != second["auth_id"]


async def test_given_secrets_are_kept(api: httpx.AsyncClient) -> None:
    body = await create(
        api, "101", auth_id="ada.phone", auth_password="S3cret-S3cret!", voicemail={"pin": "4321"}
    )
    assert (body["auth_id"], body["auth_password"]) == ("ada.phone", "S3cret-S3cret!")
    assert body["voicemail"]["pin"] == "4321"


async def test_get_returns_what_was_created(api: httpx.AsyncClient) -> None:
    created = await create(api, "101", email="ada@example.com", dids=["+390612345678"])
    response = await api.get(f"{URL}/101")
    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize("number", ["999", "abc", "1%00", "12345678901234"])
async def test_unknown_extension_is_404(api: httpx.AsyncClient, number: str) -> None:
    for method in ("GET", "DELETE"):
        response = await api.request(method, f"{URL}/{number}")
        assert response.status_code == 404
        [item] = response.json()["detail"]
        assert item["path"] == "extension"
        assert "not found" in item["reason"]
    response = await api.patch(f"{URL}/{number}", json={"first_name": "X"})
    assert response.status_code == 404


async def test_not_found_body_names_the_extension(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{URL}/999")
    assert response.json() == {
        "detail": [{"path": "extension", "reason": "extension '999' not found", "row": None}]
    }


async def test_duplicate_number_is_409(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.post(URL, json={"number": "101"})
    assert response.status_code == 409
    assert response.json()["detail"][0]["path"] == "number"


async def test_duplicate_auth_id_is_409(api: httpx.AsyncClient) -> None:
    await create(api, "101", auth_id="shared.id")
    response = await api.post(URL, json={"number": "102", "auth_id": "shared.id"})
    assert response.status_code == 409
    [item] = response.json()["detail"]
    assert item["path"] == "auth_id"
    assert "101" in item["reason"]
    assert (await api.get(f"{URL}/102")).status_code == 404


async def test_duplicate_did_is_409(api: httpx.AsyncClient) -> None:
    await create(api, "101", dids=["+390612345678"])
    response = await api.post(URL, json={"number": "102", "dids": ["0611", "+390612345678"]})
    assert response.status_code == 409
    assert response.json()["detail"][0]["path"] == "dids.1"


async def test_patch_of_one_tab_leaves_every_other_untouched(api: httpx.AsyncClient) -> None:
    before = await create(api, "101", first_name="Ada", options={"record_all_calls": True})
    response = await api.patch(f"{URL}/101/voicemail", json={"require_pin": False})
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["voicemail"] == before["voicemail"] | {"require_pin": False}
    for key in before.keys() - {"voicemail"}:
        assert after[key] == before[key], key
    assert (await api.get(f"{URL}/101")).content == response.content


async def test_patch_of_a_list_tab_replaces_the_list(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    await create(api, "102")
    keys = [
        {"position": 1, "kind": "blf", "number": "102"},
        {"position": 2, "kind": "speed_dial", "number": "+3906"},
    ]
    response = await api.patch(f"{URL}/101/blf_keys", json=keys)
    assert response.status_code == 200, response.text
    assert [key["kind"] for key in response.json()["blf_keys"]] == ["blf", "speed_dial"]


async def test_patch_of_an_unknown_tab_is_404(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.patch(f"{URL}/101/nonsense", json={})
    assert response.status_code == 404
    assert response.json()["detail"][0]["path"] == "tab"


async def test_patch_of_an_object_tab_with_a_list_is_422(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.patch(f"{URL}/101/voicemail", json=[1, 2])
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "voicemail"


async def test_merge_patch_changes_only_what_it_names(api: httpx.AsyncClient) -> None:
    before = await create(api, "101", first_name="Ada", email="ada@example.com")
    patch = {"last_name": "Lovelace", "email": None, "forwarding": {"status": "dnd"}}
    response = await api.patch(
        f"{URL}/101",
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["first_name"], after["last_name"], after["email"]) == ("Ada", "Lovelace", None)
    assert after["forwarding"]["status"] == "dnd"
    assert after["forwarding"]["profiles"] == before["forwarding"]["profiles"]
    assert after["auth_password"] == before["auth_password"]


async def test_patch_cannot_change_the_number(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.patch(f"{URL}/101", json={"number": "102"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "number"


async def test_put_keeps_omitted_secrets(api: httpx.AsyncClient) -> None:
    before = await create(api, "101", first_name="Ada")
    document = {
        key: value for key, value in before.items() if key not in ("auth_password", "auth_id")
    }
    document["voicemail"] = {k: v for k, v in before["voicemail"].items() if k != "pin"}
    document["first_name"] = "Grace"
    del document["number"]
    response = await api.put(f"{URL}/101", json=document)
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["first_name"] == "Grace"
    assert after["auth_password"] == before["auth_password"]
    assert after["auth_id"] == before["auth_id"]
    assert after["voicemail"]["pin"] == before["voicemail"]["pin"]


async def test_put_resets_what_it_omits(api: httpx.AsyncClient) -> None:
    await create(api, "101", first_name="Ada", options={"record_all_calls": True})
    response = await api.put(f"{URL}/101", json={"last_name": "Lovelace"})
    assert response.status_code == 200
    assert response.json()["first_name"] == ""
    assert response.json()["options"]["record_all_calls"] is False


async def test_put_with_another_number_is_422(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.put(f"{URL}/101", json={"number": "102"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "number"


async def test_regenerate_changes_the_password(api: httpx.AsyncClient) -> None:
    before = await create(api, "101")
    response = await api.post(f"{URL}/101/credentials/regenerate")
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["auth_password"] != before["auth_password"]
    assert after["auth_id"] == before["auth_id"]
    assert (await api.get(f"{URL}/101")).json()["auth_password"] == after["auth_password"]


@pytest.mark.parametrize(
    "request_options",
    [{"json": {"auth_id": True}}, {"params": {"auth_id": "true"}}],
    ids=["json", "query"],
)
async def test_regenerate_auth_id_on_request(
    api: httpx.AsyncClient, request_options: dict[str, Any]
) -> None:
    before = await create(api, "101")
    response = await api.post(f"{URL}/101/credentials/regenerate", **request_options)
    assert response.status_code == 200, response.text
    assert response.json()["auth_id"] != before["auth_id"]
    assert response.json()["auth_password"] != before["auth_password"]


async def test_regenerate_with_a_bad_flag_is_422(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.post(f"{URL}/101/credentials/regenerate", json={"auth_id": "maybe"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "auth_id"


async def test_delete(api: httpx.AsyncClient) -> None:
    await create(api, "101")
    response = await api.delete(f"{URL}/101")
    assert response.status_code == 204
    assert (await api.get(f"{URL}/101")).status_code == 404


async def _people(api: httpx.AsyncClient) -> None:
    people = [
        ("101", "Ada", "Lovelace"),
        ("102", "Grace", "Hopper"),
        ("103", "Alan", "Turing"),
        ("104", "Edsger", "Dijkstra"),
        ("105", "Barbara", "Liskov"),
    ]
    for number, first, last in people:
        email = f"{first.lower()}@example.com"
        await create(api, number, first_name=first, last_name=last, email=email)


async def test_list_pages_in_number_order(api: httpx.AsyncClient) -> None:
    await _people(api)
    response = await api.get(URL, params={"offset": 1, "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["offset"], body["limit"]) == (5, 1, 2)
    assert [item["number"] for item in body["items"]] == ["102", "103"]


async def test_list_sorts_by_a_field_both_ways(api: httpx.AsyncClient) -> None:
    await _people(api)
    ascending = (await api.get(URL, params={"sort": "last_name"})).json()["items"]
    assert [item["last_name"] for item in ascending] == [
        "Dijkstra",
        "Hopper",
        "Liskov",
        "Lovelace",
        "Turing",
    ]
    descending = await api.get(URL, params={"sort": "first_name", "order": "desc"})
    assert [item["number"] for item in descending.json()["items"]] == [
        "102",
        "104",
        "105",
        "103",
        "101",
    ]


async def test_list_searches(api: httpx.AsyncClient) -> None:
    await _people(api)
    body = (await api.get(URL, params={"search": "hopper"})).json()
    assert (body["total"], [item["number"] for item in body["items"]]) == (1, ["102"])
    body = (await api.get(URL, params={"search": "10"})).json()
    assert body["total"] == 5


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "x"}, "offset"),
        ({"offset": 10**30}, "offset"),
        ({"sort": "password"}, "sort"),
        ({"order": "up"}, "order"),
    ],
)
async def test_bad_list_parameters_are_422(
    api: httpx.AsyncClient, params: dict[str, Any], path: str
) -> None:
    response = await api.get(URL, params=params)
    assert response.status_code == 422
    assert [item["path"] for item in response.json()["detail"]] == [path]
