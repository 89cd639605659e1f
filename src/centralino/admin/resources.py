"""Use-cases for the smaller resources: groups, office hours, system settings.

They follow the extension pattern: validate, check references, write with an
audit entry in one transaction, then publish events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.admin.patching import merge_patch
from centralino.admin.validation import parse_model
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict, InvalidInput, NotFound
from centralino.domain.events import DomainEvent, GroupChanged, OfficeHoursChanged, SettingsChanged
from centralino.domain.group import Group
from centralino.domain.office_hours import GLOBAL_SCHEDULE, OfficeHours
from centralino.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from centralino.domain.settings import SystemSettings

__all__ = ["GroupService", "OfficeHoursService", "SettingsService"]


class GroupService:
    """Create, list, change and delete groups (departments)."""

    def __init__(self, units: UnitOfWorkFactory, clock: Clock) -> None:
        self._units, self._clock = units, clock

    async def all(self) -> Sequence[Group]:
        async with self._units() as uow:
            return await uow.groups.all()

    async def get(self, name: str) -> Group:
        async with self._units() as uow:
            group = await uow.groups.get(name)
        if group is None:
            raise NotFound("group", name)
        return group

    async def members(self, name: str) -> list[dict[str, str]]:
        """Extensions in the group with their role."""
        await self.get(name)
        async with self._units() as uow:
            extensions = await uow.extensions.all()
        return [
            {"number": extension.number, "role": right.role.value}
            for extension in extensions
            for right in extension.rights
            if right.group == name
        ]

    async def create(self, actor: Actor, document: Mapping[str, Any]) -> Group:
        group = parse_model(Group, document)
        async with self._units() as uow:
            if await uow.groups.get(group.name) is not None:
                raise Conflict("name", f"group {group.name!r} already exists")
            await uow.groups.put(group)
            after = group.model_dump(mode="json")
            await record(
                uow.audit, self._clock, actor, AuditAction.CREATE, "group", group.name, None, after
            )
            await _changed(uow, actor, GroupChanged(name=group.name, group=group))
            await uow.commit()
        return group

    async def update(self, actor: Actor, name: str, document: Mapping[str, Any]) -> Group:
        async with self._units() as uow:
            previous = await uow.groups.get(name)
            if previous is None:
                raise NotFound("group", name)
            merged = merge_patch(previous.model_dump(mode="json"), dict(document))
            if merged.get("name") != name:
                raise InvalidInput.single("name", "cannot be changed")
            group = parse_model(Group, merged)
            await uow.groups.put(group)
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.UPDATE,
                "group",
                name,
                previous.model_dump(mode="json"),
                group.model_dump(mode="json"),
            )
            await _changed(uow, actor, GroupChanged(name=name, group=group))
            await uow.commit()
        return group

    async def delete(self, actor: Actor, name: str) -> None:
        """Delete a group nobody belongs to.

        Raises:
            Conflict: extensions still hold rights in the group.
        """
        members = await self.members(name)
        if members:
            numbers = ", ".join(member["number"] for member in members[:10])
            raise Conflict("name", f"group {name!r} still has members: {numbers}")
        async with self._units() as uow:
            previous = await uow.groups.get(name)
            if previous is None:
                raise NotFound("group", name)
            await uow.groups.delete(name)
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.DELETE,
                "group",
                name,
                previous.model_dump(mode="json"),
                None,
            )
            await _changed(uow, actor, GroupChanged(name=name, group=None))
            await uow.commit()


class OfficeHoursService:
    """Named weekly schedules; ``global`` always exists.

    Every change writes ``OfficeHoursChanged`` to the change feed: the call
    engine applies the schedule to routing and to the automatic status switch.
    """

    def __init__(self, units: UnitOfWorkFactory, clock: Clock) -> None:
        self._units, self._clock = units, clock

    async def all(self) -> Sequence[OfficeHours]:
        async with self._units() as uow:
            schedules = list(await uow.office_hours.all())
        if not any(schedule.name == GLOBAL_SCHEDULE for schedule in schedules):
            schedules.insert(0, OfficeHours())
        return schedules

    async def get(self, name: str) -> OfficeHours:
        async with self._units() as uow:
            schedule = await uow.office_hours.get(name)
        if schedule is None and name == GLOBAL_SCHEDULE:
            return OfficeHours()
        if schedule is None:
            raise NotFound("office_hours", name)
        return schedule

    async def put(self, actor: Actor, name: str, document: Mapping[str, Any]) -> OfficeHours:
        """Create or replace a schedule."""
        body = {"name": name, **document}
        if body["name"] != name:
            raise InvalidInput.single("name", "must match the schedule in the URL")
        schedule = parse_model(OfficeHours, body)
        async with self._units() as uow:
            previous = await uow.office_hours.get(name)
            await uow.office_hours.put(schedule)
            action = AuditAction.CREATE if previous is None else AuditAction.UPDATE
            before = previous.model_dump(mode="json") if previous else None
            await record(
                uow.audit,
                self._clock,
                actor,
                action,
                "office_hours",
                name,
                before,
                schedule.model_dump(mode="json"),
            )
            await _changed(uow, actor, OfficeHoursChanged(name=name, schedule=schedule))
            await uow.commit()
        return schedule

    async def delete(self, actor: Actor, name: str) -> None:
        """Delete a schedule no extension uses (never the global one)."""
        if name == GLOBAL_SCHEDULE:
            raise Conflict("name", "the global office hours cannot be deleted")
        async with self._units() as uow:
            previous = await uow.office_hours.get(name)
            if previous is None:
                raise NotFound("office_hours", name)
            users = [
                e.number for e in await uow.extensions.all() if e.forwarding.office_hours == name
            ]
            if users:
                raise Conflict("name", f"used by extensions {', '.join(users[:10])}")
            await uow.office_hours.delete(name)
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.DELETE,
                "office_hours",
                name,
                previous.model_dump(mode="json"),
                None,
            )
            await _changed(uow, actor, OfficeHoursChanged(name=name, schedule=None))
            await uow.commit()


class SettingsService:
    """System settings, changed section by section."""

    def __init__(self, units: UnitOfWorkFactory, clock: Clock) -> None:
        self._units, self._clock = units, clock

    async def get(self) -> SystemSettings:
        async with self._units() as uow:
            return await uow.settings.get()

    async def patch(self, actor: Actor, patch: Mapping[str, Any]) -> SystemSettings:
        """Merge-patch the settings.

        Raises:
            InvalidInput: a bad value, or an extension length that existing
                extensions do not have.
        """
        async with self._units() as uow:
            previous = await uow.settings.get()
            before = previous.model_dump(mode="json")
            settings = parse_model(SystemSettings, merge_patch(before, dict(patch)))
            if settings.numbering != previous.numbering:
                await _check_numbering(uow, settings)
            await uow.settings.put(settings)
            after = settings.model_dump(mode="json")
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.UPDATE,
                "settings",
                "system",
                before,
                after,
            )
            sections = tuple(key for key in after if before.get(key) != after[key])
            if sections:
                await _changed(uow, actor, SettingsChanged(sections=sections, settings=settings))
            await uow.commit()
        return settings


async def _changed(uow: UnitOfWork, actor: Actor, event: DomainEvent) -> None:
    await uow.changes.append([event], actor=actor.username)


async def _check_numbering(uow: UnitOfWork, settings: SystemSettings) -> None:
    length = settings.numbering.extension_length
    misfits = [e.number for e in await uow.extensions.all() if len(e.number) != length]
    if misfits:
        reason = f"extensions {', '.join(misfits[:10])} do not have {length} digits"
        raise InvalidInput.single("numbering.extension_length", reason)
