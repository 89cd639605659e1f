"""Bad input of every kind: a 4xx naming the field, and nothing changed (SPEC 4)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from centralino.domain.extension import TABS
from tests.api.test_extensions import URL, create

BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"voicemail": {"pin": "12a"}}, "voicemail.pin"),
    ({"voicemail": {"email_mode": "fax"}}, "voicemail.email_mode"),
    (
        {"forwarding": {"profiles": {"available": {"no_answer_seconds": 1}}}},
        "forwarding.profiles.available.no_answer_seconds",
    ),
    (
        {"forwarding": {"exceptions": [{"caller_id": "123", "destination": {"type": "bogus"}}]}},
        "forwarding.exceptions.0.destination.type",
    ),
    (
        {
            "forwarding": {
                "exceptions": [
                    {"caller_id": "123", "destination": {"type": "extension", "number": "999"}}
                ]
            }
        },
        "forwarding.exceptions.0.destination.number",
    ),
    ({"forwarding": {"office_hours": "nosuch"}}, "forwarding.office_hours"),
    ({"devices": [{"vendor": "yealink", "model": "T46U", "mac": "zz"}]}, "devices.0.mac"),
    ({"devices": [{"vendor": "nokia", "model": "3310"}]}, "devices.0.vendor"),
    ({"blf_keys": [{"position": 1, "kind": "bogus"}]}, "blf_keys.0.kind"),
    ({"blf_keys": [{"position": 1}]}, "blf_keys.0.kind"),
    ({"blf_keys": [{"position": 1, "kind": "blf", "number": "999"}]}, "blf_keys.0.number"),
    ({"blf_keys": [{"position": 0, "kind": "shared_parking", "slot": 1}]}, "blf_keys.0.position"),
    ({"options": {"sip_id": "1abc"}}, "options.sip_id"),
    ({"options": {"disabled": "perhaps"}}, "options.disabled"),
    ({"rights": [{"group": "nosuch"}]}, "rights.0.group"),
    ({"rights": [{"group": "Sales", "role": "king"}]}, "rights.0.role"),
    (
        {"administration": {"system": True, "extensions_scope": "own"}},
        "administration.extensions_scope",
    ),
    ({"administration": {"extensions_scope": "planet"}}, "administration.extensions_scope"),
    ({"client": {"codecs": ["PCMU", "PCMU"]}}, "client.codecs"),
    ({"client": {"codecs": []}}, "client.codecs"),
    ({"integrations": {"crm_lookup_url": "ftp://example.com"}}, "integrations.crm_lookup_url"),
    ({"integrations": {"crm_enabled": True}}, "integrations.crm_lookup_url"),
    ({"email": "not-an-address"}, "email"),
    ({"mobile": "call me"}, "mobile"),
    ({"meeting_room": "A"}, "meeting_room"),
    ({"unknown_field": 1}, "unknown_field"),
    (
        {"forwarding": {"profiles": {"available": {"no_answer_seconds": 10**100}}}},
        "forwarding.profiles.available.no_answer_seconds",
    ),
]


@pytest.fixture
async def sales(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/groups", json={"name": "Sales"})
    assert response.status_code == 201


def _paths(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    items = response.json()["detail"]
    assert all(item["reason"] and item["row"] is None for item in items)
    return [item["path"] for item in items]


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""Validation does not depend on the database: these run on SQLite only."""


@SQLITE_ONLY
@pytest.mark.usefixtures("sales")
@pytest.mark.parametrize(("fields", "path"), BAD_FIELDS, ids=[row[1] for row in BAD_FIELDS])
async def test_create_with_a_bad_field_names_it(
    api: httpx.AsyncClient, fields: dict[str, Any], path: str
) -> None:
    response = await api.post(URL, json={"number": "102", **fields})
    assert _paths(response) == [path]
    assert (await api.get(f"{URL}/102")).status_code == 404


@pytest.mark.usefixtures("sales")
async def test_a_rejected_change_leaves_the_extension_untouched(api: httpx.AsyncClient) -> None:
    await create(api, "101", first_name="Ada")
    before = (await api.get(f"{URL}/101")).content
    for fields, path in BAD_FIELDS:
        assert _paths(await api.patch(f"{URL}/101", json=fields)) == [path]
        assert _paths(await api.put(f"{URL}/101", json=fields)) == [path]
        tab = next(iter(fields))
        if tab in TABS:
            assert _paths(await api.patch(f"{URL}/101/{tab}", json=fields[tab])) == [path]
        assert (await api.get(f"{URL}/101")).content == before, path
    audit = (await api.get("/api/v1/audit", params={"resource": "extension"})).json()
    assert [entry["action"] for entry in audit["items"]] == ["create"]


async def test_number_length_follows_the_numbering_settings(api: httpx.AsyncClient) -> None:
    response = await api.post(URL, json={"number": "1001"})
    assert _paths(response) == ["number"]
    assert "3 digits" in response.json()["detail"][0]["reason"]
    await api.patch("/api/v1/settings", json={"numbering": {"extension_length": 4}})
    assert (await api.post(URL, json={"number": "1001"})).status_code == 201
    assert _paths(await api.post(URL, json={"number": "101"})) == ["number"]


async def test_several_bad_fields_are_all_named(api: httpx.AsyncClient) -> None:
    body = {"number": "102", "email": "nope", "voicemail": {"pin": "1"}}
    assert sorted(_paths(await api.post(URL, json=body))) == ["email", "voicemail.pin"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"[1, 2]",
        b'"text"',
        b"null",
        b"\xff\xfe{}",
        b'{"number": NaN}',
        b'{"number": Infinity}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"number": "1' + b"0" * 10_000 + b'"}',
        b'{"number": ' + b"9" * 5_000 + b"}",
    ],
)
async def test_a_body_that_is_not_an_object_is_422(api: httpx.AsyncClient, content: bytes) -> None:
    response = await api.post(URL, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["reason"]


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"number": "101", "first_name": "Ada\x00"}, "first_name"),
        ({"number": "101", "first_name": "\ud800"}, "first_name"),
        ({"number": "101", "last\x00": "x"}, "(body)"),
        (
            {"number": "101", "voicemail": {"greetings": [{"id": "a", "name": "\x00"}]}},
            "voicemail.greetings.0.name",
        ),
    ],
)
async def test_unstorable_text_is_422(
    api: httpx.AsyncClient, document: dict[str, Any], path: str
) -> None:
    import json

    content = json.dumps(document).encode()
    response = await api.post(URL, content=content, headers={"Content-Type": "application/json"})
    assert _paths(response) == [path]


@SQLITE_ONLY
async def test_deep_nesting_is_422(api: httpx.AsyncClient) -> None:
    nested: Any = "x"
    for _ in range(200):
        nested = {"a": nested}
    response = await api.post(URL, json={"number": "101", "voicemail": nested})
    assert response.status_code == 422


async def test_unicode_names_are_stored_as_given(api: httpx.AsyncClient) -> None:
    name = "Zoë 😀 Ünïcödé \u200b"
    body = await create(api, "101", first_name=name, last_name="李")
    assert (body["first_name"], body["last_name"]) == (name.strip(), "李")
    assert (await api.get(URL, params={"search": "李"})).json()["total"] == 1


@SQLITE_ONLY
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
async def test_a_wrong_content_type_is_415(api: httpx.AsyncClient, content_type: str) -> None:
    response = await api.post(
        URL, content=b'{"number": "101"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert response.json()["detail"][0]["reason"]


@SQLITE_ONLY
async def test_a_body_too_large_is_413(api: httpx.AsyncClient) -> None:
    content = b'{"first_name": "' + b"x" * 1_100_000 + b'"}'
    response = await api.post(URL, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
