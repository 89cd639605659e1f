"""The blocks after failed authentications, shared on SQL (``security_blocks``).

Theory of operation. :class:`SqlBlockRecords` implements the domain
``BlockRecords`` port: a node writes only its own rows (a block of a whole
address has the user name ''), each new block with its audit entry in the
same transaction; any process reads the rows of the nodes it asks for; an
administrator's unblock forgets an address's rows of every node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select

from centralino.domain.audit import AuditAction, AuditEntry
from centralino.domain.location import BlockedAddress
from centralino.domain.security import BlockKey, block_document
from centralino.storage.database import Database
from centralino.storage.tables import audit, security_blocks

__all__ = ["SqlBlockRecords"]

_CHUNK = 200
"""Keys per statement: well under every backend's parameter limit."""


def _block(row: Any) -> BlockedAddress:
    return BlockedAddress(
        address=row.address,
        user=row.user_name or None,
        failures=row.failures,
        blocked_until=row.blocked_until,
        node=row.node,
    )


def _key_condition(node: str, keys: Sequence[BlockKey]) -> Any:
    columns = security_blocks.c
    pairs = [
        and_(columns.address == address[:64], columns.user_name == (user or "")[:64])
        for address, user in keys
    ]
    return and_(columns.node == node, or_(*pairs))


class SqlBlockRecords:
    """``BlockRecords`` on a migrated :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def publish(
        self,
        node: str,
        at: dt.datetime,
        *,
        changed: Sequence[BlockedAddress] = (),
        ended: Sequence[BlockKey] = (),
    ) -> None:
        """Replace ``changed``, drop ``ended``; audit each changed block."""
        keys = [*ended, *((block.address, block.user) for block in changed)]
        async with self._database.engine.begin() as connection:
            for start in range(0, len(keys), _CHUNK):
                condition = _key_condition(node, keys[start : start + _CHUNK])
                await connection.execute(delete(security_blocks).where(condition))
            if not changed:
                return
            rows = [
                {
                    "node": node,
                    "address": block.address[:64],
                    "user_name": (block.user or "")[:64],
                    "failures": block.failures,
                    "blocked_until": block.blocked_until,
                }
                for block in changed
            ]
            await connection.execute(insert(security_blocks), rows)
            entries = [_audit_entry(node, at, block) for block in changed]
            await connection.execute(insert(audit), entries)

    async def clear(self, node: str) -> None:
        """Forget node ``node``'s blocks."""
        async with self._database.engine.begin() as connection:
            await connection.execute(delete(security_blocks).where(security_blocks.c.node == node))

    async def blocked(self, nodes: Collection[str], now: dt.datetime) -> Sequence[BlockedAddress]:
        """The blocks of ``nodes`` in force at ``now``, by address, user and node."""
        if not nodes:
            return []
        columns = security_blocks.c
        statement = (
            select(security_blocks)
            .where(columns.node.in_(sorted(nodes)), columns.blocked_until > now)
            .order_by(columns.address, columns.user_name, columns.node)
        )
        async with self._database.engine.connect() as connection:
            return [_block(row) for row in await connection.execute(statement)]

    async def forget(self, address: str) -> None:
        """Drop every node's blocks of ``address``."""
        async with self._database.engine.begin() as connection:
            await connection.execute(
                delete(security_blocks).where(security_blocks.c.address == address[:64])
            )


def _audit_entry(node: str, at: dt.datetime, block: BlockedAddress) -> dict[str, Any]:
    entry = AuditEntry(
        at=at,
        actor=f"node:{node}"[:64],
        action=AuditAction.BLOCK,
        resource="security_block",
        resource_id=block.address,
        after=block_document(block),
    )
    return entry.model_dump(exclude={"id"})
