"""Live listings across nodes: this node from its engine, the others from the database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Sequence

import pytest

from centralino.admin.calls import CallsService
from centralino.admin.live import LiveService
from centralino.admin.nodes import NodesService, node_document
from centralino.domain.calls import LiveCall
from centralino.domain.location import Binding, BlockedAddress
from centralino.domain.nodes import NODE_TIMEOUT, Node
from tests.fakes import EPOCH, FakeClock
from tests.nodes_support import LATER, binding, live_call, node


class FakeCluster:
    """``ClusterView`` over lists."""

    def __init__(
        self, nodes: Sequence[Node], bindings: Sequence[Binding], calls: Sequence[LiveCall]
    ) -> None:
        self._nodes, self._bindings, self._calls = nodes, bindings, calls
        self.asked: list[set[str]] = []

    async def nodes(self) -> Sequence[Node]:
        return sorted(self._nodes, key=lambda node: node.name)

    async def registrations(
        self, nodes: Collection[str], number: str | None = None
    ) -> Sequence[Binding]:
        self.asked.append(set(nodes))
        return [b for b in self._bindings if b.node in nodes and number in (None, b.number)]

    async def calls(self, nodes: Collection[str]) -> Sequence[LiveCall]:
        self.asked.append(set(nodes))
        return [call for call in self._calls if call.node in nodes]


class GrowingRegistry:
    """Like the engine's call registry: empty (hence falsy) until a call starts."""

    def __init__(self) -> None:
        self.live: list[LiveCall] = []

    def __len__(self) -> int:
        return len(self.live)

    def calls(self) -> Sequence[LiveCall]:
        return list(self.live)

    def calls_in_progress(self, number: str) -> int:
        return sum(number in (call.caller, call.callee) for call in self.live)


class GrowingView:
    """A ``LiveView`` that is falsy while empty."""

    def __init__(self) -> None:
        self.bindings: list[Binding] = []

    def __len__(self) -> int:
        return len(self.bindings)

    def registrations(self, number: str | None = None) -> Sequence[Binding]:
        return [b for b in self.bindings if number in (None, b.number)]

    def blocked_addresses(self) -> Sequence[BlockedAddress]:
        return ()


def test_a_view_empty_at_start_is_still_the_view() -> None:
    registry, view = GrowingRegistry(), GrowingView()
    calls, live = CallsService(registry), LiveService(view)

    registry.live.append(live_call("c1", "101", "102"))
    view.bindings.append(binding("101"))

    assert [call.id for call in calls.calls()] == ["c1"]
    assert [b.number for b in live.registrations()] == ["101"]
    assert live.running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(LATER)


@pytest.fixture
def cluster() -> FakeCluster:
    stale = LATER - NODE_TIMEOUT - dt.timedelta(seconds=1)
    return FakeCluster(
        nodes=[node("A", LATER), node("B", LATER), node("C", stale), node("D", EPOCH, EPOCH)],
        bindings=[
            binding("101", "A"),  # stored by this node: its engine's view wins
            binding("102", "B"),
            binding("103", "B", expires=dt.timedelta(seconds=1)),  # expired by LATER
            binding("104", "C"),
            binding("105", "D"),
        ],
        calls=[
            live_call("a-stored", "101", "102", "A"),
            live_call("b1", "102", "103", "B", at=LATER),
            live_call("c1", "104", "105", "C"),
        ],
    )


async def test_nodes_are_listed_with_whether_they_are_alive(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    listed = await NodesService(cluster, clock).nodes()

    assert [(s.node.name, s.alive) for s in listed] == [
        ("A", True),
        ("B", True),
        ("C", False),  # not seen for longer than the timeout
        ("D", False),  # stopped
    ]
    assert node_document(listed[0])["alive"] is True


async def test_registrations_of_every_alive_node_each_name_their_node(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    view = GrowingView()
    view.bindings.append(binding("101"))
    nodes = NodesService(cluster, clock).running_as("A")
    live = LiveService(view, nodes)

    every = await live.every_registration()
    of_102 = await live.every_registration("102")

    assert [(b.number, b.node) for b in every] == [("101", "A"), ("102", "B")]
    assert [(b.number, b.node) for b in of_102] == [("102", "B")]
    assert [b.node for b in live.registrations()] == [""]  # routing: this node's own
    assert cluster.asked[0] == {"B"}


async def test_calls_of_every_alive_node_each_name_their_node(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    registry = GrowingRegistry()
    calls = CallsService(registry, NodesService(cluster, clock).running_as("A"))
    registry.live.append(live_call("a1", "101", "106", at=LATER + dt.timedelta(seconds=1)))

    every = await calls.every_call()
    of_103 = await calls.every_call("103")

    assert [(c.id, c.node) for c in every] == [("b1", "B"), ("a1", "A")]
    assert [c.id for c in of_103] == ["b1"]
    assert [c.id for c in calls.calls()] == ["a1"]


async def test_without_an_engine_every_alive_node_is_read_from_the_database(
    cluster: FakeCluster, clock: FakeClock
) -> None:
    nodes = NodesService(cluster, clock)

    registrations = await LiveService(nodes=nodes).every_registration()
    calls = await CallsService(nodes=nodes).every_call()

    assert [(b.number, b.node) for b in registrations] == [("101", "A"), ("102", "B")]
    assert [(c.id, c.node) for c in calls] == [("a-stored", "A"), ("b1", "B")]


async def test_without_a_cluster_only_this_process_is_listed() -> None:
    registry = GrowingRegistry()
    registry.live.append(live_call("a1", "101", "102"))
    calls = CallsService(registry)

    assert await NodesService().nodes() == []
    assert [dataclasses.astuple(c)[0] for c in await calls.every_call()] == ["a1"]
    assert (await calls.every_call())[0].node == ""


def test_a_cluster_needs_a_clock(cluster: FakeCluster) -> None:
    with pytest.raises(ValueError, match="clock"):
        NodesService(cluster)
