"""``LocationStore`` on SQL: the registrar's bindings in ``sip_bindings``.

Theory of operation. The registrar keeps its bindings in memory and writes
each extension's whole set through :meth:`SqlLocationStore.replace_many`
(delete the extension's rows, insert the current ones) in one transaction
per batch; :meth:`SqlLocationStore.all` reads them back at start. Each call
opens and commits its own connection: the store is not part of a unit of
work, because nothing else changes together with a binding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.location import Binding
from centralino.storage.database import Database
from centralino.storage.tables import sip_bindings

__all__ = ["SqlLocationStore"]

_CHUNK = 500
"""Numbers per ``IN (...)`` list: well under every backend's parameter limit."""


def _row(binding: Binding) -> dict[str, Any]:
    return {
        "number": binding.number,
        "contact": binding.contact,
        "transport": binding.transport,
        "host": binding.host[:64],
        "port": binding.port,
        "expires_at": binding.expires_at,
        "registered_at": binding.registered_at,
        "call_id": binding.call_id,
        "cseq": binding.cseq,
        "user_agent": binding.user_agent[:255],
        "auth_user": binding.auth_user[:64],
    }


def _binding(row: Any) -> Binding:
    return Binding(
        number=row.number,
        contact=row.contact,
        transport=row.transport,
        host=row.host,
        port=row.port,
        expires_at=row.expires_at,
        registered_at=row.registered_at,
        call_id=row.call_id,
        cseq=row.cseq,
        user_agent=row.user_agent,
        auth_user=row.auth_user,
    )


class SqlLocationStore:
    """``LocationStore`` on a migrated :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def all(self) -> Sequence[Binding]:
        """Every stored binding, by number."""
        statement = select(sip_bindings).order_by(sip_bindings.c.number)
        async with self._database.engine.connect() as connection:
            result = await connection.execute(statement)
            return [_binding(row) for row in result]

    async def replace_for(self, number: str, bindings: Sequence[Binding]) -> None:
        """Make ``bindings`` the only stored bindings of ``number``."""
        await self.replace_many({number: bindings})

    async def replace_many(self, changes: Mapping[str, Sequence[Binding]]) -> None:
        """Replace the bindings of every extension in ``changes``, in one transaction."""
        if not changes:
            return
        async with self._database.engine.begin() as connection:
            await _delete(connection, list(changes))
            rows = [_row(binding) for bindings in changes.values() for binding in bindings]
            if rows:
                await connection.execute(insert(sip_bindings), rows)

    async def remove_all(self, number: str) -> None:
        """Forget every binding of ``number``."""
        await self.replace_many({number: ()})


async def _delete(connection: AsyncConnection, numbers: list[str]) -> None:
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        await connection.execute(delete(sip_bindings).where(sip_bindings.c.number.in_(chunk)))
