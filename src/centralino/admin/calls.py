"""The calls in progress, for the management side (REST API, console, CLI).

Theory of operation. The call engine implements the domain ``LiveCalls``
port (its call registry); the composition root hands it to
:class:`CallsService`. Without a running engine the view is empty. The
management side never imports the engine itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from centralino.domain.calls import EmptyLiveCalls, LiveCall, LiveCalls

__all__ = ["CallsService"]


class CallsService:
    """Read-only use-cases over the live calls."""

    def __init__(self, view: LiveCalls | None = None) -> None:
        self._view: LiveCalls = view or EmptyLiveCalls()

    def calls(self, number: str | None = None) -> Sequence[LiveCall]:
        """Calls in progress, oldest first; of one extension (either side) when given."""
        found = self._view.calls()
        if number is not None:
            found = [call for call in found if number in (call.caller, call.callee)]
        return sorted(found, key=lambda call: (call.started_at, call.id))
