"""The location service's vocabulary: where each extension's phones can be reached.

Theory of operation. A phone REGISTERs a contact URI for an extension; the
registrar keeps one :class:`Binding` per contact until it expires. A binding
also remembers the transport, host and port the REGISTER really came from:
behind a NAT the contact URI names a private address, so requests to the phone
go to that source address instead (RFC 5626 spirit, RFC 3581 for the Via).

Ports:

* :class:`LocationStore` keeps the bindings across restarts (storage
  implements it; the registrar writes through it and loads it at start);
* :class:`LiveView` is how the management side reads what the call engine
  knows right now (registrations, blocked addresses) without importing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Binding", "BlockedAddress", "EmptyLiveView", "LiveView", "LocationStore"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """One registered contact of an extension (RFC 3261 §10)."""

    number: str
    contact: str
    """The contact URI, as text (``sip:101@192.168.1.20:5060``)."""
    transport: str
    """``udp`` or ``tcp``: how the REGISTER arrived (requests go back that way)."""
    host: str
    port: int
    expires_at: dt.datetime
    registered_at: dt.datetime
    call_id: str
    cseq: int
    user_agent: str = ""
    auth_user: str = ""
    node: str = ""
    """The node holding the registration (its transactions and connection);
    empty inside the engine, which knows only its own."""

    def remaining(self, now: dt.datetime) -> int:
        """Whole seconds left before the binding expires (never negative)."""
        return max(0, int((self.expires_at - now).total_seconds()))

    def expired(self, now: dt.datetime) -> bool:
        """Whether the binding is no longer valid at ``now``."""
        return self.expires_at <= now


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockedAddress:
    """A source address (or one user name from it) refused after failed authentications."""

    address: str
    failures: int
    blocked_until: dt.datetime
    user: str | None = None
    """The user name refused from ``address``; None: every name not proven there."""
    node: str = ""
    """The node that blocked it (empty inside the engine, which knows only its own)."""


class LocationStore(Protocol):
    """Durable bindings of one node: each call is its own transaction.

    Several nodes share the database; each store reads and writes only the
    bindings of the node it was built for.
    """

    async def all(self) -> Sequence[Binding]:
        """Every stored binding (expired ones included; the caller filters)."""
        ...

    async def replace_for(self, number: str, bindings: Sequence[Binding]) -> None:
        """Make ``bindings`` the only stored bindings of ``number``."""
        ...

    async def replace_many(self, changes: Mapping[str, Sequence[Binding]]) -> None:
        """``replace_for`` for many extensions in one transaction."""
        ...

    async def remove_all(self, number: str) -> None:
        """Forget every binding of ``number``."""
        ...


class LiveView(Protocol):
    """What the running call engine shows the management side."""

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        """Current (unexpired) bindings, of one extension or of all."""
        ...

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        """Addresses currently blocked for failed authentications."""
        ...


class EmptyLiveView:
    """A ``LiveView`` with nothing in it: no call engine is running."""

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        """No registrations."""
        return ()

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        """No blocked addresses."""
        return ()
