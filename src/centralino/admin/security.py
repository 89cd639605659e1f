"""Blocks after failed SIP authentications: list them, lift them.

Theory of operation. Each node's call engine blocks what fails at it (see
``telephony/throttle.py``) and records its blocks in the shared database
(the domain ``BlockRecords`` port). :meth:`SecurityService.blocked` lists
this node's blocks from its engine (exact, immediate) and every other alive
node's from the database, each naming its node; without an engine (the CLI)
every alive node is read from the database.

:meth:`SecurityService.unblock` is an administrator's decision: it writes
``AddressUnblocked`` on the change feed with its audit entry, in one
transaction, so that every node's engine lifts the address's blocks, then
forgets the address's rows in the shared table at once.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.admin.live import LiveService
from centralino.admin.nodes import NodesService
from centralino.domain.account import AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Forbidden, InvalidInput, NotFound
from centralino.domain.events import AddressUnblocked
from centralino.domain.location import BlockedAddress
from centralino.domain.ports import Clock, UnitOfWorkFactory
from centralino.domain.security import BlockRecords, block_document

__all__ = ["SecurityService"]

_MAY_UNBLOCK = frozenset({AccountRole.OWNER, AccountRole.ADMINISTRATOR})
"""Roles that may lift a block (delegated administrators, when they come, may not)."""


class SecurityService:
    """Use-cases over the blocks of every node."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        records: BlockRecords | None = None,
        *,
        live: LiveService | None = None,
        nodes: NodesService | None = None,
    ) -> None:
        self._units, self._clock, self._records = units, clock, records
        self._live = live if live is not None else LiveService()
        self._nodes = nodes if nodes is not None else NodesService()

    def with_live(self, live: LiveService, nodes: NodesService) -> SecurityService:
        """The same service in a process running a call engine (node ``nodes.local``)."""
        return SecurityService(self._units, self._clock, self._records, live=live, nodes=nodes)

    async def blocked(self) -> Sequence[BlockedAddress]:
        """Every alive node's blocks in force, by address, user name and node."""
        node = self._nodes.local or ""
        own = [dataclasses.replace(b, node=node) for b in self._live.blocked_addresses()]
        remote: Sequence[BlockedAddress] = []
        if self._records is not None:
            names = await self._nodes.remote_names()
            remote = await self._records.blocked(names, self._clock.now())
        return sorted([*own, *remote], key=lambda b: (b.address, b.user or "", b.node))

    async def unblock(self, actor: Actor, address: str) -> Sequence[BlockedAddress]:
        """Lift every block of ``address``, on every node.

        Returns:
            The blocks that were in force.

        Raises:
            Forbidden: ``actor`` may not lift blocks.
            InvalidInput: ``address`` is not an IP address.
            NotFound: no node blocks ``address``.
        """
        if actor.role not in _MAY_UNBLOCK:
            raise Forbidden("only the owner and administrators may lift blocks")
        address = _address(address)
        lifted = [block for block in await self.blocked() if block.address == address]
        if not lifted:
            raise NotFound("blocked address", address)
        async with self._units() as uow:
            await uow.changes.append([AddressUnblocked(address=address)], actor=actor.username)
            before = {"blocks": [block_document(block) for block in lifted]}
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.UNBLOCK,
                "security_block",
                address,
                before,
                None,
            )
            await uow.commit()
        if self._records is not None:
            await self._records.forget(address)
        return lifted


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError as exc:
        raise InvalidInput.single("address", "not an IP address") from exc
