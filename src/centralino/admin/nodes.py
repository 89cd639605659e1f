"""The nodes sharing the database, and the other nodes' live state.

Theory of operation. Each running node publishes its row (with a heartbeat),
its registrations and its calls in progress to the shared database (see
:mod:`centralino.domain.nodes`); :class:`NodesService` reads them through the
domain ``ClusterView`` port. A node that stopped, or was not seen for
``NODE_TIMEOUT``, is listed as not alive and its rows are left out of the
live listings.

In ``centralino serve`` the service knows which node it runs in
(:meth:`NodesService.running_as`): that node's entries come from its engine's
memory (exact and immediate, see ``LiveService`` and ``CallsService``), so
:meth:`remote_registrations` and :meth:`remote_calls` leave it out. Without
an engine (the CLI) every alive node is remote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from centralino.domain.calls import LiveCall
from centralino.domain.location import Binding
from centralino.domain.nodes import ClusterView, Node
from centralino.domain.ports import Clock

__all__ = ["NodeStatus", "NodesService", "node_document"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeStatus:
    """A node as listed: its record, and whether it is alive now."""

    node: Node
    alive: bool


def node_document(status: NodeStatus) -> dict[str, object]:
    """A node as plain JSON values (CLI output)."""
    node = status.node
    return {
        "name": node.name,
        "sip_address": node.sip_address,
        "http_address": node.http_address,
        "started_at": node.started_at.isoformat(),
        "seen_at": node.seen_at.isoformat(),
        "stopped_at": None if node.stopped_at is None else node.stopped_at.isoformat(),
        "alive": status.alive,
    }


class NodesService:
    """Read-only use-cases over the nodes and their published live state.

    Args:
        cluster: the shared database's view of every node; None: a single
            process with nothing shared (tools and tests), so no nodes.
        clock: the time nodes' heartbeats are compared with (needed with
            ``cluster``).
        local: the node this process runs, if it runs a call engine.
    """

    def __init__(
        self,
        cluster: ClusterView | None = None,
        clock: Clock | None = None,
        *,
        local: str | None = None,
    ) -> None:
        if cluster is not None and clock is None:
            raise ValueError("a cluster view needs a clock")
        self._cluster, self._clock, self._local = cluster, clock, local

    @property
    def local(self) -> str | None:
        """The node whose engine runs in this process (None without one)."""
        return self._local

    def running_as(self, name: str) -> NodesService:
        """The same service in the process of node ``name`` (its engine's own view)."""
        return NodesService(self._cluster, self._clock, local=name)

    async def nodes(self) -> Sequence[NodeStatus]:
        """Every node that ever joined, by name, with whether it is alive."""
        if self._cluster is None or self._clock is None:
            return []
        now = self._clock.now()
        return [NodeStatus(node=n, alive=n.alive(now)) for n in await self._cluster.nodes()]

    async def remote_registrations(self, number: str | None = None) -> Sequence[Binding]:
        """Unexpired registrations held by the other alive nodes (of ``number``, when given)."""
        names = await self.remote_names()
        if self._cluster is None or self._clock is None or not names:
            return []
        now = self._clock.now()
        stored = await self._cluster.registrations(names, number)
        return [binding for binding in stored if not binding.expired(now)]

    async def remote_calls(self) -> Sequence[LiveCall]:
        """The calls in progress published by the other alive nodes."""
        names = await self.remote_names()
        if self._cluster is None or not names:
            return []
        return await self._cluster.calls(names)

    async def remote_names(self) -> set[str]:
        """The alive nodes other than this process's own."""
        return {s.node.name for s in await self.nodes() if s.alive and s.node.name != self._local}
