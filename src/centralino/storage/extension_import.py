"""A bulk import's prepared rows on SQL: extensions, unique keys, audit entries, changes.

Theory of operation. The admin side validated the file, checked numbers and
unique values against the database, and serialized every document before
opening the transaction (``domain/imports.py``); here each batch becomes four
multi-row inserts whose JSON is stored as given (``JsonText``), so the
transaction holds the database (an SQLite writer locks out every other
writer) for little more than the inserts themselves. A number or unique value
taken by another writer in between is refused by the primary keys: the
``IntegrityError`` becomes a ``Conflict`` and the unit of work is rolled back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.audit import AuditAction
from centralino.domain.errors import Conflict
from centralino.domain.imports import PreparedExtension
from centralino.storage.changes import SqlChangeLog
from centralino.storage.documents import JsonText
from centralino.storage.tables import audit, extension_keys, extensions

__all__ = ["SqlExtensionImport"]


class SqlExtensionImport:
    """``ExtensionImport`` on the unit of work's connection and change log.

    Args:
        connection: the unit of work's connection, inside its transaction.
        changes: the unit of work's change log (the changes join its records).
    """

    def __init__(self, connection: AsyncConnection, changes: SqlChangeLog) -> None:
        self._connection = connection
        self._changes = changes

    async def add(
        self,
        batch: Sequence[PreparedExtension],
        *,
        actor: str,
        at: dt.datetime,
        action: AuditAction,
        resource: str,
    ) -> None:
        """Insert each extension with its keys, its audit entry and its change.

        Raises:
            Conflict: a number or unique value is already taken.
        """
        if not batch:
            return
        rows = [
            {
                "number": item.number,
                "first_name": item.first_name,
                "last_name": item.last_name,
                "email": item.email or "",
                "mobile": item.mobile or "",
                "data": JsonText(item.document),
                "updated_at": at,
            }
            for item in batch
        ]
        keys = [
            {"kind": key.kind.value, "value": key.value, "number": item.number}
            for item in batch
            for key in item.keys
        ]
        try:
            await self._connection.execute(insert(extensions), rows)
            if keys:
                await self._connection.execute(insert(extension_keys), keys)
        except IntegrityError as error:
            reason = f"a number or unique value is already taken ({error.orig})"
            raise Conflict("", reason) from error
        entries = [
            {
                "at": at,
                "actor": actor,
                "action": action.value,
                "resource": resource,
                "resource_id": item.number,
                "before": None,
                "after": JsonText(item.audit_document),
            }
            for item in batch
        ]
        await self._connection.execute(insert(audit), entries)
        records = [(item.change_type, item.change) for item in batch]
        await self._changes.append_encoded(records, actor=actor)
