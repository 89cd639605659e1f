"""Groups, office hours and system settings on the fakes."""

from __future__ import annotations

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict, InvalidInput, NotFound
from centralino.domain.events import SettingsChanged
from centralino.domain.office_hours import GLOBAL_SCHEDULE, OfficeHours
from tests.fakes import InMemoryStore, RecordingEventBus

# --- settings ----------------------------------------------------------------------------


async def test_settings_default_and_patch(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    assert (await services.settings.get()).numbering.extension_length == 3
    settings = await services.settings.patch(
        actor, {"smtp": {"host": "mail.example.com", "password": "SmtpSecret1"}}
    )
    assert settings.smtp.host == "mail.example.com"
    assert settings.smtp.port == 587
    assert bus.events == [SettingsChanged(sections=("smtp",), settings=settings)]
    [entry] = store.state.audit
    assert (entry.action, entry.resource) == (AuditAction.UPDATE, "settings")
    assert "SmtpSecret1" not in entry.model_dump_json()
    assert entry.after is not None
    assert entry.after["smtp"]["password"] == "********"


async def test_settings_patch_that_changes_nothing_publishes_nothing(
    services: ManagementServices, bus: RecordingEventBus, actor: Actor
) -> None:
    await services.settings.patch(actor, {"numbering": {"extension_length": 3}})
    assert bus.events == []


async def test_bad_settings_are_rejected(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    before = store.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await services.settings.patch(actor, {"network": {"local_networks": ["10.0.0.0/33"]}})
    assert caught.value.errors[0].path == "network.local_networks"
    assert store.state == before
    assert bus.events == []


async def test_numbering_change_refused_while_other_lengths_exist(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    await services.extensions.create(actor, {"number": "100"})
    bus.clear()
    before = store.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await services.settings.patch(actor, {"numbering": {"extension_length": 4}})
    [error] = caught.value.errors
    assert error.path == "numbering.extension_length"
    assert "100" in error.reason
    assert store.state == before
    assert bus.events == []
    await services.extensions.delete(actor, "100")
    settings = await services.settings.patch(actor, {"numbering": {"extension_length": 4}})
    assert settings.numbering.extension_length == 4
    assert bus.events[-1] == SettingsChanged(sections=("numbering",), settings=settings)


# --- groups ------------------------------------------------------------------------------


async def test_group_lifecycle(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    group = await services.groups.create(actor, {"name": "sales", "description": "Sales"})
    assert await services.groups.get("sales") == group
    assert [g.name for g in await services.groups.all()] == ["sales"]
    changed = await services.groups.update(actor, "sales", {"description": "Sales team"})
    assert changed.description == "Sales team"
    await services.groups.delete(actor, "sales")
    assert await services.groups.all() == []
    assert [e.action for e in store.state.audit] == [
        AuditAction.CREATE,
        AuditAction.UPDATE,
        AuditAction.DELETE,
    ]


async def test_group_errors(services: ManagementServices, actor: Actor) -> None:
    await services.groups.create(actor, {"name": "sales"})
    with pytest.raises(Conflict) as conflict:
        await services.groups.create(actor, {"name": "sales"})
    assert conflict.value.path == "name"
    with pytest.raises(InvalidInput) as invalid:
        await services.groups.create(actor, {"name": "-bad"})
    assert invalid.value.errors[0].path == "name"
    with pytest.raises(InvalidInput):
        await services.groups.update(actor, "sales", {"name": "marketing"})
    with pytest.raises(NotFound):
        await services.groups.get("marketing")
    with pytest.raises(NotFound):
        await services.groups.update(actor, "marketing", {})
    with pytest.raises(NotFound):
        await services.groups.delete(actor, "marketing")


async def test_group_with_members_cannot_be_deleted(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    await services.groups.create(actor, {"name": "sales"})
    await services.extensions.create(
        actor, {"number": "100", "rights": [{"group": "sales", "role": "manager"}]}
    )
    assert await services.groups.members("sales") == [{"number": "100", "role": "manager"}]
    before = store.snapshot()
    with pytest.raises(Conflict) as caught:
        await services.groups.delete(actor, "sales")
    assert caught.value.path == "name"
    assert "100" in caught.value.reason
    assert store.state == before
    await services.extensions.patch(actor, "100", {"rights": []})
    await services.groups.delete(actor, "sales")


# --- office hours ------------------------------------------------------------------------


async def test_global_schedule_is_always_listed(services: ManagementServices) -> None:
    schedules = await services.office_hours.all()
    assert [s.name for s in schedules] == [GLOBAL_SCHEDULE]
    assert await services.office_hours.get(GLOBAL_SCHEDULE) == OfficeHours()


async def test_put_and_list_schedules(services: ManagementServices, actor: Actor) -> None:
    night = await services.office_hours.put(
        actor,
        "night",
        {"time_zone": "UTC", "periods": [{"day": "sun", "start": "20:00", "end": "23:00"}]},
    )
    assert night.name == "night"
    assert [s.name for s in await services.office_hours.all()] == [GLOBAL_SCHEDULE, "night"]
    changed = await services.office_hours.put(actor, GLOBAL_SCHEDULE, {"time_zone": "UTC"})
    assert (await services.office_hours.get(GLOBAL_SCHEDULE)) == changed
    assert [s.name for s in await services.office_hours.all()] == [GLOBAL_SCHEDULE, "night"]


async def test_bad_schedule_is_rejected(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await services.office_hours.put(actor, "night", {"time_zone": "Nowhere/Town"})
    assert caught.value.errors[0].path == "time_zone"
    with pytest.raises(InvalidInput) as caught:
        await services.office_hours.put(actor, "night", {"name": "day"})
    assert caught.value.errors[0].path == "name"
    assert store.state.office_hours == {}


async def test_global_schedule_cannot_be_deleted(
    services: ManagementServices, actor: Actor
) -> None:
    with pytest.raises(Conflict) as caught:
        await services.office_hours.delete(actor, GLOBAL_SCHEDULE)
    assert caught.value.path == "name"
    with pytest.raises(NotFound):
        await services.office_hours.delete(actor, "night")
    with pytest.raises(NotFound):
        await services.office_hours.get("night")


async def test_schedule_in_use_cannot_be_deleted(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    await services.office_hours.put(actor, "night", {})
    await services.extensions.create(
        actor, {"number": "100", "forwarding": {"office_hours": "night"}}
    )
    with pytest.raises(Conflict, match="100"):
        await services.office_hours.delete(actor, "night")
    await services.extensions.patch(actor, "100", {"forwarding": {"office_hours": None}})
    await services.office_hours.delete(actor, "night")
    assert store.state.office_hours == {}
