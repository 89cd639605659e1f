"""ExtensionService on the in-memory fakes: changes, rules, conflicts, events, audit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict, InvalidInput, NotFound
from centralino.domain.events import (
    CredentialsChanged,
    ExtensionChanged,
    ExtensionCreated,
    ExtensionDeleted,
    StatusChanged,
)
from centralino.domain.extension import TABS, Extension
from centralino.domain.forwarding import Status
from centralino.domain.ports import AuditQuery, ExtensionQuery, ExtensionSort
from centralino.domain.settings import NumberingSettings, SystemSettings
from tests.fakes import InMemoryStore, RecordingEventBus

pytestmark = pytest.mark.usefixtures("groups")


@pytest.fixture
def extensions(services: ManagementServices) -> Any:
    return services.extensions


async def create(
    services: ManagementServices, actor: Actor, number: str, **fields: Any
) -> Extension:
    return await services.extensions.create(actor, {"number": number, **fields})


async def audit_entries(store: InMemoryStore) -> list[Any]:
    async with store() as uow:
        return list((await uow.audit.search(AuditQuery())).items)


def field_paths(caught: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [error.path for error in caught.value.errors]


# --- create and get ----------------------------------------------------------------------


async def test_create_generates_secrets_and_stores(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    extension = await create(services, actor, "100", first_name="Ada")
    assert len(extension.auth_password) == 20
    assert extension.voicemail.pin is not None
    assert store.state.extensions["100"] == extension
    assert await services.extensions.get("100") == extension


async def test_create_keeps_given_secrets(services: ManagementServices, actor: Actor) -> None:
    extension = await create(
        services,
        actor,
        "100",
        auth_id="ada-phone",
        auth_password="GivenPassword123",
        voicemail={"pin": "2468"},
    )
    assert (extension.auth_id, extension.auth_password, extension.voicemail.pin) == (
        "ada-phone",
        "GivenPassword123",
        "2468",
    )


async def test_get_unknown_is_not_found(services: ManagementServices) -> None:
    with pytest.raises(NotFound) as caught:
        await services.extensions.get("999")
    assert (caught.value.resource, caught.value.key) == ("extension", "999")


async def test_bad_field_is_rejected_and_nothing_stored(
    services: ManagementServices, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create(services, actor, "100", voicemail={"pin": "12"})
    assert field_paths(caught) == ["voicemail.pin"]
    assert store.state.extensions == {}
    assert store.state.audit == []
    assert bus.events == []


async def test_search_sorts_and_pages(services: ManagementServices, actor: Actor) -> None:
    await create(services, actor, "102", first_name="carla", last_name="Zeta")
    await create(services, actor, "100", first_name="Bruno", last_name="Alfa")
    await create(services, actor, "101", first_name="Anna", email="anna@example.com")
    page = await services.extensions.search(ExtensionQuery())
    assert [e.number for e in page.items] == ["100", "101", "102"]
    page = await services.extensions.search(ExtensionQuery(sort=ExtensionSort.FIRST_NAME))
    assert [e.number for e in page.items] == ["101", "100", "102"]
    page = await services.extensions.search(
        ExtensionQuery(sort=ExtensionSort.LAST_NAME, descending=True, limit=2)
    )
    assert ([e.number for e in page.items], page.total) == (["102", "100"], 3)
    page = await services.extensions.search(ExtensionQuery(offset=2))
    assert [e.number for e in page.items] == ["102"]
    page = await services.extensions.search(ExtensionQuery(search="ANNA@"))
    assert ([e.number for e in page.items], page.total) == (["101"], 1)


# --- system rules ------------------------------------------------------------------------


async def test_number_length_follows_numbering_settings(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create(services, actor, "1000")
    assert field_paths(caught) == ["number"]
    assert "3 digits" in caught.value.errors[0].reason
    store.seed(settings=SystemSettings(numbering=NumberingSettings(extension_length=4)))
    assert (await create(services, actor, "1000")).number == "1000"
    with pytest.raises(InvalidInput, match="must have 4 digits"):
        await create(services, actor, "100")


async def test_rights_must_name_an_existing_group(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    rights = [{"group": "sales"}, {"group": "marketing"}]
    with pytest.raises(InvalidInput) as caught:
        await create(services, actor, "100", rights=rights)
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("rights.1.group", "no group 'marketing'")
    ]
    assert store.state.extensions == {}


async def test_forwarding_to_an_unknown_extension_is_rejected(
    services: ManagementServices, actor: Actor
) -> None:
    forwarding = {
        "profiles": {"available": {"internal": {"busy": {"type": "extension", "number": "555"}}}}
    }
    with pytest.raises(InvalidInput) as caught:
        await create(services, actor, "100", forwarding=forwarding)
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("forwarding.profiles.available.internal.busy.number", "no extension 555")
    ]


async def test_forwarding_to_an_existing_extension_is_fine(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "101")
    forwarding = {
        "exceptions": [{"caller_id": "0*", "destination": {"type": "extension", "number": "101"}}]
    }
    extension = await create(services, actor, "100", forwarding=forwarding)
    assert extension.references()[0].number == "101"


async def test_forwarding_to_itself_is_rejected(services: ManagementServices, actor: Actor) -> None:
    await create(services, actor, "100")
    patch = {
        "forwarding": {"profiles": {"away": {"external": {"type": "extension", "number": "100"}}}}
    }
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.patch(actor, "100", patch)
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("forwarding.profiles.away.external.number", "must not forward to itself")
    ]


async def test_own_voicemail_and_own_lamp_are_allowed(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "100")
    extension = await services.extensions.patch(
        actor,
        "100",
        {
            "forwarding": {
                "profiles": {"dnd": {"internal": {"type": "extension_voicemail", "number": "100"}}}
            },
            "blf_keys": [{"position": 1, "kind": "blf", "number": "100"}],
        },
    )
    assert len(extension.references()) == 2


async def test_blf_key_to_unknown_extension_is_rejected(
    services: ManagementServices, actor: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create(
            services, actor, "100", blf_keys=[{"position": 1, "kind": "blf", "number": "77"}]
        )
    assert field_paths(caught) == ["blf_keys.0.number"]


async def test_unknown_office_hours_are_rejected(
    services: ManagementServices, actor: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await create(services, actor, "100", forwarding={"office_hours": "night"})
    assert field_paths(caught) == ["forwarding.office_hours"]


# --- conflicts ---------------------------------------------------------------------------


async def test_duplicate_number_is_a_conflict(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    first = await create(services, actor, "100", first_name="Ada")
    with pytest.raises(Conflict) as caught:
        await create(services, actor, "100", first_name="Bob")
    assert caught.value.path == "number"
    assert store.state.extensions["100"] == first


@pytest.mark.parametrize(
    ("first", "second", "path"),
    [
        ({"dids": ["0612345600"]}, {"dids": ["0699", "0612345600"]}, "dids.1"),
        ({"auth_id": "shared-id"}, {"auth_id": "Shared-ID"}, "auth_id"),
        ({"auth_id": "shared-id"}, {"options": {"sip_id": "shared-id"}}, "options.sip_id"),
        ({"options": {"sip_id": "reception"}}, {"auth_id": "reception"}, "auth_id"),
        (
            {"options": {"sip_id": "reception"}},
            {"options": {"sip_id": "Reception"}},
            "options.sip_id",
        ),
        (
            {"devices": [{"vendor": "yealink", "model": "T46U", "mac": "80:5E:C0:12:34:56"}]},
            {
                "devices": [
                    {"vendor": "snom", "model": "D785"},
                    {"vendor": "yealink", "model": "T46U", "mac": "805ec0123456"},
                ]
            },
            "devices.1.mac",
        ),
        ({"meeting_room": "board"}, {"meeting_room": "board"}, "meeting_room"),
    ],
)
async def test_unique_value_held_by_another_is_a_conflict(
    services: ManagementServices,
    actor: Actor,
    store: InMemoryStore,
    bus: RecordingEventBus,
    first: dict[str, Any],
    second: dict[str, Any],
    path: str,
) -> None:
    await create(services, actor, "100", **first)
    before = store.snapshot()
    bus.clear()
    with pytest.raises(Conflict) as caught:
        await create(services, actor, "101", **second)
    assert caught.value.path == path
    assert "100" in caught.value.reason
    assert store.state == before
    assert bus.events == []


async def test_patch_into_a_conflict_is_rejected(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await create(services, actor, "100", dids=["0612345600"])
    await create(services, actor, "101")
    before = store.snapshot()
    with pytest.raises(Conflict) as caught:
        await services.extensions.patch(actor, "101", {"dids": ["0612345600"]})
    assert caught.value.path == "dids.0"
    assert store.state == before


async def test_an_extension_keeps_its_own_unique_values_on_update(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "100", dids=["0612345600"], meeting_room="board")
    extension = await services.extensions.patch(actor, "100", {"first_name": "Ada"})
    assert extension.dids == ["0612345600"]


async def test_sip_id_equal_to_own_auth_id_is_invalid(
    services: ManagementServices, actor: Actor
) -> None:
    extension = await create(services, actor, "100")
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.patch(
            actor, "100", {"options": {"sip_id": extension.auth_id.upper()}}
        )
    assert field_paths(caught) == ["options.sip_id"]
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.replace(actor, "100", {"options": {"sip_id": extension.auth_id}})
    assert field_paths(caught) == ["options.sip_id"]


# --- replace (PUT) -----------------------------------------------------------------------


async def test_put_replaces_everything_but_keeps_omitted_secrets(
    services: ManagementServices, actor: Actor
) -> None:
    old = await create(services, actor, "100", first_name="Ada", dids=["0612345600"])
    new = await services.extensions.replace(actor, "100", {"last_name": "Lovelace"})
    assert (new.first_name, new.last_name, new.dids) == ("", "Lovelace", [])
    assert new.auth_id == old.auth_id
    assert new.auth_password == old.auth_password
    assert new.voicemail.pin == old.voicemail.pin


async def test_put_with_new_secrets_uses_them(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    old = await create(services, actor, "100")
    bus.clear()
    new = await services.extensions.replace(
        actor, "100", {"auth_password": "ChangedPassword1", "voicemail": {"pin": "9753"}}
    )
    assert (new.auth_password, new.voicemail.pin) == ("ChangedPassword1", "9753")
    assert CredentialsChanged(number="100", old_auth_id=old.auth_id) in bus.events


async def test_put_with_another_number_is_rejected(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "100")
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.replace(actor, "100", {"number": "101"})
    assert field_paths(caught) == ["number"]


async def test_put_of_unknown_extension_is_not_found(
    services: ManagementServices, actor: Actor
) -> None:
    with pytest.raises(NotFound):
        await services.extensions.replace(actor, "100", {})


# --- patch -------------------------------------------------------------------------------


async def test_patch_changes_only_what_it_names(services: ManagementServices, actor: Actor) -> None:
    old = await create(services, actor, "100", first_name="Ada", last_name="Lovelace")
    new = await services.extensions.patch(
        actor, "100", {"last_name": "Byron", "voicemail": {"require_pin": False}}
    )
    assert new.last_name == "Byron"
    assert new.first_name == "Ada"
    assert new.voicemail.require_pin is False
    assert new.voicemail.pin == old.voicemail.pin
    assert new.voicemail.email_mode == old.voicemail.email_mode


async def test_patch_null_returns_a_field_to_its_default(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "100", email="ada@example.com", meeting_room="ada-room")
    new = await services.extensions.patch(actor, "100", {"email": None, "meeting_room": None})
    assert (new.email, new.meeting_room) == (None, None)


async def test_patch_null_secret_keeps_it(services: ManagementServices, actor: Actor) -> None:
    old = await create(services, actor, "100")
    new = await services.extensions.patch(actor, "100", {"auth_password": None})
    assert new.auth_password == old.auth_password


async def test_patch_cannot_change_the_number(services: ManagementServices, actor: Actor) -> None:
    await create(services, actor, "100")
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.patch(actor, "100", {"number": "101"})
    assert field_paths(caught) == ["number"]


async def test_patch_of_one_tab_leaves_every_other_identical(
    services: ManagementServices, actor: Actor
) -> None:
    await create(services, actor, "101")
    old = await create(
        services,
        actor,
        "100",
        first_name="Ada",
        dids=["0612345600"],
        voicemail={"email_mode": "attach"},
        devices=[{"vendor": "snom", "model": "D785", "mac": "000413aabbcc"}],
        blf_keys=[{"position": 1, "kind": "blf", "number": "101"}],
        rights=[{"group": "sales", "role": "manager"}],
        options={"record_all_calls": True},
        client={"codecs": ["PCMA"]},
    )
    for tab, body in [
        ("voicemail", {"announce_caller_id": False}),
        ("forwarding", {"status": "away"}),
        ("devices", [{"vendor": "yealink", "model": "T54W"}]),
        ("blf_keys", []),
        ("options", {"lan_only": True}),
        ("rights", [{"group": "support"}]),
        ("administration", {"console_access": True}),
        ("client", {"dtmf_mode": "sip_info"}),
        ("integrations", {"script": "crm.py"}),
    ]:
        before = (await services.extensions.get("100")).model_dump(mode="json")
        after = (await services.extensions.patch_tab(actor, "100", tab, body)).model_dump(
            mode="json"
        )
        assert after[tab] != before[tab], tab
        assert {k: v for k, v in after.items() if k != tab} == {
            k: v for k, v in before.items() if k != tab
        }, tab
    assert (await services.extensions.get("100")).auth_password == old.auth_password


async def test_patch_tab_merges_objects_and_replaces_lists(
    services: ManagementServices, actor: Actor
) -> None:
    await create(
        services,
        actor,
        "100",
        options={"record_all_calls": True},
        devices=[{"vendor": "snom", "model": "D785"}, {"vendor": "snom", "model": "D717"}],
    )
    extension = await services.extensions.patch_tab(actor, "100", "options", {"lan_only": True})
    assert (extension.options.record_all_calls, extension.options.lan_only) == (True, True)
    extension = await services.extensions.patch_tab(
        actor, "100", "devices", [{"vendor": "fanvil", "model": "X6U"}]
    )
    assert [d.model for d in extension.devices] == ["X6U"]


async def test_patch_tab_bad_value_names_the_tab_path(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await create(services, actor, "100")
    before = store.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.patch_tab(actor, "100", "voicemail", {"pin": "1"})
    assert field_paths(caught) == ["voicemail.pin"]
    with pytest.raises(InvalidInput) as caught:
        await services.extensions.patch_tab(actor, "100", "options", ["not", "an", "object"])
    assert field_paths(caught) == ["options"]
    with pytest.raises(NotFound):
        await services.extensions.patch_tab(actor, "100", "wallpaper", {})
    assert store.state == before


@pytest.mark.parametrize("tab", TABS)
async def test_patch_tab_with_an_empty_body_changes_nothing(
    services: ManagementServices, actor: Actor, tab: str
) -> None:
    old = await create(services, actor, "100")
    body: Any = [] if tab in {"devices", "blf_keys", "rights"} else {}
    assert await services.extensions.patch_tab(actor, "100", tab, body) == old


async def test_rejected_patch_leaves_stored_state_untouched(
    services: ManagementServices, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    await create(services, actor, "100", first_name="Ada")
    before = store.snapshot()
    bus.clear()
    for patch in [
        {"first_name": "Bob", "voicemail": {"pin": "x"}},
        {"first_name": "Bob", "rights": [{"group": "nobody"}]},
        {"first_name": "Bob", "administration": {"system": True}},
        {"first_name": "Bob", "nickname": "b"},
    ]:
        with pytest.raises(InvalidInput):
            await services.extensions.patch(actor, "100", patch)
    assert store.state == before
    assert bus.events == []


# --- delete and regenerate ---------------------------------------------------------------


async def test_delete(
    services: ManagementServices, actor: Actor, store: InMemoryStore, bus: RecordingEventBus
) -> None:
    await create(services, actor, "100")
    await services.extensions.delete(actor, "100")
    assert store.state.extensions == {}
    assert bus.events[-1] == ExtensionDeleted(number="100")
    with pytest.raises(NotFound):
        await services.extensions.delete(actor, "100")


async def test_regenerate_password_keeps_auth_id(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    old = await create(services, actor, "100", first_name="Ada")
    bus.clear()
    new = await services.extensions.regenerate_credentials(actor, "100")
    assert new.auth_id == old.auth_id
    assert new.auth_password != old.auth_password
    assert len(new.auth_password) == 20
    assert new.voicemail.pin == old.voicemail.pin
    assert new.first_name == "Ada"
    assert bus.events == [
        ExtensionChanged(number="100", tabs=("general",), extension=new),
        CredentialsChanged(number="100", old_auth_id=old.auth_id),
    ]


async def test_regenerate_auth_id_too(services: ManagementServices, actor: Actor) -> None:
    old = await create(services, actor, "100")
    new = await services.extensions.regenerate_credentials(actor, "100", auth_id=True)
    assert new.auth_id != old.auth_id
    assert new.auth_password != old.auth_password


# --- events ------------------------------------------------------------------------------


async def test_events_of_create_update_and_delete(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    created = await create(services, actor, "100")
    assert bus.events == [ExtensionCreated(number="100", extension=created)]
    bus.clear()
    patched = await services.extensions.patch(
        actor,
        "100",
        {"first_name": "Ada", "voicemail": {"enabled": False}, "client": {"use_tunnel": True}},
    )
    tabs = ("client", "general", "voicemail")
    assert bus.events == [ExtensionChanged(number="100", tabs=tabs, extension=patched)]
    bus.clear()
    dnd = await services.extensions.patch_tab(actor, "100", "forwarding", {"status": "dnd"})
    assert bus.events == [
        ExtensionChanged(number="100", tabs=("forwarding",), extension=dnd),
        StatusChanged(number="100", old=Status.AVAILABLE, new=Status.DND),
    ]
    bus.clear()
    await services.extensions.delete(actor, "100")
    assert bus.events == [ExtensionDeleted(number="100")]


async def test_changing_the_auth_id_ends_old_registrations(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    old = await create(services, actor, "100")
    bus.clear()
    await services.extensions.patch(actor, "100", {"auth_id": "new-auth-id"})
    assert bus.of_type(CredentialsChanged) == [
        CredentialsChanged(number="100", old_auth_id=old.auth_id)
    ]


async def test_pin_change_is_not_a_sip_credentials_change(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    await create(services, actor, "100")
    bus.clear()
    changed = await services.extensions.patch(actor, "100", {"voicemail": {"pin": "8642"}})
    assert bus.events == [ExtensionChanged(number="100", tabs=("voicemail",), extension=changed)]


async def test_no_events_when_a_change_is_rejected(
    services: ManagementServices, actor: Actor, bus: RecordingEventBus
) -> None:
    await create(services, actor, "100", dids=["0612"])
    bus.clear()
    with pytest.raises(Conflict):
        await create(services, actor, "100")
    with pytest.raises(Conflict):
        await create(services, actor, "101", dids=["0612"])
    with pytest.raises(InvalidInput):
        await services.extensions.patch(actor, "100", {"forwarding": {"status": "asleep"}})
    with pytest.raises(NotFound):
        await services.extensions.delete(actor, "555")
    assert bus.events == []


# --- audit -------------------------------------------------------------------------------


async def test_audit_records_actor_action_and_before_after(
    services: ManagementServices, actor: Actor, store: InMemoryStore, clock: Any
) -> None:
    await create(services, actor, "100", first_name="Ada")
    clock.advance(minutes=5)
    await services.extensions.patch(actor, "100", {"first_name": "Adele"})
    clock.advance(minutes=5)
    await services.extensions.delete(actor, "100")
    entries = await audit_entries(store)
    assert [e.action for e in entries] == [
        AuditAction.DELETE,
        AuditAction.UPDATE,
        AuditAction.CREATE,
    ]
    delete, update, create_ = entries
    assert {e.actor for e in entries} == {"alice"}
    assert {(e.resource, e.resource_id) for e in entries} == {("extension", "100")}
    assert create_.before is None
    assert create_.after is not None
    assert create_.after["first_name"] == "Ada"
    assert update.before is not None
    assert update.after is not None
    assert (update.before["first_name"], update.after["first_name"]) == ("Ada", "Adele")
    assert delete.before is not None
    assert delete.after is None
    assert delete.at - create_.at == clock.now() - create_.at
    assert update.at < delete.at


async def test_audit_never_shows_secrets_in_clear(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    password, pin = "VeryClearPassword77", "97531"
    await create(services, actor, "100", auth_password=password, voicemail={"pin": pin})
    await services.extensions.patch(actor, "100", {"auth_password": "AnotherClearPw88"})
    await services.extensions.regenerate_credentials(actor, "100")
    await services.extensions.delete(actor, "100")
    entries = await audit_entries(store)
    assert len(entries) == 4
    text = json.dumps([e.model_dump(mode="json") for e in entries])
    for secret in (password, pin, "AnotherClearPw88"):
        assert secret not in text
    for entry in entries:
        for document in (entry.before, entry.after):
            if document is not None:
                assert document["auth_password"] == "********"
                assert document["voicemail"]["pin"] == "********"
                assert document["auth_id"]  # not a secret


async def test_audit_search_filters_and_pages(services: ManagementServices, actor: Actor) -> None:
    for number in ("100", "101", "102"):
        await create(services, actor, number)
    await services.extensions.patch(actor, "101", {"first_name": "B"})
    page = await services.audit.search(AuditQuery(resource="extension", resource_id="101"))
    assert [(e.action, e.resource_id) for e in page.items] == [
        (AuditAction.UPDATE, "101"),
        (AuditAction.CREATE, "101"),
    ]
    page = await services.audit.search(AuditQuery(limit=2))
    assert page.total == 4
    assert [e.resource_id for e in page.items] == ["101", "102"]
    assert (await services.audit.search(AuditQuery(resource="group"))).total == 0


async def test_no_audit_entry_for_a_rejected_change(
    services: ManagementServices, actor: Actor, store: InMemoryStore
) -> None:
    await create(services, actor, "100")
    with pytest.raises(InvalidInput):
        await services.extensions.patch(actor, "100", {"email": "x"})
    assert len(await audit_entries(store)) == 1
