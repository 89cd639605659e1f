"""Blocks after failed authentications, as every node and the CLI see them.

Theory of operation. Each node's call engine decides its own blocks (the
failures it saw, in memory); so that any node's API and the CLI (another
process) can list them, each node records the blocks in force in the shared
database through :class:`BlockRecords`, a short while after one starts or
ends. Lifting a block is a domain event on the change feed
(``AddressUnblocked``): every node's engine applies it, and the use-case
also forgets the address's recorded rows at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, Protocol

from centralino.domain.location import BlockedAddress

__all__ = ["BlockKey", "BlockRecords", "block_document"]

BlockKey = tuple[str, str | None]
"""What one block holds: the address and the user name (None: the address)."""


def block_document(block: BlockedAddress) -> dict[str, Any]:
    """A block as plain JSON values (audit entries, CLI output)."""
    return {
        "address": block.address,
        "user": block.user,
        "failures": block.failures,
        "blocked_until": block.blocked_until.isoformat(),
        "node": block.node,
    }


class BlockRecords(Protocol):
    """The shared table of blocks; each call is one transaction."""

    async def publish(
        self,
        node: str,
        at: dt.datetime,
        *,
        changed: Sequence[BlockedAddress] = (),
        ended: Sequence[BlockKey] = (),
    ) -> None:
        """Store node ``node``'s ``changed`` (new) blocks, drop its ``ended`` ones.

        Each changed block is also recorded in the audit trail (action
        ``block``, by ``node:<name>``), in the same transaction.
        """
        ...

    async def clear(self, node: str) -> None:
        """Forget every block of node ``node`` (it starts with none)."""
        ...

    async def blocked(self, nodes: Collection[str], now: dt.datetime) -> Sequence[BlockedAddress]:
        """The blocks of ``nodes`` in force at ``now``, each naming its node."""
        ...

    async def forget(self, address: str) -> None:
        """Drop every node's blocks of ``address`` (an administrator lifted them)."""
        ...
