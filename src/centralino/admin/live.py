"""What the running call engine knows right now, for the management side.

Theory of operation. The call engine implements the domain ``LiveView`` port
(current registrations, addresses blocked after failed authentications); the
composition root hands it to :class:`LiveService`, which the REST API, the
console and the CLI use. Without a running engine the view is empty. The
management side never imports the engine itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from centralino.domain.location import Binding, BlockedAddress, EmptyLiveView, LiveView

__all__ = ["LiveService"]


class LiveService:
    """Read-only use-cases over the live state of the PBX."""

    def __init__(self, view: LiveView | None = None) -> None:
        self._view: LiveView = view or EmptyLiveView()
        self._running = view is not None

    @property
    def running(self) -> bool:
        """True when a call engine runs in this process (the view is live)."""
        return self._running

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        """Current registrations, of one extension or all, by number."""
        return sorted(self._view.registrations(number), key=lambda b: (b.number, b.contact))

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        """Addresses blocked after repeated failed authentications, by address."""
        return sorted(self._view.blocked_addresses(), key=lambda b: b.address)
