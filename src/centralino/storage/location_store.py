"""``LocationStore`` on SQL: the registrar's bindings in ``sip_bindings``.

Theory of operation. The registrar keeps its bindings in memory and writes
each extension's whole set through :meth:`SqlLocationStore.replace_many`
(delete the extension's rows, insert the current ones) in one transaction
per batch; :meth:`SqlLocationStore.all` reads them back at start. Each call
opens and commits its own connection: the store is not part of a unit of
work, because nothing else changes together with a binding.

Several nodes share the table: a store is built for one node and reads and
writes that node's rows only. Rows of no node (``''``, stored before nodes
existed) are taken over by the first node that loads. Listings of every
node's registrations read :meth:`SqlLocationStore.every_node`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.location import Binding
from centralino.storage.database import Database
from centralino.storage.tables import sip_bindings

__all__ = ["SqlLocationStore"]

_CHUNK = 500
"""Numbers per ``IN (...)`` list: well under every backend's parameter limit."""


def _row(node: str, binding: Binding) -> dict[str, Any]:
    return {
        "node": node,
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
        node=row.node,
    )


class SqlLocationStore:
    """``LocationStore`` of node ``node`` on a migrated :class:`Database`."""

    def __init__(self, database: Database, node: str = "") -> None:
        self._database = database
        self._node = node

    async def all(self) -> Sequence[Binding]:
        """Every stored binding of this node (taking over rows of no node), by number."""
        mine = sip_bindings.c.node == self._node
        async with self._database.engine.begin() as connection:
            if self._node:
                await _adopt_orphans(connection, self._node)
            result = await connection.execute(
                select(sip_bindings).where(mine).order_by(sip_bindings.c.number)
            )
            return [_binding(row) for row in result]

    async def every_node(
        self, nodes: Collection[str] | None = None, number: str | None = None
    ) -> Sequence[Binding]:
        """The stored bindings of ``nodes`` (every node: None), of ``number`` when given.

        Each binding names its node; by number, node and contact.
        """
        columns = sip_bindings.c
        statement = select(sip_bindings).order_by(columns.number, columns.node, columns.contact)
        if number is not None:
            statement = statement.where(columns.number == number)
        if nodes is not None:
            if not nodes:
                return []
            statement = statement.where(columns.node.in_(sorted(nodes)))
        async with self._database.engine.connect() as connection:
            return [_binding(row) for row in await connection.execute(statement)]

    async def replace_for(self, number: str, bindings: Sequence[Binding]) -> None:
        """Make ``bindings`` the only stored bindings of ``number``."""
        await self.replace_many({number: bindings})

    async def replace_many(self, changes: Mapping[str, Sequence[Binding]]) -> None:
        """Replace this node's bindings of every extension in ``changes``, in one transaction."""
        if not changes:
            return
        async with self._database.engine.begin() as connection:
            await _delete(connection, self._node, list(changes))
            rows = [_row(self._node, b) for bindings in changes.values() for b in bindings]
            if rows:
                await connection.execute(insert(sip_bindings), rows)

    async def remove_all(self, number: str) -> None:
        """Forget every binding of ``number``."""
        await self.replace_many({number: ()})


async def _delete(connection: AsyncConnection, node: str, numbers: list[str]) -> None:
    columns = sip_bindings.c
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        await connection.execute(
            delete(sip_bindings).where(columns.node == node, columns.number.in_(chunk))
        )


async def _adopt_orphans(connection: AsyncConnection, node: str) -> None:
    """Give rows of no node to ``node`` (unless it holds that number and contact already)."""
    columns, held = sip_bindings.c, sip_bindings.alias("held")
    duplicate = (
        select(1)
        .select_from(held)
        .where(
            held.c.node == node,
            held.c.number == columns.number,
            held.c.contact == columns.contact,
        )
        .exists()
    )
    await connection.execute(delete(sip_bindings).where(columns.node == "", duplicate))
    await connection.execute(update(sip_bindings).where(columns.node == "").values(node=node))
