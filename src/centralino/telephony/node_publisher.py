"""This node's heartbeat and calls in progress, published for the other nodes.

Theory of operation. Calls live in the node that handles them (their
transactions, dialogs and media cannot move), but every node's API lists
every node's calls. So each node publishes a snapshot of its calls to the
shared database through the domain ``NodeRecords`` port, the way the
registrar writes its bindings: a call's state change (``CallStateChanged``)
wakes the publisher, which waits a moment so that a burst of changes becomes
one write, then writes only the difference with what it last wrote, in one
transaction, together with the heartbeat (``seen_at``). Without a change it
still beats every ``HEARTBEAT_INTERVAL`` (and writes any difference a lost
wake-up left). At most one write is in flight; a failed one is retried at
the next beat, against the last snapshot that was stored.

:meth:`NodePublisher.start` records the node as started with no calls (a
crashed run's rows are dropped); :meth:`NodePublisher.stop` forgets its
calls and marks it stopped, so the other nodes stop listing it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import LiveCall, LiveCalls
from centralino.domain.events import CallStateChanged, DomainEvent
from centralino.domain.nodes import HEARTBEAT_INTERVAL, Node, NodeRecords
from centralino.domain.ports import Clock
from centralino.tasks import cancel_and_wait

__all__ = ["NodeAddresses", "NodePublisher"]

log = structlog.get_logger("centralino.telephony")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeAddresses:
    """Who this node is, as the other nodes list it."""

    name: str
    sip_address: str
    http_address: str


class NodePublisher:
    """Keeps this node's row and calls in the shared database up to date."""

    def __init__(
        self,
        records: NodeRecords,
        calls: LiveCalls,
        clock: Clock,
        node: NodeAddresses,
        *,
        delay: float = 0.2,
        heartbeat: float = HEARTBEAT_INTERVAL.total_seconds(),
    ) -> None:
        self._records, self._calls, self._clock, self._node = records, calls, clock, node
        self._delay, self._heartbeat = delay, heartbeat
        self._stored: dict[str, LiveCall] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self, bus: LocalEventBus | None = None) -> None:
        """Record the node as started, then publish on every call change of ``bus``."""
        now = self._clock.now()
        node = self._node
        await self._records.join(
            Node(
                name=node.name,
                sip_address=node.sip_address,
                http_address=node.http_address,
                started_at=now,
                seen_at=now,
            )
        )
        self._stored = {}
        if bus is not None:
            self._unsubscribe = bus.subscribe(self._on_event)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop publishing; forget this node's calls and mark it stopped."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self._records.leave(self._node.name, self._clock.now())
        except Exception:
            log.exception("node not marked stopped", node=self._node.name)

    def wake(self) -> None:
        """The calls changed: publish shortly."""
        self._wake.set()

    async def publish(self) -> None:
        """Beat, and write how the calls differ from the last stored snapshot."""
        current = {call.id: call for call in self._calls.calls()}
        changed = [call for key, call in current.items() if self._stored.get(key) != call]
        ended = [key for key in self._stored if key not in current]
        await self._records.beat(self._node.name, self._clock.now(), changed=changed, ended=ended)
        self._stored = current

    def _on_event(self, event: DomainEvent) -> None:
        if isinstance(event, CallStateChanged):
            self.wake()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._heartbeat)
                await asyncio.sleep(self._delay)  # coalesce a burst into one write
            self._wake.clear()
            try:
                await self.publish()
            except Exception:
                log.exception("node state not published; will retry", node=self._node.name)
