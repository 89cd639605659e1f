"""The block publisher: this node's blocks written to the shared table, coalesced."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Collection, Sequence

from centralino.domain.location import BlockedAddress
from centralino.domain.security import BlockKey
from centralino.telephony.block_publisher import BlockPublisher

UNTIL = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


class _Records:
    def __init__(self) -> None:
        self.writes: list[tuple[list[BlockKey], list[BlockKey]]] = []
        self.cleared = 0

    async def publish(
        self,
        node: str,
        at: dt.datetime,
        *,
        changed: Sequence[BlockedAddress] = (),
        ended: Sequence[BlockKey] = (),
    ) -> None:
        self.writes.append(([(b.address, b.user) for b in changed], list(ended)))

    async def clear(self, node: str) -> None:
        self.cleared += 1

    async def blocked(self, nodes: Collection[str], now: dt.datetime) -> Sequence[BlockedAddress]:
        return ()

    async def forget(self, address: str) -> None:
        pass


async def test_a_burst_of_blocks_is_one_write_and_an_end_another() -> None:
    records, blocks = _Records(), [BlockedAddress(address="a", failures=5, blocked_until=UNTIL)]
    publisher = BlockPublisher(
        records, lambda: list(blocks), lambda: None, lambda: 0.0, "A", delay=0.01, idle=60
    )
    await publisher.start()
    try:
        blocks.append(BlockedAddress(address="b", user="7", failures=10, blocked_until=UNTIL))
        publisher.wake()
        await asyncio.sleep(0.1)
        assert records.writes == [([("a", None), ("b", "7")], [])]
        blocks.pop(0)
        publisher.wake()
        await asyncio.sleep(0.1)
        assert records.writes[1:] == [([], [("a", None)])]
    finally:
        await publisher.stop()
    assert records.cleared == 2  # at start (a previous run's rows) and at stop


async def test_a_block_that_expires_is_noticed_at_its_end_without_a_wake_up() -> None:
    now = [0.0]
    records, blocks = _Records(), [BlockedAddress(address="a", failures=5, blocked_until=UNTIL)]
    publisher = BlockPublisher(
        records,
        lambda: list(blocks),
        lambda: 0.05 if blocks else None,
        lambda: now[0],
        "A",
        delay=0.0,
        idle=60,
    )
    await publisher.start()
    try:
        await asyncio.sleep(0.05)
        blocks.clear()  # expired in the throttle
        await asyncio.sleep(0.2)
        assert records.writes == [([("a", None)], []), ([], [("a", None)])]
    finally:
        await publisher.stop()
