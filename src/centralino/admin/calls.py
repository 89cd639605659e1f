"""The calls in progress, for the management side (REST API, console, CLI).

Theory of operation. The call engine implements the domain ``LiveCalls``
port (its call registry); the composition root hands it to
:class:`CallsService`. Without a running engine the view is empty. The
management side never imports the engine itself.

Several nodes may share the database: :meth:`CallsService.every_call` lists
this node's calls from its engine (exact and immediate) and every other
alive node's from the database (as it last published them), each naming its
node. :meth:`CallsService.calls` is this node's alone (what its routing
counts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from centralino.admin.nodes import NodesService
from centralino.domain.calls import EmptyLiveCalls, LiveCall, LiveCalls

__all__ = ["CallsService"]


class CallsService:
    """Read-only use-cases over the live calls."""

    def __init__(self, view: LiveCalls | None = None, nodes: NodesService | None = None) -> None:
        # "is None", not "or": an engine's registry with no call is empty, hence falsy.
        self._view: LiveCalls = EmptyLiveCalls() if view is None else view
        self._nodes = NodesService() if nodes is None else nodes

    def calls(self, number: str | None = None) -> Sequence[LiveCall]:
        """This node's calls in progress, oldest first; of one extension (either side) if given."""
        return _ordered(_of(self._view.calls(), number))

    async def every_call(self, number: str | None = None) -> Sequence[LiveCall]:
        """Every alive node's calls in progress, each naming its node, oldest first.

        Args:
            number: only the calls of this extension (either side).
        """
        node = self._nodes.local or ""
        own = [dataclasses.replace(call, node=node) for call in self._view.calls()]
        return _ordered(_of([*own, *await self._nodes.remote_calls()], number))


def _of(calls: Sequence[LiveCall], number: str | None) -> Sequence[LiveCall]:
    if number is None:
        return calls
    return [call for call in calls if number in (call.caller, call.callee)]


def _ordered(calls: Sequence[LiveCall]) -> Sequence[LiveCall]:
    return sorted(calls, key=lambda call: (call.started_at, call.node, call.id))
