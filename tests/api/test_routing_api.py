"""Status and the routing explainer over the REST API."""

from __future__ import annotations

import httpx

from centralino.admin.services import ManagementServices
from centralino.domain.ports import AuditQuery

TO_102 = {"type": "extension", "number": "102"}


async def _extensions(api: httpx.AsyncClient) -> None:
    for number in ("101", "102"):
        assert (await api.post("/api/v1/extensions", json={"number": number})).status_code == 201
    forwarding = {
        "profiles": {"available": {"internal": {"no_answer": TO_102}}},
        "exceptions": [
            {
                "caller_id": "+3906*",
                "window": {"type": "office_hours"},
                "destination": TO_102,
            }
        ],
    }
    response = await api.patch("/api/v1/extensions/101", json={"forwarding": forwarding})
    assert response.status_code == 200, response.text


async def test_put_status_sets_it_audits_and_publishes(
    api: httpx.AsyncClient, services: ManagementServices
) -> None:
    await _extensions(api)
    response = await api.put("/api/v1/extensions/101/status", json={"status": "dnd"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "number": "101",
        "status": "dnd",
        "name": "Do Not Disturb",
        "auto_switch_by_office_hours": False,
    }
    assert (await api.get("/api/v1/extensions/101/status")).json()["status"] == "dnd"
    page = await services.audit.search(AuditQuery(resource="extension", resource_id="101"))
    [latest] = [e for e in page.items if e.after and e.after["forwarding"]["status"] == "dnd"]
    assert latest.before is not None
    assert latest.before["forwarding"]["status"] == "available"


async def test_a_bad_status_names_the_field(api: httpx.AsyncClient) -> None:
    await _extensions(api)
    response = await api.put("/api/v1/extensions/101/status", json={"status": "sleeping"})
    assert response.status_code == 422
    assert "status" in response.text
    missing = await api.put("/api/v1/extensions/999/status", json={"status": "dnd"})
    assert missing.status_code == 404


async def test_simulate_explains_an_exception_outside_its_window(api: httpx.AsyncClient) -> None:
    await _extensions(api)
    body = {"caller": "+390612345678", "at": "2026-12-01T13:05:00+01:00"}
    response = await api.post("/api/v1/extensions/101/routing/simulate", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["call"]["origin"] == "external"
    assert answer["live_state"] == "assumed"
    assert answer["plan"]["first"]["type"] == "ring_extension"
    assert not answer["trace"][0]["matched"]
    assert "on a break" in answer["trace"][0]["text"]
    assert "assumed registered" in answer["text"]
    assert "voicemail of extension" in answer["text"]
    assert "not available" not in answer["text"]


async def test_simulate_the_exception_in_office_hours_and_an_override(
    api: httpx.AsyncClient,
) -> None:
    await _extensions(api)
    body = {"caller": "+390612345678", "at": "2026-12-01T10:00:00"}  # naive: Rome time
    answer = (await api.post("/api/v1/extensions/101/routing/simulate", json=body)).json()
    assert answer["plan"]["first"]["type"] == "forward"
    assert answer["plan"]["first"]["number"] == "102"
    internal = {"caller": "102", "registered": False}
    answer = (await api.post("/api/v1/extensions/101/routing/simulate", json=internal)).json()
    assert answer["call"]["origin"] == "internal"
    assert answer["plan"]["first"] == {
        "type": "send_to_voicemail",
        "text": "voicemail of extension 101",
        "box_number": "101",
    }


async def test_simulate_refuses_a_bad_caller(api: httpx.AsyncClient) -> None:
    await _extensions(api)
    bad = await api.post("/api/v1/extensions/101/routing/simulate", json={"caller": "bob"})
    assert bad.status_code == 422
    assert "caller" in bad.text


async def test_renamed_statuses_show_in_status_and_explainer(api: httpx.AsyncClient) -> None:
    await _extensions(api)
    names = {"presence": {"display_names": {"dnd": "Non disturbare"}}}
    assert (await api.patch("/api/v1/settings", json=names)).status_code == 200
    response = await api.put("/api/v1/extensions/101/status", json={"status": "dnd"})
    assert response.json()["name"] == "Non disturbare"
    simulated = await api.post("/api/v1/extensions/101/routing/simulate", json={"caller": "102"})
    assert simulated.status_code == 200, simulated.text
    text = simulated.json()["text"]
    assert "Non disturbare" in text
    assert "Do Not Disturb" not in text


async def test_a_display_name_for_an_unknown_status_is_refused(api: httpx.AsyncClient) -> None:
    names = {"presence": {"display_names": {"sleeping": "Zzz"}}}
    response = await api.patch("/api/v1/settings", json=names)
    assert response.status_code == 422
    assert "presence.display_names" in response.text
