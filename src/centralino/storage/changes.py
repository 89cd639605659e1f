"""The change feed on SQL: ``ChangeLog`` over the ``changes`` table.

Theory of operation. ``append`` inserts one row per domain event on the unit
of work's connection, so the rows commit (or roll back) with the change they
report. Followers read rows past their cursor by primary key; that only works
if positions become visible in increasing order, never a smaller one after a
larger one:

- SQLite has one writer at a time, from its first write to its commit, so
  positions are handed out and committed in the same order.
- PostgreSQL hands out identity values at insert time to concurrent
  transactions that may commit in any order. Before inserting, ``append``
  takes a transaction-level advisory lock that every feed writer takes, so
  from a writer's first position to its commit no other writer can take one:
  positions commit in order. The lock is taken at the end of the change's
  transaction (use-cases append just before they commit), so writers queue
  only for the insert and the commit itself. The same transaction sends
  ``NOTIFY centralino_changes``, which PostgreSQL delivers at commit; the
  followers listen for it (``storage/feed.py``).

Reading decodes each event (``domain.changes.decode_event``); a row this
version cannot read (a newer node's event type) is logged and skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.changes import (
    Change,
    ChangeBatch,
    UnknownEvent,
    decode_event,
    encode_event_json,
)
from centralino.domain.events import DomainEvent
from centralino.domain.shared_tabs import SharedTabs
from centralino.storage.documents import JsonText
from centralino.storage.tables import changes, feed_cursors, feed_horizon

__all__ = ["FEED_CHANNEL", "FEED_LOCK", "SqlChangeLog"]

log = structlog.get_logger("centralino.storage")

FEED_CHANNEL = "centralino_changes"
"""The PostgreSQL NOTIFY channel a committed change is announced on."""

FEED_LOCK = 0x43454E54
"""The advisory lock key every change-feed writer takes on PostgreSQL ("CENT")."""

_HORIZON_ROW = 1


class SqlChangeLog:
    """``ChangeLog`` on the unit of work's connection.

    Args:
        connection: the unit of work's connection, inside its transaction.
        node: this process's node name (recorded with each change).
        clock: the current time, for each record's ``at``.
        appended: called once per ``append`` (the unit of work then knows
            that its commit announces changes).
    """

    def __init__(
        self,
        connection: AsyncConnection,
        *,
        node: str,
        clock: Callable[[], dt.datetime],
        appended: Callable[[], None],
    ) -> None:
        self._connection = connection
        self._node = node
        self._clock = clock
        self._appended = appended

    async def append(self, events: Sequence[DomainEvent], *, actor: str) -> None:
        """Insert one row per event; on PostgreSQL, in commit order and announced."""
        if events:
            at = self._clock()
            node = self._node
            await self._insert([_row(event, at=at, actor=actor, node=node) for event in events])

    async def append_encoded(self, records: Sequence[tuple[str, str]], *, actor: str) -> None:
        """Like :meth:`append`, for events already in their feed form: (type, JSON document).

        A bulk import serializes its events before its transaction opens.
        """
        if records:
            at, node, actor = self._clock(), self._node, actor[:64]
            await self._insert(
                [
                    {"at": at, "actor": actor, "node": node, "type": kind, "payload": JsonText(doc)}
                    for kind, doc in records
                ]
            )

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        postgres = self._connection.dialect.name == "postgresql"
        if postgres:
            await self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK}
            )
        for start in range(0, len(rows), 1000):
            await self._connection.execute(insert(changes), rows[start : start + 1000])
        if postgres:
            await self._connection.execute(text(f"NOTIFY {FEED_CHANNEL}"))
        self._appended()

    async def after(self, position: int, limit: int) -> ChangeBatch:
        """Up to ``limit`` changes past ``position``, decoded, oldest first.

        The extensions of one batch share their identical tabs (``SharedTabs``).
        """
        statement = (
            select(
                changes.c.id,
                changes.c.at,
                changes.c.actor,
                changes.c.node,
                changes.c.type,
                changes.c.payload,
            )
            .where(changes.c.id > position)
            .order_by(changes.c.id)
            .limit(limit)
        )
        found: list[Change] = []
        through = position
        shared = SharedTabs()
        for row in await self._connection.execute(statement):
            through = row.id
            change = _decoded(row, shared)
            if change is not None:
                found.append(change)
        return ChangeBatch(changes=tuple(found), through=through)

    async def latest(self) -> int:
        """The newest position (the horizon when every record was pruned; 0 if none ever)."""
        newest = (await self._connection.execute(select(func.max(changes.c.id)))).scalar()
        return int(newest) if newest is not None else await self.horizon()

    async def horizon(self) -> int:
        """The newest pruned position (0 when nothing was ever pruned)."""
        statement = select(feed_horizon.c.position).where(feed_horizon.c.id == _HORIZON_ROW)
        return int((await self._connection.execute(statement)).scalar() or 0)

    async def prune(self, older_than: dt.datetime) -> int:
        """Delete changes committed before ``older_than``, moving the horizon past them."""
        statement = select(func.max(changes.c.id)).where(changes.c.at < older_than)
        last = (await self._connection.execute(statement)).scalar()
        if last is None:
            return 0
        result = await self._connection.execute(delete(changes).where(changes.c.id <= last))
        await self._set_horizon(int(last))
        return int(result.rowcount or 0)

    async def cursor(self, node: str) -> int | None:
        """The position ``node`` saved last, or None."""
        statement = select(feed_cursors.c.position).where(feed_cursors.c.node == node)
        position = (await self._connection.execute(statement)).scalar()
        return None if position is None else int(position)

    async def save_cursor(self, node: str, position: int) -> None:
        """Store ``node``'s position (insert or overwrite)."""
        values = {"position": position, "updated_at": self._clock()}
        statement = update(feed_cursors).where(feed_cursors.c.node == node).values(values)
        if (await self._connection.execute(statement)).rowcount == 0:
            await self._connection.execute(insert(feed_cursors).values(node=node, **values))

    async def _set_horizon(self, position: int) -> None:
        statement = (
            update(feed_horizon)
            .where(feed_horizon.c.id == _HORIZON_ROW)
            .where(feed_horizon.c.position < position)
            .values(position=position)
        )
        moved = (await self._connection.execute(statement)).rowcount
        if moved == 0 and await self.horizon() == 0:
            await self._connection.execute(
                insert(feed_horizon).values(id=_HORIZON_ROW, position=position)
            )


def _row(event: DomainEvent, *, at: dt.datetime, actor: str, node: str) -> dict[str, Any]:
    kind, payload = encode_event_json(event)
    return {"at": at, "actor": actor[:64], "node": node, "type": kind, "payload": JsonText(payload)}


def _decoded(row: Any, shared: SharedTabs) -> Change | None:
    try:
        event = decode_event(row.type, row.payload, shared=shared)
    except (UnknownEvent, ValueError) as exc:
        log.warning("change feed record skipped", position=row.id, type=row.type, error=str(exc))
        return None
    return Change(position=row.id, at=row.at, actor=row.actor, node=row.node, event=event)
