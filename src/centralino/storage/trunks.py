"""Trunks and outbound rules on SQL.

Theory of operation. Each is stored whole as its model's JSON dump
(``data``), keyed by ``name``; an outbound rule also copies its ``priority``
into a column, so the rules come out in the order the call engine tries
them (priority, then name) without reading every document first.

A trunk's registration password sits in its document under the key
``password``: the engine's JSON serializer seals it (``storage/secrets.py``)
on its way into ``trunks``, the change feed and the audit trail alike, and
opens it on the way out, so these repositories and the engine see the clear
text the digest answer needs, while the database file and its backups hold
only a Fernet token.

Each repository works on the unit of work's connection and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.errors import NotFound
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.storage.documents import as_document
from centralino.storage.repositories import upsert
from centralino.storage.tables import outbound_rules, trunks

__all__ = ["SqlOutboundRuleRepository", "SqlTrunkRepository"]


class SqlTrunkRepository:
    """``TrunkRepository``: trunks by name.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, name: str) -> Trunk | None:
        """Return the trunk ``name`` (its password in clear), or None."""
        statement = select(trunks.c.data).where(trunks.c.name == name)
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else Trunk.model_validate(data)

    async def all(self) -> Sequence[Trunk]:
        """Return every trunk, by name."""
        result = await self._connection.execute(select(trunks.c.data).order_by(trunks.c.name))
        return [Trunk.model_validate(data) for data in result.scalars()]

    async def put(self, trunk: Trunk) -> None:
        """Create or overwrite a trunk."""
        await upsert(self._connection, trunks, {"name": trunk.name, "data": as_document(trunk)})

    async def delete(self, name: str) -> None:
        """Delete a trunk.

        Raises:
            NotFound: there is no trunk with this name.
        """
        statement = delete(trunks).where(trunks.c.name == name)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("trunk", name)


class SqlOutboundRuleRepository:
    """``OutboundRuleRepository``: outbound rules by name, listed in priority order.

    Args:
        connection: the unit of work's connection.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, name: str) -> OutboundRule | None:
        """Return the rule ``name``, or None."""
        statement = select(outbound_rules.c.data).where(outbound_rules.c.name == name)
        data = (await self._connection.execute(statement)).scalar_one_or_none()
        return None if data is None else OutboundRule.model_validate(data)

    async def all(self) -> Sequence[OutboundRule]:
        """Return every rule in the order they are tried: priority, then name."""
        statement = select(outbound_rules.c.data).order_by(
            outbound_rules.c.priority, outbound_rules.c.name
        )
        result = await self._connection.execute(statement)
        return [OutboundRule.model_validate(data) for data in result.scalars()]

    async def put(self, rule: OutboundRule) -> None:
        """Create or overwrite a rule."""
        row = {"name": rule.name, "priority": rule.priority, "data": as_document(rule)}
        await upsert(self._connection, outbound_rules, row)

    async def delete(self, name: str) -> None:
        """Delete a rule.

        Raises:
            NotFound: there is no rule with this name.
        """
        statement = delete(outbound_rules).where(outbound_rules.c.name == name)
        if (await self._connection.execute(statement)).rowcount == 0:
            raise NotFound("outbound rule", name)
