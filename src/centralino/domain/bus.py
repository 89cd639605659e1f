"""An in-process event bus: publishers never know who listens."""

from __future__ import annotations

from collections.abc import Callable

from centralino.domain.events import DomainEvent

__all__ = ["LocalEventBus"]

Handler = Callable[[DomainEvent], None]


class LocalEventBus:
    """Delivers each published event to every subscriber, in order.

    A failing subscriber does not stop the others; its exception is handed to
    ``on_error`` (the composition root logs it).
    """

    def __init__(self, on_error: Callable[[DomainEvent, Exception], None] | None = None) -> None:
        self._handlers: list[Handler] = []
        self._on_error = on_error

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Add a handler; return a function that removes it."""
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler)

    def publish(self, event: DomainEvent) -> None:
        """Deliver ``event`` to every handler."""
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception as exc:
                if self._on_error is None:
                    raise
                self._on_error(event, exc)
