"""Several nodes on one database: who they are, and what each one holds live.

Theory of operation. Every ``centralino serve`` process is a *node* with a
name of its own (``--node-name``). Configuration, voicemail and recording
records and registrations are shared through the database; transactions,
calls in progress and media stay in the node that holds them. So that any
node can still *list* every node's live state, each node publishes:

* its :class:`Node` row, with a heartbeat (``seen_at``) every few seconds;
* its registrations (the registrar's bindings, stored per node);
* a snapshot of its calls in progress, rewritten shortly after each change.

A node not seen for :data:`NODE_TIMEOUT` (it crashed, or its host lost the
network), or one that said it stopped, is not alive: its rows are left out of
the listings. Node clocks are compared with each other, so they must be
synchronised (NTP), as a SIP server's always should be.

Ports (storage implements both):

* :class:`NodeRecords`: the writing side, used by the node itself only
  (it writes nothing but its own rows);
* :class:`ClusterView`: the reading side, for the management side's listings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from centralino.domain.calls import LiveCall
from centralino.domain.location import Binding

__all__ = [
    "HEARTBEAT_INTERVAL",
    "NODE_TIMEOUT",
    "ClusterView",
    "Node",
    "NodeRecords",
]

HEARTBEAT_INTERVAL = dt.timedelta(seconds=5)
"""How often a running node writes ``seen_at``."""

NODE_TIMEOUT = dt.timedelta(seconds=30)
"""A node not seen for this long is not alive (six heartbeats missed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One process sharing the database."""

    name: str
    sip_address: str
    """Where its SIP transports listen, as ``host:port``."""
    http_address: str
    """Its REST API and console, as a URL."""
    started_at: dt.datetime
    seen_at: dt.datetime
    """The last heartbeat."""
    stopped_at: dt.datetime | None = None
    """When it stopped cleanly (None while it runs, or after a crash)."""

    def alive(self, now: dt.datetime) -> bool:
        """Running and seen within :data:`NODE_TIMEOUT` of ``now``."""
        return self.stopped_at is None and now - self.seen_at <= NODE_TIMEOUT


class NodeRecords(Protocol):
    """A node's own rows in the shared database; each call is one transaction."""

    async def join(self, node: Node) -> None:
        """Record ``node`` as started (replacing an earlier row of that name) with no calls."""
        ...

    async def beat(
        self,
        name: str,
        seen_at: dt.datetime,
        *,
        changed: Sequence[LiveCall] = (),
        ended: Sequence[str] = (),
    ) -> None:
        """Heartbeat of node ``name``; store its ``changed`` calls, drop the ``ended`` ids."""
        ...

    async def leave(self, name: str, stopped_at: dt.datetime) -> None:
        """Node ``name`` stops: forget its calls, mark it stopped."""
        ...


class ClusterView(Protocol):
    """Every node's published state, read-only."""

    async def nodes(self) -> Sequence[Node]:
        """Every node that ever joined, by name."""
        ...

    async def registrations(
        self, nodes: Collection[str], number: str | None = None
    ) -> Sequence[Binding]:
        """The stored bindings of ``nodes`` (of extension ``number`` only, when given).

        Each binding names its node; expired ones are included (the caller filters).
        """
        ...

    async def calls(self, nodes: Collection[str]) -> Sequence[LiveCall]:
        """The published calls in progress of ``nodes``, each naming its node."""
        ...
