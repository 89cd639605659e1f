"""Trunks and outbound rules on the fakes: validation, cross-resource rules, audit, feed."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.admin.context import Actor
from centralino.admin.services import ManagementServices
from centralino.admin.trunks import trunk_document
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict, InvalidInput, NotFound
from centralino.domain.events import OutboundRuleChanged, TrunkChanged
from centralino.domain.trunks import RegistrationState, TrunkStatus
from tests.fakes import InMemoryStore, RecordingEventBus

PASSWORD = "provider-s3cret-password"
REGISTRATION = {"enabled": True, "username": "0212345", "password": PASSWORD}


def _trunk(name: str = "voip", **fields: Any) -> dict[str, Any]:
    return {"name": name, "host": "sip.example.net", "registration": REGISTRATION} | fields


def _paths(caught: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [error.path for error in caught.value.errors]


async def test_a_trunk_is_audited_with_its_password_masked_and_published(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    trunk = await services.trunks.create(actor, _trunk(dids=["+390212345678"]))
    changed = await services.trunks.update(actor, "voip", {"max_calls": 4})
    assert changed.registration.password == PASSWORD  # the patch did not mention it
    await services.trunks.delete(actor, "voip")
    assert bus.events == [
        TrunkChanged(name="voip", trunk=trunk),
        TrunkChanged(name="voip", trunk=changed),
        TrunkChanged(name="voip", trunk=None),
    ]
    entries = store.state.audit
    assert [(e.action, e.resource, e.resource_id, e.actor) for e in entries] == [
        (AuditAction.CREATE, "trunk", "voip", "alice"),
        (AuditAction.UPDATE, "trunk", "voip", "alice"),
        (AuditAction.DELETE, "trunk", "voip", "alice"),
    ]
    assert PASSWORD not in str([entry.model_dump() for entry in entries])
    assert entries[1].before is not None
    assert entries[1].after is not None
    assert entries[1].after["registration"]["password"] == "********"
    assert (entries[1].before["max_calls"], entries[1].after["max_calls"]) == (None, 4)


async def test_the_shown_document_has_no_password(
    services: ManagementServices, actor: Actor
) -> None:
    trunk = await services.trunks.create(actor, _trunk())
    document = trunk_document(trunk)
    assert document["registration"]["password_set"] is True
    assert "password" not in document["registration"]
    bare = await services.trunks.create(actor, {"name": "ip", "host": "192.0.2.10"})
    assert trunk_document(bare)["registration"]["password_set"] is False


async def test_bad_trunks_name_their_fields_and_change_nothing(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    before = store.snapshot()
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.create(
            actor, _trunk(transport="sctp", allowed_addresses=["10.0.0.0/33"], expires=3)
        )
    assert _paths(caught) == ["transport", "allowed_addresses", "expires"]
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.create(actor, _trunk(registration={"enabled": True, "username": "u"}))
    assert _paths(caught) == ["registration.password"]
    assert caught.value.errors[0].reason == "is required when registration is enabled"
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.create(actor, _trunk(default_destination={"type": "voicemail"}))
    assert _paths(caught) == ["default_destination.type"]
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.create(actor, _trunk(default_destination={"type": "x"}))
    assert _paths(caught) == ["default_destination.type"]
    assert store.state == before
    assert bus.events == []


async def test_a_did_belongs_to_one_trunk(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    await services.trunks.create(actor, _trunk(dids=["+390212345678"]))
    await services.trunks.create(actor, _trunk("backup", dids=["+390611111"]))
    before = store.snapshot()
    with pytest.raises(Conflict) as caught:
        await services.trunks.update(actor, "backup", {"dids": ["+390611111", "+390212345678"]})
    assert caught.value.path == "dids.1"
    assert "'voip'" in caught.value.reason
    assert store.state == before
    # A trunk keeps its own DIDs through an update.
    await services.trunks.update(actor, "voip", {"dids": ["+390212345678", "+390212345679"]})


async def test_the_default_destination_names_an_existing_extension(
    services: ManagementServices, actor: Actor
) -> None:
    target = {"type": "extension_voicemail", "number": "101"}
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.create(actor, _trunk(default_destination=target))
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("default_destination.number", "no extension 101")
    ]
    await services.extensions.create(actor, {"number": "101"})
    trunk = await services.trunks.create(actor, _trunk(default_destination=target))
    assert trunk.default_destination is not None


async def test_trunk_names_are_unique_and_fixed(services: ManagementServices, actor: Actor) -> None:
    await services.trunks.create(actor, _trunk())
    with pytest.raises(Conflict) as conflict:
        await services.trunks.create(actor, _trunk())
    assert conflict.value.path == "name"
    with pytest.raises(InvalidInput) as caught:
        await services.trunks.update(actor, "voip", {"name": "other"})
    assert _paths(caught) == ["name"]
    with pytest.raises(NotFound):
        await services.trunks.update(actor, "absent", {"port": 5070})
    with pytest.raises(NotFound):
        await services.trunks.delete(actor, "absent")


async def test_outbound_rules_check_their_references(
    services: ManagementServices,
    store: InMemoryStore,
    bus: RecordingEventBus,
    actor: Actor,
    groups: None,
) -> None:
    await services.trunks.create(actor, _trunk())
    await services.extensions.create(actor, {"number": "101"})
    bus.clear()
    before = store.snapshot()
    document = {
        "name": "mobile",
        "prefix": "3",
        "trunks": ["voip", "absent"],
        "callers": ["101", "102"],
        "groups": ["sales", "nobody"],
    }
    with pytest.raises(InvalidInput) as caught:
        await services.outbound_rules.create(actor, document)
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        ("trunks.1", "no trunk 'absent'"),
        ("callers.1", "no extension 102"),
        ("groups.1", "no group 'nobody'"),
    ]
    assert store.state == before
    assert bus.events == []
    rule = await services.outbound_rules.create(
        actor, document | {"trunks": ["voip"], "callers": ["101"], "groups": ["sales"]}
    )
    with pytest.raises(InvalidInput) as caught:
        await services.outbound_rules.update(actor, "mobile", {"trunks": ["voip", "voip"]})
    assert _paths(caught) == ["trunks"]
    with pytest.raises(InvalidInput) as caught:
        await services.outbound_rules.update(actor, "mobile", {"strip": 2})
    assert _paths(caught) == ["strip"]
    assert bus.events == [OutboundRuleChanged(name="mobile", rule=rule)]


async def test_rules_are_listed_in_priority_order_and_audited(
    services: ManagementServices, store: InMemoryStore, bus: RecordingEventBus, actor: Actor
) -> None:
    await services.trunks.create(actor, _trunk())
    for name, priority in (("b", 10), ("a", 10), ("first", 1)):
        await services.outbound_rules.create(
            actor, {"name": name, "priority": priority, "trunks": ["voip"]}
        )
    assert [rule.name for rule in await services.outbound_rules.all(actor)] == ["first", "a", "b"]
    moved = await services.outbound_rules.update(actor, "first", {"priority": 99})
    assert [rule.name for rule in await services.outbound_rules.all(actor)] == ["a", "b", "first"]
    await services.outbound_rules.delete(actor, "a")
    assert bus.events[-2:] == [
        OutboundRuleChanged(name="first", rule=moved),
        OutboundRuleChanged(name="a", rule=None),
    ]
    rule_entries = [e for e in store.state.audit if e.resource == "outbound_rule"]
    assert [(e.action, e.resource_id) for e in rule_entries] == [
        (AuditAction.CREATE, "b"),
        (AuditAction.CREATE, "a"),
        (AuditAction.CREATE, "first"),
        (AuditAction.UPDATE, "first"),
        (AuditAction.DELETE, "a"),
    ]
    with pytest.raises(NotFound):
        await services.outbound_rules.get(actor, "a")


async def test_a_trunk_in_use_by_rules_cannot_be_deleted(
    services: ManagementServices, store: InMemoryStore, actor: Actor
) -> None:
    await services.trunks.create(actor, _trunk())
    await services.trunks.create(actor, _trunk("backup"))
    for name in ("mobile", "national"):
        await services.outbound_rules.create(actor, {"name": name, "trunks": ["voip", "backup"]})
    before = store.snapshot()
    with pytest.raises(Conflict) as caught:
        await services.trunks.delete(actor, "backup")
    assert caught.value.path == "name"
    assert "mobile, national" in caught.value.reason
    assert store.state == before
    await services.outbound_rules.update(actor, "mobile", {"trunks": ["voip"]})
    await services.outbound_rules.delete(actor, "national")
    await services.trunks.delete(actor, "backup")
    assert [trunk.name for trunk in await services.trunks.all(actor)] == ["voip"]


class _Statuses:
    def status(self, name: str) -> TrunkStatus | None:
        return TrunkStatus(
            name=name,
            enabled=True,
            registration=RegistrationState.FAILED,
            up=False,
            last_response=403,
            last_error="403 Forbidden",
        )


async def test_status_reads_the_engine_or_reports_what_is_stored(
    services: ManagementServices, actor: Actor
) -> None:
    await services.trunks.create(actor, _trunk())
    await services.trunks.create(actor, {"name": "off", "host": "h", "enabled": False})
    stored = await services.trunks.status(actor, "voip")
    assert (stored.known, stored.registration, stored.up) == (False, "unknown", None)
    off = await services.trunks.status(actor, "off")
    assert (off.enabled, off.registration) == (False, RegistrationState.DISABLED)
    engine = await services.trunks.with_statuses(_Statuses()).status(actor, "voip")
    assert (engine.known, engine.registration, engine.up) == (True, "failed", False)
    assert (engine.last_response, engine.last_error) == (403, "403 Forbidden")
    with pytest.raises(NotFound):
        await services.trunks.status(actor, "absent")
