"""What the running call engine knows right now, for the management side.

Theory of operation. The call engine implements the domain ``LiveView`` port
(current registrations, addresses blocked after failed authentications); the
composition root hands it to :class:`LiveService`, which the REST API, the
console and the CLI use. Without a running engine the view is empty. The
management side never imports the engine itself.

Several nodes may share the database: :meth:`LiveService.every_registration`
lists this node's registrations from its engine (exact and immediate) and
every other alive node's from the database (as they last wrote them), each
naming its node. :meth:`LiveService.registrations` is this node's alone: it
is what this node's engine can route calls to.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from centralino.admin.nodes import NodesService
from centralino.domain.location import Binding, BlockedAddress, EmptyLiveView, LiveView

__all__ = ["LiveService"]


class LiveService:
    """Read-only use-cases over the live state of the PBX."""

    def __init__(self, view: LiveView | None = None, nodes: NodesService | None = None) -> None:
        self._view: LiveView = EmptyLiveView() if view is None else view
        self._running = view is not None
        self._nodes = NodesService() if nodes is None else nodes

    @property
    def running(self) -> bool:
        """True when a call engine runs in this process (the view is live)."""
        return self._running

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        """This node's current registrations, of one extension or all, by number."""
        return sorted(self._view.registrations(number), key=lambda b: (b.number, b.contact))

    async def every_registration(self, number: str | None = None) -> Sequence[Binding]:
        """Every alive node's current registrations, each naming its node.

        Returns:
            The registrations of one extension (``number``) or all, by
            number, node and contact.
        """
        node = self._nodes.local or ""
        own = [dataclasses.replace(b, node=node) for b in self._view.registrations(number)]
        found = [*own, *await self._nodes.remote_registrations(number)]
        return sorted(found, key=lambda b: (b.number, b.node, b.contact))

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        """Addresses blocked after repeated failed authentications, by address."""
        return sorted(self._view.blocked_addresses(), key=lambda b: b.address)
