"""The node publisher: join, coalesced call snapshots with the heartbeat, leave."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from centralino.domain.bus import LocalEventBus
from centralino.domain.calls import CallState, LiveCall
from centralino.domain.events import CallStateChanged
from centralino.domain.nodes import Node
from centralino.telephony.node_publisher import NodeAddresses, NodePublisher
from tests.fakes import EPOCH, FakeClock

ADDRESSES = NodeAddresses(name="A", sip_address="a:5060", http_address="http://a:8080")


@dataclass
class Beat:
    seen_at: dt.datetime
    changed: list[str]
    ended: list[str]


@dataclass
class FakeRecords:
    """``NodeRecords`` that remembers every call; ``failures`` beats fail first."""

    joined: list[Node] = field(default_factory=list)
    beats: list[Beat] = field(default_factory=list)
    left: list[dt.datetime] = field(default_factory=list)
    failures: int = 0

    async def join(self, node: Node) -> None:
        self.joined.append(node)

    async def beat(
        self,
        name: str,
        seen_at: dt.datetime,
        *,
        changed: Sequence[LiveCall] = (),
        ended: Sequence[str] = (),
    ) -> None:
        assert name == "A"
        if self.failures:
            self.failures -= 1
            raise OSError("database unreachable")
        self.beats.append(Beat(seen_at, [f"{c.id}:{c.state}" for c in changed], list(ended)))

    async def leave(self, name: str, stopped_at: dt.datetime) -> None:
        self.left.append(stopped_at)


class Calls:
    def __init__(self) -> None:
        self.live: dict[str, LiveCall] = {}

    def calls(self) -> Sequence[LiveCall]:
        return list(self.live.values())

    def calls_in_progress(self, number: str) -> int:
        return 0


def _call(call_id: str, state: CallState = CallState.RINGING) -> LiveCall:
    return LiveCall(id=call_id, caller="101", callee="102", state=state, started_at=EPOCH)


def _changed(bus: LocalEventBus, call: LiveCall) -> None:
    bus.publish(
        CallStateChanged(call_id=call.id, caller=call.caller, callee=call.callee, state=call.state)
    )


async def _until(condition: Callable[[], object], within: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_call_changes_are_published_as_differences_and_stop_leaves() -> None:
    records, calls, bus, clock = FakeRecords(), Calls(), LocalEventBus(), FakeClock()
    publisher = NodePublisher(records, calls, clock, ADDRESSES, delay=0.05, heartbeat=60)
    await publisher.start(bus)
    try:
        [joined] = records.joined
        assert (joined.name, joined.sip_address, joined.started_at) == ("A", "a:5060", EPOCH)

        calls.live["c1"] = _call("c1")
        calls.live["c2"] = _call("c2")
        _changed(bus, calls.live["c1"])
        _changed(bus, calls.live["c2"])  # the same burst: one write
        await _until(lambda: records.beats)
        calls.live["c1"] = dataclasses.replace(calls.live["c1"], state=CallState.ANSWERED)
        del calls.live["c2"]
        _changed(bus, calls.live["c1"])
        await _until(lambda: len(records.beats) == 2)
    finally:
        clock.advance(seconds=9)
        await publisher.stop()

    assert records.beats == [
        Beat(EPOCH, ["c1:ringing", "c2:ringing"], []),
        Beat(EPOCH, ["c1:answered"], ["c2"]),
    ]
    assert records.left == [EPOCH + dt.timedelta(seconds=9)]
    bus.publish(CallStateChanged(call_id="x", caller="1", callee="2", state=CallState.RINGING))
    await asyncio.sleep(0.1)
    assert len(records.beats) == 2  # once stopped, call changes are no longer followed


async def test_the_heartbeat_beats_without_changes_and_retries_a_failed_write() -> None:
    records, calls, clock = FakeRecords(failures=1), Calls(), FakeClock()
    calls.live["c1"] = _call("c1")
    publisher = NodePublisher(records, calls, clock, ADDRESSES, delay=0.01, heartbeat=0.05)
    await publisher.start()
    try:
        await _until(lambda: len(records.beats) >= 2)
    finally:
        await publisher.stop()

    # The first beat failed: the next one writes the call again, then only beats.
    assert records.beats[0] == Beat(EPOCH, ["c1:ringing"], [])
    assert records.beats[1] == Beat(EPOCH, [], [])
