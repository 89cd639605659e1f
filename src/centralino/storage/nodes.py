"""The nodes sharing the database and their published live state, on SQL.

Theory of operation. :class:`SqlNodes` implements both node ports of
:mod:`centralino.domain.nodes`: a running node writes its own row of
``nodes`` and its rows of ``live_calls`` (:class:`NodeRecords`), and any
process reads every node's rows (:class:`ClusterView`); registrations are
read from ``sip_bindings`` through :meth:`SqlLocationStore.every_node`. Each
call is its own short transaction, and a node never touches another node's
rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from centralino.domain.calls import CallState, LiveCall
from centralino.domain.location import Binding
from centralino.domain.nodes import Node
from centralino.storage.database import Database
from centralino.storage.location_store import SqlLocationStore
from centralino.storage.tables import live_calls
from centralino.storage.tables import nodes as node_rows

__all__ = ["SqlNodes"]

_CHUNK = 500
"""Ids per ``IN (...)`` list: well under every backend's parameter limit."""


def _node(row: Any) -> Node:
    return Node(
        name=row.name,
        sip_address=row.sip_address,
        http_address=row.http_address,
        started_at=row.started_at,
        seen_at=row.seen_at,
        stopped_at=row.stopped_at,
    )


def _call_row(node: str, call: LiveCall) -> dict[str, Any]:
    return {
        "node": node,
        "id": call.id[:64],
        "caller": call.caller[:64],
        "callee": call.callee[:64],
        "state": call.state.value,
        "started_at": call.started_at,
        "answered_at": call.answered_at,
    }


def _call(row: Any) -> LiveCall:
    return LiveCall(
        id=row.id,
        caller=row.caller,
        callee=row.callee,
        state=CallState(row.state),
        started_at=row.started_at,
        answered_at=row.answered_at,
        node=row.node,
    )


class SqlNodes:
    """``NodeRecords`` and ``ClusterView`` on a migrated :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    # NodeRecords -------------------------------------------------------------------

    async def join(self, node: Node) -> None:
        """Record ``node`` as started, with no calls (a crashed run's rows are dropped)."""
        async with self._database.engine.begin() as connection:
            await connection.execute(delete(live_calls).where(live_calls.c.node == node.name))
            await connection.execute(delete(node_rows).where(node_rows.c.name == node.name))
            await connection.execute(
                insert(node_rows).values(
                    name=node.name,
                    sip_address=node.sip_address[:255],
                    http_address=node.http_address[:255],
                    started_at=node.started_at,
                    seen_at=node.seen_at,
                    stopped_at=node.stopped_at,
                )
            )

    async def beat(
        self,
        name: str,
        seen_at: dt.datetime,
        *,
        changed: Sequence[LiveCall] = (),
        ended: Sequence[str] = (),
    ) -> None:
        """Heartbeat; replace the ``changed`` calls, drop the ``ended`` ones, in one transaction."""
        async with self._database.engine.begin() as connection:
            await connection.execute(
                update(node_rows).where(node_rows.c.name == name).values(seen_at=seen_at)
            )
            await _delete_calls(connection, name, [*ended, *(call.id for call in changed)])
            if changed:
                rows = [_call_row(name, call) for call in changed]
                await connection.execute(insert(live_calls), rows)

    async def leave(self, name: str, stopped_at: dt.datetime) -> None:
        """Forget node ``name``'s calls and mark it stopped."""
        async with self._database.engine.begin() as connection:
            await connection.execute(delete(live_calls).where(live_calls.c.node == name))
            await connection.execute(
                update(node_rows)
                .where(node_rows.c.name == name)
                .values(seen_at=stopped_at, stopped_at=stopped_at)
            )

    # ClusterView -------------------------------------------------------------------

    async def nodes(self) -> Sequence[Node]:
        """Every node that ever joined, by name."""
        async with self._database.engine.connect() as connection:
            result = await connection.execute(select(node_rows).order_by(node_rows.c.name))
            return [_node(row) for row in result]

    async def registrations(
        self, nodes: Collection[str], number: str | None = None
    ) -> Sequence[Binding]:
        """The stored bindings of ``nodes`` (of ``number`` only, when given)."""
        return await SqlLocationStore(self._database).every_node(nodes, number)

    async def calls(self, nodes: Collection[str]) -> Sequence[LiveCall]:
        """The published calls of ``nodes``, oldest first."""
        if not nodes:
            return []
        columns = live_calls.c
        statement = (
            select(live_calls)
            .where(columns.node.in_(sorted(nodes)))
            .order_by(columns.started_at, columns.node, columns.id)
        )
        async with self._database.engine.connect() as connection:
            return [_call(row) for row in await connection.execute(statement)]


async def _delete_calls(connection: AsyncConnection, node: str, ids: list[str]) -> None:
    columns = live_calls.c
    for start in range(0, len(ids), _CHUNK):
        chunk = [call_id[:64] for call_id in ids[start : start + _CHUNK]]
        await connection.execute(
            delete(live_calls).where(columns.node == node, columns.id.in_(chunk))
        )
