"""This node's blocks after failed authentications, published for the others.

Theory of operation. The throttle (:mod:`.throttle`) lives in the engine's
memory; every node's API and the CLI list the blocks of every node from the
shared database, which this publisher keeps up to date through the domain
``BlockRecords`` port, the way :mod:`.node_publisher` does for calls: a block
that starts (or an administrator's unblock) wakes it, it waits ``delay`` so
that a burst of blocks becomes one write, then writes only the difference
with what it last wrote (each new block audited in the same transaction).
A block that ends by itself is noticed at its end (the publisher sleeps until
the earliest one) or at the next ``idle`` pass. At most one write is in
flight; a failed one is retried at the next pass.

:meth:`BlockPublisher.start` forgets what a previous run of the node left;
:meth:`BlockPublisher.stop` forgets the node's rows (its throttle dies with
it).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Sequence

import structlog

from centralino.domain.location import BlockedAddress
from centralino.domain.security import BlockKey, BlockRecords
from centralino.tasks import cancel_and_wait

__all__ = ["BlockPublisher"]

log = structlog.get_logger("centralino.security")


class BlockPublisher:
    """Keeps this node's rows of the shared block table up to date.

    Args:
        records: the shared table.
        blocks: this node's blocks in force now.
        next_expiry: when the earliest block ends (wall-clock seconds), or None.
        wall_clock: the time, in the throttle's seconds.
        node: this node's name.
    """

    def __init__(
        self,
        records: BlockRecords,
        blocks: Callable[[], Sequence[BlockedAddress]],
        next_expiry: Callable[[], float | None],
        wall_clock: Callable[[], float],
        node: str,
        *,
        delay: float = 0.2,
        idle: float = 30.0,
    ) -> None:
        self._records, self._blocks, self._next_expiry = records, blocks, next_expiry
        self._wall_clock, self._node = wall_clock, node
        self._delay, self._idle = delay, idle
        self._stored: dict[BlockKey, BlockedAddress] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Forget the node's old rows, then publish on every wake-up."""
        await self._records.clear(self._node)
        self._stored = {}
        self._task = asyncio.create_task(self._run())
        self.wake()

    async def stop(self) -> None:
        """Stop publishing and forget the node's rows."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self._records.clear(self._node)
        except Exception:
            log.exception("blocks not cleared", node=self._node)

    def wake(self) -> None:
        """A block started or was lifted: publish shortly."""
        self._wake.set()

    async def publish(self) -> None:
        """Write how the blocks in force differ from the last stored ones."""
        current = {(block.address, block.user): block for block in self._blocks()}
        changed = [block for key, block in current.items() if self._stored.get(key) != block]
        ended = [key for key in self._stored if key not in current]
        if changed or ended:
            at = dt.datetime.fromtimestamp(self._wall_clock(), dt.UTC)
            await self._records.publish(self._node, at, changed=changed, ended=ended)
        self._stored = current

    def _timeout(self) -> float:
        expiry = self._next_expiry()
        if expiry is None:
            return self._idle
        return min(self._idle, max(0.0, expiry - self._wall_clock()) + 0.05)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._timeout())
                await asyncio.sleep(self._delay)  # coalesce a burst into one write
            self._wake.clear()
            try:
                await self.publish()
            except Exception:
                log.exception("blocks not published; will retry", node=self._node)
