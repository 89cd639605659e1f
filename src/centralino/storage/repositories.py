"""Groups, office hours, settings, accounts and the audit trail on SQL.

Each repository works on the unit of work's connection and never commits.
Documents are stored as the model's JSON dump and read back through the model,
so what comes out is always valid domain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.account import Account
from centralino.domain.audit import AuditEntry
from centralino.domain.errors import NotFound
from centralino.domain.group import Group
from centralino.domain.office_hours import OfficeHours
from centralino.domain.ports import AuditQuery, Page
from centralino.domain.settings import SystemSettings
from centralino.storage.documents import as_document
from centralino.storage.extension_repository import SqlExtensionRepository
from centralino.storage.tables import accounts, audit, groups, office_hours, settings

__all__ = [
    "SqlAccountRepository",
    "SqlAuditLog",
    "SqlExtensionRepository",
    "SqlGroupRepository",
    "SqlOfficeHoursRepository",
    "SqlSettingsRepository",
    "upsert",
]


async def upsert(connection: AsyncConnection, table: Table, row: dict[str, Any]) -> None:
    """Insert ``row``, or overwrite the row with the same primary key."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    keys = [column.name for column in table.primary_key.columns]
    statement = dialect.insert(table).values(row)
    changes = {name: statement.excluded[name] for name in row if name not in keys}
    await connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))


class SqlGroupRepository:
    """``GroupRepository``: groups by name.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, name: str) -> Group | None:
        """Return the group ``name``, or None."""
        statement = select(groups.c.data).where(groups.c.name == name)
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else Group.model_validate(data)

    async def all(self) -> Sequence[Group]:
        """Return every group, by name."""
        result = await self._connection.execute(select(groups.c.data).order_by(groups.c.name))
        return [Group.model_validate(data) for data in result.scalars()]

    async def put(self, group: Group) -> None:
        """Create or overwrite a group."""
        row = {"name": group.name, "data": as_document(group)}
        await upsert(self._connection, groups, row)

    async def delete(self, name: str) -> None:
        """Delete a group.

        Raises:
            NotFound: there is no group with this name.
        """
        statement = delete(groups).where(groups.c.name == name)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("group", name)


class SqlOfficeHoursRepository:
    """``OfficeHoursRepository``: weekly schedules by name.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, name: str) -> OfficeHours | None:
        """Return the schedule ``name``, or None."""
        statement = select(office_hours.c.data).where(office_hours.c.name == name)
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else OfficeHours.model_validate(data)

    async def all(self) -> Sequence[OfficeHours]:
        """Return every schedule, by name."""
        statement = select(office_hours.c.data).order_by(office_hours.c.name)
        result = await self._connection.execute(statement)
        return [OfficeHours.model_validate(data) for data in result.scalars()]

    async def put(self, schedule: OfficeHours) -> None:
        """Create or overwrite a schedule."""
        row = {"name": schedule.name, "data": as_document(schedule)}
        await upsert(self._connection, office_hours, row)

    async def delete(self, name: str) -> None:
        """Delete a schedule.

        Raises:
            NotFound: there is no schedule with this name.
        """
        statement = delete(office_hours).where(office_hours.c.name == name)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("office hours", name)


class SqlSettingsRepository:
    """``SettingsRepository``: one row per section of ``SystemSettings``.

    A section never stored reads as its defaults; a stored section the model no
    longer knows is ignored.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self) -> SystemSettings:
        """Return the stored settings, with defaults for every missing section."""
        result = await self._connection.execute(select(settings.c.section, settings.c.data))
        known = SystemSettings.model_fields
        sections = {section: data for section, data in result if section in known}
        return SystemSettings.model_validate(sections)

    async def put(self, system_settings: SystemSettings) -> None:
        """Store every section of ``system_settings``."""
        for section in SystemSettings.model_fields:
            data = as_document(getattr(system_settings, section))
            await upsert(self._connection, settings, {"section": section, "data": data})


class SqlAccountRepository:
    """``AccountRepository``: console/API logins by user name.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, username: str) -> Account | None:
        """Return the account ``username``, or None."""
        statement = select(accounts).where(accounts.c.username == username)
        row = (await self._connection.execute(statement)).mappings().one_or_none()
        return None if row is None else Account.model_validate(dict(row))

    async def put(self, account: Account) -> None:
        """Create or overwrite an account."""
        await upsert(self._connection, accounts, account.model_dump(mode="json"))


class SqlAuditLog:
    """``AuditLog``: an append-only trail, read newest first.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def append(self, entry: AuditEntry) -> None:
        """Record ``entry``; the database assigns its id."""
        row = entry.model_dump(exclude={"id"})
        await self._connection.execute(insert(audit).values(row))

    async def append_many(self, entries: Sequence[AuditEntry]) -> None:
        """Record many entries at once (bulk import), in order."""
        rows = [entry.model_dump(exclude={"id"}) for entry in entries]
        if rows:
            await self._connection.execute(insert(audit), rows)

    async def search(self, query: AuditQuery) -> Page[AuditEntry]:
        """Return one page of entries, newest first, and the total count."""
        conditions = []
        if query.resource is not None:
            conditions.append(audit.c.resource == query.resource)
        if query.resource_id is not None:
            conditions.append(audit.c.resource_id == query.resource_id)
        counting = select(func.count()).select_from(audit).where(*conditions)
        total = (await self._connection.execute(counting)).scalar_one()
        paging = (
            select(audit)
            .where(*conditions)
            .order_by(audit.c.at.desc(), audit.c.id.desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        rows = (await self._connection.execute(paging)).mappings()
        return Page(items=[AuditEntry.model_validate(dict(row)) for row in rows], total=total)
